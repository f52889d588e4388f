"""ClusterStore against a real redis-server: leases, fencing, batching, outage, takeover.

Lease expiry is Redis's own clock (real time), so these tests run on a real loop with a
short TTL and wait on conditions, bounded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from redis.asyncio import Redis

from _wait import until
from ivrkit.cluster import ClusterError, ClusterStore
from ivrkit.testing import RedisServer

pytestmark = pytest.mark.realtime

# The workers that die or freeze get a short lease (takeovers come quickly); those that
# must stay alive a long one, so that a loaded machine never starves their heartbeat
TTL = 0.5
LIVE_TTL = 2.0
AST = "02:fc:00:00:00:01"


def _store(redis: RedisServer, worker: str, ttl: float = TTL, **kw: Any) -> ClusterStore:
    return ClusterStore(redis.url, worker=worker, lease_ttl=ttl, **kw)


async def _kill(store: ClusterStore) -> None:
    """Like kill -9: the task stops, nothing is flushed, the heartbeat just lapses."""
    assert store._task is not None
    store._task.cancel()
    await asyncio.gather(store._task, return_exceptions=True)
    store._task = None
    await store._redis.aclose()


async def _stored(redis: RedisServer, channel: str) -> dict[str, str]:
    async with Redis.from_url(redis.url, decode_responses=True) as r:
        return await r.hgetall(f"ivrkit:ivrkit:call:{AST}/{channel}")  # type: ignore[no-any-return, misc]


async def test_a_new_call_is_registered_checkpointed_and_removed(redis_server: RedisServer) -> None:
    async with _store(redis_server, "w1") as store:
        calls = store.calls(AST)
        opening = await calls.open("ch1")
        assert opening.action == "start"
        state = {"menu": "main", "n": 0}
        calls.changed("ch1", lambda: state)
        await until(lambda: store.stats.writes >= 1, "the checkpoint was never written")
        row = await _stored(redis_server, "ch1")
        assert row["owner"] == store.owner
        assert json.loads(row["cp"]) == state
        calls.closed("ch1")
        await until(lambda: not store._finished, "the finish was never written")
        assert await _stored(redis_server, "ch1") == {}


async def test_a_burst_of_changes_is_one_write_of_the_latest_state(
    redis_server: RedisServer,
) -> None:
    async with _store(redis_server, "w1", flush_interval=0.05) as store:
        calls = store.calls(AST)
        for i in range(20):
            assert (await calls.open(f"ch{i}")).action == "start"
        writes_before = store.stats.writes
        states = {f"ch{i}": {"n": 0} for i in range(20)}
        for step in range(1, 51):  # 50 state changes on each of 20 calls, in one burst
            for i in range(20):
                states[f"ch{i}"] = {"n": step}
                calls.changed(f"ch{i}", lambda i=i: states[f"ch{i}"])
        await until(lambda: store.stats.writes - writes_before >= 20, "not all written")
        assert store.stats.writes - writes_before == 20  # not 1,000
        for i in (0, 19):
            assert json.loads((await _stored(redis_server, f"ch{i}"))["cp"]) == {"n": 50}


async def test_a_call_asterisk_gives_us_is_ours_and_the_old_owner_is_fenced_out(
    redis_server: RedisServer,
) -> None:
    """Asterisk decides where a channel is (claim, move, the app name): a StasisStart in
    our app makes the call ours even while the old owner lives; its next write fails."""
    lost: list[str] = []

    async def on_lost(channel: str) -> None:
        lost.append(channel)

    async with _store(redis_server, "w1") as one, _store(redis_server, "w2") as two:
        assert (await one.calls(AST, on_lost).open("ch1")).action == "start"
        one.calls(AST).changed("ch1", lambda: {"menu": "sales"})
        await until(lambda: one.stats.writes >= 1, "first write")
        opening = await two.calls(AST).open("ch1")
        assert opening.action == "resume"
        assert opening.checkpoint == {"menu": "sales"}
        one.calls(AST).changed("ch1", lambda: {"menu": "main"})
        await until(lambda: lost == ["ch1"], "the old owner was not fenced out")
        assert (await _stored(redis_server, "ch1"))["owner"] == two.owner


async def test_a_dead_workers_calls_are_taken_over_by_exactly_one_survivor(
    redis_server: RedisServer,
) -> None:
    dead = _store(redis_server, "dead")
    await dead.start()
    for i in range(10):
        await dead.calls(AST).open(f"ch{i}")
        dead.calls(AST).changed(f"ch{i}", lambda i=i: {"menu": "main", "i": i})
    await until(lambda: dead.stats.writes >= 10, "checkpoints not written")
    await _kill(dead)

    got: dict[str, list[tuple[str, Mapping[str, Any] | None]]] = {"a": [], "b": [], "c": []}
    survivors = [_store(redis_server, name, LIVE_TTL) for name in "abc"]
    for name, store in zip("abc", survivors, strict=True):

        async def orphan(
            ast: str, channel: str, cp: Mapping[str, Any] | None, name: str = name
        ) -> None:
            assert ast == AST
            got[name].append((channel, cp))

        store.on_orphan = orphan
        # a and b are connected to that Asterisk and may take its calls; c is not
        await store.calls(AST if name != "c" else "another-asterisk").resolve()
        await store.start()
    try:
        await until(lambda: len(got["a"]) + len(got["b"]) >= 10, "calls not taken over")
        await asyncio.sleep(TTL * 2)  # a second scan must not hand any call out again
        taken = sorted(ch for ch, _ in got["a"] + got["b"])
        assert taken == sorted(f"ch{i}" for i in range(10))
        assert got["c"] == []
        for channel, cp in got["a"] + got["b"]:
            assert cp == {"menu": "main", "i": int(channel[2:])}
        # the new owner resumes it: the StasisStart after the move finds it is ours
        winner = survivors[0] if got["a"] else survivors[1]
        channel = (got["a"] or got["b"])[0][0]
        opening = await winner.calls(AST).open(channel)
        assert opening.action == "resume"
        assert opening.checkpoint == {"menu": "main", "i": int(channel[2:])}
    finally:
        for store in survivors:
            await store.aclose()


async def test_split_brain_the_stale_owner_is_fenced_out_and_backs_off(
    redis_server: RedisServer,
) -> None:
    """A worker frozen past its lease wakes up believing it owns the call: its next
    write is refused (stale token), it is told the call is lost, the winner's stays."""
    lost: list[str] = []

    async def on_lost(channel: str) -> None:
        lost.append(channel)

    stale = _store(redis_server, "stale")
    await stale.start()
    calls = stale.calls(AST, on_lost)
    await calls.open("ch1")
    calls.changed("ch1", lambda: {"menu": "main", "by": "stale"})
    await until(lambda: stale.stats.writes >= 1, "first write")
    # freeze it: no heartbeats, but its state (the belief that it owns ch1) is kept
    assert stale._task is not None
    stale._task.cancel()
    await asyncio.gather(stale._task, return_exceptions=True)

    taken: list[str] = []

    async def orphan(ast: str, channel: str, cp: Mapping[str, Any] | None) -> None:
        taken.append(channel)

    async with _store(redis_server, "winner", LIVE_TTL) as winner:
        winner.on_orphan = orphan
        await winner.calls(AST).resolve()
        await until(lambda: taken == ["ch1"], "the winner did not take the call over")
        assert (await winner.calls(AST).open("ch1")).action == "resume"
        winner.calls(AST).changed("ch1", lambda: {"menu": "sales", "by": "winner"})
        await until(lambda: winner.stats.writes >= 1, "winner write")

        # the stale worker thaws and carries on as if nothing happened
        stale._task = asyncio.get_running_loop().create_task(stale._run())
        calls.changed("ch1", lambda: {"menu": "main", "by": "stale-again"})
        await until(lambda: lost == ["ch1"], "the stale owner was not told it lost the call")
        assert stale.stats.lost == 1
        row = await _stored(redis_server, "ch1")
        assert row["owner"] == winner.owner
        assert json.loads(row["cp"]) == {"menu": "sales", "by": "winner"}
        # and it does not fight: its close does not delete the winner's call
        calls.closed("ch1")
        await asyncio.sleep(TTL)
        assert (await _stored(redis_server, "ch1"))["owner"] == winner.owner
    await stale.aclose()


