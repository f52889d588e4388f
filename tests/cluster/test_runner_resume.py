"""A call survives its worker: MenuRunner(store=ClusterStore...) over the simulator.

Worker A serves a call into the second menu and dies without a word (its store stops
flushing, its websocket goes). Worker B connects as the same application (the
active/standby fallback): the re-sync adopts the channel, the store says "resume", and
the caller hears the *second* menu's greeting again, not the first, and is never hung up.
Redis is a real server and lease expiry is real time, so this runs on a real loop.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from _sim_client import client_config as config
from _wait import until
from ivrkit.ari import AriClient
from ivrkit.cluster import ClusterStore
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator
from ivrkit.testing import RedisServer

pytestmark = pytest.mark.realtime

MENU = """
menus:
  main:
    greeting: [sound:cluster-main]
    timeout: 30
    options:
      - key: "1"
        goto: sales
  sales:
    greeting: [sound:cluster-sales]
    timeout: 30
    options:
      - key: "2"
        continue: true
"""


def short_sounds(tmp_path: Path) -> Path:
    path = tmp_path / "durations.tsv"
    path.write_text("name\tseconds\trate\ncluster-main\t0.2\t8000\ncluster-sales\t0.2\t8000\n")
    return path


async def test_a_call_resumes_at_its_menu_on_another_worker(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    tree = load_menu(MENU, "cluster.yaml")
    requests: list[tuple[str, str]] = []

    def log(entry: dict[str, Any]) -> None:
        requests.append((entry["method"], entry["path"]))

    async with Simulator(durations_file=short_sounds(tmp_path), access_log=log) as sim:
        store_a = ClusterStore(redis_server.url, worker="a", lease_ttl=1.0)
        await store_a.start()
        client_a = AriClient(config(sim))
        runner_a = MenuRunner(tree, transcript=lambda _: None, store=store_a.calls("ast-1"))
        runner_a.attach(client_a)
        await client_a.__aenter__()

        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_until_heard("sound:cluster-main")
        await caller.press("1")
        await caller.wait_until_heard("sound:cluster-sales")
        channel = caller.channel_id

        async with Redis.from_url(redis_server.url, decode_responses=True) as r:

            async def checkpoint() -> dict[str, Any]:
                raw = await r.hget(f"ivrkit:ivrkit:call:ast-1/{channel}", "cp")  # type: ignore[misc]
                return json.loads(raw) if raw else {}

            async def in_sales() -> bool:
                return (await checkpoint()).get("menu") == "sales"

            await until(in_sales, "the sales menu was never checkpointed")

        # A dies: no last flush, no hand-back, its websocket just goes
        assert store_a._task is not None
        store_a._task.cancel()
        await asyncio.gather(store_a._task, return_exceptions=True)
        store_a._task = None
        await client_a.aclose()
        heard_before = len(caller.heard)
        # B is the standby: it takes the app name only once A's lease has lapsed (an
        # adopted call whose owner still beats is left alone: it is being moved away)
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:

            async def a_is_gone() -> bool:
                return not await r.exists(f"ivrkit:ivrkit:alive:{store_a.owner}")

            await until(a_is_gone, "A's lease never lapsed")

        store_b = ClusterStore(redis_server.url, worker="b", lease_ttl=1.0)
        await store_b.start()
        runner_b = MenuRunner(tree, transcript=lambda _: None, store=store_b.calls("ast-1"))
        client_b = AriClient(config(sim))
        runner_b.attach(client_b)
        async with client_b:
            await until(lambda: len(caller.heard) > heard_before, "B never spoke to the caller")
            resumed = caller.heard[heard_before]
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
        store_a = ClusterStore(redis_server.url, worker="a", lease_ttl=1.0)
        await store_a.start()
        client_a = AriClient(config(sim))
        runner_a = MenuRunner(tree, transcript=lambda _: None, store=store_a.calls("ast-1"))
        runner_a.attach(client_a)
        await client_a.__aenter__()
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_until_heard("sound:cluster-main")
        await caller.press("1")
        await caller.wait_until_heard("sound:cluster-sales")
        await caller.press("3")
        long_prompt = await caller.wait_for_playback("sound:cluster-long")
        channel = caller.channel_id
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:

            async def long_prompt_checkpointed() -> bool:
                raw = await r.hget(f"ivrkit:ivrkit:call:ast-1/{channel}", "cp")  # type: ignore[misc]
                return bool(raw) and json.loads(raw).get("playbacks") == 3

            await until(long_prompt_checkpointed, "the long prompt was never checkpointed")
        assert store_a._task is not None  # A dies, as in the test above
        store_a._task.cancel()
        await asyncio.gather(store_a._task, return_exceptions=True)
        store_a._task = None
        await client_a.aclose()
        heard_before = len(caller.heard)
        async with Redis.from_url(redis_server.url, decode_responses=True) as r:

            async def a_is_gone() -> bool:
                return not await r.exists(f"ivrkit:ivrkit:alive:{store_a.owner}")

            await until(a_is_gone, "A's lease never lapsed")
        store_b = ClusterStore(redis_server.url, worker="b", lease_ttl=1.0)
        await store_b.start()
        runner_b = MenuRunner(tree, transcript=lambda _: None, store=store_b.calls("ast-1"))
        client_b = AriClient(config(sim))
        runner_b.attach(client_b)
        async with client_b:
            await until(lambda: len(caller.heard) > heard_before, "B never spoke to the caller")
            resumed = caller.heard[heard_before]
            assert resumed.media_uri == "sound:cluster-sales"
            assert long_prompt.cut_off  # stopped by B, not played out
            assert long_prompt.end is not None
            assert resumed.start - long_prompt.end < 0.5
            assert resumed.start - long_prompt.start < 10  # far from its 30 s
            await caller.hangup()
            await until(lambda: runner_b.live_calls == 0, "B did not finish the call")
        await store_b.aclose()
        await store_a.aclose()
