"""``make bench``: reaction, capacity and cost of ivrkit against the guide's JavaScript app.

For each app under test (ivrkit over HTTP, ivrkit with REST over the websocket, the
guide's ``channel-aa.js`` on ``ari-client``) and each load level (100, 1,000, 5,000
concurrent calls) one run is:

1. a load-generator process (``benchmarks.loadgen``: the simulator + scripted callers);
2. the app, in its own process, connected to it;
3. idle memory sampled, then callers arrive at ``level / SCENARIO_SECONDS`` per second
   for ``ARRIVAL_WINDOWS`` scenario lengths, so ``level`` calls are live at once;
4. the app's CPU seconds and peak RSS read from /proc, the reaction times from the
   simulator.

Then a short bisection per app finds the highest load whose p99 reaction stays under
20 ms, and the results go to the terminal, ``benchmarks/results/<UTC>.json`` and
``benchmarks/results/latest.json``. See docs/performance.md.

Wall-clock reads here are measurement, not behaviour.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from benchmarks import (
    bench_cluster,
    bench_engine,
    bench_listen_failover,
    bench_observability,
    bench_round_trip,
    bench_speedups,
    loadgen,
    procstat,
    report,
)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
RESULTS = ROOT / "benchmarks" / "results"
JS_APP = SHARED / "seed" / "channel-aa.js"
NODE_MODULES = ROOT / "tests" / "interop" / "node_modules"
IVRKIT = Path(sys.executable).parent / "ivrkit"
SOUNDS_DIR = Path("/usr/share/asterisk/sounds/en")
PORT_LOCK = Path("/tmp/ivrkit-port-8088.lock")
JS_PORT = 8088  # channel-aa.js connects to http://localhost:8088 and nowhere else

LEVELS = (100, 1000, 5000)
APPS = ("ivrkit-http", "ivrkit-websocket", "channel-aa.js")
#: an app name ending so runs ivrkit with its optional speed-ups off (IVRKIT_SPEEDUPS=0):
#: ``--apps ivrkit-websocket,ivrkit-websocket-plain`` (bench_speedups pairs them anyway)
PLAIN = "-plain"
#: arrivals last this many scenario lengths: the level is reached after one and held
ARRIVAL_WINDOWS = 1.5
#: the p99 bound for the capacity figure, and how many bisection steps to spend on it
P99_BOUND_MS = 20.0
BISECT_STEPS = 2

#: The extra-set prompts Debian does not package, at the simulator's documented defaults
#: (measured in the Asterisk traces; docs/simulator.md); the core ones come from WAVs.
EXTRA_PROMPTS = {
    "press-1": 1.189,
    "or": 0.729,
    "press-2": 1.107,
    "option-is-invalid": 1.883,
    "are-you-still-there": 1.475,
}


# ---------------------------------------------------------------- durations


def durations(tmp: Path) -> tuple[Path | None, dict[str, float], str]:
    """A durations table for the simulator, the lengths the scenario needs, and its source.

    With Debian's ``asterisk-core-sounds-en-wav`` installed the core prompts' lengths are
    read from the WAV headers; the guide's extra-set prompts are not in that package and
    keep the simulator's documented defaults. Without it, the simulator's default table
    (``shared/asterisk-sounds``) is used and the output says so.
    """
    table: dict[str, float] = dict(EXTRA_PROMPTS)
    if SOUNDS_DIR.is_dir():
        lines = ["name\tseconds\trate"]
        for path in sorted(SOUNDS_DIR.rglob("*.wav")):
            try:
                with wave.open(str(path), "rb") as w:
                    rate = w.getframerate()
                    seconds = w.getnframes() / rate
            except (OSError, wave.Error, EOFError, ZeroDivisionError):
                continue
            name = str(path.relative_to(SOUNDS_DIR).with_suffix(""))
            table[name] = seconds
            lines.append(f"{name}\t{seconds:.3f}\t{rate}")
        out = tmp / "durations.tsv"
        out.write_text("\n".join(lines) + "\n")
        source = (
            f"{SOUNDS_DIR} (asterisk-core-sounds-en-wav, WAV headers); press-1, or, "
            "press-2, option-is-invalid: the simulator's documented defaults (extra set, "
            "not packaged by Debian)"
        )
        return out, table, source
    shared = SHARED / "asterisk-sounds" / "en-core-durations.tsv"
    for line in shared.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and not line.startswith("#"):
            with contextlib.suppress(ValueError):
                table[parts[0]] = float(parts[1])
    source = (
        f"{SOUNDS_DIR} missing (apt-get failed?): the simulator's default table "
        "(shared/asterisk-sounds/en-core-durations.tsv + documented defaults)"
    )
    return None, table, source


def scenario_seconds(table: dict[str, float]) -> float:
    """How long one call of the scenario lasts when the app reacts instantly."""
    press = loadgen.PRESS_AFTER + 0.1
    return (
        press
        + table["you-entered"]
        + table["digits/1"]
        + table["press-1"]
        + press
        + table["option-is-invalid"]
        + table["press-1"]
        + table["or"]
        + table["press-2"]
        + loadgen.HANG_UP_AFTER
    )


# ---------------------------------------------------------------- one run


@contextlib.contextmanager
def port_lock(needed: bool) -> Iterator[None]:
    """Hold /tmp/ivrkit-port-8088.lock while a run binds 8088 (interop tests do too)."""
    if not needed:
        yield
        return
    with PORT_LOCK.open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"  (waiting for {PORT_LOCK}: port 8088 is in use by a test run)", flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _app_command(app: str, port: int) -> tuple[list[str], dict[str, str], IO[Any] | int]:
    env = dict(os.environ)
    if app == "channel-aa.js":
        env["NODE_PATH"] = str(NODE_MODULES)
        return ["node", str(JS_APP)], env, subprocess.DEVNULL
    env["ARI_USER"], env["ARI_PASSWORD"] = "asterisk", "asterisk"
    if app.endswith(PLAIN):  # the same app without orjson and uvloop (ivrkit.speedups)
        env["IVRKIT_SPEEDUPS"] = "0"
        app = app.removesuffix(PLAIN)
    cmd = [str(IVRKIT), "run", "--url", f"http://127.0.0.1:{port}", "--app", "channel-aa"]
    if app == bench_observability.ON:  # ivrkit-http plus --metrics and --journey
        observed = [*cmd, "--rest-transport", "http", *bench_observability.observed_options()]
        return observed, env, subprocess.DEVNULL
    transport = app.removeprefix("ivrkit-")
    return [*cmd, "--rest-transport", transport], env, subprocess.DEVNULL


def _read_event(proc: subprocess.Popen[str], want: str) -> dict[str, Any]:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"load generator exited before {want!r} (see its log)")
        msg: dict[str, Any] = json.loads(line)
        if msg.get("event") == want:
            return msg


def run_one(
    app: str,
    level: int,
    seconds: float,
    durations_file: Path | None,
    logs: Path,
    windows: float = ARRIVAL_WINDOWS,
    profile: Path | None = None,
) -> dict[str, Any]:
    """One app at one load level; the figures as a dict (see docs/performance.md)."""
    rate = level / seconds
    calls = max(1, math.ceil(level * windows))
    js = app == "channel-aa.js"
    tag = f"{app}-{level}"
    with port_lock(js), (logs / f"{tag}.sim.log").open("w") as sim_log:
        gen_cmd = [sys.executable, "-m", "benchmarks.loadgen", "--calls", str(calls)]
        gen_cmd += ["--rate", f"{rate:.3f}", "--port", str(JS_PORT if js else 0)]
        gen_cmd += ["--drain", f"{seconds + 20:.1f}"]
        if durations_file is not None:
            gen_cmd += ["--durations-file", str(durations_file)]
        gen = subprocess.Popen(
            gen_cmd,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sim_log,
            text=True,
        )
        app_proc: subprocess.Popen[bytes] | None = None
        try:
            port = _read_event(gen, "ready")["port"]
            cmd, env, out = _app_command(app, port)
            if profile is not None:
                cmd = [sys.executable, "-m", "cProfile", "-o", str(profile), *cmd]
            with (logs / f"{tag}.app.log").open("w") as app_log:
                app_proc = subprocess.Popen(cmd, cwd=logs, env=env, stdout=out, stderr=app_log)
            _read_event(gen, "connected")
            time.sleep(0.5)  # let the app settle after connecting
            idle = procstat.memory_kb(app_proc.pid)["rss"]
            user0, system0 = procstat.cpu_split(app_proc.pid)
            assert gen.stdin is not None
            gen.stdin.write("go\n")
            gen.stdin.flush()
            result = _read_event(gen, "result")
            user1, system1 = procstat.cpu_split(app_proc.pid)
            user, system = user1 - user0, system1 - system0
            cpu = user + system
            mem = procstat.memory_kb(app_proc.pid)
            if app == bench_observability.ON:  # after the CPU reading, as a scraper would
                result["metrics_scraped_bytes"] = bench_observability.scrape(
                    logs / f"{tag}.app.log"
                )
        finally:
            if app_proc is not None:
                app_proc.send_signal(signal.SIGTERM if js else signal.SIGINT)
                try:
                    app_proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    app_proc.kill()
                    app_proc.wait()
            if gen.stdin is not None:
                gen.stdin.close()
            try:
                gen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                gen.kill()
                gen.wait()
    concurrent = max(1, result["peak_concurrent"])
    result.update(
        app=app,
        level=level,
        app_cpu_s=round(cpu, 3),
        app_cpu_s_per_1000_calls=round(cpu / max(1, result["calls"]) * 1000, 3),
        app_system_cpu_share=round(system / cpu, 3) if cpu else None,
        app_idle_rss_mb=round(idle / 1024, 1),
        app_peak_rss_mb=round(mem["peak"] / 1024, 1),
        app_rss_kb_per_call=round((mem["peak"] - idle) / concurrent, 1),
        failed_calls=result["failed"] + result["wrong"],
    )
    if not js:
        result["speedups"] = _speedups_line(logs / f"{tag}.app.log")
    return result


def _speedups_line(app_log: Path) -> str | None:
    """What ``ivrkit run``'s banner says it uses ("orjson 3.13.0, uvloop 0.23.0")."""
    for line in app_log.read_text(errors="replace").splitlines():
        if line.startswith("ivrkit run: serving") and "; speed-ups: " in line:
            return line.partition("; speed-ups: ")[2]
    return None


