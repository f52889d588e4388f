"""Listening workers in broadcast mode, without a balancer: each ``ivrkit run --listen
--cluster --cluster-mode broadcast --worker wN`` serves its own app ``ivr-wN`` over its
own persistent outbound socket (one ``ari.conf`` section each, since an app may be in
one section only), and ``StasisBroadcast(...,^ivr-)`` offers every call to all of them.

kill -9 one worker while every call waits in the second menu: Asterisk retries its
socket forever (nobody answers), its app stays registered, and after the lease the
survivor takes each call over in Redis and moves the channel into its own app over its
own socket; the call resumes at its checkpoint (the sales re-greeting with the digits
collected before the kill). The killed worker comes back, its socket is reconnected,
and it does not fight for the calls it lost; new calls are claimed by both."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from _listen_rig import (
    all_greeted_twice,
    call_to_sales,
    durations_file,
    finished_once_through,
    heard,
    listening_pair,
    owners_in_redis,
    waiting_in_sales,
)

from ivrkit.sim import OutboundWebsocket, Simulator
from ivrkit.testing import RedisServer

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

BROADCAST = {
    "default": {
        "1000": (
            "NoOp()",
            "StasisBroadcast(3000,^ivr-)",
            "Playback(done-${STASISSTATUS})",
            "Hangup()",
        ),
    }
}


async def _both_claim(sim: Simulator) -> None:
    """Calls until each worker has claimed one: both sockets are up and re-synced."""
    seen: set[str] = set()
    async with asyncio.timeout(60):
        for i in range(40):
            caller = await sim.call(f"PJSIP/warm{i}", "1000")
            await caller.wait_for_playback("sound:cluster-main")
            seen.add(sim.model.channels[caller.channel_id].stasis_app or "")
            await caller.hangup()
            if seen >= {"ivr-w1", "ivr-w2"}:
                return
    raise AssertionError(f"only {seen} ever claimed a call")


async def test_kill_9_a_broadcast_worker_the_other_moves_its_calls_over(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    extra = ("--cluster-mode", "broadcast")
    async with listening_pair(tmp_path, redis_server.url, *extra) as workers:
        sections = [
            OutboundWebsocket(
                uri=f"ws://127.0.0.1:{w.port}/",
                apps=(f"ivr-{w.name}",),
                reconnect_interval=0.1,
            )
            for w in workers
        ]
        async with Simulator(
            outbound=sections, dialplan=BROADCAST, durations_file=durations_file(tmp_path)
        ) as sim:
            await _both_claim(sim)
            batch = await waiting_in_sales(sim, 10)
            go, callers, calls = batch.go, batch.callers, batch.calls
            apps = {c.channel_id: sim.model.channels[c.channel_id].stasis_app for c in callers}
            victim, survivor = sorted(
                workers, key=lambda w: -sum(1 for a in apps.values() if a == f"ivr-{w.name}")
            )
            lost = [c for c in callers if apps[c.channel_id] == f"ivr-{victim.name}"]
            victim.kill()
            await all_greeted_twice(lost)
            for c in lost:  # moved into the survivor's app, and owned by it in Redis
                assert sim.model.channels[c.channel_id].stasis_app == f"ivr-{survivor.name}"
            owners = await owners_in_redis(redis_server.url)
            assert all(owners[c.channel_id].startswith(f"{survivor.name}/") for c in lost)
            victim.start()  # comes back on its port: Asterisk's socket reconnects
            await victim.wait_serving()
            go.set()
            served = await asyncio.gather(*calls)
            for batch in range(10):  # until the returning worker has won a claim
                more = [
                    asyncio.create_task(
                        call_to_sales(sim, 100 + 3 * batch + i, go, [], [], asyncio.Event())
                    )
                    for i in range(3)
                ]
                served += await asyncio.gather(*more)
                if "pressed *" in victim.output:
                    break
        for caller in served:
            media = finished_once_through(caller)
        for caller in lost:
            media = heard(caller)
            assert media.count("sound:cluster-sales") == 2, media
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            assert media.count(f"digits:{number:03d}") == 2, media  # the data kept
        back = victim.output
        assert not any(f"{c.channel_name} pressed" in back for c in lost), back
        assert "pressed *" in back, back  # it claims new calls again
