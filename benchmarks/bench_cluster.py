"""Cluster failover figure for ``make bench``: kill -9 a worker, time until the caller
hears its menu again.

One round: ``CALLS_PER_ROUND`` callers sit in the sales menu (the greeting heard, no key
pressed, a long timeout), the worker that owns most of them is killed with SIGKILL, and
for each of its callers the time from the kill to the start of the re-greeting (the
simulator's record of what the caller heard) is one sample. The killed worker is then
started again under its name and the next round begins. Two ``ivrkit run --cluster``
workers in broadcast mode, one simulated Asterisk in this process, a redis-server of
its own; REST over the websocket.

The figure is dominated by the lease: a survivor takes a call over after the dead
worker's heartbeat lapses (``--lease-ttl``) and its next orphan scan (every half TTL),
then stops the old prompt and moves the channel (two requests). Reported with the TTL
used. Wall-clock reads here are measurement, not behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ivrkit.sim import Caller, Simulator
from ivrkit.testing import RedisServer

MENU = """
menus:
  main:
    greeting: [sound:bench-main]
    timeout: 600
    options:
      - key: "1"
        goto: sales
  sales:
    greeting: [sound:bench-sales]
    timeout: 600
    options:
      - key: "2"
        continue: true
"""
DURATIONS = "name\tseconds\trate\nbench-main\t0.3\t8000\nbench-sales\t0.3\t8000\n"
#: callers per round; the victim owns about half of them
CALLS_PER_ROUND = 8
LEASE_TTL = 1.0


def _percentile(samples: list[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # nearest rank
    return round(ordered[rank - 1] * 1000, 1)


class Worker:
    """One ``ivrkit run`` worker process of a bench: started, killed with -9, started
    again under its name, stopped. benchmarks/bench_listen_failover.py subclasses it for
    listening workers (another command line, another line that says it serves)."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.cmd, self.env, self.logs = name, cmd, env, logs
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.logs / f"{self.name}.{self.starts}.log"

    def command(self) -> list[str]:
        """The command line of the next start."""
        return self.cmd

    def serving(self, output: str) -> bool:
        """Whether ``output`` (the log so far) says the worker serves."""
        return "ivrkit run: serving" in output

    def spawn(self) -> None:
        self.starts += 1
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                self.command(), stdout=out, stderr=subprocess.STDOUT, env=self.env
            )

    async def start(self) -> None:
        self.spawn()  # a fork and exec: microseconds next to the interpreter's start
        assert self.proc is not None
        async with asyncio.timeout(60):
            while not self.serving(self.log.read_text(errors="replace")):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"worker {self.name} exited: {self.log.read_text()}")
                await asyncio.sleep(0.02)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def in_sales(caller: Caller) -> None:
    """Take a caller through the main menu to the sales greeting (MENU)."""
    await caller.wait_until_heard("sound:bench-main")
    await caller.press("1")
    await caller.wait_until_heard("sound:bench-sales")


async def kill_and_time(victim: Worker, hit: list[Caller], limit: float) -> list[float]:
    """Kill ``victim`` and return, for each caller of ``hit`` re-greeted within ``limit``
    seconds, the time from the kill to the start of what it heard next (the simulator's
    record); a caller missing from the list was never re-greeted."""
    marks = {c: len(c.heard) for c in hit}
    killed_at = asyncio.get_running_loop().time()
    victim.kill()
    times: list[float] = []
    try:
        async with asyncio.timeout(limit):
            while len(times) < len(hit):
                for c in hit:
                    if marks[c] >= 0 and len(c.heard) > marks[c]:
                        times.append(c.heard[marks[c]].start - killed_at)
                        marks[c] = -1
                await asyncio.sleep(0.005)
    except TimeoutError:
        pass
    return times


class Tally:
    """What the rounds of a failover bench have measured: every re-greeting time, each
    kill's worst, and the callers never re-greeted."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.worst: list[float] = []
        self.missed = 0

    def figures(self) -> dict[str, Any]:
        """The figures both failover benches report: percentiles of every sample and of
        each kill's worst, in ms."""
        return {
            "samples": len(self.samples),
            "missed": self.missed,
            "p50_ms": _percentile(self.samples, 50),
            "p99_ms": _percentile(self.samples, 99),
            "max_ms": _percentile(self.samples, 100),
            "per_kill_worst_p50_ms": _percentile(self.worst, 50),
            "per_kill_worst_p99_ms": _percentile(self.worst, 99),
        }


