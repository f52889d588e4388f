"""Client behaviour through MockTransport: REST, errors, dispatch order, scopes, leaks.

No sockets here; tests/ari/test_client_sim.py runs the same client against the simulator.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from typing import Any

import pytest
from _fakes import (
    APP,
    FakeAri,
    channel,
    config,
    dtmf,
    ev,
    playback_event,
    stasis_end,
    stasis_start,
)

from ivrkit.ari import (
    AriClient,
    CallEnded,
    CallScope,
    ChannelDtmfReceived,
    ClientClosedError,
    ClientState,
    Conflict,
    MockTransport,
    NotFound,
    PlaybackFinished,
    PlaybackStarted,
    Request,
    Response,
    StasisEnd,
    StasisStart,
    UnknownEvent,
)


async def until(predicate: Any, limit: float = 5.0) -> None:
    """Await a condition (under virtual time a poll step costs no real time)."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - conditions span several objects
            await asyncio.sleep(0.001)


def _zero(client: AriClient) -> bool:
    s = client.statistics()
    return (s.calls, s.handlers, s.tasks, s.timers, s.playbacks, s.routes, s.queued) == (
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )


# -- REST -------------------------------------------------------------------------------


async def test_rest_requests_are_built_and_typed() -> None:
    fake = FakeAri()
    fake.channels["c1"] = channel("c1")
    transport = fake.transport()
    async with AriClient(config(), transport=transport) as client:
        ch = await client.channels.get("c1")
        assert ch.caller.name == "Alice"
        assert ch.dialplan.priority == 2
        await client.channels.send_dtmf("c1", "1#", duration=300)
        await client.channels.originate(
            "PJSIP/bob", app=APP, caller_id="Alice <100>", variables={"X": "1"}
        )
        await client.bridges.add_channel("br-1", ["a", "b"])
        await client.request("POST", "/events/user/x", params={"application": APP, "n": None})
        reqs = transport.requests[-4:]
    assert reqs[0] == Request("POST", "/channels/c1/dtmf", {"dtmf": "1#", "duration": "300"})
    assert reqs[1].params["channelId"].startswith("ch-")
    assert reqs[1].json == {"variables": {"X": "1"}}
    assert "timeout" not in reqs[1].params
    assert reqs[2].params == {"channel": "a,b"}
    assert reqs[3].params == {"application": APP}


async def test_errors_carry_asterisk_message() -> None:
    fake = FakeAri()
    fake.status_override[("POST", "/channels/c1/continue")] = Response(
        409, {"message": "Channel not in Stasis application"}
    )
    async with AriClient(config(), transport=fake.transport()) as client:
        with pytest.raises(NotFound, match="Channel not found"):
            await client.channels.hangup("gone")
        with pytest.raises(Conflict) as info:
            await client.channels.continue_in_dialplan("c1")
        assert info.value.message == "Channel not in Stasis application"
        assert await client.hangup_quietly("gone") is False
        assert await client.stop_playback_quietly("pb-gone") is False
        fake.playbacks["pb-x"] = {"id": "pb-x"}
        assert await client.stop_playback_quietly("pb-x") is True


async def test_lifecycle_states() -> None:
    client = AriClient(config(), transport=FakeAri().transport())
    assert client.state is ClientState.UNOPENED
    with pytest.raises(ClientClosedError):
        await client.asterisk.info()
    async with client:
        assert client.state is ClientState.OPENED
        assert client.ready
        with pytest.raises(RuntimeError, match="already open"):
            await client.__aenter__()
    assert client.state is ClientState.CLOSED
    assert not client.ready
    with pytest.raises(ClientClosedError, match="cannot be reopened"):
        await client.__aenter__()
    with pytest.raises(ClientClosedError):
        await client.channels.answer("c1")


def test_ids_are_unique_and_kinded() -> None:
    a, b = AriClient(config()), AriClient(config())
    ids = {a.new_id("pb") for _ in range(1000)} | {b.new_id("pb") for _ in range(1000)}
    assert len(ids) == 2000
    assert all(i.startswith("pb-") for i in ids)


# -- dispatch ---------------------------------------------------------------------------


