"""``AsteriskCalls.left``: a listening worker whose outbound socket was lost mid-call
stops serving the call, but the call goes on elsewhere (Asterisk reopens the socket to
another worker): its key and latest checkpoint stay in Redis, only the local entry goes,
and the worker that gets the socket takes the call with a new fencing token."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from _wait import until
from ivrkit.cluster import ClusterStore
from ivrkit.testing import RedisServer

pytestmark = pytest.mark.realtime

AST = "02:fc:00:00:00:01"


async def _stored(redis: RedisServer, channel: str) -> dict[str, str]:
    async with Redis.from_url(redis.url, decode_responses=True) as r:
        return await r.hgetall(f"ivrkit:ivrkit:call:{AST}/{channel}")  # type: ignore[no-any-return, misc]


async def test_a_left_call_keeps_its_latest_checkpoint_for_the_next_worker(
    redis_server: RedisServer,
) -> None:
    async with ClusterStore(redis_server.url, worker="w1", lease_ttl=2.0) as first:
        calls = first.calls(AST)
        assert (await calls.open("ch1")).action == "start"
        state = {"menu": "sales", "data": {"account": "042"}}
        calls.changed("ch1", lambda: state)
        calls.left("ch1")  # socket gone before that change was written: it is written
        await until(lambda: not first._entries, "the left call was never forgotten")
        row = await _stored(redis_server, "ch1")
        assert row["owner"] == first.owner
        assert json.loads(row["cp"]) == state
        async with ClusterStore(redis_server.url, worker="w2", lease_ttl=2.0) as second:
            # the reopened socket reached w2 (w1 still alive): Asterisk's choice, so w2
            # takes it (not adopted=True, which would leave it to its live owner)
            opening = await second.calls(AST).open("ch1")
            assert opening.action == "resume"
            assert opening.checkpoint == state
            assert (await _stored(redis_server, "ch1"))["owner"] == second.owner
        assert first.stats.lost == 0  # nothing of w1's was pending, so no write refused


async def test_a_left_call_with_nothing_pending_is_forgotten_at_once(
    redis_server: RedisServer,
) -> None:
    async with ClusterStore(redis_server.url, worker="w1", lease_ttl=2.0) as store:
        calls = store.calls(AST)
        await calls.open("ch1")
        calls.changed("ch1", lambda: {"menu": "main"})
        await until(lambda: store.stats.writes >= 1, "the checkpoint was never written")
        calls.left("ch1")
        assert not store._entries
        assert json.loads((await _stored(redis_server, "ch1"))["cp"]) == {"menu": "main"}
