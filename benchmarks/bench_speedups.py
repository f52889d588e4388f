"""What the optional speed-ups (``ivrkit[speedups]``: orjson, uvloop) save per call.

Same load, same run, same wire: ``ivrkit run --rest-transport websocket`` with the
speed-ups as installed (``ivrkit-websocket``; ``IVRKIT_SPEEDUPS=orjson`` or ``=uvloop`` in
the bench's environment measures one alone) and with ``IVRKIT_SPEEDUPS=0``
(``ivrkit-websocket-plain``) run side by side at one load level, each with its own load
generator, so whatever else the machine does weighs on both alike (the method of
``bench_observability``); the figure is CPU seconds per 1,000 calls of each, and the
median over the rounds of the ratio within a pair. Each run's banner says which
speed-ups it used, and the comparison refuses a pair whose fast side ran without any.

``micro()`` measures the JSON part alone, without I/O, best of five: one event decoded,
one RESTResponse decoded (frame and body), with the stdlib and with orjson (the client
builds its RESTRequest frames as text, ``_supervisor.request_frame``: no JSON library).
"""

from __future__ import annotations

import functools
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ivrkit import speedups

FAST, PLAIN = "ivrkit-websocket", "ivrkit-websocket-plain"


def compare(
    run_one: Callable[..., dict[str, Any]],
    level: int,
    rounds: int,
    logs: Path,
    micro_bench: Callable[[], dict[str, float]] | None = None,
) -> dict[str, Any]:
    """``rounds`` pairs at ``level``, the two runs of a pair at the same time."""
    load_before = [round(x, 2) for x in os.getloadavg()]
    runs: dict[str, list[dict[str, Any]]] = {FAST: [], PLAIN: []}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for _ in range(rounds):
            pair = {app: pool.submit(run_one, app, level, logs=logs) for app in runs}
            for app, future in pair.items():
                runs[app].append(future.result())
    used = {r.get("speedups") for r in runs[FAST]}
    if any(s is None or not re.search(r"\b(orjson|uvloop) \d", s) for s in used):
        raise RuntimeError(f"the fast runs did not use the speed-ups: {used}")
    fast = [r["app_cpu_s_per_1000_calls"] for r in runs[FAST]]
    plain = [r["app_cpu_s_per_1000_calls"] for r in runs[PLAIN]]
    paired = sorted(a / b for a, b in zip(fast, plain, strict=True) if b)
    return {
        "level": level,
        "rounds": rounds,
        "speedups": sorted(s for s in used if s),
        "cpu_s_per_1000_calls_fast": fast,
        "cpu_s_per_1000_calls_plain": plain,
        "paired_ratios": [round(x, 3) for x in paired],
        "median_ratio": round(statistics.median(paired), 3) if paired else None,
        "stop_p99_ms_fast": [r["stop_ms"]["p99"] for r in runs[FAST]],
        "stop_p99_ms_plain": [r["stop_ms"]["p99"] for r in runs[PLAIN]],
        "failed_calls": sum(r["failed_calls"] for rs in runs.values() for r in rs),
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "json_micro": (micro_bench or micro)(),
    }


def _frames() -> tuple[str, str]:
    channel = {
        "id": "1796144689.17",
        "name": "PJSIP/alice-00000011",
        "state": "Up",
        "protocol_id": "",
        "caller": {"name": "Caller", "number": "1017"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "default",
            "exten": "1000",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": "channel-aa",
        },
        "creationtime": "2026-12-01T19:00:00.000+0000",
        "language": "en",
    }
    event = {
        "type": "ChannelDtmfReceived",
        "timestamp": "2026-12-01T19:00:01.000+0000",
        "digit": "1",
        "duration_ms": 100,
        "channel": channel,
        "asterisk_id": "02:42:ac:11:00:02",
        "application": "channel-aa",
    }
    body = {"id": "pb1", "media_uri": "sound:press-1", "target_uri": "channel:x", "state": "queued"}
    response = {
        "type": "RESTResponse",
        "transaction_id": "r7",
        "request_id": "r7",
        "status_code": 201,
        "reason_phrase": "Created",
        "uri": "channels/1796144689.17/play/pb1",
        "content_type": "application/json",
        "message_body": json.dumps(body, separators=(",", ":")),
    }
    compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    return compact(event), compact(response)


def _rest_response(loads: Callable[[Any], Any], text: str) -> Any:
    """As the client reads one: the frame, then its body."""
    return loads(loads(text)["message_body"])


def micro(repeat: int = 20_000, rounds: int = 5) -> dict[str, float]:
    """µs of the client's JSON work per frame kind, stdlib and orjson, best of rounds."""
    event, response = _frames()
    paths: dict[str, Callable[[Any], Any]] = {"stdlib": speedups.stdlib_loads}
    if "orjson" in speedups.in_use():
        paths["orjson"] = speedups._orjson_loads
    out: dict[str, float] = {}
    for name, loads in paths.items():
        work: dict[str, tuple[Callable[[Any], Any], Any]] = {
            "event_decode": (loads, event),
            "rest_response_decode": (functools.partial(_rest_response, loads), response),
        }
        for kind, (fn, arg) in work.items():
            best = float("inf")
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(repeat):
                    fn(arg)
                best = min(best, time.perf_counter() - t0)
            out[f"{kind}_us_{name}"] = round(best / repeat * 1e6, 2)
    return out


def render(result: dict[str, Any]) -> str:
    fast = ", ".join(f"{x:.2f}" for x in result["cpu_s_per_1000_calls_fast"])
    plain = ", ".join(f"{x:.2f}" for x in result["cpu_s_per_1000_calls_plain"])
    return (
        f"speed-ups ({'; '.join(result['speedups'])}) at {result['level']:,} calls over the "
        f"websocket, {result['rounds']} pairs side by side: CPU s/1k calls {fast} with, "
        f"{plain} without; ratio median {result['median_ratio']}x "
        f"(pairs {result['paired_ratios']}; load {result['load_before'][0]} -> "
        f"{result['load_after'][0]}); JSON µs/frame {result['json_micro']}"
    )
