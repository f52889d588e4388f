"""The event loop of ``ivrkit run`` and the speed-ups its banner names.

``ivrkit run`` runs on :func:`ivrkit.speedups.run` (uvloop when installed and not
switched off) and its serving banner ends with the speed-ups in use: a figure from a
bench or a bug report is only comparable when it says so. The other commands keep
``asyncio.run``: ``ivrkit sim`` must behave exactly as before (its timers are the
simulated Asterisk's clock) and uvloop's gain was measured for ``ivrkit run`` only;
``call``, ``demo`` and ``check`` are short.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

from ivrkit import speedups

T = TypeVar("T")


def run_server(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :mod:`ivrkit.speedups` chose."""
    return speedups.run(main)


def speedups_note(*, loop: bool = True) -> str:
    """The serving banner's tail: ``"; speed-ups: orjson 3.13.0, uvloop 0.23.0"``.

    ``loop=False`` for ``--listen``, which keeps asyncio's loop: its gain was measured
    with ``--url`` only, and one run in 4 of its documented per-call example lost the
    end of a call on uvloop under load (tests/outbound/test_docs_outbound.py).
    """
    if loop:
        return f"; speed-ups: {speedups.describe()}"
    kept = [p for p in speedups.describe().split(", ") if not p.startswith("uvloop")]
    return f"; speed-ups: {', '.join(kept) or 'none'}, uvloop not used with --listen"
