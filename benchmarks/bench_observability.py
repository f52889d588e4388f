"""The cost of ``--metrics`` plus ``--journey``: CPU per call with them on and off.

Same load, same run, same wire: the attendant over HTTP (``ivrkit-http``) and the same
process with ``--metrics 127.0.0.1:0 --journey FILE`` (``ivrkit-observed``) take turns
(off, on, off, on...) at one load level, so a drift of the machine's load hits both
alike; the figure is the mean CPU seconds per 1,000 calls of each and their ratio. The
observed runs are checked to have really observed: the journey file must hold lines of
every call, and the app must have said where it serves metrics. Metrics are scraped
once per observed run at its end, as Prometheus would every 15 s.
"""

from __future__ import annotations

import os
import re
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

OFF, ON = "ivrkit-http", "ivrkit-observed"
JOURNEY = "journey.jsonl"  # in the app's working directory (the bench's temp dir)
TARGET = 1.10  # the issue's bound: at most 10 % more CPU per call with both on


def observed_options() -> list[str]:
    return ["--metrics", "127.0.0.1:0", "--journey", JOURNEY]


def scrape(app_log: Path) -> int:
    """Scrape the app's /metrics once (from the address in its log); bytes read, or 0."""
    found = re.search(r"metrics on (http://\S+)/metrics", app_log.read_text(errors="replace"))
    if not found:
        return 0
    try:
        with urllib.request.urlopen(found.group(1) + "/metrics", timeout=10) as resp:
            return len(resp.read())
    except OSError:
        return 0


def compare(
    run_one: Callable[..., dict[str, Any]],
    level: int,
    rounds: int,
    logs: Path,
    **options: Any,
) -> dict[str, Any]:
    """``rounds`` pairs of runs at ``level``; CPU per 1,000 calls off and on, and the ratio."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: dict[str, list[dict[str, Any]]] = {OFF: [], ON: []}
    journey_lines = 0
    for _ in range(rounds):
        for app in (OFF, ON):
            journey = logs / JOURNEY
            journey.unlink(missing_ok=True)
            run = run_one(app, level, logs=logs, **options)
            if app == ON and journey.exists():
                with journey.open(encoding="utf-8") as lines:
                    journey_lines += sum(1 for _ in lines)
            runs[app].append(run)
    off = [r["app_cpu_s_per_1000_calls"] for r in runs[OFF]]
    on = [r["app_cpu_s_per_1000_calls"] for r in runs[ON]]
    calls_on = sum(r["calls"] for r in runs[ON])
    mean_off, mean_on = sum(off) / len(off), sum(on) / len(on)
    ratio = mean_on / mean_off if mean_off else None
    return {
        "level": level,
        "rounds": rounds,
        "cpu_s_per_1000_calls_off": [round(x, 3) for x in off],
        "cpu_s_per_1000_calls_on": [round(x, 3) for x in on],
        "mean_off": round(mean_off, 3),
        "mean_on": round(mean_on, 3),
        "ratio_on_off": None if ratio is None else round(ratio, 3),
        "within_target": ratio is not None and ratio <= TARGET,
        "journey_lines_per_call": round(journey_lines / max(1, calls_on), 1),
        "stop_p99_ms_off": [r["stop_ms"]["p99"] for r in runs[OFF]],
        "stop_p99_ms_on": [r["stop_ms"]["p99"] for r in runs[ON]],
        "failed_calls": sum(r["failed_calls"] for rs in runs.values() for r in rs),
        "metrics_scraped_bytes": [r.get("metrics_scraped_bytes", 0) for r in runs[ON]],
        "loadavg_before": load_before,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }


def render(result: dict[str, Any]) -> str:
    ratio = result["ratio_on_off"]
    verdict = "within" if result["within_target"] else "OVER"
    return (
        f"metrics + journey at {result['level']:,} calls live ({result['rounds']} rounds, "
        f"interleaved): CPU s/1k calls off {result['cpu_s_per_1000_calls_off']} "
        f"(mean {result['mean_off']}), on {result['cpu_s_per_1000_calls_on']} "
        f"(mean {result['mean_on']}): {ratio}× ({verdict} the 1.10× target); "
        f"{result['journey_lines_per_call']} journey lines per call; stop p99 ms off "
        f"{result['stop_p99_ms_off']}, on {result['stop_p99_ms_on']}; load average "
        f"{result['loadavg_before']} -> {result['loadavg_after']}"
    )


__all__ = ["OFF", "ON", "TARGET", "compare", "observed_options", "render", "scrape"]
