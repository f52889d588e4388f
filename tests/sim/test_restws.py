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
    assert json.loads(by_tid["17"]["message_body"]) == {"message": "Error parsing request body"}


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
