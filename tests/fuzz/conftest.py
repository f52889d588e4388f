"""The fuzz session: a traceback counter on the root logger, counts printed at the end."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from _fuzzing import COUNTS, TRACEBACKS, summary_lines


@pytest.fixture(scope="session", autouse=True)
def _count_tracebacks() -> Iterator[None]:
    root = logging.getLogger()
    root.addHandler(TRACEBACKS)
    try:
        yield
    finally:
        root.removeHandler(TRACEBACKS)
        COUNTS["tracebacks"] += 0  # always listed


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in summary_lines():
        terminalreporter.write_line(line)
