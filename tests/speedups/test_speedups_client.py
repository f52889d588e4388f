"""The client behaves the same with and without orjson (``ivrkit.speedups``).

One scenario, run twice over MockTransport: once on the stdlib's ``json`` and once on
orjson. A call is live while frames arrive on its websocket that the two decoders read
differently (lone surrogates, integers beyond 64 bits, NaN, duplicate keys, deep
nesting, text that is not JSON). Everything the client lets out is recorded, the log
lines, the events application-level handlers get and the events the call gets, and
the two records must be equal. Each record is also checked on its own, so a change of
behaviour common to both paths fails here too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import orjson
import pytest

from ivrkit import speedups
from ivrkit.ari import (
    AriClient,
    CallScope,
    ConnectionConfig,
    Credentials,
    Event,
    MockTransport,
    Request,
    Response,
    StasisStart,
)

APP = "ivr"
CHANNEL = '{"id": "c1", "name": "PJSIP/c1", "state": "Up"}'


def frame(type_: str, **fields: str) -> str:
    """A frame as text (a dict would go through json.dumps, escaping nothing useful)."""
    extra = "".join(f', "{k}": {v}' for k, v in fields.items())
    return f'{{"type": "{type_}", "application": "{APP}", "timestamp": "t"{extra}}}'


# frames on which orjson alone would decode differently from the stdlib
FRAMES = [
    frame("StasisStart", args="[]", channel='{"id": "\\ud800", "name": "x"}'),
    frame("ChannelDtmfReceived", digit='"1"', channel='{"id": "c1", "name": "PJSIP/\\udfff"}'),
    frame("ChannelDtmfReceived", digit='"2"', duration_ms="18446744073709551616", channel=CHANNEL),
    frame("ChannelDtmfReceived", digit='"3"', duration_ms="NaN", channel=CHANNEL),
    frame("ChannelDtmfReceived", digit='"4"', duration_ms="1e400", channel=CHANNEL),
    frame("ChannelDtmfReceived", digit='"5"', digit_again='"6"', channel=CHANNEL).replace(
        "digit_again", "digit"
    ),  # a duplicate key: the last wins
    frame("ChannelVarset", variable='"X"', value='"' + "[" * 10 + '"', channel=CHANNEL),
    frame("Nested", deep="[" * 300 + "]" * 300),
    frame("Deep", deep="[" * 5000 + "]" * 5000),  # beyond json.loads' recursion limit
    "not json at all",
    '["a", "list"]',
    '{"type": "PlaybackFinished", "playback": {"id": "\\udc00"}}',
    frame("ChannelDtmfReceived", digit='"7"', channel=CHANNEL),
]


class TinyAri:
    def handle(self, req: Request) -> Response:
        if req.path.startswith("/applications"):
            return Response(200, {"name": APP, "channel_ids": []})
        return Response(204)


async def until(predicate: Any) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - a condition on the client's counters
            await asyncio.sleep(0.01)


def summary(event: Event) -> tuple[str, str, str]:
    raw = json.dumps(event.raw, sort_keys=True) if event.raw is not None else ""
    return (type(event).__name__, getattr(event, "problem", ""), raw)


async def scenario(caplog: pytest.LogCaptureFixture) -> dict[str, list[Any]]:
    app_events: list[tuple[str, str, str]] = []
    call_events: list[tuple[str, str, str]] = []
    transport = MockTransport(TinyAri().handle)
    config = ConnectionConfig(
        base_url="http://127.0.0.1:1", apps=(APP,), credentials=Credentials("u", "p")
    )
    client = AriClient(config, transport=transport)

    def setup(scope: CallScope, start: StasisStart) -> None:
        scope.on(Event, lambda ev: call_events.append(summary(ev)))

    client.on_call(setup)
    client.on(Event, lambda ev: app_events.append(summary(ev)))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        async with client:
            transport.stream.push(frame("StasisStart", args="[]", channel=CHANNEL))
            await until(lambda: client.statistics().calls == 1)
            for text in FRAMES:
                transport.stream.push(text)
            # frames are handled in order: once the last one reached the call, all were
            await until(lambda: any('"digit": "7"' in raw for _, _, raw in call_events))
    lines = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    return {"log": lines, "app": app_events, "call": call_events}


async def test_the_client_lets_out_the_same_with_and_without_orjson(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(speedups, "loads", speedups.stdlib_loads)
    plain = await scenario(caplog)
    monkeypatch.setattr(speedups, "_orjson", orjson)
    monkeypatch.setattr(speedups, "loads", speedups._orjson_loads)
    fast = await scenario(caplog)
    assert fast == plain

    # and what it lets out is what the client promises, on both paths
    warnings = [msg for level, msg, _ in plain["log"] if level == "WARNING"]
    assert warnings == [
        "ignoring a malformed event: StasisStart channel.id holds a lone surrogate, not text",
        "ignoring a malformed event: ChannelDtmfReceived channel.name holds a lone "
        "surrogate, not text",
        f"ignoring a websocket frame nested too deep to decode: {FRAMES[8]!r:.80}",
        "ignoring a websocket frame that is not JSON: 'not json at all'",
        'ignoring a websocket frame that is not an object: \'["a", "list"]\'',
        "ignoring a malformed event: PlaybackFinished playback.id holds a lone surrogate, not text",
    ]
    assert not any(traceback for _, _, traceback in plain["log"])
    digits = [json.loads(raw)["digit"] for name, _, raw in plain["call"] if "Dtmf" in name]
    assert digits == ["2", "3", "4", "6", "7"]  # the malformed one never reached the call
    durations = [
        json.loads(raw).get("duration_ms") for name, _, raw in plain["call"] if "Dtmf" in name
    ]
    assert [repr(d) for d in durations[:3]] == ["18446744073709551616", "nan", "inf"]
    app_types = [name for name, _, _ in plain["app"]]
    assert app_types.count("UnknownEvent") >= 3  # the malformed ones + Nested


async def test_a_deep_frame_while_a_request_waits_is_one_warning_and_the_request_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Found here: a frame naming "RESTResponse" and nested beyond json.loads' limit
    raised RecursionError out of the websocket reader (a traceback, the socket treated
    as lost) while a REST request over the websocket waited for its answer."""
    config = ConnectionConfig(
        base_url="http://127.0.0.1:1",
        apps=(APP,),
        credentials=Credentials("u", "p"),
        rest_transport="websocket",
    )
    transport = MockTransport(TinyAri().handle)
    deep = '{"type": "RESTResponse", "x": ' + "[" * 5000 + "]" * 5000 + "}"

    async def answer() -> None:
        while True:
            await until(lambda: transport.streams and transport.stream.sent)
            request = json.loads(transport.stream.sent.pop(0))
            if request["uri"].startswith("channels/"):
                transport.stream.push(deep)  # arrives while the request waits
            body = {"name": APP, "channel_ids": []} if "applications" in request["uri"] else {}
            transport.stream.push(
                json.dumps(
                    {
                        "type": "RESTResponse",
                        "transaction_id": request["transaction_id"],
                        "request_id": request["request_id"],
                        "status_code": 200,
                        "reason_phrase": "OK",
                        "uri": request["uri"],
                        "content_type": "application/json",
                        "message_body": json.dumps({**body, "id": "c9"}),
                    }
                )
            )

    with caplog.at_level(logging.WARNING):
        async with asyncio.TaskGroup() as tg:
            responder = tg.create_task(answer())
            async with AriClient(config, transport=transport) as client:
                channel = await client.channels.get("c9")
                assert channel.id == "c9"
                assert len(transport.streams) == 1  # the socket was never lost
            responder.cancel()
    assert [r.getMessage()[:55] for r in caplog.records] == [
        "ignoring a websocket frame nested too deep to decode: '"
    ]
    assert all(r.exc_info is None for r in caplog.records)
