"""The journey log: one JSON line per step of each call (format: ``_schema.py``).

An operator follows one call end to end with ``grep '"call_id":"1795839668.5"'``, or
every failed transfer with ``grep transfer_finished | grep failed``. Lines are written
in the order the steps happened; each carries the call id, the channel name and the
Asterisk id, so lines of many calls can be interleaved in one file.

Writes are buffered (a line costs a dict and a ``json.dumps``, no system call) and
flushed when a call ends, on ``flush()`` (the CLI calls it every second) and at close,
so ``tail -f`` lags by at most a second and a crash loses at most a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from ivrkit.journey._schema import JOURNEY_VERSION
from ivrkit.observe import Observation, Step

_FIELDS = (
    "menu",
    "key",
    "option",
    "entry",
    "action",
    "target",
    "prompt",
    "playback_id",
    "outcome",
    "cause",
    "seconds",
    "error",
)


def _timestamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def journey_line(step: Step, now: float) -> str:
    """The JSON line (without newline) for ``step`` at Unix time ``now``."""
    call = step.call
    line: dict[str, object] = {
        "v": JOURNEY_VERSION,
        "ts": _timestamp(now),
        "call_id": call.call_id,
        "channel": call.channel,
        "asterisk_id": call.asterisk_id,
        "step": step.step,
    }
    for name in _FIELDS:
        value = getattr(step, name)
        if value is not None:
            line[name] = round(value, 6) if name == "seconds" else value
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


class JourneyWriter:
    """An ``Observer`` writing each ``Step`` to ``stream`` (others records are ignored).

    ``clock`` gives Unix time for the ``ts`` field (reporting only; no behaviour
    depends on it).
    """

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.time) -> None:
        self.stream = stream
        self.clock = clock
        self.lines = 0

    def observe(self, record: Observation) -> None:
        if isinstance(record, Step):
            self.stream.write(journey_line(record, self.clock()) + "\n")
            self.lines += 1
            if record.step == "call_ended":
                self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()


__all__ = ["JourneyWriter", "journey_line"]
