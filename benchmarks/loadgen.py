"""The load generator: the simulator plus N scripted callers, in one OS process.

Run by ``benchmarks.run`` (``python -m benchmarks.loadgen --calls N --rate R ...``), never
by hand. It talks to its parent over stdin/stdout, one JSON object per line:

1. prints ``{"event": "ready", "port": P}`` once the simulator listens;
2. prints ``{"event": "connected"}`` once the app under test holds ``channel-aa``;
3. waits for the line ``go`` (the parent samples the app's idle memory first);
4. starts ``calls`` callers at a fixed ``rate`` per second, each running the guide's
   scenario (:func:`scenario`), and prints ``{"event": "result", ...}`` when all ended.

Reaction is timed by the simulator's :class:`~ivrkit.sim.ReactionProbe` (from the
moment the ``ChannelDtmfReceived`` frame is written to the socket). The process also
reports its own CPU time over the load window, so a run bounded by the load generator
says so. Wall-clock reads here are measurement, not behaviour.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import sys
import time
from typing import Any

from ivrkit.sim import Caller, ReactionProbe, Simulator, SimulatorError

#: the caller waits this long into a prompt before pressing (the press lasts 0.1 s more)
PRESS_AFTER = 0.2
#: silence after the menu finished once, then the caller hangs up (the timeout is 10 s)
HANG_UP_AFTER = 1.0
#: a call that takes longer than this has failed (the scenario lasts about 10 s)
CALL_DEADLINE = 60.0


def _emit(**fields: Any) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


async def scenario(caller: Caller) -> None:
    """The issue's call: 1 during press-1, 8 during ``or``, the menu once, hang up."""
    await caller.wait_for_playback("sound:press-1")
    await asyncio.sleep(PRESS_AFTER)
    await caller.press("1")
    await caller.wait_for_playback("sound:you-entered")
    await caller.wait_for_playback("sound:or")  # the menu again: press-1, or
    await asyncio.sleep(PRESS_AFTER)
    await caller.press("8")
    await caller.wait_for_playback("sound:option-is-invalid")
    await caller.wait_until_heard("sound:press-2")  # the menu, once to its end
    await asyncio.sleep(HANG_UP_AFTER)
    await caller.hangup()
    await caller.wait_for_hangup()


def heard_ok(caller: Caller) -> bool:
    """The call heard what the guide's attendant plays, with the prompts cut off."""
    uris = [h.media_uri for h in caller.heard]
    expected = ("sound:you-entered", "digits:1", "sound:option-is-invalid", "sound:press-2")
    if not all(uri in uris for uri in expected):
        return False
    first = caller.heard[0]
    return first.media_uri == "sound:press-1" and first.cut_off


def percentiles(samples: list[float]) -> dict[str, float | int | None]:
    """p50/p99/max in milliseconds (nearest rank), and the sample count."""
    if not samples:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    ordered = sorted(samples)
    n = len(ordered)

    def rank(q: float) -> float:
        return round(ordered[max(0, math.ceil(q * n) - 1)] * 1000, 3)

    return {"n": n, "p50": rank(0.5), "p99": rank(0.99), "max": round(ordered[-1] * 1000, 3)}


async def _one(sim: Simulator, number: int, outcome: dict[str, int]) -> None:
    caller = await sim.call("PJSIP/alice", "1000", caller_id=f"Caller <{number}>")
    try:
        async with asyncio.timeout(CALL_DEADLINE):
            await scenario(caller)
    except (TimeoutError, SimulatorError, asyncio.CancelledError) as exc:
        outcome["failed"] += 1
        if not caller.hung_up:
            await caller.hangup()  # leave no call behind
        if isinstance(exc, asyncio.CancelledError):
            raise
        return
    outcome["completed" if heard_ok(caller) else "wrong"] += 1


async def _sample_loop_lag(into: list[float], every: float = 0.005) -> None:
    """How late this process's event loop wakes a 5 ms timer (seconds), until cancelled.

    The probe's clock is this loop's: a reaction is timed from the DTMF frame's write to
    the moment the loop *serves* the app's request, so the loop's own lateness is inside
    every sample. Reported beside the reaction so that a tail made here is not read as
    the app's.
    """
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        into.append(max(0.0, loop.time() - due))


