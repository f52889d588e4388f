"""An asyncio event loop whose clock jumps over idle time.

Theory of operation
-------------------
asyncio's ``_run_once`` computes how long it may sleep (the time until the earliest
timer) and passes that to ``selector.select(timeout)``. We wrap the selector: it first
polls the real file descriptors without blocking; if something is ready, the loop
proceeds normally. If nothing is ready and a timer is pending, instead of sleeping we
add ``timeout`` to a clock offset and return at once, so the loop sees the timer as due.

Invariants:
1. ``loop.time()`` is monotonic: real monotonic time plus an offset that only grows.
2. Time only jumps when no file descriptor is ready, no callback is ready, and no work
   submitted with ``run_in_executor`` is outstanding (a thread might still post a result).
3. With no timer at all (``timeout is None``) the loop blocks for real: something outside
   the loop (a thread, a subprocess, a peer process) is the only thing that can wake it.

Loopback sockets within one process deliver data synchronously in the kernel, so a
server and a client on the same loop never see a jump "in flight". Peers in other
processes run on real time; use a normal loop for those (pytest marker ``realtime``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import selectors
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")

# While executor work is outstanding we wait for real, but never longer than this per
# turn, so timers still get their (virtual) chance.
_REAL_WAIT_CAP = 0.05


class _Clock:
    __slots__ = ("offset", "pending_executor")

    def __init__(self) -> None:
        self.offset = 0.0
        self.pending_executor = 0


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self._clock = clock

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            return super().select(None)
        if self._clock.pending_executor:
            return super().select(min(timeout, _REAL_WAIT_CAP))
        self._clock.offset += timeout
        return ready


class VirtualTimeEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop on virtual time; see the module docstring."""

    def __init__(self) -> None:
        self._vclock = _Clock()
        super().__init__(_JumpingSelector(self._vclock))

    def time(self) -> float:
        return time.monotonic() + self._vclock.offset

    @property
    def virtual_offset(self) -> float:
        """Seconds skipped so far (virtual time minus real time)."""
        return self._vclock.offset

    def run_in_executor(  # type: ignore[override]
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[..., _T],
        *args: Any,
    ) -> asyncio.Future[_T]:
        fut = super().run_in_executor(executor, func, *args)
        self._vclock.pending_executor += 1

        def _done(_: asyncio.Future[_T]) -> None:
            self._vclock.pending_executor -= 1

        fut.add_done_callback(_done)
        return fut


def run_virtual(main: Coroutine[Any, Any, _T], *, debug: bool | None = None) -> _T:
    """Run ``main`` to completion on a fresh :class:`VirtualTimeEventLoop`."""
    with asyncio.Runner(debug=debug, loop_factory=VirtualTimeEventLoop) as runner:
        return runner.run(main)
