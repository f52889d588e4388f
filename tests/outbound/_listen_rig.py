"""Listening workers for the tests of ``ivrkit run --listen --cluster``: real worker
processes, the menu and dialplan the callers go through, and what Redis says about
who owns which call. Real time throughout; every wait is on a condition, bounded."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from _worker_process import WorkerProcess, ivrkit_run
from ivrkit.sim import Caller, Simulator

MENU = """
transcript:
  digit: "{channel} pressed {digit}"
menus:
  main:
    greeting: [sound:cluster-main]
    timeout: 30
    options:
      - key: "1"
        collect:
          into: account
          prompt: [sound:cluster-account]
          length: 3
          then: {goto: sales}
  sales:
    greeting: [sound:cluster-sales, "digits:{account}"]
    timeout: 30
    options:
      - key: "*"
        continue: true
"""

SOUNDS = ("cluster-main", "cluster-account", "cluster-sales", "done-SUCCESS", "done-FAILED")
DURATIONS = "name\tseconds\trate\n" + "".join(f"{s}\t0.2\t8000\n" for s in SOUNDS)

DIALPLAN = {
    "default": {
        "1000": ("NoOp()", "Stasis(ivr)", "Playback(done-${STASISSTATUS})", "Hangup()"),
    }
}


class ListeningWorker(WorkerProcess):
    """A listening cluster worker, started again on the port it took at its first start
    (the balancer's backend list stays right across a kill)."""

    def __init__(self, directory: Path, name: str, redis_url: str, *extra: str) -> None:
        super().__init__(name, directory / name)
        self.extra = extra
        self.directory = directory
        self.redis_url = redis_url
        self.port = 0

    def start(self) -> None:
        menu = self.directory / "menu.yaml"
        menu.write_text(MENU)
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        env["PYTHONUNBUFFERED"] = "1"
        args = ivrkit_run(str(menu), "--app", "ivr")
        args += ["--listen", f"127.0.0.1:{self.port}", "--cluster", self.redis_url]
        args += ["--worker", self.name, "--lease-ttl", "1.5", *self.extra]
        self.spawn(args, env)

    async def wait_serving(self) -> None:
        found = await self.wait_for_output(r"on ws://127\.0\.0\.1:(\d+)/", "listened")
        self.port = int(found.group(1))


@contextlib.asynccontextmanager
async def listening_pair(
    directory: Path, redis_url: str, *extra: str
) -> AsyncIterator[tuple[ListeningWorker, ListeningWorker]]:
    """Workers w1 and w2, started and listening (each on a port of its own); whichever
    still runs at the end must stop cleanly (exit status 0)."""
    pair = (
        ListeningWorker(directory, "w1", redis_url, *extra),
        ListeningWorker(directory, "w2", redis_url, *extra),
    )
    try:
        for w in pair:
            w.start()
        for w in pair:
            await w.wait_serving()
        yield pair
    finally:
        for w in pair:
            if w.process is not None and w.process.poll() is None:
                assert w.stop() == 0, w.output


def durations_file(directory: Path) -> Path:
    """DURATIONS written where the simulator reads it."""
    durations = directory / "durations.tsv"
    durations.write_text(DURATIONS)
    return durations


@dataclass
class SalesBatch:
    """Calls that all wait in sales (their digits heard) until ``go`` is set."""

    go: asyncio.Event
    callers: list[Caller]
    calls: list[asyncio.Task[Caller]]


async def waiting_in_sales(sim: Simulator, count: int) -> SalesBatch:
    """``count`` calls (c0, c1, ...) taken to the sales menu, returned once every one waits
    there: ``batch.go.set()`` lets them finish; ``batch.calls`` are their tasks."""
    go = asyncio.Event()
    callers: list[Caller] = []
    waiting: list[Caller] = []
    all_waiting = asyncio.Event()
    calls = [
        asyncio.create_task(call_to_sales(sim, i, go, callers, waiting, all_waiting, of=count))
        for i in range(count)
    ]
    async with asyncio.timeout(60):
        await all_waiting.wait()
    return SalesBatch(go, callers, calls)


async def call_to_sales(
    sim: Simulator,
    i: int,
    go: asyncio.Event,
    callers: list[Caller],
    waiting: list[Caller],
    all_waiting: asyncio.Event,
    of: int = 10,
) -> Caller:
    caller = await sim.call(f"PJSIP/c{i}", "1000")
    callers.append(caller)
    account = f"{i % 1000:03d}"
    async with asyncio.timeout(60):
        await caller.wait_for_playback("sound:cluster-main")
        await caller.press("1")
        await caller.wait_for_playback("sound:cluster-account")
        await caller.press(account)
        await caller.wait_for_playback(f"digits:{account}")
        waiting.append(caller)
        if len(waiting) == of:  # every call of the batch waits in sales
            all_waiting.set()
        await go.wait()
        await caller.press("*")
        await caller.wait_for_hangup()
    return caller


async def all_greeted_twice(callers: Iterable[Caller]) -> None:
    """Until each of ``callers`` has heard the sales greeting again, whole (30 s at most)."""
    async with asyncio.timeout(30):
        for c in callers:
            await c.wait_until(functools.partial(greeted_twice, c))


def finished_once_through(caller: Caller) -> list[str]:
    """What ``caller`` heard, checked: continued by a worker at the end, and greeted by
    the main menu once (a call taken over resumes, it never restarts)."""
    media = heard(caller)
    assert media[-1] == "sound:done-SUCCESS", media
    assert media.count("sound:cluster-main") == 1, media
    return media


def greeted_twice(caller: Caller) -> bool:
    """The sales greeting came again, with its digits (the re-greeting is whole)."""
    media = heard(caller)
    if media.count("sound:cluster-sales") != 2:
        return False
    last = len(media) - 1 - media[::-1].index("sound:cluster-sales")
    return any(m.startswith("digits:") for m in media[last:])


def heard(caller: Caller) -> list[str]:
    return [h.media_uri for h in caller.heard]


async def owners_in_redis(url: str) -> dict[str, str]:
    """channel id -> owner of every call in Redis (``ivrkit:ivr:call:<ast>/<chan>``)."""
    redis = Redis.from_url(url, decode_responses=True)
    try:
        found: dict[str, str] = {}
        async for key in redis.scan_iter("ivrkit:ivr:call:*"):
            owner = await redis.hget(key, "owner")
            if owner:
                found[str(key).rpartition("/")[2]] = str(owner)
        return found
    finally:
        await redis.aclose()
