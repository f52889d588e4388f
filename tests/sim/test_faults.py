"""Fault hooks: refused, delayed and failed requests, dropped websockets, hang-ups."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from _simari import ari_session, eventually

from ivrkit.sim import Simulator


async def test_fail_requests_answers_status_then_recovers() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        sim.faults.fail_requests(503, count=2, path="asterisk", message="overloaded")
        assert await ari.req("GET", "asterisk/ping") == (503, {"message": "overloaded"})
        assert (await ari.req("GET", "channels"))[0] == 200  # other paths unaffected
        assert (await ari.req("GET", "asterisk/info"))[0] == 503
        assert (await ari.req("GET", "asterisk/ping"))[0] == 200


async def test_fail_requests_answers_a_restrequest_frame_too() -> None:
    """A fault rule covers REST over the websocket: the frame gets the rule's status in
    a RESTResponse (Asterisk's shape), once, and the next request is served."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        sim.faults.fail_requests(404, count=1, path="asterisk", message="Channel not found")
        for rid in ("r1", "r2"):
            frame = {"type": "RESTRequest", "transaction_id": rid, "request_id": rid}
            await ev.ws.send_json({**frame, "method": "GET", "uri": "asterisk/ping"})
        failed, served = await ev.next("RESTResponse"), await ev.next("RESTResponse")
        assert (failed["request_id"], failed["status_code"]) == ("r1", 404)
        assert failed["reason_phrase"] == "Not Found"
        assert failed["message_body"] == '{"message":"Channel not found"}'
        assert (served["request_id"], served["status_code"]) == ("r2", 200)


async def test_delay_requests_uses_loop_time() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        sim.faults.delay_requests(5.0, count=1, method="GET")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert (await ari.req("GET", "channels"))[0] == 200
        assert loop.time() - t0 >= 5.0
        t1 = loop.time()
        await ari.req("GET", "channels")
        assert loop.time() - t1 < 1.0


async def test_refuse_requests_closes_the_connection() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        sim.faults.refuse_requests(count=None, path="channels")
        with pytest.raises(aiohttp.ClientError):
            await ari.req("GET", "channels")
        with pytest.raises(aiohttp.ClientError):
            await ari.req("POST", "channels", {"endpoint": "Local/1000@default", "app": "x"})
        sim.faults.clear()
        assert (await ari.req("GET", "channels"))[0] == 200


async def test_drop_websockets_cuts_without_close_frame_and_app_can_reconnect() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        async with ari.events("a") as ev_a, ari.events("b") as ev_b:
            await sim.wait_for_app("b")
            assert sim.faults.drop_websockets(app="a") == 1
            msg = await ev_a.ws.receive()
            assert msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            await eventually(lambda: not sim.model.app_connected("a"))
            assert sim.model.app_connected("b")
            assert not ev_b.ws.closed
        async with ari.events("a"):
            await sim.wait_for_app("a")


async def test_hang_up_a_caller_at_any_moment() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        await ev.next("StasisStart")
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sim.faults.hang_up(caller, after=3.0)
        await caller.wait_for_hangup()
        assert loop.time() - t0 == pytest.approx(3.0, abs=0.05)
        assert (await ev.next("ChannelHangupRequest"))["cause"] == 16
        await ev.next("StasisEnd")
        assert sim.stats()["channels"] == 0
        # hanging up a finished call is harmless
        sim.faults.hang_up(caller)
        assert caller.hung_up


async def test_fault_arguments_are_checked() -> None:
    async with Simulator() as sim:
        with pytest.raises(ValueError, match="count must be at least 1"):
            sim.faults.fail_requests(count=0)
        with pytest.raises(ValueError, match="delay must be >= 0"):
            sim.faults.delay_requests(-1)


async def test_a_socket_that_does_not_read_is_cut_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from ivrkit.sim.front import _app

    monkeypatch.setattr(_app, "MAX_BACKLOG", 3)
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("slow") as ev:
        await sim.wait_for_app("slow")
        for i in range(10):  # a burst, faster than the writer can run
            sim.model.user_event(f"e{i}", "slow", [], None)
        got: list[dict[str, object]] = []

        async def read_all() -> None:
            while True:
                got.append(await ev.next())

        with pytest.raises(ConnectionError):
            await read_all()
        assert len(got) <= 3
        await eventually(lambda: sim.stats()["websockets"] == 0)
