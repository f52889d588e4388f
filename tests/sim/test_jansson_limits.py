"""JSON and size limits exactly where Asterisk 20.20.1 has them, both sides of each.

* jansson 2.15.0 (bundled, third-party/versions.mak) parses 2048 levels and no more
  (``JSON_PARSER_MAX_DEPTH``; ``parse_value`` counts every value, scalars included);
  the top level must be an object or an array (``json_loadb`` flags 0);
* a body is read only for ``application/json`` and form content types, before the user
  is authenticated or the path matched (``ast_ari_callback``), and at most 40960 bytes
  (``MAX_CONTENT_LENGTH``, main/http.c: 413 and the connection is closed);
* a websocket frame of more than 65535 bytes, header included, closes the socket with
  1009 (``ast_websocket_read``).

Python's own parser and encoder stop near 1,000 levels: nothing here may end in a
RecursionError, a 500 or a traceback.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from ivrkit.sim import Simulator
from ivrkit.sim.front._jansson import JANSSON_MAX_DEPTH, json_depth, loads_like_jansson


def nested(levels: int, inner: str = "") -> str:
    """``levels`` arrays around ``inner`` (a scalar inside adds one level)."""
    return "[" * levels + inner + "]" * levels


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (nested(2048), 2048),
        (nested(2047, "1"), 2048),
        (nested(2048, "1"), 2049),
        ('{"a":' * 2047 + '"x"' + "}" * 2047, 2048),
        ('{"a":' * 2048 + "{}" + "}" * 2048, 2049),
        ('["[[[", {"k": "]]]\\"[["}]', 3),
    ],
    ids=["2048-empty", "2047+scalar", "2048+scalar", "objects-2048", "objects-2049", "strings"],
)
def test_depth_is_counted_as_jansson_counts_it(text: str, depth: int) -> None:
    assert json_depth(text) == depth
    if depth <= JANSSON_MAX_DEPTH:
        assert loads_like_jansson(text) is not None
        assert loads_like_jansson(text.encode()) is not None
    else:
        with pytest.raises(ValueError, match="maximum parsing depth"):
            loads_like_jansson(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [("5", "expected"), ('"x"', "expected"), ("null", "expected"), ("  ", "Expecting value"),
     ("[1] [2]", "Extra data")],
)  # fmt: skip
def test_the_top_level_is_an_object_or_an_array(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        loads_like_jansson(text)
    assert loads_like_jansson("[]") == []


def _auth(sim: Simulator) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(sim.username, sim.password)}


async def _post(
    session: aiohttp.ClientSession, url: str, body: str | bytes, **headers: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    async with session.post(url, data=body, headers=headers) as resp:
        text = await resp.text()
        return resp.status, (json.loads(text) if text else None), resp


async def _call_in_stasis(sim: Simulator, session: aiohttp.ClientSession) -> Any:
    """A call in Stasis(channel-aa) (the default dialplan's 1000), and its app's socket."""
    ws = await session.ws_connect(
        f"{sim.url}/ari/events", params={"app": "channel-aa"}, headers=_auth(sim)
    )
    await sim.wait_for_app("channel-aa")
    return await sim.call("PJSIP/alice", "1000"), ws


async def test_http_bodies_both_sides_of_the_depth_limit() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        caller, _ = await _call_in_stasis(sim, session)
        url = f"{sim.ari_url}/channels/{caller.channel_id}/variable"
        json_type = {"Content-Type": "application/json", **_auth(sim)}
        # 1 (the object) + 2047 arrays = 2048 levels: parsed, the variable is set
        ok = '{"variable": "X", "value": "1", "deep": ' + nested(2047) + "}"
        assert (await _post(session, url, ok, **json_type))[:2] == (204, None)
        too_deep = '{"variable": "Y", "value": "1", "deep": ' + nested(2048) + "}"
        status, body, _ = await _post(session, url, too_deep, **json_type)
        assert (status, body) == (400, {"message": "Error parsing request body"})
        assert caller.channel.variables.get("X") == "1"
        assert "Y" not in caller.channel.variables
        # the body comes before the credentials and the path (ast_ari_callback)
        no_user = {"Content-Type": "application/json"}
        status, body, _ = await _post(session, f"{sim.ari_url}/nowhere", too_deep, **no_user)
        assert (status, body) == (400, {"message": "Error parsing request body"})
        assert (await _post(session, f"{sim.ari_url}/nowhere", ok, **no_user))[0] == 401
        # a scalar top level is no JSON body for jansson; another content type is not read
        assert (await _post(session, url, "5", **json_type))[0] == 400
        text_type = {"Content-Type": "text/plain", **_auth(sim)}
        status, body, _ = await _post(session, url, '{"variable": "Z"}', **text_type)
        assert (status, body) == (400, {"message": "Variable name is required"})


async def test_a_deep_body_echoed_back_is_written_whole() -> None:
    """An event filter and a user event's variables come back as the client sent them,
    2048 levels deep: the simulator's encoder must not give up either."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{sim.url}/ari/events", params={"app": "deep"}, headers=_auth(sim)
        )
        json_type = {"Content-Type": "application/json", **_auth(sim)}
        # object, "allowed" array, item object: 3 levels, then 2045 arrays = 2048
        filter_body = '{"allowed": [{"type": "ChannelUserevent", "x": ' + nested(2045) + "}]}"
        url = f"{sim.ari_url}/applications/deep/eventFilter"
        async with session.put(url, data=filter_body, headers=json_type) as resp:
            assert resp.status == 200
            echoed = await resp.text()
        assert json_depth(echoed) == 2048
        # object, "variables" object: 2 levels, then 2046 arrays = 2048
        event_body = '{"variables": {"k": ' + nested(2046) + "}}"
        url = f"{sim.ari_url}/events/user/hello?application=deep"
        assert (await _post(session, url, event_body, **json_type))[0] == 204
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.TEXT
        assert '"eventname":"hello"' in msg.data
        # the event (1) holds userevent (2), which holds the variables' values
        assert json_depth(msg.data) == 2048
        await ws.close()


