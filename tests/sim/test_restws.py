"""REST over the events websocket: each RESTRequest form and error as Asterisk answers it.

The exact recorded exchanges (catalog steps 61/62) are replayed in test_trace_replay.py;
these tests pin each rule on its own, plus the forms the recording did not cover
(form-encoded bodies, api-docs basePath, pipelining many requests on one socket).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from ivrkit.sim import Simulator

ENVELOPE = ["type", "transaction_id", "request_id", "status_code", "reason_phrase", "uri"]
TAIL = ["application", "timestamp", "asterisk_id"]


async def _exchange(ws: aiohttp.ClientWebSocketResponse, frames: list[Any]) -> list[dict[str, Any]]:
    """Send frames (dicts as JSON, str as is); the RESTResponses, skipping other events."""
    for frame in frames:
        await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))
    answers: list[dict[str, Any]] = []
    while len(answers) < len(frames):
        msg = json.loads((await ws.receive(timeout=10)).data)
        if msg["type"] == "RESTResponse":
            answers.append(msg)
    return answers


def _req(tid: str, method: str, uri: str, **extra: Any) -> dict[str, Any]:
    return {"type": "RESTRequest", "transaction_id": tid, "request_id": "r" + tid,
            "method": method, "uri": uri, **extra}  # fmt: skip


async def test_rest_over_websocket_answers_like_asterisk() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        # the dialplan's 1000 runs Stasis(channel-aa): this socket is that app
        key = {"app": "channel-aa", "api_key": f"{sim.username}:{sim.password}"}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key)
        caller = await sim.call("PJSIP/alice", "1000")
        ch = caller.channel_id
        answers = await _exchange(
            ws,
            [
                _req("1", "GET", "asterisk/info?only=system"),
                _req(
                    "2",
                    "POST",
                    f"channels/{ch}/variable",
                    query_strings=[
                        {"name": "variable", "value": "A"},
                        {"name": "value", "value": "1"},
                    ],
                ),
                _req(
                    "3",
                    "POST",
                    f"channels/{ch}/variable",
                    content_type="application/json",
                    message_body=json.dumps({"variable": "B", "value": "2"}),
                ),
                _req(
                    "4",
                    "POST",
                    f"channels/{ch}/variable",
                    content_type="application/x-www-form-urlencoded",
                    message_body="variable=C&value=3",
                ),
                _req("5", "GET", f"channels/{ch}/variable?variable=A"),
                _req("6", "GET", f"channels/{ch}/variable?variable=B"),
                _req("7", "GET", f"channels/{ch}/variable?variable=C"),
                _req("8", "GET", "channels/no-such-channel"),
                _req("9", "GET", "/ari/asterisk/info"),
                _req("10", "BREW", "asterisk/info"),
                {"type": "NotARequest", "transaction_id": "11", "request_id": "r11"},
                {"transaction_id": "12", "request_id": "r12", "method": "GET", "uri": "x"},
                "this is not json",
                {"type": "RESTRequest", "method": "GET", "uri": "asterisk/ping"},
                _req("15", "GET", "api-docs/resources.json"),
                _req("16", "PUT", "channels"),
                _req(
                    "17",
                    "POST",
                    f"channels/{ch}/variable",
                    content_type="application/json",
                    message_body="{not json",
                ),
            ],
        )
        await ws.close()
    by_tid = {a["transaction_id"]: a for a in answers if a["transaction_id"]}
    for a in answers:
        assert list(a)[:6] == ENVELOPE, a
        assert list(a)[-3:] == TAIL, a
        assert a["application"] == "channel-aa"
    info = by_tid["1"]
    assert (info["status_code"], info["reason_phrase"], info["uri"]) == (200, "OK", "asterisk/info")
    assert info["content_type"] == "application/json"
    assert json.loads(info["message_body"])["system"]["version"] == "20.20.1"
    for tid in ("2", "3", "4"):
        assert by_tid[tid]["status_code"] == 204
        assert "content_type" not in by_tid[tid]
        assert "message_body" not in by_tid[tid]
    assert [json.loads(by_tid[t]["message_body"]) for t in ("5", "6", "7")] == [
        {"value": "1"},
        {"value": "2"},
        {"value": "3"},
    ]
    assert (by_tid["8"]["status_code"], by_tid["8"]["reason_phrase"]) == (404, "Not Found")
    assert json.loads(by_tid["8"]["message_body"]) == {"message": "Channel not found"}
    assert by_tid["9"]["status_code"] == 405
    assert json.loads(by_tid["9"]["message_body"]) == {"message": "Invalid method"}
    bad = [
        (by_tid[t]["reason_phrase"], json.loads(by_tid[t]["message_body"]))
        for t in ("10", "11", "12")
    ]
    assert bad == [
        ("Bad request", {"message": "Unknown or missing 'method' property."}),
        ("Bad request", {"message": "Unknown request type."}),
        ("Bad request", {"message": "No 'type' property."}),
    ]
    assert by_tid["11"]["uri"] == ""
    assert by_tid["10"]["uri"] == "asterisk/info"
    (parse_error,) = [a for a in answers if a["reason_phrase"].startswith("Failed to parse")]
    assert parse_error["status_code"] == 400
    assert parse_error["request_id"] == ""
    assert "message_body" not in parse_error
    (anonymous,) = [a for a in answers if a["uri"] == "asterisk/ping"]
    assert (anonymous["transaction_id"], anonymous["request_id"]) == ("", "")
    docs = json.loads(by_tid["15"]["message_body"])
    assert docs["basePath"] == f"http://127.0.0.1:{sim.port}/ari"
    assert by_tid["16"]["status_code"] == 405
    # parse_rest_request_msg parses the body itself (res/ari/ari_websocket_requests.c)
    assert (by_tid["17"]["reason_phrase"], json.loads(by_tid["17"]["message_body"])) == (
        "Bad request",
        {"message": "Unable to parse 'message_body' as 'application/json'."},
    )


async def test_the_envelope_is_checked_as_parse_rest_request_msg_does() -> None:
    """res/ari/ari_websocket_requests.c, in its order: type, uri, method (spelled
    exactly), query_strings (objects of strings), then a body needs an exact
    content_type. Then ast_ari_invoke: GET events is refused over a websocket."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        key = {"app": "channel-aa", "api_key": f"{sim.username}:{sim.password}"}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key)
        body = {"message_body": "variable=X&value=1"}
        cases: list[tuple[dict[str, Any], int, str, str, str]] = [
            ({"type": "", "uri": "x"}, 400, "Bad request", "", "No 'type' property."),
            ({"type": 5}, 400, "Bad request", "", "No 'type' property."),
            ({"uri": ""}, 400, "Bad request", "", "Empty or missing 'uri' property."),
            ({"uri": None}, 400, "Bad request", "", "Empty or missing 'uri' property."),
            (
                {"method": "get"},
                400,
                "Bad request",
                "asterisk/info",
                "Unknown or missing 'method' property.",
            ),
            (
                {"query_strings": [{"name": "only", "value": 1}]},
                400,
                "Bad request",
                "asterisk/info",
                "Unable to parse 'query_strings' array.",
            ),
            (
                {"query_strings": ["only=system"]},
                400,
                "Bad request",
                "asterisk/info",
                "Unable to parse 'query_strings' array.",
            ),
            (body, 400, "Bad request", "asterisk/info", "No 'content_type' for 'message_body'."),
            (
                {**body, "content_type": "application/x-www-form-urlencoded; charset=utf-8"},
                400,
                "Bad request",
                "asterisk/info",
                "Unknown content type.",
            ),
            (
                {"content_type": "application/json", "message_body": "5"},
                400,
                "Bad request",
                "asterisk/info",
                "Unable to parse 'message_body' as 'application/json'.",
            ),
            (
                {"uri": "events?app=x"},
                400,
                "Bad request",
                "events",
                "Can't upgrade to websocket from a websocket",
            ),
        ]
        frames = [
            {**_req(str(n), "GET", "asterisk/info"), **change}
            for n, (change, *_) in enumerate(cases)
        ]
        answers = await _exchange(ws, frames)
        await ws.close()
    got = [
        (a["status_code"], a["reason_phrase"], a["uri"], json.loads(a["message_body"])["message"])
        for a in answers
    ]
    assert got == [tuple(case[1:]) for case in cases]
    # a non-string query_strings (not an array) or a JSON array body is no error
    assert [a["transaction_id"] for a in answers] == [str(n) for n in range(len(cases))]