async def test_a_redis_outage_never_touches_calls_and_writes_resume_after(
    redis_server: RedisServer,
) -> None:
    async with _store(redis_server, "w1") as store:
        calls = store.calls(AST)
        await calls.open("ch1")
        state: dict[str, Any] = {"menu": "main"}
        calls.changed("ch1", lambda: state)
        await until(lambda: store.stats.writes >= 1, "first write")

        redis_server.stop()
        state = {"menu": "sales"}
        calls.changed("ch1", lambda: state)
        # a call that arrives during the outage is served at once
        opening = await asyncio.wait_for(calls.open("ch2"), 2.0)
        assert opening.action == "start"
        calls.changed("ch2", lambda: {"menu": "main", "new": True})
        await until(lambda: not store.healthy, "the outage was not noticed")

        redis_server.start()  # same port, empty (no persistence): keys must be re-created
        await until(lambda: store.healthy, "Redis came back but the store did not notice")
        await until(lambda: store.statistics().pending == 0, "pending writes were not sent after")
        assert json.loads((await _stored(redis_server, "ch1"))["cp"]) == {"menu": "sales"}
        assert json.loads((await _stored(redis_server, "ch2"))["cp"]) == {
            "menu": "main",
            "new": True,
        }
        assert (await _stored(redis_server, "ch2"))["owner"] == store.owner