async def test_per_call_order_and_isolation(caplog: pytest.LogCaptureFixture) -> None:
    """A slow call and a crashing handler never block or break another call."""
    fake = FakeAri()
    got: dict[str, list[str]] = {"slow": [], "bad": [], "ok": []}
    release = asyncio.Event()

    async def setup(call: CallScope, start: StasisStart) -> None:
        async def slow(e: ChannelDtmfReceived) -> None:
            await release.wait()
            got["slow"].append(e.digit)

        def bad(e: ChannelDtmfReceived) -> None:
            got["bad"].append(e.digit)
            raise ValueError("boom")

        handler = {"slow": slow, "bad": bad}.get(call.channel_id)
        if handler is None:
            call.on(ChannelDtmfReceived, lambda e: got["ok"].append(e.digit))
        else:
            call.on(ChannelDtmfReceived, handler)

    transport = fake.transport()
    async with AriClient(config(), transport=transport, on_call=setup):
        for cid in got:
            transport.stream.push(stasis_start(cid))
        for digit in "123":
            for cid in got:
                transport.stream.push(dtmf(cid, digit))
        with caplog.at_level(logging.ERROR, "ivrkit.ari"):
            await until(lambda: got["ok"] == ["1", "2", "3"] and len(got["bad"]) == 3)
        assert got["slow"] == []
        assert "channel bad (PJSIP/bad)" in caplog.text  # the id and the name (issue 11)
        assert "boom" in caplog.text
        release.set()
        await until(lambda: got["slow"] == ["1", "2", "3"])


async def test_setup_returning_a_task_does_not_block_the_call() -> None:
    """``on_call=lambda c, s: c.spawn(...)`` returns a Task; the consumer must not await it."""
    transport = FakeAri().transport()
    got: list[str] = []

    async def converse(call: CallScope) -> None:
        got.append((await call.wait_for(ChannelDtmfReceived)).digit)

    async with AriClient(config(), transport=transport, on_call=lambda c, s: c.spawn(converse(c))):
        transport.stream.push(stasis_start("c1"))
        await until(lambda: True)
        await asyncio.sleep(0.01)
        transport.stream.push(dtmf("c1", "4"))
        await until(lambda: got == ["4"])


async def test_unrouted_events_reach_app_pump() -> None:
    transport = FakeAri().transport()
    seen: list[str] = []
    async with AriClient(config(), transport=transport) as client:
        client.on(UnknownEvent, lambda e: seen.append(e.type))
        transport.stream.push(ev("FutureEvent", x=1))
        transport.stream.push("not json")
        transport.stream.push(ev("ChannelVarset", variable="A", value="1"))
        await until(lambda: seen == ["FutureEvent"])
        assert client.statistics().events == 2


async def test_scope_teardown_cancels_everything() -> None:
    transport = FakeAri().transport()
    scopes: list[CallScope] = []
    fired: list[str] = []
    waiters: list[asyncio.Future[Any]] = []

    def setup(call: CallScope, start: StasisStart) -> None:
        scopes.append(call)
        call.on(ChannelDtmfReceived, lambda e: None)
        call.call_later(60, lambda: fired.append("late"))
        call.call_later(0.5, lambda: fired.append("early"))
        call.spawn(asyncio.sleep(3600))
        waiters.append(call.expect(PlaybackFinished))

    async with AriClient(config(), transport=transport, on_call=setup) as client:
        transport.stream.push(stasis_start("c1"))
        await until(lambda: fired == ["early"])
        stats = client.statistics()
        assert (stats.calls, stats.timers, stats.tasks) == (1, 1, 2)
        transport.stream.push(stasis_end("c1"))
        await scopes[0].wait_closed()
        assert _zero(client)
        assert scopes[0].closed
        with pytest.raises(CallEnded):
            waiters[0].result()
        with pytest.raises(CallEnded):
            scopes[0].on(StasisEnd, lambda e: None)
        await asyncio.sleep(120)
        assert fired == ["early"]


async def test_reentering_stasis_gets_a_fresh_scope() -> None:
    transport = FakeAri().transport()
    starts: list[CallScope] = []
    async with AriClient(
        config(), transport=transport, on_call=lambda c, s: starts.append(c)
    ) as client:
        transport.stream.push(stasis_start("c1"))
        transport.stream.push(stasis_end("c1"))
        transport.stream.push(stasis_start("c1"))
        await until(lambda: len(starts) == 2)
        assert starts[0] is not starts[1]
        assert not starts[1].closed
        assert client.statistics().calls == 1


