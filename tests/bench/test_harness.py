"""Smoke test of the benchmark harness: the scenario, the probe and the report, in-process.

The real bench runs the simulator and the app in separate processes on the wall clock;
here the same caller scenario runs against the attendant in one process on virtual
time, so what is checked is the harness's logic, not any timing.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from benchmarks import loadgen, procstat, report

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import ReactionProbe, Simulator


async def test_scenario_against_the_attendant_gives_two_reactions_per_call() -> None:
    probe = ReactionProbe()
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU))
    async with Simulator(reaction_probe=probe) as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config)
        runner.attach(client)
        async with client:
            await sim.wait_for_app("channel-aa")
            callers = [await sim.call("PJSIP/alice", "1000") for _ in range(3)]
            async with asyncio.timeout(60), asyncio.TaskGroup() as tg:
                for caller in callers:
                    tg.create_task(loadgen.scenario(caller))
    assert all(loadgen.heard_ok(c) for c in callers)
    assert probe.presses == 6
    assert len(probe.stop) == len(probe.play) == 6
    assert (probe.unanswered_stop, probe.unanswered_play, probe.waiting) == (0, 0, 0)


def test_percentiles_use_the_nearest_rank_in_milliseconds() -> None:
    samples = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert loadgen.percentiles(samples) == {"n": 100, "p50": 50.0, "p99": 99.0, "max": 100.0}
    assert loadgen.percentiles([])["p99"] is None


def _run(app: str, level: int, p99: float, cpu: float, sim_share: float) -> dict[str, Any]:
    return {
        "app": app,
        "level": level,
        "calls": level,
        "completed": level,
        "failed": 0,
        "wrong": 0,
        "failed_calls": 0,
        "peak_concurrent": level,
        "stop_ms": {"n": 2, "p50": 1.0, "p99": p99, "max": p99},
        "play_ms": {"n": 2, "p50": 1.0, "p99": p99, "max": p99},
        "app_cpu_s_per_1000_calls": cpu,
        "app_peak_rss_mb": 40.0,
        "app_rss_kb_per_call": 10.0,
        "sim_cpu_s": level * 0.005,
        "sim_cpu_share": sim_share,
        "rate": level / 10,
    }


def test_ratios_capacity_and_table() -> None:
    runs = [
        _run("ivrkit-http", 100, 4.0, 5.0, 0.1),
        _run("channel-aa.js", 100, 8.0, 10.0, 0.9),
    ]
    ratios = report.ratios(runs)
    assert ratios == [
        {
            "app": "ivrkit-http",
            "level": 100,
            **{
                label: 0.5 if "p99" in label or "max" in label or "CPU" in label else 1.0
                for label, _ in report.FIGURES[:-1]
            },
            "failed calls": None,  # 0/0
        }
    ]
    sim = report.simulator_capacity(runs, seconds=10.0)
    assert sim["rest_over_http"]["saturates_at_calls_per_s"] == 200.0
    assert sim["runs_bounded_by_load_generator"] == ["channel-aa.js@100 (90% of a core)"]
    results = {
        "runs": runs,
        "ratios": ratios,
        "capacity_p99_under_20ms": [
            {"app": "ivrkit-http", "max_level_p99_under_20ms": 100, "bisection": []}
        ],
        "simulator_capacity": sim,
        "client_microbench": {},
    }
    table = report.render(results)
    assert "http/js" in table
    assert "highest load with p99 < 20 ms, ivrkit-http: 100 calls" in table


def test_the_speedups_gain_pairs_the_websocket_runs_with_their_plain_twins() -> None:
    runs = [
        {**_run("ivrkit-websocket", 1000, 4.0, 3.0, 0.2), "speedups": "orjson 3, uvloop 0"},
        {**_run("ivrkit-websocket-plain", 1000, 4.0, 4.0, 0.2), "speedups": "off"},
        _run("ivrkit-websocket", 100, 4.0, 6.0, 0.1),  # no plain twin at 100: no row
        _run("ivrkit-http", 1000, 4.0, 5.0, 0.2),
    ]
    gain = report.speedups_gain(runs)
    assert gain == [
        {
            "level": 1000,
            "speedups": "orjson 3, uvloop 0",
            "cpu_s_per_1000_calls": 3.0,
            "plain_cpu_s_per_1000_calls": 4.0,
            "ratio": 0.75,
        }
    ]
    sim = report.simulator_capacity(runs, seconds=10.0)
    results = {
        "runs": runs,
        "ratios": [],
        "speedups_gain": gain,
        "capacity_p99_under_20ms": [],
        "simulator_capacity": sim,
        "client_microbench": {},
    }
    assert (
        "speed-ups (orjson 3, uvloop 0), ivrkit-websocket at 1,000 calls: 3.0 s CPU per 1k "
        "calls, 4.0 s without: 0.75x"
    ) in report.render(results)


def test_procstat_reads_this_process() -> None:
    assert procstat.cpu_seconds(os.getpid()) > 0
    mem = procstat.memory_kb(os.getpid())
    assert 0 < mem["rss"] <= mem["peak"]


def test_engine_microbench_runs_the_whole_scenario() -> None:
    """Every machine reaches the end of the bench scenario: 22 events, press-2 heard."""
    from benchmarks import bench_engine

    figures = bench_engine.bench(calls=20, rounds=1)
    assert figures["engine_events_per_call"] == 22
    assert figures["engine_events_per_s"] > 0
    assert 0 < figures["engine_bytes_per_live_call"] < 30_000


def test_observability_comparison_interleaves_and_checks_the_journey(tmp_path: Any) -> None:
    from benchmarks import bench_observability as obs

    order: list[str] = []

    def fake_run(app: str, level: int, logs: Any) -> dict[str, Any]:
        order.append(app)
        if app == obs.ON:
            (logs / obs.JOURNEY).write_text("{}\n" * 30)  # 30 lines for 3 calls
        cpu = 1.05 if app == obs.ON else 1.0
        return {
            "app_cpu_s_per_1000_calls": cpu,
            "calls": 3,
            "stop_ms": {"p99": 2.0},
            "failed_calls": 0,
            "metrics_scraped_bytes": 900 if app == obs.ON else 0,
        }

    work = {"engine_us_per_call": 80.0, "reporting_us_per_call": 100.0}
    result = obs.compare(fake_run, 3, 2, tmp_path, micro_bench=lambda: work)
    assert sorted(order) == sorted([obs.OFF, obs.ON] * 2)  # two pairs
    assert result["ratio_on_off"] == 1.05
    assert result["within_target"]
    assert result["journey_lines_per_call"] == 10.0
    assert result["ratio_estimated_from_micro"] == 1.1  # 100 µs over 1 ms per call
    assert result["paired_ratios"] == [1.05, 1.05]
    assert "1.05×" in obs.render(result)


def test_the_cluster_failover_figure_uses_nearest_rank_and_renders_its_ttl() -> None:
    from benchmarks import bench_cluster

    samples = [i / 1000 for i in range(1, 101)]  # 1..100 ms after the kill
    assert bench_cluster._percentile(samples, 50) == 50.0
    assert bench_cluster._percentile(samples, 99) == 99.0
    assert bench_cluster._percentile([], 99) is None
    line = bench_cluster.render(
        {
            "kills": 50,
            "lease_ttl_s": 1.0,
            "samples": 200,
            "missed": 0,
            "p50_ms": 1290.0,
            "p99_ms": 1420.0,
            "max_ms": 1500.0,
        }
    )
    assert "50 kills" in line
    assert "lease 1 s" in line
    assert "p99 1420.0 ms" in line


def test_speedups_comparison_runs_pairs_and_refuses_a_fast_side_without_them(
    tmp_path: Any,
) -> None:
    from benchmarks import bench_speedups as sp

    order: list[str] = []
    banner = {sp.FAST: "orjson 3.13.0, uvloop 0.23.0", sp.PLAIN: "orjson and uvloop off"}

    def fake_run(app: str, level: int, logs: Any) -> dict[str, Any]:
        order.append(app)
        return {
            "app_cpu_s_per_1000_calls": 3.0 if app == sp.FAST else 4.0,
            "stop_ms": {"p99": 2.0},
            "failed_calls": 0,
            "speedups": banner[app],
        }

    result = sp.compare(fake_run, 1000, 3, tmp_path, micro_bench=lambda: {"x": 1.0})
    assert sorted(order) == sorted([sp.FAST, sp.PLAIN] * 3)
    assert result["paired_ratios"] == [0.75, 0.75, 0.75]
    assert result["median_ratio"] == 0.75
    assert "ratio median 0.75x" in sp.render(result)
    banner[sp.FAST] = "orjson and uvloop off (IVRKIT_SPEEDUPS=0)"
    with pytest.raises(RuntimeError, match="did not use the speed-ups"):
        sp.compare(fake_run, 1000, 1, tmp_path, micro_bench=lambda: {})


def test_the_json_micro_benchmark_measures_both_paths() -> None:
    from benchmarks import bench_speedups as sp

    figures = sp.micro(repeat=50, rounds=1)
    assert set(figures) == {
        f"{kind}_us_{path}"
        for kind in ("event_decode", "rest_response_decode")
        for path in ("stdlib", "orjson")
    }
    assert all(v > 0 for v in figures.values())


def test_the_round_trip_bench_measures_both_clients_against_one_simulator() -> None:
    """benchmarks/bench_round_trip.py, tiny: every client and shape gives a figure (the
    figures themselves are for `make bench`, not for a test)."""
    from benchmarks import bench_round_trip

    result = bench_round_trip.bench(requests=20, rounds=1)
    for shape in ("in_flight_1", "in_flight_20"):
        figures = result[shape]
        assert figures["aiohttp_cpu_us"] > 0
        assert figures["ivrkit_cpu_us"] > 0
        assert figures["ivrkit_speedups_cpu_us"] > 0
        # the ratio is of the unrounded medians: within rounding of the rounded figures'
        ratio = figures["ivrkit_cpu_us"] / figures["aiohttp_cpu_us"]
        assert figures["ratio"] == pytest.approx(ratio, abs=0.011)
    assert "raw aiohttp" in bench_round_trip.describe(result)
