"""Optional speed-ups: orjson for the client's JSON, uvloop for the CLI's event loop.

``pip install 'ivrkit[speedups]'`` installs both. Each one is used when it can be
imported, unless the environment variable ``IVRKIT_SPEEDUPS`` (read once, at import)
says otherwise:

* unset, ``1`` or ``all``: every speed-up that is installed;
* ``0``, ``none`` or ``off``: none (the stdlib's ``json`` and asyncio's own loop);
* ``orjson``, ``uvloop`` or ``orjson,uvloop``: only those named.

Nothing a client or a caller can see depends on the choice, and the tests check it:
:func:`loads` returns what ``json.loads`` returns and raises what it raises. Where orjson
would differ from the stdlib, the text goes to the stdlib instead, so the fast path
covers the frames Asterisk really sends and the stdlib the odd ones:

* orjson rejects what the stdlib accepts: lone surrogates (``"\\ud800"``), ``NaN``,
  ``Infinity``, ``1e400``: on any orjson error the stdlib parses the text again, giving
  its value or its error;
* orjson reads an integer beyond 64 bits as a float: a text with 19 digits in a row
  goes to the stdlib (every integer of at most 18 digits fits in 64 bits);
* the stdlib refuses deep nesting at the interpreter's recursion limit, orjson at
  1,024 levels: a text with more than :data:`_STDLIB_NESTING` ``[`` or ``{`` goes to
  the stdlib.

This module imports no other part of ivrkit (the client, the simulator and the CLI all
use it) and nothing outside the stdlib but its two optional extras.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any, TypeVar

T = TypeVar("T")

#: the environment variable that chooses the speed-ups
ENV = "IVRKIT_SPEEDUPS"
#: every speed-up this module knows, in the order reports name them
NAMES = ("orjson", "uvloop")
_ALL = frozenset({"", "1", "all", "on", "yes", "true"})
_NONE = frozenset({"0", "none", "off", "no", "false"})

#: above this many ``[`` and ``{`` the stdlib decodes (its limit is the recursion limit)
_STDLIB_NESTING = 100
#: digits to ``0``, brackets to ``[``, anything else to ``.`` (see :func:`_orjson_loads`)
_MARKS = bytes(
    0x30 if 0x30 <= b <= 0x39 else 0x5B if b in (0x5B, 0x7B) else 0x2E for b in range(256)
)
_LONG_NUMBER = b"0" * 19


def parse_choice(value: str | None) -> tuple[frozenset[str], str | None]:
    """The speed-ups ``IVRKIT_SPEEDUPS=value`` asks for, and the problem with it if any.

    A value naming an unknown speed-up selects none (the safe side) and says why; the
    CLI refuses to start on it, the library just runs without speed-ups.
    """
    text = (value or "").strip().lower()
    if text in _ALL:
        return frozenset(NAMES), None
    if text in _NONE:
        return frozenset(), None
    names = {n.strip() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(NAMES))
    if unknown:
        return frozenset(), (
            f"{ENV}={value!r} names {', '.join(map(repr, unknown))}; expected 0, 1 or "
            f"a comma-separated list of {', '.join(NAMES)}"
        )
    return frozenset(names), None


def _import(name: str, wanted: frozenset[str]) -> ModuleType | None:
    if name not in wanted:
        return None
    try:
        return __import__(name)
    except ImportError:  # not installed (or blocked): the stdlib path
        return None


_wanted, _problem = parse_choice(os.environ.get(ENV))
_orjson = _import("orjson", _wanted)
_uvloop = _import("uvloop", _wanted)


# ---------------------------------------------------------------- JSON


def stdlib_loads(text: str | bytes) -> Any:
    """``json.loads``: the reference every decoder here must match."""
    return json.loads(text)


def _orjson_loads(text: str | bytes) -> Any:
    assert _orjson is not None
    try:
        value = _orjson.loads(text)
    except _orjson.JSONDecodeError:
        pass  # the stdlib's value (a lone surrogate...) or its error, raised out of here
    else:  # so that a stdlib error carries no orjson error as its context
        raw = text.encode() if isinstance(text, str) else text  # valid UTF-8: orjson read it
        marks = raw.translate(_MARKS)
        if _LONG_NUMBER not in marks and marks.count(b"[") <= _STDLIB_NESTING:
            return value
        # else a big integer (orjson: a float) or deep nesting
    return json.loads(text)


#: decode one JSON text (a websocket frame, a REST answer)
loads: Callable[[str | bytes], Any] = stdlib_loads if _orjson is None else _orjson_loads


# ---------------------------------------------------------------- the event loop


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop when it is in use (with asyncio's clock), else asyncio's own."""
    if _uvloop is None:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = _PreciseLoop()
    return loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop's loop when it is in use.

    For the CLI's long-running servers (``ivrkit run``, ``ivrkit sim``): a library never
    chooses the loop of the program that imports it.
    """
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)


if _uvloop is not None:

    class _PreciseLoop(_uvloop.Loop):  # type: ignore[misc,name-defined]
        """uvloop with asyncio's clock: ``time()`` reads the monotonic clock.

        uvloop's own ``time()`` is libuv's loop time, in whole milliseconds and read
        once per loop iteration, so a 0.3 ms REST answer would be measured as 0 or 1 ms
        (the request seconds observers and ``--metrics`` report, the loop-lag sample).
        Its timers stay libuv's: they fire no earlier than asked (a test checks it).
        """

        time = staticmethod(time.monotonic)


# ---------------------------------------------------------------- reporting


def in_use() -> dict[str, str]:
    """The speed-ups in use, name -> version."""
    found = {"orjson": _orjson, "uvloop": _uvloop}
    return {name: _version(name) for name in NAMES if found[name] is not None}


def problem() -> str | None:
    """What is wrong with ``IVRKIT_SPEEDUPS``, if anything (the CLI refuses to start)."""
    return _problem


def describe() -> str:
    """One line for a startup log: what is in use, what is not and why."""
    used = in_use()
    parts = [f"{name} {version}" for name, version in used.items()]
    off = [n for n in NAMES if n not in _wanted]
    missing = [n for n in NAMES if n in _wanted and n not in used]
    if off:
        parts.append(f"{' and '.join(off)} off ({ENV}={os.environ.get(ENV, '')})")
    if missing:
        parts.append(f"{' and '.join(missing)} not installed (pip install 'ivrkit[speedups]')")
    return ", ".join(parts)


def _version(name: str) -> str:
    from importlib import metadata  # only for reports: 0.1 s of imports at startup

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # importable without metadata (a vendored copy)
        return "(version unknown)"


__all__ = [
    "ENV",
    "NAMES",
    "describe",
    "in_use",
    "loads",
    "new_event_loop",
    "parse_choice",
    "problem",
    "run",
    "stdlib_loads",
]
