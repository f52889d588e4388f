"""Waiting on a condition in the tests of real processes: real time (Redis's clock, a log
another process writes), bounded. In tests/ so that every test directory imports it (pytest
puts the directory of tests/conftest.py on sys.path)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def until(
    check: Callable[[], Awaitable[bool] | bool], what: str, limit: float = 10.0
) -> None:
    """Poll ``check`` (sync or async) until it is true; fail naming ``what`` after ``limit``."""
    try:
        async with asyncio.timeout(limit):
            while True:
                result = check()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"after {limit} s: {what}") from None
