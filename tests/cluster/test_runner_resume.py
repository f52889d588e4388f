"""A call survives its worker: MenuRunner(store=ClusterStore...) over the simulator.

Worker A serves a call into the second menu and dies without a word (its store stops
flushing, its websocket goes). Worker B connects as the same application (the
active/standby fallback): the re-sync adopts the channel, the store says "resume", and
the caller hears the *second* menu's greeting again, not the first, and is never hung up.
Redis is a real server and lease expiry is real time, so this runs on a real loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from _cluster_rig import MENU
from redis.asyncio import Redis

from _sim_client import client_config as config
from _wait import until
from ivrkit.ari import AriClient
from ivrkit.cluster import ClusterStore
from ivrkit.ivr import MenuTree, load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Caller, Heard, Simulator
from ivrkit.testing import RedisServer

pytestmark = pytest.mark.realtime


def short_sounds(tmp_path: Path) -> Path:
    path = tmp_path / "durations.tsv"
    path.write_text("name\tseconds\trate\ncluster-main\t0.2\t8000\ncluster-sales\t0.2\t8000\n")
    return path


async def worker(
    sim: Simulator, tree: MenuTree, redis_url: str, name: str
) -> tuple[ClusterStore, AriClient, MenuRunner]:
    """A worker in this process: its store started (lease 1 s), a runner attached to a
    client that is not connected yet."""
    store = ClusterStore(redis_url, worker=name, lease_ttl=1.0)
    await store.start()
    client = AriClient(config(sim))
    runner = MenuRunner(tree, transcript=lambda _: None, store=store.calls("ast-1"))
    runner.attach(client)
    return store, client, runner


async def to_sales(caller: Caller) -> None:
    await caller.wait_until_heard("sound:cluster-main")
    await caller.press("1")
    await caller.wait_until_heard("sound:cluster-sales")


async def until_checkpoint(
    redis_url: str, channel: str, check: Callable[[dict[str, Any]], bool], what: str
) -> None:
    """Wait until the call's checkpoint in Redis ({} while there is none) passes ``check``."""
    async with Redis.from_url(redis_url, decode_responses=True) as r:

        async def checked() -> bool:
            raw = await r.hget(f"ivrkit:ivrkit:call:ast-1/{channel}", "cp")  # type: ignore[misc]
            return check(json.loads(raw) if raw else {})

        await until(checked, what)


async def die(store: ClusterStore, client: AriClient) -> None:
    """A worker dies: no last flush, no hand-back, its websocket just goes."""
    assert store._task is not None
    store._task.cancel()
    await asyncio.gather(store._task, return_exceptions=True)
    store._task = None
    await client.aclose()


async def until_lease_lapsed(redis_url: str, store: ClusterStore) -> None:
    async with Redis.from_url(redis_url, decode_responses=True) as r:

        async def gone() -> bool:
            return not await r.exists(f"ivrkit:ivrkit:alive:{store.owner}")

        await until(gone, "A's lease never lapsed")


@contextlib.asynccontextmanager
async def b_takes_over(
    sim: Simulator,
    tree: MenuTree,
    redis_url: str,
    a: tuple[ClusterStore, AriClient],
    caller: Caller,
) -> AsyncIterator[tuple[ClusterStore, MenuRunner, Heard]]:
    """A dies; B, the standby, starts once A's lease has lapsed (an adopted call whose
    owner still beats is left alone: it is being moved away) and is connected inside the
    block. Yields B's store and runner, and the first thing the caller heard from B."""
    await die(*a)
    heard_before = len(caller.heard)
    await until_lease_lapsed(redis_url, a[0])
    store_b, client_b, runner_b = await worker(sim, tree, redis_url, "b")
    async with client_b:
        await until(lambda: len(caller.heard) > heard_before, "B never spoke to the caller")
        yield store_b, runner_b, caller.heard[heard_before]


async def test_a_call_resumes_at_its_menu_on_another_worker(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    tree = load_menu(MENU, "cluster.yaml")
    requests: list[tuple[str, str]] = []

    def log(entry: dict[str, Any]) -> None:
        requests.append((entry["method"], entry["path"]))

    async with Simulator(durations_file=short_sounds(tmp_path), access_log=log) as sim:
        store_a, client_a, _ = await worker(sim, tree, redis_server.url, "a")
        await client_a.__aenter__()

        caller = await sim.call("PJSIP/alice", "1000")
        await to_sales(caller)
        channel = caller.channel_id
        await until_checkpoint(
            redis_server.url,
            channel,
            lambda cp: cp.get("menu") == "sales",
            "the sales menu was never checkpointed",
        )

        taking_over = b_takes_over(sim, tree, redis_server.url, (store_a, client_a), caller)
        async with taking_over as (store_b, runner_b, resumed):
            assert resumed.media_uri == "sound:cluster-sales"  # the menu it was in
            await caller.wait_until_heard("sound:cluster-sales")
            await caller.press("2")  # carries on in B: continue to the dialplan
            await until(lambda: runner_b.live_calls == 0, "B did not finish the call")
            assert store_b.statistics().live == 0
        await store_b.aclose()
        await store_a.aclose()

    hangups = [r for r in requests if r[0] == "DELETE" and r[1].startswith("/ari/channels/")]
    assert hangups == []  # nobody hung the caller up
    assert ("POST", f"/ari/channels/{channel}/continue") in requests
    assert ("POST", f"/ari/channels/{channel}/answer") in requests
    answers = [r for r in requests if r == ("POST", f"/ari/channels/{channel}/answer")]
    assert len(answers) == 1  # B did not answer again


async def test_the_survivor_stops_the_prompt_the_dead_worker_left_playing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A dies while a 30 s prompt plays: B's re-greeting must not queue behind its rest (the
    checkpoint in Redis counts the prompts A issued, so B stops the last one)."""
    tree = load_menu(
        MENU.replace(
            '      - key: "2"',
            '      - key: "3"\n        play: [sound:cluster-long]\n      - key: "2"',
        ),
        "cluster.yaml",
    )
    durations = short_sounds(tmp_path)
    durations.write_text(durations.read_text() + "cluster-long\t30\t8000\n")
    async with Simulator(durations_file=durations) as sim:
        store_a, client_a, _ = await worker(sim, tree, redis_server.url, "a")
        await client_a.__aenter__()
        caller = await sim.call("PJSIP/alice", "1000")
        await to_sales(caller)
        await caller.press("3")
        long_prompt = await caller.wait_for_playback("sound:cluster-long")
        await until_checkpoint(
            redis_server.url,
            caller.channel_id,
            lambda cp: cp.get("playbacks") == 3,
            "the long prompt was never checkpointed",
        )
        taking_over = b_takes_over(sim, tree, redis_server.url, (store_a, client_a), caller)
        async with taking_over as (store_b, runner_b, resumed):
            assert resumed.media_uri == "sound:cluster-sales"
            assert long_prompt.cut_off  # stopped by B, not played out
            assert long_prompt.end is not None
            assert resumed.start - long_prompt.end < 0.5
            assert resumed.start - long_prompt.start < 10  # far from its 30 s
            await caller.hangup()
            await until(lambda: runner_b.live_calls == 0, "B did not finish the call")
        await store_b.aclose()
        await store_a.aclose()
