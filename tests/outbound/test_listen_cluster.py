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
import functools
from pathlib import Path

import pytest
from _listen_rig import (
    DIALPLAN,
    DURATIONS,
    ListeningWorker,
    call_to_sales,
    greeted_twice,
    heard,
    owners_in_redis,
)

from ivrkit.sim import Caller, OutboundWebsocket, Simulator
from ivrkit.testing import RedisServer, TcpBalancer

pytestmark = [pytest.mark.realtime, pytest.mark.slow]


async def test_kill_9_a_listening_worker_its_calls_resume_on_the_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    workers = [ListeningWorker(tmp_path, f"w{i}", redis_server.url) for i in (1, 2)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            await w.wait_serving()
        async with TcpBalancer([w.port for w in workers]) as balancer:
            outbound = OutboundWebsocket(
                uri=f"ws://127.0.0.1:{balancer.port}/",
                apps=("ivr",),
                connection_type="per_call_config",
                reconnect_interval=0.1,
                reconnect_attempts=20,
            )
            async with Simulator(
                outbound=outbound, dialplan=DIALPLAN, durations_file=durations
            ) as sim:
                go = asyncio.Event()
                callers: list[Caller] = []
                waiting: list[Caller] = []
                all_waiting = asyncio.Event()  # every call waits in sales, its digits heard
                calls = [
                    asyncio.create_task(call_to_sales(sim, i, go, callers, waiting, all_waiting))
                    for i in range(10)
                ]
                async with asyncio.timeout(60):
                    await all_waiting.wait()
                victim = workers[0]
                owners = await owners_in_redis(redis_server.url)
                assert sorted(set(o.split("/")[0] for o in owners.values())) == ["w1", "w2"]
                victim.kill()
                # the victim's calls come back on the survivor: the sales re-greeting,
                # with the account digits collected before the kill
                lost = [c for c in callers if owners.get(c.channel_id, "").startswith("w1/")]
                assert lost
                async with asyncio.timeout(30):
                    for c in lost:
                        await c.wait_until(functools.partial(greeted_twice, c))
                now = await owners_in_redis(redis_server.url)
                assert all(now[c.channel_id].startswith("w2/") for c in lost), now
                victim.start()  # comes back on its port
                await victim.wait_serving()
                go.set()
                served = await asyncio.gather(*calls)
                more = [
                    asyncio.create_task(call_to_sales(sim, 100 + i, go, [], [], asyncio.Event()))
                    for i in range(4)
                ]
                served += await asyncio.gather(*more)
        for caller in served:
            media = heard(caller)
            assert media[-1] == "sound:done-SUCCESS", media  # continued by a worker
            assert media.count("sound:cluster-main") == 1, media  # resumed, not restarted
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            account = f"digits:{number % 1000:03d}"
            assert media.count(account) == media.count("sound:cluster-sales"), media
        for caller in lost:
            assert heard(caller).count("sound:cluster-sales") == 2
        # the returning worker served new calls only: none of the ones it lost
        back = victim.output
        assert "pressed *" in back, back
        assert not any(f"{c.channel_name} pressed" in back for c in lost), back
    finally:
        for w in workers:
            if w.process is not None and w.process.poll() is None:
                assert w.stop() == 0, w.output


async def test_a_socket_lost_while_its_worker_lives_goes_to_the_other_worker(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Not a crash: the balancer drops w1's connections (w1 lives on) and marks it down.
    Asterisk reopens each socket to w2, which takes the call as Asterisk's choice (a new
    fencing token while w1 still beats) and resumes it at its checkpoint; w1 forgets the
    calls whose sockets went, and hands none of them back when it stops."""
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    w1, w2 = (ListeningWorker(tmp_path, f"w{i}", redis_server.url) for i in (1, 2))
    try:
        for w in (w1, w2):
            w.start()
        for w in (w1, w2):
            await w.wait_serving()
        async with TcpBalancer([w1.port, w2.port]) as balancer:
            outbound = OutboundWebsocket(
                uri=f"ws://127.0.0.1:{balancer.port}/",
                apps=("ivr",),
                connection_type="per_call_config",
                reconnect_interval=0.1,
                reconnect_attempts=20,
            )
            async with Simulator(
                outbound=outbound, dialplan=DIALPLAN, durations_file=durations
            ) as sim:
                go = asyncio.Event()
                callers: list[Caller] = []
                waiting: list[Caller] = []
                all_waiting = asyncio.Event()
                calls = [
                    asyncio.create_task(
                        call_to_sales(sim, i, go, callers, waiting, all_waiting, of=4)
                    )
                    for i in range(4)
                ]
                async with asyncio.timeout(60):
                    await all_waiting.wait()
                owners = await owners_in_redis(redis_server.url)
                moved = [c for c in callers if owners[c.channel_id].startswith("w1/")]
                assert moved
                balancer.backends = [w2.port]  # its health check failed
                assert balancer.drop(w1.port) == len(moved)
                async with asyncio.timeout(30):
                    for c in moved:
                        await c.wait_until(functools.partial(greeted_twice, c))
                now = await owners_in_redis(redis_server.url)
                assert all(now[c.channel_id].startswith("w2/") for c in moved), now
                go.set()
                served = await asyncio.gather(*calls)
        for caller in served:
            media = heard(caller)
            assert media[-1] == "sound:done-SUCCESS", media
            assert media.count("sound:cluster-main") == 1, media
        assert w1.process is not None
        assert w1.process.poll() is None  # it lived through it all
        assert w1.stop() == 0, w1.output
        assert "0 call(s) handed back" in w1.output, w1.output
        assert not any(f"{c.channel_name} pressed *" in w1.output for c in moved)
    finally:
        for w in (w1, w2):
            if w.process is not None and w.process.poll() is None:
                assert w.stop() == 0, w.output


async def test_a_persistent_socket_behind_the_balancer_is_active_standby(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """``connection_type = persistent`` through the balancer: one socket, so one worker
    serves every call. kill -9 it: Asterisk reconnects through the balancer to the other
    worker, whose re-sync adopts every call (Asterisk's choice: the socket) and resumes
    each at its checkpoint from Redis, at once, while the dead one's lease still runs."""
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    w1, w2 = (ListeningWorker(tmp_path, f"w{i}", redis_server.url) for i in (1, 2))
    try:
        for w in (w1, w2):
            w.start()
        for w in (w1, w2):
            await w.wait_serving()
        async with TcpBalancer([w1.port, w2.port]) as balancer:
            outbound = OutboundWebsocket(
                uri=f"ws://127.0.0.1:{balancer.port}/", apps=("ivr",), reconnect_interval=0.1
            )
            async with Simulator(
                outbound=outbound, dialplan=DIALPLAN, durations_file=durations
            ) as sim:
                go = asyncio.Event()
                callers: list[Caller] = []
                waiting: list[Caller] = []
                all_waiting = asyncio.Event()
                calls = [
                    asyncio.create_task(
                        call_to_sales(sim, i, go, callers, waiting, all_waiting, of=4)
                    )
                    for i in range(4)
                ]
                async with asyncio.timeout(60):
                    await all_waiting.wait()
                owners = await owners_in_redis(redis_server.url)
                (active,) = {o.partition("/")[0] for o in owners.values()}  # one socket
                victim, survivor = (w1, w2) if active == "w1" else (w2, w1)
                victim.kill()
                async with asyncio.timeout(30):
                    for c in callers:
                        await c.wait_until(functools.partial(greeted_twice, c))
                now = await owners_in_redis(redis_server.url)
                assert all(o.startswith(f"{survivor.name}/") for o in now.values()), now
                go.set()
                served = await asyncio.gather(*calls)
        for caller in served:
            media = heard(caller)
            assert media[-1] == "sound:done-SUCCESS", media
            assert media.count("sound:cluster-main") == 1, media
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            assert media.count(f"digits:{number:03d}") == 2, media  # the data kept
    finally:
        for w in (w1, w2):
            if w.process is not None and w.process.poll() is None:
                assert w.stop() == 0, w.output