async def failover_round(
    tally: Tally, victim: Worker, hit: list[Caller], callers: list[Caller], limit: float
) -> None:
    """One kill: ``victim`` killed and its callers' (``hit``) re-greetings timed into
    ``tally``; then every caller of the round finished (2 continues into the dialplan)
    and the victim started again under its name."""
    times = await kill_and_time(victim, hit, limit)
    tally.missed += len(hit) - len(times)
    tally.samples += times
    if times:
        tally.worst.append(max(times))
    for c in callers:
        await c.press("2")
    await victim.start()


async def _rounds(kills: int, tmp: Path, ttl: float) -> dict[str, Any]:
    (tmp / "menu.yaml").write_text(MENU)
    (tmp / "durations.tsv").write_text(DURATIONS)
    plan = {"default": {"1000": ("NoOp()", "StasisBroadcast(3000,^ivr-)", "Hangup()")}}
    tally = Tally()
    with RedisServer(tmp) as redis:
        async with Simulator(dialplan=plan, durations_file=tmp / "durations.tsv") as sim:
            env = {**os.environ, "ARI_USER": sim.username, "ARI_PASSWORD": sim.password}
            main = "import sys; from ivrkit.cli import main; sys.exit(main())"
            workers = []
            for name in ("w1", "w2"):
                cmd = [sys.executable, "-c", main, "run", str(tmp / "menu.yaml")]
                cmd += ["--app", "ivr", "--url", sim.url, "--cluster", redis.url]
                cmd += ["--worker", name, "--lease-ttl", str(ttl)]
                cmd += ["--rest-transport", "websocket"]
                workers.append(Worker(name, cmd, env, tmp))
            for w in workers:
                await w.start()
            try:
                for n in range(kills):
                    callers = [
                        await sim.call(f"PJSIP/k{n}x{i}", "1000") for i in range(CALLS_PER_ROUND)
                    ]
                    await asyncio.gather(*(in_sales(c) for c in callers))
                    apps = {c: sim.model.channels[c.channel_id].stasis_app for c in callers}
                    counts = {
                        w.name: sum(1 for a in apps.values() if a == f"ivr-{w.name}")
                        for w in workers
                    }
                    victim = max(workers, key=lambda w: counts[w.name])
                    hit = [c for c in callers if apps[c] == f"ivr-{victim.name}"]
                    await failover_round(tally, victim, hit, callers, 10 * ttl + 10)
            finally:
                for w in workers:
                    w.stop()
    return {
        "kills": kills,
        "lease_ttl_s": ttl,
        "calls_per_round": CALLS_PER_ROUND,
        **tally.figures(),
    }


def failover(kills: int = 50, ttl: float = LEASE_TTL) -> dict[str, Any]:
    """The failover figure (see the module docstring)."""
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ivrkit-bench-cluster-") as tmp:
        result = asyncio.run(_rounds(kills, Path(tmp), ttl))
    result["elapsed_s"] = round(time.perf_counter() - began, 1)
    return result


def _read_event(proc: subprocess.Popen[str], want: str) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited before {want!r}")
        msg: dict[str, Any] = json.loads(line)
        if msg.get("event") == want:
            return msg


