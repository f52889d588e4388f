"""The fuzz tests' traceback counter counts what they claim it counts."""

from __future__ import annotations

import logging

from _fuzzing import TRACEBACKS


def test_a_logged_traceback_is_counted_and_a_warning_line_is_not() -> None:
    log = logging.getLogger("ivrkit.fuzz-selftest")
    before = TRACEBACKS.seen
    log.warning("one line")
    assert TRACEBACKS.seen == before
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    assert TRACEBACKS.seen == before + 1
    assert TRACEBACKS.last == "ivrkit.fuzz-selftest: failed"
