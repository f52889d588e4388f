"""REST over the websocket: the frames the client writes and its request timeouts.

The frame is built as text on the hot path (ari/_supervisor.py ``request_frame``); these
tests hold it to what ``json.dumps`` and ``urlencode`` would have produced.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from _fakes import FakeAri, config

from ivrkit.ari import AriClient, RequestTimeout
from ivrkit.ari._supervisor import request_frame
from ivrkit.ari._transport import MockTransport, Request


@pytest.mark.parametrize(
    ("params", "body"),
    [
        ({}, None),
        ({"media": "sound:press-1"}, None),
        ({"media": "sound:a,sound:b", "lang": "fr", "offsetms": "500"}, None),
        ({"reason": "a b&c=d/é\u2028"}, None),
        ({}, {"variable": "IVRKIT_CALL", "value": '{"menu":"main","data":{"n":"é\\"x"}}'}),
        ({"endpoint": "PJSIP/bob"}, {"variables": {"CALLERID(name)": "Zoë \U0001f600"}}),
    ],
)
def test_the_frame_says_what_json_dumps_would(params: dict[str, str], body: Any) -> None:
    request = Request("POST", "/channels/c%2F1/play/pb-1", params, body)
    text = request_frame("r7", request)
    assert text.isascii()
    frame = json.loads(text)
    uri = "channels/c%2F1/play/pb-1" + ("?" + urlencode(params) if params else "")
    expected: dict[str, Any] = {
        "type": "RESTRequest",
        "transaction_id": "r7",
        "request_id": "r7",
        "method": "POST",
        "uri": uri,
    }
    if body is not None:
        expected["content_type"] = "application/json"
        expected["message_body"] = json.dumps(body)
    assert frame == expected
    if body is not None:
        assert json.loads(frame["message_body"]) == body


async def until(predicate: Any, limit: float = 30.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the mock stream has no waiter to await
            await asyncio.sleep(0.01)


def _responder(transport: MockTransport, silent: set[str]) -> Any:
    """Answer every RESTRequest 200 except those whose uri starts with one in ``silent``."""

    async def answer() -> None:
        while True:
            await until(lambda: transport.streams and transport.stream.sent)
            frame = json.loads(transport.stream.sent.pop(0))
            if any(frame["uri"].startswith(s) for s in silent):
                continue
            body = '{"name":"channel-aa","channel_ids":[]}'
            transport.stream.push(
                {
                    "type": "RESTResponse",
                    "transaction_id": frame["transaction_id"],
                    "request_id": frame["request_id"],
                    "status_code": 200,
                    "reason_phrase": "OK",
                    "uri": frame["uri"],
                    "content_type": "application/json",
                    "message_body": body,
                }
            )

    return answer()


async def test_each_unanswered_request_times_out_at_its_own_deadline() -> None:
    """One timer serves every outstanding request: the first unanswered one fails after
    ``request_timeout``, answered ones in between are not touched, and a later
    unanswered one still fails ``request_timeout`` after it was sent."""
    transport = MockTransport(FakeAri().handle)
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as tg:
        responder = tg.create_task(_responder(transport, {"channels/silent"}))
        async with AriClient(
            config(rest_transport="websocket", request_timeout=5.0), transport=transport
        ) as client:
            started = loop.time()
            first = loop.create_task(client.request("POST", "/channels/silent1/answer"))
            await asyncio.sleep(2.0)
            assert await client.request("POST", "/channels/c1/answer") is not None
            second = loop.create_task(client.request("POST", "/channels/silent2/answer"))
            with pytest.raises(RequestTimeout, match="silent1/answer: no RESTResponse within 5"):
                await first
            assert loop.time() - started == pytest.approx(5.0, abs=0.05)
            assert not second.done()
            with pytest.raises(RequestTimeout, match="silent2/answer"):
                await second
            assert loop.time() - started == pytest.approx(7.0, abs=0.05)
            # answered and timed-out requests leave nothing pending behind
            assert await client.request("POST", "/channels/c2/answer") is not None
        responder.cancel()
