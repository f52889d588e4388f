"""A cluster of listening workers: ``ivrkit run --listen --cluster`` x 2 as real
processes behind a TCP load balancer, a real redis-server, and the simulated Asterisk
connecting out with ``per_call_config`` (one socket per call, as Asterisk does).

kill -9 one worker while every call waits in the second menu: each of its calls' socket
drops, Asterisk opens it again through the balancer, and the survivor resumes the call
at its checkpoint from Redis: the second menu's re-greeting with the digits the caller
collected in the first (with a store, nothing else holds them: the channel variable
checkpoint is not used). Every call is then continued into the dialplan by a worker
(``STASISSTATUS=SUCCESS``), none is hung up or failed; the killed worker comes back on
its port and serves new calls without touching the ones it lost.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from _listen_rig import (
    DIALPLAN,
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
from ivrkit.testing import RedisServer, TcpBalancer

pytestmark = [pytest.mark.realtime, pytest.mark.slow]


#: one socket per call, as Asterisk's ``per_call_config``; retried while a worker is down
PER_CALL: dict[str, Any] = {"connection_type": "per_call_config", "reconnect_attempts": 20}


def asterisk_through(balancer: TcpBalancer, directory: Path, **options: Any) -> Simulator:
    """The simulated Asterisk connecting out through ``balancer`` (``options``: the
    outbound section's, beyond its URI, app and 100 ms reconnect interval)."""
    outbound = OutboundWebsocket(
        uri=f"ws://127.0.0.1:{balancer.port}/", apps=("ivr",), reconnect_interval=0.1, **options
    )
    return Simulator(outbound=outbound, dialplan=DIALPLAN, durations_file=durations_file(directory))


async def test_kill_9_a_listening_worker_its_calls_resume_on_the_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    async with listening_pair(tmp_path, redis_server.url) as workers:
        async with (
            TcpBalancer([w.port for w in workers]) as balancer,
            asterisk_through(balancer, tmp_path, **PER_CALL) as sim,
        ):
            batch = await waiting_in_sales(sim, 10)  # each waits in sales, its digits heard
            callers = batch.callers
            victim = workers[0]
            owners = await owners_in_redis(redis_server.url)
            assert sorted(set(o.split("/")[0] for o in owners.values())) == ["w1", "w2"]
            victim.kill()
            # the victim's calls come back on the survivor: the sales re-greeting,
            # with the account digits collected before the kill
            lost = [c for c in callers if owners.get(c.channel_id, "").startswith("w1/")]
            assert lost
            await all_greeted_twice(lost)
            now = await owners_in_redis(redis_server.url)
            assert all(now[c.channel_id].startswith("w2/") for c in lost), now
            victim.start()  # comes back on its port
            await victim.wait_serving()
            batch.go.set()
            served = await asyncio.gather(*batch.calls)
            more = [
                asyncio.create_task(call_to_sales(sim, 100 + i, batch.go, [], [], asyncio.Event()))
                for i in range(4)
            ]
            served += await asyncio.gather(*more)
        for caller in served:
            media = finished_once_through(caller)
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            account = f"digits:{number % 1000:03d}"
            assert media.count(account) == media.count("sound:cluster-sales"), media
        for caller in lost:
            assert heard(caller).count("sound:cluster-sales") == 2
        # the returning worker served new calls only: none of the ones it lost
        back = victim.output
        assert "pressed *" in back, back
        assert not any(f"{c.channel_name} pressed" in back for c in lost), back


async def test_a_socket_lost_while_its_worker_lives_goes_to_the_other_worker(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Not a crash: the balancer drops w1's connections (w1 lives on) and marks it down.
    Asterisk reopens each socket to w2, which takes the call as Asterisk's choice (a new
    fencing token while w1 still beats) and resumes it at its checkpoint; w1 forgets the
    calls whose sockets went, and hands none of them back when it stops."""
    async with listening_pair(tmp_path, redis_server.url) as (w1, w2):
        async with (
            TcpBalancer([w1.port, w2.port]) as balancer,
            asterisk_through(balancer, tmp_path, **PER_CALL) as sim,
        ):
            batch = await waiting_in_sales(sim, 4)
            owners = await owners_in_redis(redis_server.url)
            moved = [c for c in batch.callers if owners[c.channel_id].startswith("w1/")]
            assert moved
            balancer.backends = [w2.port]  # its health check failed
            assert balancer.drop(w1.port) == len(moved)
            await all_greeted_twice(moved)
            now = await owners_in_redis(redis_server.url)
            assert all(now[c.channel_id].startswith("w2/") for c in moved), now
            batch.go.set()
            served = await asyncio.gather(*batch.calls)
        for caller in served:
            finished_once_through(caller)
        assert w1.process is not None
        assert w1.process.poll() is None  # it lived through it all
        assert w1.stop() == 0, w1.output
        assert "0 call(s) handed back" in w1.output, w1.output
        assert not any(f"{c.channel_name} pressed *" in w1.output for c in moved)


async def test_a_persistent_socket_behind_the_balancer_is_active_standby(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """``connection_type = persistent`` through the balancer: one socket, so one worker
    serves every call. kill -9 it: Asterisk reconnects through the balancer to the other
    worker, whose re-sync adopts every call (Asterisk's choice: the socket) and resumes
    each at its checkpoint from Redis, at once, while the dead one's lease still runs."""
    async with listening_pair(tmp_path, redis_server.url) as (w1, w2):
        async with (
            TcpBalancer([w1.port, w2.port]) as balancer,
            asterisk_through(balancer, tmp_path) as sim,
        ):
            batch = await waiting_in_sales(sim, 4)
            owners = await owners_in_redis(redis_server.url)
            (active,) = {o.partition("/")[0] for o in owners.values()}  # one socket
            victim, survivor = (w1, w2) if active == "w1" else (w2, w1)
            victim.kill()
            await all_greeted_twice(batch.callers)
            now = await owners_in_redis(redis_server.url)
            assert all(o.startswith(f"{survivor.name}/") for o in now.values()), now
            batch.go.set()
            served = await asyncio.gather(*batch.calls)
        for caller in served:
            media = finished_once_through(caller)
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            assert media.count(f"digits:{number:03d}") == 2, media  # the data kept