async def test_ten_thousand_calls_leave_nothing_behind() -> None:
    """After 10,000 synthetic calls (start, play, DTMF, timer, task, end) nothing remains.

    Drives the real dispatch and scope layer through MockTransport under virtual time;
    tests/ari/test_client_sim.py repeats a smaller run (300 calls) over real sockets.
    """
    fake = FakeAri()
    transport = fake.transport()
    done = 0

    def setup(call: CallScope, start: StasisStart) -> None:
        def on_dtmf(e: ChannelDtmfReceived) -> None:
            call.call_later(10, lambda: None)

        call.on(ChannelDtmfReceived, on_dtmf)
        call.on(PlaybackStarted, lambda e: None)
        call.spawn(asyncio.sleep(30))

        def ended(e: StasisEnd) -> None:
            nonlocal done
            done += 1

        call.on(StasisEnd, ended)

    n = 10_000
    async with AriClient(config(), transport=transport, on_call=setup) as client:
        tasks_before = len(asyncio.all_tasks())
        for batch in range(0, n, 500):
            for i in range(batch, batch + 500):
                cid = f"c{i}"
                fake.channels[cid] = channel(cid)
                transport.stream.push(stasis_start(cid))
            await until(lambda b=batch: client.statistics().calls == 500)
            for i in range(batch, batch + 500):
                cid = f"c{i}"
                await client.channels.play(cid, "sound:press-1", playback_id=f"pb{i}")
                transport.stream.push(playback_event("PlaybackStarted", f"pb{i}", cid))
                transport.stream.push(dtmf(cid, "1"))
                transport.stream.push(stasis_end(cid))
                del fake.channels[cid]
            await until(lambda b=batch: done == b + 500)
            await until(lambda: _zero(client))
        assert done == n
        assert _zero(client), client.statistics()
        assert len(asyncio.all_tasks()) == tasks_before
        assert client.statistics().events == 4 * n


# -- supervisor -------------------------------------------------------------------------


async def test_drop_reconnect_resync_and_reconcile() -> None:
    """A prompt that ended and a call that hung up during the gap are reconciled."""
    from ivrkit.ari import Disconnected, Reconnected

    fake = FakeAri()
    refuse = {"n": 0}  # the first reconnect attempt is refused: the gap lasts a backoff

    def on_connect() -> None:
        if refuse["n"]:
            refuse["n"] -= 1
            from ivrkit.ari import Unreachable

            raise Unreachable("down")

    transport = fake.transport(on_connect=on_connect)
    finished: dict[str, list[tuple[str, bool]]] = {"c1": [], "c2": []}
    ended: list[str] = []
    signals: list[Any] = []

    def setup(call: CallScope, start: StasisStart) -> None:
        call.on(
            PlaybackFinished,
            lambda e: finished[call.channel_id].append((e.playback.id, e.synthetic)),
        )
        call.on(StasisEnd, lambda e: ended.append(f"{call.channel_id}:{e.synthetic}"))

    cfg = config(backoff_initial=1.0, backoff_max=8.0)
    async with AriClient(cfg, transport=transport, on_call=setup, random=lambda: 0.0) as client:
        client.on((Disconnected, Reconnected), signals.append)
        for cid in ("c1", "c2"):
            fake.channels[cid] = channel(cid)
            transport.stream.push(stasis_start(cid))
        await until(lambda: client.statistics().calls == 2)
        await client.channels.play("c1", "sound:press-1", playback_id="pb1")
        await client.channels.play("c1", "sound:or", playback_id="pb2")
        first = transport.stream
        refuse["n"] = 1
        first.drop()
        await until(lambda: len(signals) == 1)
        assert isinstance(signals[0], Disconnected)
        assert not client.ready
        # during the gap: pb1 ends, c2 hangs up
        del fake.playbacks["pb1"]
        del fake.channels["c2"]
        await until(lambda: client.ready and len(signals) == 2 and finished["c1"] and ended)
        assert isinstance(signals[1], Reconnected)
        assert signals[1].gap == pytest.approx(0.5, abs=0.05)  # backoff 1.0 * (0.5 + 0*0.5)
        assert signals[1].ended == ("c2",)
        assert signals[1].playbacks_finished == ("pb1",)
        assert finished["c1"] == [("pb1", True)]
        assert ended == ["c2:True"]
        # a late real PlaybackFinished for pb1 is not delivered twice; pb2 still works
        transport.stream.push(playback_event("PlaybackFinished", "pb1", "c1", "done"))
        transport.stream.push(playback_event("PlaybackFinished", "pb2", "c1", "done"))
        await until(lambda: len(finished["c1"]) == 2)
        assert finished["c1"][1] == ("pb2", False)
        assert client.statistics().reconnects == 1