def throughput(
    level: int, workers: int, seconds: float, durations_file: Path | None, logs: Path
) -> dict[str, Any]:
    """``workers`` cluster workers (broadcast mode, REST over the websocket) serving the
    guide's attendant at ``level`` live calls, driven by benchmarks.loadgen like the
    single-process runs: calls completed, p99 reactions, the workers' CPU."""
    from benchmarks import procstat

    root = Path(__file__).resolve().parents[1]
    names = [f"w{i + 1}" for i in range(workers)]
    calls = max(1, level * 3 // 2)
    with RedisServer(logs) as redis, (logs / f"cluster-{workers}-{level}.sim.log").open("w") as log:
        cmd = [sys.executable, "-m", "benchmarks.loadgen", "--calls", str(calls)]
        cmd += ["--rate", f"{level / seconds:.3f}", "--drain", f"{seconds + 20:.1f}"]
        cmd += ["--broadcast", "channel-aa"]
        cmd += ["--wait-apps", ",".join(f"channel-aa-{n}" for n in names)]
        if durations_file is not None:
            cmd += ["--durations-file", str(durations_file)]
        gen = subprocess.Popen(
            cmd, cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True
        )
        procs: list[subprocess.Popen[bytes]] = []
        try:
            port = _read_event(gen, "ready")["port"]
            env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
            ivrkit = [
                sys.executable,
                "-c",
                "import sys; from ivrkit.cli import main; sys.exit(main())",
            ]
            for name in names:
                args = [*ivrkit, "run", "--url", f"http://127.0.0.1:{port}", "--app", "channel-aa"]
                args += ["--cluster", redis.url, "--worker", name]
                args += ["--rest-transport", "websocket"]
                with (logs / f"cluster-{workers}-{level}-{name}.log").open("wb") as out:
                    procs.append(
                        subprocess.Popen(
                            args, env=env, stdout=subprocess.DEVNULL, stderr=out, cwd=logs
                        )
                    )
            _read_event(gen, "connected")
            time.sleep(0.5)
            cpu0 = [procstat.cpu_seconds(p.pid) for p in procs]
            assert gen.stdin is not None
            gen.stdin.write("go\n")
            gen.stdin.flush()
            result = _read_event(gen, "result")
            cpu = [procstat.cpu_seconds(p.pid) - c for p, c in zip(procs, cpu0, strict=True)]
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            if gen.stdin is not None:
                gen.stdin.close()
            try:
                gen.wait(30)
            except subprocess.TimeoutExpired:
                gen.kill()
                gen.wait()
    return {
        "workers": workers,
        "level": level,
        "calls": result["calls"],
        "completed": result["completed"],
        "failed_calls": result["failed"] + result["wrong"],
        "p99_stop_ms": result["stop_ms"]["p99"],
        "p99_play_ms": result["play_ms"]["p99"],
        "workers_cpu_s": [round(c, 3) for c in cpu],
        "sim_cpu_share": result["sim_cpu_share"],
    }


def render_throughput(runs: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"cluster: {r['workers']} worker(s) at {r['level']} calls live (websocket): "
        f"{r['completed']}/{r['calls']} completed, p99 stop {r['p99_stop_ms']} ms, play "
        f"{r['p99_play_ms']} ms, worker CPU {r['workers_cpu_s']} s, sim CPU "
        f"{r['sim_cpu_share']:.0%}"
        for r in runs
    )


def render(result: dict[str, Any]) -> str:
    return (
        f"cluster failover (kill -9 to the menu heard again, {result['kills']} kills, "
        f"lease {result['lease_ttl_s']:g} s, {result['samples']} calls): "
        f"{render_figures(result)}"
    )


def render_figures(result: dict[str, Any]) -> str:
    """How both failover benches end their line: the figures of :meth:`Tally.figures`."""
    return (
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, max {result['max_ms']} ms; "
        f"{result['missed']} call(s) never re-greeted"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cluster failover figure")
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--lease-ttl", type=float, default=LEASE_TTL)
    parser.add_argument(
        "--throughput", type=int, metavar="LEVEL", help="run 1 and 2 workers at LEVEL instead"
    )
    args = parser.parse_args(argv)
    if args.throughput:
        from benchmarks import run

        with tempfile.TemporaryDirectory(prefix="ivrkit-bench-cluster-") as tmp_name:
            tmp = Path(tmp_name)
            durations_file, table, _ = run.durations(tmp)
            seconds = run.scenario_seconds(table)
            runs = [throughput(args.throughput, n, seconds, durations_file, tmp) for n in (1, 2)]
        print(render_throughput(runs))
        print(json.dumps(runs))
        return 0
    result = failover(args.kills, args.lease_ttl)
    print(render(result))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
