"""A manual clock satisfying the model's Scheduler protocol (model tests without a loop)."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import Any


class _Handle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """``time()``/``call_at()`` like an asyncio loop; ``advance()`` runs what is due."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._heap: list[tuple[float, int, _Handle, Callable[..., object], tuple[Any, ...]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> _Handle:
        handle = _Handle()
        heapq.heappush(self._heap, (when, next(self._seq), handle, callback, args))
        return handle

    def advance(self, seconds: float = 0.0) -> None:
        """Run every callback due up to ``now + seconds`` in time order."""
        target = self.now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, handle, callback, args = heapq.heappop(self._heap)
            self.now = max(self.now, when)
            if not handle.cancelled:
                callback(*args)
        self.now = target

    def pending(self) -> int:
        return sum(1 for item in self._heap if not item[2].cancelled)
