"""What the fuzz tests share: the example budget, the counts, and the traceback counter.

``make test`` runs each fuzz property with its base budget on a fixed seed (derandomized:
the same examples every run, so a failure is reproducible and the suite's time is
fixed). ``make fuzz`` sets ``IVRKIT_FUZZ_SCALE=10``: ten times the examples, on fresh
random seeds, and prints the counts collected here at the end of the run.
"""

from __future__ import annotations

import logging
import os
from collections import Counter

from hypothesis import HealthCheck, settings

SCALE = int(os.environ.get("IVRKIT_FUZZ_SCALE", "1"))

COUNTS: Counter[str] = Counter()
"""Totals over the run: examples, answers by status, tracebacks, dropped sockets."""


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for a fuzz property with ``examples`` as its suite budget."""
    return settings(
        max_examples=examples * SCALE,
        derandomize=SCALE == 1,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )


class TracebackCounter(logging.Handler):
    """Counts log records that carry a traceback (``exc_info``) or print one.

    Installed on the root logger for the whole fuzz session; a test reads ``seen``
    before and after an example. Records of every logger count (ivrkit, aiohttp...).
    """

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.seen = 0
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback (most recent call last)" in str(record.msg):
            self.seen += 1
            self.last = f"{record.name}: {record.getMessage()}"


TRACEBACKS = TracebackCounter()


def summary_lines() -> list[str]:
    """The counts as printed at the end of a fuzz run (make fuzz)."""
    if not COUNTS:
        return []
    width = max(len(k) for k in COUNTS)
    lines = [f"fuzz counts (IVRKIT_FUZZ_SCALE={SCALE}):"]
    for key in sorted(COUNTS):
        lines.append(f"  {key:<{width}}  {COUNTS[key]}")
    for key in ("tracebacks", "dropped sockets"):
        if key not in COUNTS:
            lines.append(f"  {key:<{width}}  0")
    return lines
