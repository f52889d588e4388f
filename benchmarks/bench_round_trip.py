"""CPU per REST round trip over the websocket: ivrkit's client against raw aiohttp.

Run: ``.venv/bin/python -m benchmarks.bench_round_trip [--requests N] [--rounds R]``.

Why: at 1,000 calls a call costs several milliseconds of the app's CPU, yet its events
and engine cost well under one (the client and engine micro-benchmarks). This bench
isolates the rest: one request sent as a RESTRequest frame and its RESTResponse read
back, ``GET /asterisk/ping`` against the simulator. It is run twice, by the same code
shape: ivrkit's ``AriClient.request`` and a bare aiohttp websocket client that only
frames, sends, reads and decodes (a reader task resolving one future per request, as
any client that has several requests in flight must). Both on asyncio's own loop with
the stdlib's ``json`` (``IVRKIT_SPEEDUPS=0``), and ivrkit once more with its speed-ups
(orjson, uvloop) for reference; each in a process of its own, so that the
CPU counted (``time.process_time``) is that client's only; the simulator is one process
that both use in turn, rounds alternating. Two shapes:

* one request in flight: what a call's requests look like at 1,000 calls, when most
  wake-ups of the loop carry one frame;
* twenty in flight: the same work with more frames per wake-up.

The difference between the two clients is what ivrkit's layers cost per round trip;
what both pay is the floor of asyncio, aiohttp and the kernel on this machine.
Wall-clock timing here is measurement, not behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
IVRKIT = Path(sys.executable).parent / "ivrkit"
USER = "asterisk"
CLIENTS = ("aiohttp", "ivrkit", "ivrkit-speedups")
SHAPES = (1, 20)
_PING = (
    '{"type":"RESTRequest","transaction_id":"%s","request_id":"%s",'
    '"method":"GET","uri":"asterisk/ping"}'
)


async def _raw(port: int, requests: int, inflight: int) -> tuple[float, float]:
    import aiohttp

    auth = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{USER}".encode()).decode()}
    url = f"http://127.0.0.1:{port}/ari/events?app=bench"
    async with aiohttp.ClientSession(headers=auth) as session, session.ws_connect(url) as ws:
        pending: dict[str, asyncio.Future[Any]] = {}

        async def read() -> None:
            while True:
                msg = await ws.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    return
                frame = json.loads(msg.data)
                if frame.get("type") == "RESTResponse":
                    body = frame.get("message_body")
                    result = json.loads(body) if body else None
                    pending.pop(frame["request_id"]).set_result(result)

        reader = asyncio.get_running_loop().create_task(read())
        seq = 0

        async def one() -> None:
            nonlocal seq
            seq += 1
            rid = f"r{seq}"
            future = asyncio.get_running_loop().create_future()
            pending[rid] = future
            await ws.send_str(_PING % (rid, rid))
            await future

        try:
            await one()  # warm-up
            return await _timed(one, requests, inflight)
        finally:
            reader.cancel()


async def _ivrkit(port: int, requests: int, inflight: int) -> tuple[float, float]:
    from ivrkit.ari import AriClient, ConnectionConfig, Credentials

    config = ConnectionConfig(
        base_url=f"http://127.0.0.1:{port}",
        apps=("bench",),
        credentials=Credentials(USER, USER),
        rest_transport="websocket",
    )
    async with AriClient(config) as client:

        async def one() -> None:
            await client.request("GET", "/asterisk/ping")

        await one()  # warm-up
        return await _timed(one, requests, inflight)


async def _timed(one: Any, requests: int, inflight: int) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if inflight == 1:
        for _ in range(requests):
            await one()
    else:
        gate = asyncio.Semaphore(inflight)

        async def gated() -> None:
            async with gate:
                await one()

        await asyncio.gather(*(gated() for _ in range(requests)))
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return 1e6 * cpu / requests, 1e6 * wall / requests


def _child(client: str, port: int, requests: int, inflight: int) -> None:
    from ivrkit import speedups  # IVRKIT_SPEEDUPS is read on import: set by the parent

    run = _raw if client == "aiohttp" else _ivrkit
    cpu_us, wall_us = speedups.run(run(port, requests, inflight))
    print(json.dumps({"cpu_us": cpu_us, "wall_us": wall_us}), flush=True)


def bench(requests: int = 5000, rounds: int = 3) -> dict[str, Any]:
    """Median CPU µs per round trip for each client and shape, and ivrkit/aiohttp."""
    env = {**os.environ, "IVRKIT_SIM_USERS": f"{USER}:{USER}", "IVRKIT_SPEEDUPS": "0"}
    sim = subprocess.Popen(
        [str(IVRKIT), "sim", "--listen", "127.0.0.1:0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert sim.stdout is not None
        found = re.search(r"http://127\.0\.0\.1:(\d+)/ari", sim.stdout.readline())
        if found is None:
            raise RuntimeError("ivrkit sim did not say where it listens")
        port = int(found.group(1))
        samples: dict[tuple[str, int], list[float]] = {}
        for _ in range(rounds):
            for inflight in SHAPES:
                for client in CLIENTS:
                    cmd = [sys.executable, "-m", "benchmarks.bench_round_trip", "--child"]
                    cmd += [client, "--port", str(port), "--requests", str(requests)]
                    cmd += ["--inflight", str(inflight)]
                    child_env = dict(env)
                    if client == "ivrkit-speedups":  # orjson and uvloop, if installed
                        del child_env["IVRKIT_SPEEDUPS"]
                    out = subprocess.run(
                        cmd, cwd=ROOT, env=child_env, capture_output=True, text=True
                    )
                    if out.returncode != 0:
                        raise RuntimeError(f"{client} client failed: {out.stderr[-400:]}")
                    figure = json.loads(out.stdout.strip().splitlines()[-1])
                    samples.setdefault((client, inflight), []).append(figure["cpu_us"])
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        if sim.stdout is not None:
            sim.stdout.close()
    result: dict[str, Any] = {"requests": requests, "rounds": rounds}
    for inflight in SHAPES:
        raw = statistics.median(samples[("aiohttp", inflight)])
        ours = statistics.median(samples[("ivrkit", inflight)])
        fast = statistics.median(samples[("ivrkit-speedups", inflight)])
        result[f"in_flight_{inflight}"] = {
            "aiohttp_cpu_us": round(raw, 1),
            "ivrkit_cpu_us": round(ours, 1),
            "ratio": round(ours / raw, 2),
            "ivrkit_speedups_cpu_us": round(fast, 1),
        }
    return result


def describe(result: dict[str, Any]) -> str:
    parts = []
    for inflight in SHAPES:
        f = result[f"in_flight_{inflight}"]
        parts.append(
            f"{inflight} in flight: ivrkit {f['ivrkit_cpu_us']} µs, raw aiohttp "
            f"{f['aiohttp_cpu_us']} µs ({f['ratio']}x), ivrkit with speed-ups "
            f"{f['ivrkit_speedups_cpu_us']} µs"
        )
    return "CPU per REST round trip over the websocket (median of rounds): " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inflight", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.port, args.requests, args.inflight)
        return 0
    print(describe(bench(args.requests, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