async def test_backoff_grows_with_jitter_and_caps() -> None:
    attempts: list[float] = []
    fail = {"n": 0}

    def on_connect() -> None:
        attempts.append(asyncio.get_running_loop().time())
        if 1 <= fail["n"] <= 6:
            fail["n"] += 1
            from ivrkit.ari import Unreachable

            raise Unreachable("down")

    transport = MockTransport(FakeAri().handle, on_connect=on_connect)
    cfg = config(backoff_initial=1.0, backoff_max=8.0, backoff_factor=2.0)
    async with AriClient(cfg, transport=transport, random=lambda: 1.0) as client:
        fail["n"] = 1
        dropped = asyncio.get_running_loop().time()
        transport.stream.drop()
        await until(lambda: client.statistics().reconnects == 1, limit=120)
    # the first retry at once (at most 50 ms of jitter), then the backoff grows and caps
    assert attempts[1] - dropped == pytest.approx(0.05, abs=0.01)
    # the virtual clock also counts the real time the loop spends between attempts, which
    # reaches ~10 ms on a loaded machine: hence the tolerance (far below any step)
    gaps = [b - a for a, b in itertools.pairwise(attempts[1:])]
    assert gaps[:6] == pytest.approx([1.0, 2.0, 4.0, 8.0, 8.0, 8.0], abs=0.04)


async def test_application_replaced_stops_without_fighting() -> None:
    from ivrkit.ari import ApplicationReplaced, ApplicationReplacedError

    transport = FakeAri().transport()
    seen: list[Any] = []
    async with AriClient(config(), transport=transport) as client:
        client.on(ApplicationReplaced, seen.append)
        transport.stream.push(stasis_start("c1"))
        await until(lambda: client.statistics().calls == 1)
        transport.stream.push(ev("ApplicationReplaced"))
        with pytest.raises(ApplicationReplacedError, match=APP):
            await client.wait_stopped()
        assert not client.ready
        await until(lambda: len(seen) == 1)
        await asyncio.sleep(60)
        assert len(transport.streams) == 1  # never reconnected
        assert client.statistics().calls == 0


async def test_startup_failure_is_fast_and_clean() -> None:
    from ivrkit.ari import AuthenticationFailed

    def refuse() -> None:
        raise AuthenticationFailed(401, "GET", "/events", "Authentication required")

    transport = MockTransport(FakeAri().handle, on_connect=refuse)
    client = AriClient(config(), transport=transport)
    with pytest.raises(AuthenticationFailed):
        await client.__aenter__()
    assert client.state is ClientState.CLOSED
    assert transport.closed


async def test_rest_transport_auto_falls_back_to_http() -> None:
    """A server that ignores RESTRequest frames (Asterisk before 20.13) gets HTTP."""
    transport = FakeAri().transport()
    async with AriClient(config(rest_transport="auto"), transport=transport) as client:
        assert client.rest_transport == "http"
        assert len(transport.stream.sent) == 1  # the probe
        await client.channels.answer("c1")
        assert transport.requests[-1].path == "/channels/c1/answer"


async def test_rest_over_websocket_mock() -> None:
    cfg = config(rest_transport="websocket")
    transport = MockTransport(FakeAri().handle)

    async def answer() -> None:
        while True:
            await until(lambda: transport.streams and transport.stream.sent)
            frame = json.loads(transport.stream.sent.pop(0))
            assert frame["type"] == "RESTRequest"
            status, body = (404, '{"message":"Channel not found"}')
            if frame["uri"].startswith("applications/"):
                status, body = 200, f'{{"name":"{APP}","channel_ids":[]}}'
            transport.stream.push(
                {
                    "type": "RESTResponse",
                    "transaction_id": frame["transaction_id"],
                    "request_id": frame["request_id"],
                    "status_code": status,
                    "reason_phrase": "x",
                    "uri": frame["uri"],
                    "content_type": "application/json",
                    "message_body": body,
                }
            )

    async with asyncio.TaskGroup() as tg:
        responder = tg.create_task(answer())
        async with AriClient(cfg, transport=transport) as client:
            with pytest.raises(NotFound, match="Channel not found"):
                await client.channels.get("nope")
        responder.cancel()
    assert transport.requests == []  # nothing went over HTTP


