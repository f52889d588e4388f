"""Micro-benchmark: the menu engine alone (``ivrkit.ivr.CallMachine``), no I/O at all.

Run: ``.venv/bin/python -m benchmarks.bench_engine``. ``CALLS`` machines of the guide's
attendant live at once and each runs the bench scenario (enter; 1 during ``press-1``;
``you-entered``, ``digits:1``; 8 during ``or``; ``option-is-invalid``; the menu to the
end; hang up before the timeout), interleaved one event per call per round so every
machine is alive while the others run, as in a loaded process. A tiny driver plays
Asterisk: a PlayPrompt is answered with PromptStarted and, unless a key is due during
that prompt, PromptFinished; a StopPrompt with PromptFinished.

Three figures: events handled per second of one core (``handle`` calls, the driver
included, so it is a floor), events per call, and bytes of heap per live machine
(tracemalloc: the machines alone, after every call has entered). The sans-I/O design
is what makes these measurable without a loop or a socket. Wall-clock timing is
measurement, not behaviour.
"""

from __future__ import annotations

import time
import tracemalloc
from collections import deque
from collections.abc import Iterator

from ivrkit.ivr import (
    ATTENDANT_MENU,
    CallerHungUp,
    CallMachine,
    CallStarted,
    CallState,
    DigitReceived,
    Event,
    MenuTree,
    PlayPrompt,
    PromptFinished,
    PromptStarted,
    StopPrompt,
    load_menu_file,
)

CALLS = 1000

#: (media, nth time it starts in the call) -> key pressed while it plays
KEYS = {("sound:press-1", 1): "1", ("sound:or", 1): "8"}
#: the prompt whose natural end is the caller's cue to hang up (the menu played out once)
LAST = ("sound:press-2", 1)


def _call(tree: MenuTree, number: int) -> Iterator[int]:
    """One call, as a generator that handles one event per step; yields events handled."""
    machine = CallMachine(tree, call_id=f"c{number}")
    started: dict[str, int] = {}
    inbox: deque[Event] = deque([CallStarted(channel_name=f"PJSIP/alice-{number:08x}")])
    now = 0.0
    while inbox:
        event = inbox.popleft()
        now += 0.1
        for command in machine.handle(event, now):
            if isinstance(command, PlayPrompt):
                seen = started[command.media] = started.get(command.media, 0) + 1
                pid = command.playback_id
                inbox.append(PromptStarted(playback_id=pid))
                key = KEYS.get((command.media, seen))
                if key is not None:
                    inbox.append(DigitReceived(digit=key))
                elif (command.media, seen) == LAST:
                    inbox.append(PromptFinished(playback_id=pid))
                    inbox.append(CallerHungUp())
                else:
                    inbox.append(PromptFinished(playback_id=pid))
            elif isinstance(command, StopPrompt):
                inbox.append(PromptFinished(playback_id=command.playback_id))
        yield 1
        if machine.state is CallState.DONE:
            return


def bench(calls: int = CALLS, rounds: int = 5) -> dict[str, float]:
    """Events/s (best of ``rounds``) and heap bytes per live machine."""
    tree = load_menu_file(ATTENDANT_MENU)
    best = 0.0
    events_per_call = 0
    for _ in range(rounds):
        live = [_call(tree, n) for n in range(calls)]
        handled = 0
        t0 = time.perf_counter()
        while live:
            still = []
            for call in live:
                if next(call, 0):
                    handled += 1
                    still.append(call)
            live = still
        elapsed = time.perf_counter() - t0
        best = max(best, handled / elapsed)
        events_per_call = handled // calls
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    machines = [CallMachine(tree, call_id=f"c{n}") for n in range(calls)]
    for n, machine in enumerate(machines):  # every call has entered; press-1 is playing
        machine.handle(CallStarted(channel_name=f"PJSIP/alice-{n:08x}"), 0.0)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    del machines
    return {
        "engine_events_per_s": round(best),
        "engine_events_per_call": events_per_call,
        "engine_bytes_per_live_call": round(grown / calls),
    }


def main() -> None:
    figures = bench()
    print(f"menu engine: {figures['engine_events_per_s']:>10,} events/s on one core")
    print(f"             {figures['engine_events_per_call']:>10} events per call (bench scenario)")
    print(
        f"             {figures['engine_bytes_per_live_call']:>10,} bytes per live call "
        "(the machine alone, first prompt playing)"
    )


if __name__ == "__main__":
    main()