async def test_a_body_over_40960_bytes_is_413_and_the_connection_closes() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        caller, _ = await _call_in_stasis(sim, session)
        url = f"{sim.ari_url}/channels/{caller.channel_id}/variable"
        json_type = {"Content-Type": "application/json", **_auth(sim)}
        fits = '{"variable": "X", "value": "' + "v" * (40960 - 30) + '"}'
        assert len(fits) == 40960
        assert (await _post(session, url, fits, **json_type))[:2] == (204, None)
        status, body, resp = await _post(session, url, fits[:-2] + 'v"}', **json_type)
        assert (status, resp.reason, body) == (
            413,
            "Request Entity Too Large",
            {"message": "Request body too large"},
        )
        assert resp.headers.get("Connection", "").lower() == "close"
        # a form body too (ast_http_get_post_vars); another content type is not read
        form = {"Content-Type": "application/x-www-form-urlencoded", **_auth(sim)}
        assert (await _post(session, url, "variable=F&value=" + "v" * 40960, **form))[0] == 413
        text_type = {"Content-Type": "text/plain", **_auth(sim)}
        status, body, _ = await _post(session, url, "x" * 50000, **text_type)
        assert (status, body) == (400, {"message": "Variable name is required"})


async def test_form_bodies_are_parameters_before_the_query_string() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        caller, _ = await _call_in_stasis(sim, session)
        url = f"{sim.ari_url}/channels/{caller.channel_id}/variable?value=from-query"
        form = {"Content-Type": "application/x-www-form-urlencoded", **_auth(sim)}
        assert (await _post(session, url, "variable=F&value=from-body", **form))[0] == 204
        assert caller.channel.variables["F"] == "from-query"


async def test_websocket_frames_both_sides_of_the_depth_and_size_limits() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        ws = await session.ws_connect(
            f"{sim.url}/ari/events", params={"app": "deep"}, headers=_auth(sim)
        )

        async def answer(frame: str) -> dict[str, Any]:
            await ws.send_str(frame)
            while True:
                got: dict[str, Any] = json.loads((await ws.receive(timeout=10)).data)
                if got["type"] == "RESTResponse":
                    return got

        ping = '{"type": "RESTRequest", "method": "GET", "uri": "asterisk/ping", "x": '
        assert (await answer(ping + nested(2047) + "}"))["status_code"] == 200
        refused = await answer(ping + nested(2048) + "}")
        assert (refused["status_code"], refused["reason_phrase"]) == (
            400,
            "Failed to parse request message JSON",
        )
        # an array frame parses: it has no properties (parse_rest_request_msg)
        array = await answer("[1]")
        assert json.loads(array["message_body"]) == {"message": "No 'type' property."}
        # 65527 bytes of payload (8 bytes of header): still read
        pad = 65527 - len(ping) - len('""}')
        assert (await answer(ping + '"' + "p" * pad + '"}'))["status_code"] == 200
        # one byte more: 65536 bytes on the wire, Asterisk closes with 1009
        await ws.send_str(ping + '"' + "p" * (pad + 1) + '"}')
        msg = await ws.receive(timeout=10)
        assert msg.type is aiohttp.WSMsgType.CLOSE
        assert msg.data == 1009
        await ws.close()