async def test_startup_fails_fast_and_refuses_credentials_in_the_url(
    redis_server: RedisServer,
) -> None:
    with pytest.raises(ClusterError, match="IVRKIT_REDIS_PASSWORD"):
        ClusterStore("redis://:secret@127.0.0.1:1/0", worker="w")
    port = redis_server.port
    redis_server.stop()
    store = ClusterStore(f"redis://127.0.0.1:{port}/0", worker="w", lease_ttl=TTL)
    with pytest.raises(ClusterError, match="cannot reach Redis"):
        await store.start()


async def test_redis_that_lost_its_data_gets_every_live_call_back_unchanged_ones_too(
    redis_server: RedisServer,
) -> None:
    """FLUSHALL between two heartbeats is a restart without persistence that the store
    never saw as an error: its next heartbeat finds its lease gone, and it re-writes the
    call, which did not change, with its token."""
    async with _store(redis_server, "w1", ttl=LIVE_TTL) as store:
        calls = store.calls(AST)
        await calls.open("ch1")
        calls.changed("ch1", lambda: {"menu": "sales"})
        await until(lambda: store.stats.writes >= 1, "first write")
        before = await _stored(redis_server, "ch1")
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:
            await r.flushall()
        await until(
            lambda: _stored(redis_server, "ch1"), "the unchanged call was not re-written", 5
        )
        assert await _stored(redis_server, "ch1") == before
        assert store.healthy
        assert not store.settled  # the grace after a lapsed lease
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:
            assert await r.sismember(f"ivrkit:ivrkit:owned:{store.owner}", f"{AST}/ch1")
            assert await r.exists(f"ivrkit:ivrkit:alive:{store.owner}")


async def test_a_call_served_while_redis_hung_is_ours_when_it_returns(
    redis_server: RedisServer,
) -> None:
    """A call whose key still names a dead incarnation (a restarted worker adopting what
    its previous self left in its app) arrives while Redis hangs: it is served at once,
    and its deferred registration takes the key over instead of being fenced out."""
    old = _store(redis_server, "w1")
    await old.start()
    await old.calls(AST).open("ch1")
    await _kill(old)
    lost: list[str] = []

    async def on_lost(channel: str) -> None:
        lost.append(channel)

    async with _store(redis_server, "w1", ttl=LIVE_TTL) as store:
        calls = store.calls(AST, on_lost)
        redis_server.pause()
        try:
            calls.changed("nothing", lambda: {})  # (an unknown call: ignored)
            await until(lambda: _flush_fails(store), "the hang was not noticed", 5)
            opening = await asyncio.wait_for(calls.open("ch1", adopted=True), 0.1)
            assert opening.action == "start"
            calls.changed("ch1", lambda: {"menu": "main", "again": True})
        finally:
            redis_server.resume()
        await until(lambda: store.statistics().pending == 0, "never registered", 5)
        row = await _stored(redis_server, "ch1")
        assert row["owner"] == store.owner
        assert json.loads(row["cp"]) == {"menu": "main", "again": True}
        assert lost == []


def _flush_fails(store: ClusterStore) -> bool:
    store._wake.set()  # make it try now rather than at the next heartbeat
    return not store.healthy


async def test_the_app_name_is_taken_at_once_but_not_during_the_grace_after_a_lapse(
    redis_server: RedisServer,
) -> None:
    """A worker that starts takes a free application name at once. When Redis loses its
    data (the name's lease is gone with it), the holder takes it back while the other
    worker, in its grace after finding its own lease lapsed, may not."""
    async with (
        _store(redis_server, "a", ttl=LIVE_TTL) as holder,
        _store(redis_server, "b", ttl=LIVE_TTL) as other,
    ):
        assert await holder.hold_app("ivr")  # no wait at startup
        assert not await other.hold_app("ivr")  # held by a live worker
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:
            await r.flushall()
        await until(lambda: not other.settled, "the lapse was not noticed", 5)
        assert not await other.hold_app("ivr")  # free in Redis, but b is in its grace
        assert await holder.hold_app("ivr")  # the holder re-asserts it
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:
            assert await r.get("ivrkit:ivrkit:app:ivr") == holder.owner