# ---------------------------------------------------------------- the whole bench


def p99_ok(run: dict[str, Any]) -> bool:
    """p99 of both reactions under the bound, and every call completed as scripted."""
    stop, play = run["stop_ms"]["p99"], run["play_ms"]["p99"]
    return (
        stop is not None
        and play is not None
        and max(stop, play) < P99_BOUND_MS
        and run["failed"] == 0
        and run["wrong"] == 0
    )


def capacity(
    app: str,
    runs: list[dict[str, Any]],
    seconds: float,
    durations_file: Path | None,
    logs: Path,
) -> dict[str, Any]:
    """Highest measured level with p99 < bound, refined by a short geometric bisection."""
    mine = sorted((r for r in runs if r["app"] == app), key=lambda r: r["level"])
    good = max((r["level"] for r in mine if p99_ok(r)), default=0)
    bad = min((r["level"] for r in mine if not p99_ok(r) and r["level"] > good), default=None)
    tried: list[dict[str, Any]] = []
    if bad is not None:
        low = good or max(1, bad // 4)
        for _ in range(BISECT_STEPS):
            mid = int(round(math.sqrt(low * bad), -1)) or low
            if mid in (low, bad):
                break
            run = run_one(app, mid, seconds, durations_file, logs, windows=1.0)
            tried.append(
                {
                    "level": mid,
                    "p99_stop_ms": run["stop_ms"]["p99"],
                    "p99_play_ms": run["play_ms"]["p99"],
                    "ok": p99_ok(run),
                    "sim_cpu_share": run["sim_cpu_share"],
                }
            )
            _progress(run)
            if p99_ok(run):
                good = low = mid
            else:
                bad = mid
    return {
        "app": app,
        "max_level_p99_under_20ms": good,
        "first_failing_level": bad,
        "bisection": tried,
    }


def client_microbench(events: int) -> dict[str, float]:
    """The client micro-benchmark (benchmarks/bench_client_events.py), fewer events."""
    import asyncio

    from benchmarks import bench_client_events as micro

    return {
        "decode_events_per_s": round(micro.bench_decode(events)),
        "route_dtmf_events_per_s": round(asyncio.run(micro.bench_route(events, "dtmf"))),
        "route_playback_events_per_s": round(asyncio.run(micro.bench_route(events, "playback"))),
    }


def _progress(run: dict[str, Any]) -> None:
    print(
        f"  {run['app']:<22} {run['level']:>5} calls live: stop p99 "
        f"{run['stop_ms']['p99']} ms, play p99 {run['play_ms']['p99']} ms, "
        f"{run['completed']}/{run['calls']} ok, app CPU {run['app_cpu_s']} s "
        f"({run['app_system_cpu_share']:.0%} system), "
        f"sim CPU {run['sim_cpu_share']:.0%}, sim loop lag p99 "
        f"{(run.get('sim_loop_lag_ms') or {}).get('p99')} ms, CPU/1k calls "
        f"{run['app_cpu_s_per_1000_calls']} s"
        + (f", speed-ups: {run['speedups']}" if run.get("speedups") else ""),
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ivrkit vs channel-aa.js under load")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)))
    parser.add_argument("--apps", default=",".join(APPS))
    parser.add_argument("--windows", type=float, default=ARRIVAL_WINDOWS)
    parser.add_argument("--no-capacity", action="store_true", help="skip the bisection")
    parser.add_argument(
        "--profile",
        metavar="FILE.prof",
        help="cProfile the first of --apps at the first of --levels, and nothing else",
    )
    parser.add_argument("--out", metavar="FILE.json", help="default benchmarks/results/<UTC>")
    parser.add_argument(
        "--observability-level",
        type=int,
        default=1000,
        help="calls live for the --metrics/--journey cost comparison (0: skip it)",
    )
    parser.add_argument("--observability-rounds", type=int, default=3)
    parser.add_argument(
        "--speedups-rounds",
        type=int,
        default=3,
        help="side-by-side pairs with/without orjson+uvloop at 1,000 calls (0: skip it)",
    )
    parser.add_argument(
        "--cluster-kills",
        type=int,
        default=50,
        help="kill -9 rounds for the cluster failover figure (0: skip it)",
    )
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.levels.split(",")]
    apps = args.apps.split(",")
    began = time.perf_counter()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    with tempfile.TemporaryDirectory(prefix="ivrkit-bench-") as tmp_name:
        tmp = Path(tmp_name)
        durations_file, table, source = durations(tmp)
        seconds = scenario_seconds(table)
        print(f"sound durations: {source}", flush=True)
        print(f"scenario: {seconds:.2f} s per call; arrivals for {args.windows:g}× that")
        if args.profile:
            run = run_one(
                apps[0],
                levels[0],
                seconds,
                durations_file,
                tmp,
                windows=args.windows,
                profile=Path(args.profile).resolve(),
            )
            _progress(run)
            return 0
        micro = client_microbench(50_000)
        print(f"client micro-benchmark: {micro}", flush=True)
        engine = bench_engine.bench(rounds=3)
        print(f"engine micro-benchmark: {engine}", flush=True)
        round_trip = bench_round_trip.bench(requests=5000, rounds=3)
        print(bench_round_trip.describe(round_trip), flush=True)
        runs: list[dict[str, Any]] = []
        for level in levels:
            for app in apps:
                run = run_one(app, level, seconds, durations_file, tmp, windows=args.windows)
                runs.append(run)
                _progress(run)
        caps = []
        if not args.no_capacity:
            caps = [capacity(app, runs, seconds, durations_file, tmp) for app in apps]
        speedups_ab = None
        if args.speedups_rounds:
            speedups_ab = bench_speedups.compare(
                lambda app, level, logs: run_one(
                    app, level, seconds, durations_file, logs, windows=args.windows
                ),
                1000,
                args.speedups_rounds,
                tmp,
            )
            print(bench_speedups.render(speedups_ab), flush=True)
        observability = None
        if args.observability_level:
            observability = bench_observability.compare(
                lambda app, level, logs: run_one(
                    app, level, seconds, durations_file, logs, windows=args.windows
                ),
                args.observability_level,
                args.observability_rounds,
                tmp,
            )
            print(bench_observability.render(observability), flush=True)
        cluster: dict[str, Any] | None = None
        if args.cluster_kills:
            # the load at which one process reaches a p99 of 20 ms over the websocket
            ws = [c for c in caps if c["app"] == "ivrkit-websocket"]
            level = (ws[0]["first_failing_level"] or ws[0]["max_level_p99_under_20ms"]) if ws else 0
            level = level or 1000
            cluster = {
                "throughput": [
                    bench_cluster.throughput(level, n, seconds, durations_file, tmp) for n in (1, 2)
                ],
                "failover": bench_cluster.failover(args.cluster_kills),
                # listening workers behind a balancer: no lease in the figure
                "listen_failover": bench_listen_failover.failover(args.cluster_kills),
            }
            print(bench_cluster.render_throughput(cluster["throughput"]), flush=True)
            print(bench_cluster.render(cluster["failover"]), flush=True)
            print(bench_listen_failover.render(cluster["listen_failover"]), flush=True)
    results = {
        "started_utc": stamp,
        "elapsed_s": round(time.perf_counter() - began, 1),
        "machine": procstat.machine(),
        "durations_source": source,
        "scenario_seconds": round(seconds, 3),
        "arrival_windows": args.windows,
        "runs": runs,
        "ratios": report.ratios(runs),
        "speedups_gain": report.speedups_gain(runs),
        "capacity_p99_under_20ms": caps,
        "simulator_capacity": report.simulator_capacity(runs, seconds),
        "client_microbench": micro,
        "engine_microbench": engine,
        "round_trip": round_trip,
        "observability": observability,
        "speedups_ab": speedups_ab,
        "cluster": cluster,
    }
    print()
    print(report.render(results))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"{stamp}.json"
    text = json.dumps(results, indent=1) + "\n"
    out.write_text(text)
    if not args.out:
        (RESULTS / "latest.json").write_text(text)
    print(f"\nwrote {out} ({results['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
