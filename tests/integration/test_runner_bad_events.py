"""Malformed and stray events reach the runner's calls (issue 16, finding 6).

Each is one warning line naming what was wrong (no traceback), changes no call, and the
call is served normally afterwards. The client runs over MockTransport (its injection
layer) with a tiny ARI that answers every request, so a test can push any frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, MockTransport, Request, Response
from ivrkit.ivr import CallState, load_menu
from ivrkit.ivr.runner import MenuRunner

APP = "ivr"
MENU = """\
transcript:
  digit: "{channel} pressed {digit}"
menus:
  main:
    greeting: sound:hello
    options:
      - key: 1
        play: sound:one
"""


class TinyAri:
    """Answers every request as Asterisk would for a live channel; records the plays."""

    def __init__(self) -> None:
        self.plays: list[str] = []

    def handle(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if parts[0] == "applications":
            return Response(200, {"name": APP, "channel_ids": []})
        if len(parts) == 4 and parts[2] == "play":
            self.plays.append(str(req.params.get("media")))
            return Response(201, playback(parts[3], "queued"))
        return Response(204)


def channel(cid: str = "c1") -> dict[str, Any]:
    return {"id": cid, "name": f"PJSIP/{cid}", "state": "Up"}


def event(type_: Any, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "application": APP, "timestamp": "t", **fields}


def playback(pid: Any, state: str = "done", target: str = "channel:c1") -> dict[str, Any]:
    return {"id": pid, "media_uri": "sound:hello", "target_uri": target, "state": state}


BAD_FRAMES: list[tuple[dict[str, Any], str]] = [
    (event("PlaybackFinished", playback=playback(None)), "PlaybackFinished playback.id is null"),
    (event("PlaybackStarted", playback=playback("")), "PlaybackStarted playback.id is empty"),
    (
        event("ChannelDtmfReceived", digit="1", channel=channel("")),
        "ChannelDtmfReceived channel.id is empty",
    ),
    (
        event("ChannelDtmfReceived", digit="1", channel={**channel(), "id": 7}),
        "ChannelDtmfReceived channel.id is a number",
    ),
    (
        event("ChannelDtmfReceived", digit=["1"], channel=channel()),
        "ChannelDtmfReceived digit is a list, not a string",
    ),
    (event(["StasisEnd"], channel=channel()), "type is a list, not a string"),
    (event({"t": "StasisEnd"}, channel=channel()), "type is an object, not a string"),
    (event("StasisEnd", channel="c1"), "StasisEnd channel is the string 'c1', not an object"),
    (
        event("ChannelHangupRequest", channel={"name": "x"}),
        "ChannelHangupRequest channel.id is missing",
    ),
    (
        event("PlaybackFinished", playback={**playback("c1-p1"), "target_uri": 3}),
        "PlaybackFinished playback.target_uri is a number, not a string",
    ),
    (event("StasisEnd", channel={**channel(), "id": ["c1"]}), "StasisEnd channel.id is a list"),
    (
        event("StasisStart", args=[], channel=channel("\ud800")),
        "StasisStart channel.id holds a lone surrogate, not text",
    ),
    (
        event("ChannelDtmfReceived", digit="1", channel={**channel(), "name": "PJSIP/\udfff"}),
        "ChannelDtmfReceived channel.name holds a lone surrogate, not text",
    ),
]


async def until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - conditions span several objects
            await asyncio.sleep(0.01)


async def test_malformed_events_are_one_warning_line_and_change_no_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ari = TinyAri()
    transport = MockTransport(ari.handle)
    lines: list[str] = []
    runner = MenuRunner(load_menu(MENU), transcript=lines.append)
    config = ConnectionConfig(
        base_url="http://127.0.0.1:1", apps=(APP,), credentials=Credentials("u", "p")
    )
    client = AriClient(config, transport=transport)
    runner.attach(client)
    async with client:
        transport.stream.push(event("StasisStart", args=[], channel=channel()))
        await until(lambda: ari.plays == ["sound:hello"])
        (call,) = runner._calls.values()
        before = (call.machine.state, call.machine.menu)
        with caplog.at_level(logging.WARNING):
            for frame, _ in BAD_FRAMES:
                transport.stream.push(frame)
            # a stray playback of this call's id pattern that it never started, and a
            # duplicate finish of a playback that is not playing: not this call's either
            transport.stream.push(event("PlaybackFinished", playback=playback("c1-p9")))
            transport.stream.push(event("PlaybackStarted", playback=playback("c1-p9")))
            await until(lambda: client.statistics().events >= len(BAD_FRAMES) + 3)
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in warnings] == [
            f"ignoring a malformed event: {why}" for _, why in BAD_FRAMES
        ]
        assert all(r.exc_info is None for r in caplog.records)
        assert (call.machine.state, call.machine.menu) == before
        assert runner.statistics().call_errors == 0
        # the call is still served: its greeting ends, a key plays its prompt
        greeting = call.machine.current_playback  # c1-<this runner's token>-p1
        assert greeting is not None
        transport.stream.push(event("PlaybackFinished", playback=playback(greeting)))
        await until(lambda: call.machine.state is CallState.WAITING)
        transport.stream.push(event("ChannelDtmfReceived", digit="1", channel=channel()))
        await until(lambda: ari.plays == ["sound:hello", "sound:one"])
        assert lines == ["PJSIP/c1 pressed 1"]
        transport.stream.push(event("StasisEnd", channel=channel()))
        async with asyncio.timeout(10):
            await runner.wait_no_calls()
    assert "Traceback" not in caplog.text


async def test_a_stop_for_a_closed_call_makes_no_orphan_request() -> None:
    """Fuzz finding: a StopPrompt carried out after the call's scope had closed created
    the stop request's coroutine, then never awaited it (a RuntimeWarning, and the live
    task count went up by one for good)."""
    import gc
    import warnings

    from ivrkit.ivr import StopPrompt

    ari = TinyAri()
    transport = MockTransport(ari.handle)
    runner = MenuRunner(load_menu(MENU), transcript=lambda _: None)
    config = ConnectionConfig(
        base_url="http://127.0.0.1:1", apps=(APP,), credentials=Credentials("u", "p")
    )
    client = AriClient(config, transport=transport)
    runner.attach(client)
    async with client:
        transport.stream.push(event("StasisStart", args=[], channel=channel()))
        await until(lambda: ari.plays == ["sound:hello"])
        (call,) = runner._calls.values()
        transport.stream.push(event("StasisEnd", channel=channel()))
        await until(lambda: call.scope.closed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reason = await call._carry_out(StopPrompt(playback_id="c1-p1"))
            gc.collect()
        assert reason is not None
        assert reason.startswith("CallEnded")
        assert [str(w.message) for w in caught] == []
        assert call.tasks == 0