async def test_cancelling_the_owner_still_closes_everything() -> None:
    """Invariant: a cancelled ``async with AriClient`` closes scopes, pump and transport."""
    transport = FakeAri().transport()
    opened = asyncio.Event()
    holder: list[AriClient] = []

    async def app() -> None:
        async with AriClient(config(), transport=transport) as client:
            holder.append(client)
            transport.stream.push(stasis_start("c1"))
            opened.set()
            await client.wait_stopped()

    before = len(asyncio.all_tasks())
    task = asyncio.get_running_loop().create_task(app())
    await opened.wait()
    await until(lambda: holder[0].statistics().calls == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert transport.closed
    assert holder[0].state is ClientState.CLOSED
    assert _zero(holder[0])
    assert len(asyncio.all_tasks()) == before


async def test_a_frame_that_breaks_routing_does_not_stop_the_pump(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import ivrkit.ari._dispatch as dispatch_module

    real = dispatch_module.decode_event

    def flaky(data: Any) -> Any:
        if data.get("type") == "Poison":
            raise ValueError("decoder bug")
        return real(data)

    monkeypatch.setattr(dispatch_module, "decode_event", flaky)
    transport = FakeAri().transport()
    got: list[str] = []
    async with AriClient(
        config(),
        transport=transport,
        on_call=lambda c, s: c.on(ChannelDtmfReceived, lambda e: got.append(e.digit)),
    ) as client:
        transport.stream.push(stasis_start("c1"))
        transport.stream.push(ev("Poison"))
        transport.stream.push(dtmf("c1", "2"))
        await until(lambda: got == ["2"])
        assert client.ready
        assert "decoder bug" in caplog.text


async def test_scope_channel_is_the_latest_snapshot() -> None:
    transport = FakeAri().transport()
    scopes: list[CallScope] = []
    async with AriClient(config(), transport=transport, on_call=lambda c, s: scopes.append(c)):
        transport.stream.push(stasis_start("c1"))
        await until(lambda: scopes)
        ringing = channel("c1")
        ringing["state"] = "Ringing"
        transport.stream.push(ev("ChannelStateChange", channel=ringing))
        await until(lambda: scopes[0].channel.state == "Ringing")
        assert scopes[0].channel.caller.name == "Alice"


async def test_channel_destroyed_alone_ends_the_call() -> None:
    transport = FakeAri().transport()
    scopes: list[CallScope] = []
    async with AriClient(
        config(), transport=transport, on_call=lambda c, s: scopes.append(c)
    ) as client:
        transport.stream.push(stasis_start("c1"))
        await until(lambda: scopes)
        transport.stream.push(
            ev("ChannelDestroyed", cause=16, cause_txt="x", channel=channel("c1"))
        )
        await scopes[0].wait_closed()
        assert _zero(client)


async def test_adopted_channel_and_bridge_route_to_the_same_call() -> None:
    """The transfer recipe: a peer adopted before originate shares its caller's scope."""
    from ivrkit.ari import BridgeDestroyed, ChannelEnteredBridge

    fake = FakeAri()
    transport = fake.transport()
    seen: list[str] = []
    scopes: list[CallScope] = []

    def setup(call: CallScope, start: StasisStart) -> None:
        scopes.append(call)
        call.on(
            (StasisStart, StasisEnd, ChannelEnteredBridge, BridgeDestroyed),
            lambda e: seen.append(f"{e.type}"),
        )

    bridge = {"id": "", "technology": "simple_bridge", "bridge_type": "mixing", "channels": []}
    async with AriClient(config(), transport=transport, on_call=setup) as client:
        transport.stream.push(stasis_start("c1"))
        await until(lambda: scopes)
        call = scopes[0]
        peer = client.new_id("ch")
        call.adopt_channel(peer)
        call.adopt_bridge("br-1")
        await client.channels.originate("PJSIP/bob", app=APP, channel_id=peer)
        transport.stream.push(stasis_start(peer))
        transport.stream.push(
            ev("ChannelEnteredBridge", bridge={**bridge, "id": "br-1"}, channel=channel(peer))
        )
        transport.stream.push(stasis_end(peer))
        transport.stream.push(ev("BridgeDestroyed", bridge={**bridge, "id": "br-1"}))
        await until(lambda: len(seen) == 5)
        # the call's own StasisStart (handlers set up in on_call see it), then the peer's
        assert seen == [
            "StasisStart",
            "StasisStart",
            "ChannelEnteredBridge",
            "StasisEnd",
            "BridgeDestroyed",
        ]
        assert len(scopes) == 1
        assert not call.closed
        transport.stream.push(stasis_end("c1"))
        await call.wait_closed()
        assert _zero(client)


async def test_cancelled_waits_and_requests_leave_no_residue() -> None:
    """Cancelling wait_for or a slow play removes the waiter; the client stays usable."""
    release = asyncio.Event()
    fake = FakeAri()

    async def slow(req: Request) -> Response:
        if "/play/" in req.path:
            await release.wait()
        return fake.handle(req)

    transport = MockTransport(slow)
    scopes: list[CallScope] = []
    async with AriClient(
        config(), transport=transport, on_call=lambda c, s: scopes.append(c)
    ) as client:
        fake.channels["c1"] = channel("c1")
        transport.stream.push(stasis_start("c1"))
        await until(lambda: scopes)
        call = scopes[0]
        waiting = asyncio.get_running_loop().create_task(call.wait_for(ChannelDtmfReceived))
        playing = asyncio.get_running_loop().create_task(call.play("sound:press-1"))
        await asyncio.sleep(0.01)
        assert client.statistics().handlers == 1
        waiting.cancel()
        playing.cancel()
        await asyncio.wait({waiting, playing})
        assert client.statistics().handlers == 0
        release.set()
        assert (await call.play("sound:or")).media_uri == "sound:or"
        transport.stream.push(stasis_end("c1"))
        await call.wait_closed()
        assert _zero(client)


async def test_application_replaced_for_an_app_we_do_not_serve_is_ignored(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 16 finding 1: one such frame used to stop the client and close every call."""
    transport = FakeAri().transport()
    async with AriClient(config(), transport=transport) as client:
        transport.stream.push(stasis_start("c1"))
        await until(lambda: client.statistics().calls == 1)
        with caplog.at_level(logging.WARNING, logger="ivrkit.ari"):
            transport.stream.push({**ev("ApplicationReplaced"), "application": "catalog"})
            transport.stream.push(stasis_start("c2"))
            await until(lambda: client.statistics().calls == 2)
        assert client.ready
        assert [r.getMessage() for r in caplog.records] == [
            f"ignored ApplicationReplaced for 'catalog': this client serves {APP!r}"
        ]
        assert len(transport.streams) == 1


async def test_a_failed_lookup_during_resync_is_retried_not_fatal() -> None:
    """One 500 on GET /channels/{id} while re-syncing used to escape as an ExceptionGroup,
    which the retry loop did not catch: the client never became ready again."""
    from ivrkit.ari import Reconnected

    fake = FakeAri()
    failures = {"left": 1}

    def handle(req: Any) -> Response:
        if req.path == "/channels/c3" and failures["left"]:
            failures["left"] -= 1
            return Response(500, {"message": "Internal Server Error"})
        return fake.handle(req)

    transport = MockTransport(handle)
    signals: list[Any] = []
    cfg = config(backoff_initial=1.0, backoff_max=2.0)
    async with AriClient(cfg, transport=transport, random=lambda: 0.0) as client:
        client.on(Reconnected, signals.append)
        fake.channels["c3"] = channel("c3")  # entered Stasis while we were away
        transport.stream.drop()
        await until(lambda: len(signals) == 1, limit=60)
        assert client.ready
        assert signals[0].adopted == ("c3",)
        assert failures["left"] == 0
        assert client.statistics().calls == 1


async def test_an_answer_with_a_null_id_is_refused_where_it_arrives() -> None:
    """Fuzz finding: a playback answer with ``"id": null`` was accepted, and the next
    re-sync built ``/playbacks/None`` and died on a TypeError (the client never came back)."""
    from ivrkit.ari import TransportError

    fake = FakeAri()
    fake.status_override[("POST", "/channels/c1/play/pb1")] = Response(201, {"id": None})
    async with AriClient(config(), transport=fake.transport()) as client:
        fake.channels["c1"] = channel("c1")
        with pytest.raises(
            TransportError, match=r"unexpected response body for Playback \(id is None\)"
        ):
            await client.channels.play("c1", "sound:x", playback_id="pb1")
