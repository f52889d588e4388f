"""The journey log: one JSON line per step of each call (format: ``_schema.py``).

An operator follows one call end to end with ``grep '"call_id":"1795839668.5"'``, or
every failed transfer with ``grep transfer_finished | grep failed``. Lines are written
in the order the steps happened; each carries the call id, the channel name and the
Asterisk id, so lines of many calls can be interleaved in one file.

Lines are held in a list and written together (a line costs a dict and one JSON
encoding, no write), when a call ends, every ``_BATCH`` lines, and on ``flush()`` (the
CLI calls it every second and at close), so ``tail -f`` lags by at most a second and a
crash loses at most a second.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO

from ivrkit.journey._schema import JOURNEY_VERSION
from ivrkit.observe import CallInfo, Observation, Step

_FIELDS = Step._fields[2:]  # after call and step: the optional ones, in order
_BATCH = 256  # lines held before a write (each call's end and flush() write them too)
_LAST_STEPS = frozenset({"call_ended", "call_turned_away"})  # nothing follows for the call


# One encoder for every line: json.dumps with non-default options builds a new encoder
# per call, which was half the cost of a line (make bench, docs/operations.md).
_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class _Clock:
    """``ts`` text for a Unix time; the part to the second is formatted once a second."""

    __slots__ = ("_prefix", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def text(self, now: float) -> str:
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._prefix}.{int((now - second) * 1000):03d}Z"


def _head(step: Step) -> str:
    call = step.call
    return _ENCODE(
        {
            "v": JOURNEY_VERSION,
            "ts": "",
            "call_id": call.call_id,
            "channel": call.channel,
            "asterisk_id": call.asterisk_id,
        }
    )


def _tail(step: Step) -> str:
    line: dict[str, object] = {"step": step.step}
    for name, value in zip(_FIELDS, step[2:], strict=True):
        if value is not None:
            line[name] = value
    if step.seconds is not None:
        line["seconds"] = round(step.seconds, 6)
    return _ENCODE(line)


_TS_AT = len(_ENCODE({"v": JOURNEY_VERSION, "ts": ""})) - 2  # inside the ts quotes


def _join(head: str, ts: str, tail: str) -> str:
    # head is '{"v":1,"ts":"","call_id":...}', tail '{"step":...}': splice ts in, merge
    return head[:_TS_AT] + ts + head[_TS_AT:-1] + "," + tail[1:]


def journey_line(step: Step, now: float) -> str:
    """The JSON line (without newline) for ``step`` at Unix time ``now``."""
    return _join(_head(step), _Clock().text(now), _tail(step))


class JourneyWriter:
    """An ``Observer`` writing each ``Step`` to ``stream`` (others records are ignored).

    ``clock`` gives Unix time for the ``ts`` field (reporting only; no behaviour
    depends on it).
    """

    def __init__(self, stream: IO[str], *, clock: Callable[[], float] = time.time) -> None:
        self.stream = stream
        self.clock = clock
        self.lines = 0
        self._ts = _Clock()
        self._heads: dict[CallInfo, str] = {}  # each live call's encoded ids, made once
        self._pending: list[str] = []

    def observe(self, record: Observation) -> None:
        if not isinstance(record, Step):
            return
        call = record.call
        head = self._heads.get(call)
        if head is None:
            head = self._heads[call] = _head(record)
        pending = self._pending
        pending.append(_join(head, self._ts.text(self.clock()), _tail(record)))
        self.lines += 1
        if record.step in _LAST_STEPS:
            self._heads.pop(call, None)
            self.flush()
        elif len(pending) >= _BATCH:
            self._write()

    def _write(self) -> None:
        if self._pending:
            lines, self._pending = self._pending, []
            self.stream.write("\n".join(lines) + "\n")

    def flush(self) -> None:
        """Write what is held and flush the stream (the CLI calls this every second)."""
        self._write()
        self.stream.flush()


__all__ = ["JourneyWriter", "journey_line"]
