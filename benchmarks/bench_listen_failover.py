"""Failover figure of listening workers: kill -9 one, time until the caller hears its
menu again (``python -m benchmarks.bench_listen_failover --kills 50``).

One round: ``CALLS_PER_ROUND`` callers sit in the sales menu of two ``ivrkit run
--listen --cluster`` workers behind a TCP balancer (``ivrkit.testing.TcpBalancer``), the
simulated Asterisk connecting out with ``per_call_config``. The worker that owns most of
them (their owner in Redis) is killed with SIGKILL; for each of its callers the time
from the kill to the start of the sales re-greeting is one sample. The killed worker is
started again on its port and the next round begins.

What the figure is made of: the kernel closes the dead worker's sockets at once;
Asterisk (here the simulator) reconnects after ``reconnect_interval``; the balancer
connects to the survivor; the survivor's client re-syncs (``GET /channels`` over the new
socket), opens the call in Redis and plays the re-greeting. No lease is waited for, so
``--lease-ttl`` does not enter it (contrast benchmarks/bench_cluster.py). Wall-clock reads
here are measurement, not behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from benchmarks.bench_cluster import (
    DURATIONS,
    MENU,
    Tally,
    Worker,
    failover_round,
    in_sales,
    render_figures,
)
from ivrkit.sim import OutboundWebsocket, Simulator
from ivrkit.testing import RedisServer, TcpBalancer

CALLS_PER_ROUND = 8
RECONNECT_INTERVAL = 0.2  # s: docs/cluster.md's websocket_client.conf (200 ms)


class _ListeningWorker(Worker):
    """A listening worker: started on the port it had before (0 the first time, then the
    one it took), so the balancer's backend list stays right across a kill."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logs: Path) -> None:
        super().__init__(name, cmd, env, logs)
        self.port = 0

    def command(self) -> list[str]:
        return [*self.cmd, "--listen", f"127.0.0.1:{self.port}"]

    def serving(self, output: str) -> bool:
        if found := re.search(r"on ws://127\.0\.0\.1:(\d+)/", output):
            self.port = int(found.group(1))
        return found is not None


async def _owners(redis: Redis) -> dict[str, str]:
    found: dict[str, str] = {}
    async for key in redis.scan_iter("ivrkit:ivr:call:*"):
        owner = await redis.hget(key, "owner")
        if owner:
            found[str(key).rpartition("/")[2]] = str(owner).partition("/")[0]
    return found


async def _rounds(kills: int, tmp: Path) -> dict[str, Any]:
    (tmp / "menu.yaml").write_text(MENU)
    (tmp / "durations.tsv").write_text(DURATIONS)
    plan = {"default": {"1000": ("NoOp()", "Stasis(ivr)", "Hangup()")}}
    tally = Tally()
    with RedisServer(tmp) as server:
        redis = Redis.from_url(server.url, decode_responses=True)
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        main = "import sys; from ivrkit.cli import main; sys.exit(main())"
        workers = []
        for name in ("w1", "w2"):
            cmd = [sys.executable, "-c", main, "run", str(tmp / "menu.yaml"), "--app", "ivr"]
            cmd += ["--cluster", server.url, "--worker", name]
            workers.append(_ListeningWorker(name, cmd, env, tmp))
        try:
            for w in workers:
                await w.start()
            async with TcpBalancer([w.port for w in workers]) as balancer:
                outbound = OutboundWebsocket(
                    uri=f"ws://127.0.0.1:{balancer.port}/",
                    apps=("ivr",),
                    connection_type="per_call_config",
                    reconnect_interval=RECONNECT_INTERVAL,
                    reconnect_attempts=10,
                )
                async with Simulator(
                    outbound=outbound, dialplan=plan, durations_file=tmp / "durations.tsv"
                ) as sim:
                    for n in range(kills):
                        callers = [
                            await sim.call(f"PJSIP/k{n}x{i}", "1000")
                            for i in range(CALLS_PER_ROUND)
                        ]
                        await asyncio.gather(*(in_sales(c) for c in callers))
                        owners = await _owners(redis)
                        victim = max(
                            workers,
                            key=lambda w: sum(1 for o in owners.values() if o == w.name),
                        )
                        hit = [c for c in callers if owners.get(c.channel_id) == victim.name]
                        await failover_round(tally, victim, hit, callers, 10)
        finally:
            for w in workers:
                w.stop()
            await redis.aclose()
    return {
        "kills": kills,
        "reconnect_interval_s": RECONNECT_INTERVAL,
        "calls_per_round": CALLS_PER_ROUND,
        **tally.figures(),
    }


def failover(kills: int = 50) -> dict[str, Any]:
    """The listening workers' failover figure (see the module docstring)."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ivrkit-bench-listen-") as tmp:
        result = asyncio.run(_rounds(kills, Path(tmp)))
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    return result


def render(result: dict[str, Any]) -> str:
    return (
        f"listening workers failover (kill -9 to the menu heard again, {result['kills']} "
        f"kills, per_call_config, reconnect_interval "
        f"{result['reconnect_interval_s'] * 1000:g} ms, {result['samples']} calls): "
        f"{render_figures(result)}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="listening workers' failover figure")
    parser.add_argument("--kills", type=int, default=50)
    args = parser.parse_args(argv)
    result = failover(args.kills)
    print(render(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