async def test_a_stored_file_is_not_sent_over_the_websocket() -> None:
    """send_rest_response: an answer that is a file descriptor (getStoredFile) is closed
    and becomes 406 "Not Acceptable.  Use HTTP GET", no body; its errors are as usual."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        sim.model.store_recording("greeting", "wav", 2.0)
        key = {"app": "channel-aa", "api_key": f"{sim.username}:{sim.password}"}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key)
        ok, missing, listed = await _exchange(
            ws,
            [
                _req("1", "GET", "recordings/stored/greeting/file"),
                _req("2", "GET", "recordings/stored/nope/file"),
                _req("3", "GET", "recordings/stored/greeting"),
            ],
        )
        await ws.close()
        auth = {"Authorization": aiohttp.encode_basic_auth(sim.username, sim.password)}
        url = f"{sim.ari_url}/recordings/stored/greeting/file"
        async with session.get(url, headers=auth) as resp:  # over HTTP it is the file
            assert (resp.status, resp.content_type) == (200, "audio/wav")
            assert (await resp.read())[:4] == b"RIFF"
    assert list(ok) == ENVELOPE + TAIL
    assert (ok["status_code"], ok["reason_phrase"]) == (406, "Not Acceptable.  Use HTTP GET")
    assert ok["uri"] == "recordings/stored/greeting/file"
    assert (missing["status_code"], json.loads(missing["message_body"])) == (
        404,
        {"message": "Recording not found"},
    )
    assert json.loads(listed["message_body"])["name"] == "greeting"


async def test_many_pipelined_requests_are_answered_in_order() -> None:
    """A client may send without waiting; answers come back in order, none lost."""
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        key = {"app": "ws-app", "api_key": f"{sim.username}:{sim.password}"}
        ws = await session.ws_connect(f"{sim.url}/ari/events", params=key)
        frames = [_req(str(n), "GET", "asterisk/ping") for n in range(500)]
        answers = await _exchange(ws, frames)
        await ws.close()
    assert [a["transaction_id"] for a in answers] == [str(n) for n in range(500)]
    assert all(a["status_code"] == 200 for a in answers)