async def _read_line() -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, sys.stdin.readline)


def _quiet_collector() -> None:
    """Keep the generator's full collections out of the measurement.

    The probe's clock is this process's loop, so every pause here lands in the app's
    reaction samples. With 1,000 calls alive a full (generation 2) collection of the
    simulator's heap took 20-70 ms and put clusters of 10-20 consecutive presses 20-60 ms
    late (measured with ``gc.callbacks``; docs/performance.md). Objects made so far are
    frozen and generation 2 is left for after the run (the process exits then); younger
    generations still run and free most cyclic garbage of ended calls, and what reaches
    generation 2 only grows the generator's memory for the run's few tens of seconds.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, 1_000_000)


async def main_async(args: argparse.Namespace) -> None:
    _quiet_collector()
    probe = ReactionProbe()
    apps = args.wait_apps.split(",") if args.wait_apps else ["channel-aa"]
    dialplan = None
    if args.broadcast:  # cluster workers claim each call (benchmarks/bench_cluster.py)
        step = f"StasisBroadcast(3000,^{args.broadcast}-)"
        dialplan = {"default": {"1000": ("NoOp()", step, "Hangup()")}}
    async with Simulator(
        "127.0.0.1",
        args.port,
        durations_file=args.durations_file,
        reaction_probe=probe,
        dialplan=dialplan,
    ) as sim:
        _emit(event="ready", port=sim.port)
        async with asyncio.timeout(args.connect_timeout):
            for app in apps:
                await sim.wait_for_app(app)
        _emit(event="connected")
        if (await _read_line()).strip() != "go":
            return
        loop = asyncio.get_running_loop()
        outcome = {"completed": 0, "failed": 0, "wrong": 0}
        peak_live = 0
        max_lateness = 0.0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        start = loop.time()
        # Arrivals stop at the planned end even if not all calls could be placed (a
        # saturated load generator); calls still running ``drain`` seconds later fail.
        arrivals_end = start + args.calls / args.rate * 1.1
        placed = 0
        tasks: list[asyncio.Task[None]] = []
        lag: list[float] = []
        lag_sampler = loop.create_task(_sample_loop_lag(lag))
        async with asyncio.TaskGroup() as tg:
            for number in range(args.calls):
                due = start + number / args.rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif loop.time() > arrivals_end:
                    break
                else:
                    max_lateness = max(max_lateness, -delay)
                if number % 16 == 0:
                    peak_live = max(peak_live, len(sim.model.channels))
                tasks.append(tg.create_task(_one(sim, number, outcome)))
                placed += 1
            give_up = loop.time() + args.drain
            while any(not t.done() for t in tasks) and loop.time() < give_up:
                peak_live = max(peak_live, len(sim.model.channels))
                await asyncio.sleep(0.25)
            for task in tasks:
                task.cancel()
        lag_sampler.cancel()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        _emit(
            event="result",
            calls=placed,
            planned_calls=args.calls,
            rate=args.rate,
            **outcome,
            peak_concurrent=peak_live,
            arrival_lag_max_s=round(max_lateness, 3),
            wall_s=round(wall, 3),
            sim_cpu_s=round(cpu, 3),
            sim_cpu_share=round(cpu / wall, 3) if wall else None,
            presses=probe.presses,
            unanswered_stop=probe.unanswered_stop,
            unanswered_play=probe.unanswered_play,
            stop_ms=percentiles(probe.stop),
            play_ms=percentiles(probe.play),
            sim_loop_lag_ms=percentiles(lag),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--calls", type=int, required=True)
    parser.add_argument("--rate", type=float, required=True, help="arrivals per second")
    parser.add_argument("--durations-file", default=None)
    parser.add_argument("--drain", type=float, default=40.0, help="seconds after arrivals")
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    parser.add_argument("--broadcast", metavar="APP", help="extension 1000 broadcasts to APP-*")
    parser.add_argument("--wait-apps", metavar="A,B", help="apps to wait for (default channel-aa)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
