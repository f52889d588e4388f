"""A cluster on one machine for the failover tests: simulated Asterisks in this process,
``ivrkit run`` workers as real processes, a real redis-server, and scripted callers.

Real time throughout (worker processes, Redis's clock); every wait is on a condition,
bounded.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _worker_process import WorkerProcess, ivrkit_run
from ivrkit.sim import Caller, Simulator

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

DURATIONS = "name\tseconds\trate\ncluster-main\t0.3\t8000\ncluster-sales\t0.3\t8000\n"


def broadcast_dialplan(app: str = "ivr", timeout_ms: int = 3000) -> dict[str, Any]:
    """1000: offered to every ``<app>-*`` worker; unclaimed calls hear nothing and leave."""
    return {
        "default": {
            "1000": ("NoOp()", f"StasisBroadcast({timeout_ms},^{app}-)", "Hangup()"),
        }
    }


def standby_dialplan(app: str = "ivr") -> dict[str, Any]:
    return {"default": {"1000": ("NoOp()", f"Stasis({app})", "Hangup()")}}


class Worker(WorkerProcess):
    """A cluster worker: its command line is set once (a test may edit ``args`` before
    a start), its environment is the rig's (given at each start)."""

    def __init__(self, name: str, args: list[str], log: Path) -> None:
        super().__init__(name, log)
        self.args = args

    def start(self, env: dict[str, str]) -> None:
        self.spawn(self.args, env)

    async def wait_serving(self, limit: float = 60.0) -> None:
        await self.wait_for_output("ivrkit run: serving", "served", limit)


@dataclass
class Rig:
    directory: Path
    redis_url: str
    sims: list[Simulator]
    requests: list[tuple[str, str]] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        sim = self.sims[0]
        return {
            **os.environ,
            "ARI_USER": sim.username,
            "ARI_PASSWORD": sim.password,
            "PYTHONUNBUFFERED": "1",
        }

    def worker(
        self, name: str, *extra: str, lease_ttl: float = 1.5, menu_text: str = MENU
    ) -> Worker:
        menu = self.directory / "menu.yaml"
        menu.write_text(menu_text)
        args = ivrkit_run(str(menu), "--app", "ivr")
        for sim in self.sims:
            args += ["--url", sim.url]
        args += ["--cluster", self.redis_url, "--worker", name, "--lease-ttl", str(lease_ttl)]
        args += ["--rest-transport", "http", *extra]
        worker = Worker(name, args, self.directory / f"worker-{name}")
        self.workers.append(worker)
        return worker

    def hangups_by_us(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] == "DELETE" and r[1].startswith("/ari/channels/")]

    def count(self, method: str, suffix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.endswith(suffix))


async def scenario(caller: Caller, limit: float = 90.0, seen: int = 0) -> list[str]:
    """The caller's part: 1 at the main menu, 2 at sales, whatever greets it how often.

    Reacts to each greeting it hears, so a key lost while no worker listened is simply
    pressed again at the re-greeting. ``seen``: greetings already answered. Returns what
    it heard, in order.
    """
    async with asyncio.timeout(limit):
        while not caller.hung_up:
            if len(caller.heard) > seen:
                item = caller.heard[seen]  # (the list grows while a key is pressed)
                seen += 1
                if item.media_uri == "sound:cluster-main":
                    await caller.press("1")
                elif item.media_uri == "sound:cluster-sales":
                    await caller.press("2")
                continue
            await asyncio.sleep(0.02)
    return [h.media_uri for h in caller.heard]
