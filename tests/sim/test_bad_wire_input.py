"""Input that once made the simulator drop a socket, answer 500 or log a traceback
(issue 16, findings 2, 5 and 7): each now gets Asterisk's answer and one log line at most.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import aiohttp
import pytest

from ivrkit.sim import Simulator

#: one level deeper than jansson parses (JSON_PARSER_MAX_DEPTH 2048), 4 KB: under both
#: of Asterisk's size limits (40960-byte bodies, 65535-byte frames)
DEEP = "[" * 2049 + "]" * 2049


def key(sim: Simulator, app: str = "channel-aa") -> dict[str, str]:
    return {"app": app, "api_key": f"{sim.username}:{sim.password}"}


async def next_response(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.TEXT, msg
        data: dict[str, Any] = json.loads(msg.data)
        if data["type"] == "RESTResponse":
            return data


@pytest.mark.parametrize(
    "frame",
    [
        DEEP,
        '{"type": "RESTRequest", "x": ' + "[" * 2048 + "]" * 2048 + "}",
        '{"type": "RESTRequest", "uri": "asterisk/info", "method": "GET", "n": 1e400}',
        '{"type": "RESTRequest", "uri": "asterisk/info", "method": "GET", "n": NaN}',
        '{"type": "RESTRequest", "n": ' + "9" * 5000 + "}",
    ],
    ids=["nested-2049", "nested-inside", "real-overflow", "nan", "int-5000-digits"],
)
async def test_an_unparseable_frame_is_a_400_and_the_socket_stays(
    frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Asterisk's answer (res/ari/ari_websockets.c) to a frame jansson cannot parse."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key(sim), max_msg_size=0)
        await ws.send_str(frame)
        answer = await next_response(ws)
        assert {k: answer[k] for k in ("status_code", "reason_phrase", "uri")} == {
            "status_code": 400,
            "reason_phrase": "Failed to parse request message JSON",
            "uri": "",
        }
        # the same socket still serves requests and events
        await ws.send_str(
            json.dumps(
                {"type": "RESTRequest", "request_id": "2", "method": "GET", "uri": "asterisk/ping"}
            )
        )
        assert (await next_response(ws))["status_code"] == 200
        assert sim.stats()["websockets"] == 1
        await ws.close()
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        '{"endpoint": ' + "[" * 2048 + "]" * 2048 + "}",
        '{"timeout": ' + "1" * 5000 + "}",
        '{"timeout": 99999999999999999999}',
        '{"timeout": 1e400}',
        '{"timeout": Infinity}',
    ],
    ids=["nested-2049", "int-5000-digits", "int-over-64-bits", "real-overflow", "infinity"],
)
async def test_a_body_jansson_cannot_parse_is_400(
    body: str, caplog: pytest.LogCaptureFixture
) -> None:
    """res/res_ari.c: ast_http_get_json fails (EIO) -> 400 "Error parsing request body"."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        auth = {"Authorization": aiohttp.encode_basic_auth(sim.username, sim.password)}
        async with session.post(
            f"{sim.url}/ari/channels",
            data=body,
            headers={"Content-Type": "application/json", **auth},
        ) as resp:
            assert resp.status == 400
            assert await resp.json() == {"message": "Error parsing request body"}
    assert "Traceback" not in caplog.text
    assert "Internal simulator error" not in caplog.text


async def test_integer_query_parameters_read_as_atoi_does(caplog: pytest.LogCaptureFixture) -> None:
    """atoi() on 5,000 digits is strtol's LONG_MAX cut to an int (-1), never a 500."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        auth = {"Authorization": aiohttp.encode_basic_auth(sim.username, sim.password)}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key(sim))
        caller = await sim.call("PJSIP/alice", "1000")
        url = f"{sim.url}/ari/channels/{caller.channel_id}/play"
        for skipms in ("9" * 5000, "-" + "9" * 5000, "4294967297", "12abc"):
            async with session.post(
                url, params={"media": "sound:hello-world", "skipms": skipms}, headers=auth
            ) as resp:
                assert resp.status == 201, await resp.text()
        async with session.post(
            f"{sim.url}/ari/channels/{caller.channel_id}/dtmf",
            params={"dtmf": "1", "duration": "7" * 5000},
            headers=auth,
        ) as resp:
            assert resp.status in (204, 400), await resp.text()
        await caller.hangup()
        await ws.close()
    assert "Traceback" not in caplog.text


def test_c_int_conversions() -> None:
    from ivrkit.sim.front._dispatch import _c_int, _strtol

    assert _strtol("9" * 5000) == 2**63 - 1
    assert _c_int(_strtol("9" * 5000) or 0) == -1
    assert _c_int(_strtol("-" + "9" * 5000) or 0) == 0
    assert _c_int(_strtol("4294967297") or 0) == 1
    assert _strtol("  +0012abc") == 12
    assert _strtol("abc") is None


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /ari/" + b"x" * 10_000 + b" HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /ari/asterisk/info HTTP/1.1\r\nHost: a\r\nX-Long: " + b"y" * 10_000 + b"\r\n\r\n",
    ],
    ids=["long-url", "long-header"],
)
async def test_an_over_long_request_is_400_and_one_log_line(
    request_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with Simulator() as sim:
        with caplog.at_level(logging.DEBUG, logger="aiohttp.server"):
            reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
            writer.write(request_bytes)
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), 10)
            writer.close()
            await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.0 400 ") or status_line.startswith(b"HTTP/1.1 400 ")
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 1
    assert records[0].levelno == logging.WARNING
    assert records[0].exc_info is None
    message = records[0].getMessage()
    assert "\n" not in message
    assert "(answered 400): Got more than 8190 bytes" in message


async def test_a_client_gone_before_its_body_ended_is_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fuzz finding: ``Content-Length: 5`` and then EOF logged the body read's traceback."""
    async with Simulator() as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        auth = aiohttp.encode_basic_auth(sim.username, sim.password)
        writer.write(
            f"POST /ari/channels HTTP/1.1\r\nHost: a\r\nAuthorization: {auth}\r\n"
            "Content-Type: application/json\r\nContent-Length: 5\r\n\r\n{".encode()
        )
        await writer.drain()
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 10) == b""
        writer.close()
        # the simulator still serves
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{sim.url}/ari/asterisk/ping", headers={"Authorization": auth}) as resp,
        ):
            assert resp.status == 200
    assert [r for r in caplog.records if r.exc_info] == []


async def test_a_playback_id_with_a_control_character_is_answered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Fuzz finding: ``POST /channels/{id}/play/%08`` put the id in the Location header;
    aiohttp refused to write it and dropped the connection (a traceback, no answer)."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        auth = {"Authorization": aiohttp.encode_basic_auth(sim.username, sim.password)}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key(sim))
        caller = await sim.call("PJSIP/alice", "1000")
        for raw, shown in (("%08", "%08"), ("%0D", "%0D"), ("%7F", "%7F")):
            url = f"{sim.url}/ari/channels/{caller.channel_id}/play/{raw}"
            async with session.post(
                url, params={"media": "sound:hello-world"}, headers=auth
            ) as resp:
                assert resp.status == 201
                assert resp.headers["Location"] == f"/ari/playbacks/{shown}"
        await caller.hangup()
        await ws.close()
    assert [r for r in caplog.records if r.exc_info] == []
