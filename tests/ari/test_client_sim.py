"""The client against the real simulator over 127.0.0.1 sockets, on virtual time."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

import pytest

from ivrkit.ari import (
    ApplicationReplacedError,
    AriClient,
    AuthenticationFailed,
    CallEnded,
    CallScope,
    ChannelDtmfReceived,
    ConnectionConfig,
    Credentials,
    Disconnected,
    NotFound,
    PlaybackFinished,
    PlaybackStarted,
    Reconnected,
    StasisEnd,
    StasisStart,
    Unreachable,
)
from ivrkit.sim import Simulator

APP = "channel-aa"


def cfg(sim: Simulator, **options: Any) -> ConnectionConfig:
    return ConnectionConfig(
        base_url=sim.url,
        apps=(APP,),
        credentials=Credentials(sim.username, sim.password),
        **options,
    )


async def until(predicate: Any, limit: float = 30.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - conditions span several objects
            await asyncio.sleep(0.01)


def _quiet(client: AriClient) -> bool:
    s = client.statistics()
    return (s.calls, s.handlers, s.tasks, s.timers, s.playbacks, s.routes) == (0,) * 6


async def test_small_app_answer_play_dtmf_hangup() -> None:
    """The docs/client.md app, end to end: what the caller hears is the proof."""
    async with Simulator() as sim:
        keys: list[str] = []

        async def converse(call: CallScope) -> None:
            await call.answer()
            await call.play_and_wait("sound:press-1")
            key = await call.wait_for(ChannelDtmfReceived)
            keys.append(key.digit)
            await call.play_and_wait(f"digits:{key.digit}")
            await call.hangup_quietly()

        def on_call(call: CallScope, start: StasisStart) -> None:
            call.spawn(converse(call))

        async with AriClient(cfg(sim), on_call=on_call) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            await caller.wait_until_heard("sound:press-1")
            await caller.press("5")
            await caller.wait_for_hangup()
            await until(lambda: _quiet(client))
        assert keys == ["5"]
        assert [h.media_uri for h in caller.heard] == ["sound:press-1", "digits:5"]
        assert not any(h.cut_off for h in caller.heard)
        assert sim.stats()["channels"] == 0


async def test_wait_no_calls_returns_once_the_last_event_is_handled() -> None:
    """``wait_no_calls`` is the end of the call's handling, not of its frames: a call
    still busy with its StasisEnd keeps it waiting (the listener closes a per-call
    client only then)."""
    async with Simulator() as sim:
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ended: list[str] = []

        async def on_end(event: StasisEnd) -> None:
            await gate
            ended.append(event.channel.id)

        def on_call(call: CallScope, start: StasisStart) -> None:
            call.on(StasisEnd, on_end)

        async with AriClient(cfg(sim), on_call=on_call) as client:
            async with asyncio.timeout(1):
                await client.wait_no_calls()  # none up: at once
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: client.statistics().calls == 1)
            waiting = asyncio.create_task(client.wait_no_calls())
            await caller.hangup()
            await until(lambda: client.statistics().queued == 0 and not gate.done())
            await asyncio.sleep(5)  # virtual time: the handler is held by the gate
            assert not waiting.done()
            assert ended == []
            gate.set_result(None)
            async with asyncio.timeout(10):
                await waiting
            assert ended == [caller.channel_id]
            assert client.statistics().calls == 0


async def test_websocket_drop_mid_call_prompt_finishes_in_gap() -> None:
    """The socket drops while press-1 plays; it ends during the gap; the call carries on.

    Asterisk sends PlaybackFinished to nobody, so the re-sync must synthesise it; the
    menu then goes on and a key pressed after the reconnect is handled.
    """
    async with Simulator() as sim:
        got: list[str] = []
        signals: list[Any] = []

        async def converse(call: CallScope) -> None:
            await call.answer()
            fin = await call.play_and_wait("sound:press-1")
            got.append(f"finished synthetic={fin.synthetic}")
            await call.play_and_wait("sound:or")
            key = await call.wait_for(ChannelDtmfReceived)
            got.append(f"key {key.digit}")
            await call.hangup_quietly()

        options = {"backoff_initial": 6.0, "backoff_max": 6.0}
        async with AriClient(
            cfg(sim, **options),
            on_call=lambda c, s: c.spawn(converse(c)),
            random=lambda: 0.0,
        ) as client:
            client.on((Disconnected, Reconnected), signals.append)
            caller = await sim.call("PJSIP/alice", "1000")
            await caller.wait_for_playback("sound:press-1")
            sim.faults.refuse_requests(1, path="events")  # the first retry: a gap of 3 s
            assert sim.faults.drop_websockets(APP) == 1
            await until(lambda: len(signals) == 2)
            assert isinstance(signals[0], Disconnected)
            assert isinstance(signals[1], Reconnected)
            assert signals[1].gap == pytest.approx(3.0, abs=0.2)  # 6.0 * (0.5 + 0.0)
            assert len(signals[1].playbacks_finished) == 1
            assert signals[1].adopted == (caller.channel_id,)
            assert signals[1].ended == ()
            assert client.ready
            await caller.wait_until_heard("sound:or")
            await caller.press("7")
            await caller.wait_for_hangup()
            await until(lambda: _quiet(client))
        assert got == ["finished synthetic=True", "key 7"]
        assert [h.media_uri for h in caller.heard] == ["sound:press-1", "sound:or"]


async def test_call_that_ends_during_gap_is_cleaned_up() -> None:
    async with Simulator() as sim:
        ended: list[bool] = []

        def on_call(call: CallScope, start: StasisStart) -> None:
            call.on(PlaybackStarted, lambda e: None)
            call.call_later(3600, lambda: None)
            from ivrkit.ari import StasisEnd

            call.on(StasisEnd, lambda e: ended.append(e.synthetic))

        async with AriClient(cfg(sim, backoff_initial=4.0), on_call=on_call) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: client.statistics().calls == 1)
            sim.faults.drop_websockets(APP)
            await caller.hangup()
            await until(lambda: ended == [True])
            await until(lambda: _quiet(client))
            assert client.ready


async def test_hangup_racing_play_and_stop() -> None:
    """After the caller hangs up, stop/hangup are quiet no-ops; a new play is NotFound."""
    async with Simulator() as sim:
        scopes: list[CallScope] = []
        async with AriClient(cfg(sim), on_call=lambda c, s: scopes.append(c)) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: scopes)
            call = scopes[0]
            await call.answer()
            finished = call.expect(PlaybackFinished)
            pb = await call.play("sound:press-1")
            await caller.wait_for_playback("sound:press-1")
            await caller.hangup()
            assert (await finished).playback.state in ("done", "failed")
            assert await client.stop_playback_quietly(pb.id) is False
            assert await client.hangup_quietly(call.channel_id) is False
            with pytest.raises(NotFound):
                await client.channels.play(call.channel_id, "sound:or")
            with pytest.raises(CallEnded):
                await call.wait_for(ChannelDtmfReceived)
            await until(lambda: _quiet(client))


async def test_stop_playing_prompt_then_hangup() -> None:
    async with Simulator() as sim:
        scopes: list[CallScope] = []
        async with AriClient(cfg(sim), on_call=lambda c, s: scopes.append(c)) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: scopes)
            call = scopes[0]
            await call.answer()
            finished = call.expect(PlaybackFinished)
            pb = await call.play("sound:press-1")
            await caller.wait_for_playback("sound:press-1")
            assert await client.stop_playback_quietly(pb.id) is True
            await finished
            assert await client.hangup_quietly(call.channel_id) is True
            await caller.wait_for_hangup()
            await until(lambda: _quiet(client))
        assert caller.heard[0].cut_off


async def test_wrong_password_fails_fast_without_leaking_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Simulator() as sim:
        bad = ConnectionConfig(
            base_url=sim.url, apps=(APP,), credentials=Credentials(sim.username, "n0tit")
        )
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(AuthenticationFailed) as info:
            async with AriClient(bad):
                pass
        assert loop.time() - started < 1.0
        assert f"127.0.0.1:{sim.port}/ari/events" in str(info.value)
        assert "n0tit" not in str(info.value)
        assert "n0tit" not in caplog.text
        assert "n0tit" not in repr(bad)
        assert sim.stats()["websockets"] == 0


async def test_unreachable_fails_fast_naming_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = ConnectionConfig(
        base_url=f"http://127.0.0.1:{port}",
        apps=(APP,),
        credentials=Credentials("u", "s3cr3t-pw"),
    )
    with pytest.raises(Unreachable, match=f"127.0.0.1:{port}") as info:
        async with AriClient(config):
            pass
    assert "s3cr3t-pw" not in str(info.value)


async def test_application_replaced_stops_the_first_client() -> None:
    async with Simulator() as sim, AriClient(cfg(sim)) as first:
        async with AriClient(cfg(sim)) as second:
            with pytest.raises(ApplicationReplacedError):
                async with asyncio.timeout(5):
                    await first.wait_stopped()
            assert not first.ready
            assert second.ready
            starts: list[str] = []
            second.on_call(lambda c, s: starts.append(c.channel_id))
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: starts == [caller.channel_id])
            await caller.hangup()
        await asyncio.sleep(30)
        assert first.statistics().reconnects == 0


async def test_300_calls_over_the_simulator_leave_nothing_behind() -> None:
    """300 overlapping calls over real sockets (10,000 run in test_client_mock.py)."""
    n = 300
    async with Simulator() as sim:
        heard_digits: list[str] = []

        async def converse(call: CallScope) -> None:
            await call.answer()
            await call.play("sound:press-1")
            key = await call.wait_for(ChannelDtmfReceived)
            heard_digits.append(key.digit)
            call.call_later(10, lambda: None)  # cancelled by the hang-up
            await call.hangup_quietly()

        async with AriClient(cfg(sim), on_call=lambda c, s: c.spawn(converse(c))) as client:
            callers = []
            for _ in range(n):
                callers.append(await sim.call("PJSIP/alice", "1000"))
            for caller in callers:
                await caller.wait_for_playback("sound:press-1")
            await asyncio.gather(*(c.press("3") for c in callers))
            await asyncio.gather(*(c.wait_for_hangup() for c in callers))
            await until(lambda: _quiet(client))
            stats = client.statistics()
        assert len(heard_digits) == n
        assert stats.events >= 4 * n
        assert sim.stats()["channels"] == 0
        assert sim.stats()["playbacks"] == 0


async def test_rest_over_the_websocket() -> None:
    """``rest_transport="websocket"``: every REST call is a RESTRequest frame, none HTTP."""
    async with Simulator() as sim:
        keys: list[str] = []

        async def converse(call: CallScope) -> None:
            await call.answer()
            await call.play_and_wait("sound:press-1")
            keys.append((await call.wait_for(ChannelDtmfReceived)).digit)
            with pytest.raises(NotFound, match="Playback not found"):
                await call.client.playbacks.stop("no-such-playback")
            await call.hangup_quietly()

        config = cfg(sim, rest_transport="websocket")
        async with AriClient(config, on_call=lambda c, s: c.spawn(converse(c))) as client:
            info = await client.asterisk.info()
            assert info.raw
            caller = await sim.call("PJSIP/alice", "1000")
            await caller.wait_until_heard("sound:press-1")
            await caller.press("9")
            await caller.wait_for_hangup()
            await until(lambda: _quiet(client))
        assert keys == ["9"]


async def test_rest_over_the_websocket_survives_a_drop() -> None:
    async with Simulator() as sim:
        config = cfg(sim, rest_transport="websocket", backoff_initial=2.0)
        async with AriClient(config, random=lambda: 0.0) as client:
            assert client.rest_transport == "websocket"
            sim.faults.refuse_requests(1, path="events")  # down for a backoff
            sim.faults.drop_websockets(APP)
            await until(lambda: not client.ready)
            assert client.rest_transport == "http"  # falls back while the socket is down
            assert (await client.asterisk.info()).raw
            await client.wait_ready()
            assert client.rest_transport == "websocket"
            assert (await client.applications.get(APP)).name == APP


async def test_rest_transport_auto_detects_support() -> None:
    async with Simulator() as sim, AriClient(cfg(sim, rest_transport="auto")) as client:
        assert client.rest_transport == "websocket"
        assert (await client.applications.get(APP)).name == APP


async def test_a_restarted_client_adopts_calls_already_in_stasis() -> None:
    """Calls stay in Stasis while no client is connected; the next client adopts them."""
    async with Simulator() as sim:
        async with AriClient(cfg(sim)) as first:
            caller = await sim.call("PJSIP/alice", "1000")
            await until(lambda: first.statistics().calls == 1)
        starts: list[StasisStart] = []
        async with AriClient(cfg(sim), on_call=lambda c, s: starts.append(s)) as second:
            await until(lambda: len(starts) == 1)
            assert starts[0].synthetic
            assert starts[0].channel.id == caller.channel_id
            assert second.statistics().calls == 1
            await second.hangup_quietly(caller.channel_id)
            await caller.wait_for_hangup()
            await until(lambda: _quiet(second))


async def test_resync_that_fails_is_retried_until_the_prompt_is_settled() -> None:
    """A 500 on GET /applications after the reconnect must not skip the re-sync.

    Skipping would leave the call waiting for a PlaybackFinished sent while nobody
    listened; the client retries with backoff and is ready only once the view is true.
    """
    async with Simulator() as sim:
        got: list[str] = []
        signals: list[Any] = []

        async def converse(call: CallScope) -> None:
            await call.answer()
            fin = await call.play_and_wait("sound:press-1")
            got.append(f"finished synthetic={fin.synthetic}")
            await call.hangup_quietly()

        options = {"backoff_initial": 6.0, "backoff_max": 6.0}
        async with AriClient(
            cfg(sim, **options),
            on_call=lambda c, s: c.spawn(converse(c)),
            random=lambda: 0.0,
        ) as client:
            client.on((Disconnected, Reconnected), signals.append)
            caller = await sim.call("PJSIP/alice", "1000")
            await caller.wait_for_playback("sound:press-1")
            sim.faults.fail_requests(500, count=2, path="applications", method="GET")
            sim.faults.refuse_requests(1, path="events")  # press-1 ends in the gap
            sim.faults.drop_websockets(APP)
            await until(lambda: len(signals) == 1)
            assert not client.ready
            await until(lambda: len(signals) == 2)
            assert isinstance(signals[1], Reconnected)
            assert len(signals[1].playbacks_finished) == 1
            assert client.ready
            await caller.wait_for_hangup()
            await until(lambda: _quiet(client))
        assert got == ["finished synthetic=True"]
