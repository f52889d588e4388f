"""The benchmark's derived figures (ratios, simulator capacity) and its terminal table."""

from __future__ import annotations

from typing import Any

JS = "channel-aa.js"
#: a run whose load generator used more than this share of its one core may be bounded
#: by the load generator rather than by the app
SIM_BUSY = 0.8

#: (label, how to read the figure from a run); lower is better for all of them
FIGURES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("stop p50 ms", ("stop_ms", "p50")),
    ("stop p99 ms", ("stop_ms", "p99")),
    ("stop max ms", ("stop_ms", "max")),
    ("play p50 ms", ("play_ms", "p50")),
    ("play p99 ms", ("play_ms", "p99")),
    ("play max ms", ("play_ms", "max")),
    ("CPU s/1k calls", ("app_cpu_s_per_1000_calls",)),
    ("peak RSS MB", ("app_peak_rss_mb",)),
    ("KB/call", ("app_rss_kb_per_call",)),
    ("failed calls", ("failed_calls",)),
)


def figure(run: dict[str, Any], path: tuple[str, ...]) -> float | None:
    value: Any = run
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else None


def ratios(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ivrkit / channel-aa.js for every figure, per transport and load level."""
    js = {r["level"]: r for r in runs if r["app"] == JS}
    out = []
    for run in runs:
        base = js.get(run["level"])
        if run["app"] == JS or base is None:
            continue
        row: dict[str, Any] = {"app": run["app"], "level": run["level"]}
        for label, path in FIGURES:
            mine, theirs = figure(run, path), figure(base, path)
            row[label] = round(mine / theirs, 2) if mine is not None and theirs else None
        out.append(row)
    return out


def speedups_gain(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ivrkit-websocket with its speed-ups / without (``-plain``): CPU per call, per level.

    One run each, taking turns in the same bench: on a shared machine a single pair is
    noisy (docs/performance.md gives the interleaved pairs behind the documented gain).
    """
    plain = {r["level"]: r for r in runs if r["app"] == "ivrkit-websocket-plain"}
    out = []
    for run in runs:
        base = plain.get(run["level"])
        if run["app"] != "ivrkit-websocket" or base is None:
            continue
        fast, slow = run["app_cpu_s_per_1000_calls"], base["app_cpu_s_per_1000_calls"]
        out.append(
            {
                "level": run["level"],
                "speedups": run.get("speedups"),
                "cpu_s_per_1000_calls": fast,
                "plain_cpu_s_per_1000_calls": slow,
                "ratio": round(fast / slow, 3) if slow else None,
            }
        )
    return out


def simulator_capacity(runs: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """The load generator's own limit: its CPU per call, extrapolated to one full core.

    The simulator and its callers share one Python process (one core), so ``1 / CPU per
    call`` is the arrival rate at which it saturates, and that rate times the scenario
    length is the concurrency it can generate at most. Only runs where every call
    completed count (a failed call costs the simulator less than a finished one); the
    cost per call falls with load (more frames per wake-up), so the cheapest clean run is
    the estimate. Runs where it was busier than ``SIM_BUSY``, or whose arrival rate is
    above that saturation rate, are listed: their figures are bounded by the load
    generator (and the machine), not only by the app.
    """
    by_door: dict[str, list[float]] = {}
    for run in runs:
        if run["calls"] and not run["failed"] and not run["wrong"]:
            door = "websocket" if run["app"].startswith("ivrkit-websocket") else "http"
            by_door.setdefault(door, []).append(run["sim_cpu_s"] / run["calls"])
    out: dict[str, Any] = {}
    for door, costs in sorted(by_door.items()):
        per_call = min(costs)
        out[f"rest_over_{door}"] = {
            "sim_cpu_ms_per_call": round(per_call * 1000, 2),
            "saturates_at_calls_per_s": round(1 / per_call, 1),
            "saturates_at_concurrent_calls": round(seconds / per_call),
        }
    bounded = []
    for r in runs:
        door = "websocket" if r["app"].startswith("ivrkit-websocket") else "http"
        limit = out.get(f"rest_over_{door}", {}).get("saturates_at_calls_per_s")
        if (r["sim_cpu_share"] or 0) > SIM_BUSY:
            bounded.append(f"{r['app']}@{r['level']} ({r['sim_cpu_share']:.0%} of a core)")
        elif limit is not None and r["rate"] > limit:
            bounded.append(f"{r['app']}@{r['level']} ({r['rate']:.0f} calls/s > {limit:.0f})")
    out["runs_bounded_by_load_generator"] = bounded
    return out


def _cell(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def render(results: dict[str, Any]) -> str:
    """The terminal table: one row per app and level, then ratios and capacities."""
    runs = results["runs"]
    bounded = {
        b.split(" ")[0] for b in results["simulator_capacity"]["runs_bounded_by_load_generator"]
    }
    head = [
        "app",
        "calls live",
        *(label for label, _ in FIGURES),
        "ok/failed",
        "sim CPU",
        "sim lag p99 ms",
    ]
    rows = [head]
    for run in runs:
        failed = run["failed"] + run["wrong"]
        rows.append(
            [
                run["app"],
                f"{run['level']:,} ({run['peak_concurrent']:,})",
                *(_cell(figure(run, path)) for _, path in FIGURES),
                f"{run['completed']}/{failed}",
                f"{run['sim_cpu_share']:.0%}"
                + ("*" if f"{run['app']}@{run['level']}" in bounded else ""),
                _cell(figure(run, ("sim_loop_lag_ms", "p99"))),
            ]
        )
    for ratio in results["ratios"]:
        rows.append(
            [
                f"{ratio['app'].removeprefix('ivrkit-')}/js",
                f"{ratio['level']:,}",
                *(_cell(ratio[label]) for label, _ in FIGURES),
                "",
                "",
                "",
            ]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for n, row in enumerate(rows):
        right = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        cells = [row[0].ljust(widths[0]), *right]
        lines.append("  ".join(cells))
        if n == 0 or (n == len(runs) and results["ratios"]):
            lines.append("  ".join("-" * w for w in widths))
    for cap in results["capacity_p99_under_20ms"]:
        tried = ", ".join(f"{t['level']}: {'ok' if t['ok'] else 'no'}" for t in cap["bisection"])
        lines.append(
            f"highest load with p99 < 20 ms, {cap['app']}: {cap['max_level_p99_under_20ms']:,}"
            f" calls" + (f" (bisection {tried})" if tried else "")
        )
    for gain in results.get("speedups_gain") or []:
        lines.append(
            f"speed-ups ({gain['speedups']}), ivrkit-websocket at {gain['level']:,} calls: "
            f"{gain['cpu_s_per_1000_calls']} s CPU per 1k calls, "
            f"{gain['plain_cpu_s_per_1000_calls']} s without: {gain['ratio']}x"
        )
    sim = results["simulator_capacity"]
    for door in ("rest_over_http", "rest_over_websocket"):
        if door in sim:
            s = sim[door]
            lines.append(
                f"simulator ({door.replace('_', ' ')}): {s['sim_cpu_ms_per_call']} ms CPU per "
                f"call, saturates one core at {s['saturates_at_calls_per_s']:,} calls/s "
                f"= {s['saturates_at_concurrent_calls']:,} concurrent calls"
            )
    bounded = sim["runs_bounded_by_load_generator"]
    lines.append(
        "* bounded by the load generator (sim > 80% of a core, or arrivals above its "
        "saturation rate): " + (", ".join(sim["runs_bounded_by_load_generator"]) or "none")
    )
    lines.append(f"client micro-benchmark (events/s): {results['client_microbench']}")
    if results.get("engine_microbench"):
        lines.append(f"engine micro-benchmark: {results['engine_microbench']}")
    if results.get("round_trip"):
        from benchmarks import bench_round_trip

        lines.append(bench_round_trip.describe(results["round_trip"]))
    if results.get("observability"):
        from benchmarks.bench_observability import render as render_observability

        lines.append(render_observability(results["observability"]))
    if (results.get("cluster") or {}).get("failover"):
        from benchmarks.bench_cluster import render as render_failover
        from benchmarks.bench_cluster import render_throughput

        lines.append(render_throughput(results["cluster"].get("throughput") or []))
        lines.append(render_failover(results["cluster"]["failover"]))
        if results["cluster"].get("listen_failover"):
            from benchmarks.bench_listen_failover import render as render_listen

            lines.append(render_listen(results["cluster"]["listen_failover"]))
    return "\n".join(lines)
