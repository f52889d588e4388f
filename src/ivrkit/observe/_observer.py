"""The hook itself: an ``Observer`` is anything with ``observe(record)``.

Reporters hold ``Observer | None`` and build a record only when it is not None, so a
process that watches nothing pays one attribute test per step. ``Observers`` fans one
record out to several observers and keeps a broken observer from touching the call that
reported: an exception is logged (once per observer and record type) and swallowed,
because a metrics bug must never hang up a caller.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ivrkit.observe._records import Observation

logger = logging.getLogger("ivrkit.observe")


class Observer(Protocol):
    """Receives every record; must not block (it runs on the event loop, inline)."""

    def observe(self, record: Observation) -> None: ...


class Observers:
    """Several observers behind one; failures are contained (see the module docstring)."""

    __slots__ = ("_failed", "observers")

    def __init__(self, *observers: Observer) -> None:
        self.observers: tuple[Observer, ...] = observers
        self._failed: set[tuple[int, type]] = set()

    def observe(self, record: Observation) -> None:
        for observer in self.observers:
            try:
                observer.observe(record)
            except Exception:
                key = (id(observer), type(record))
                if key not in self._failed:
                    self._failed.add(key)
                    logger.exception(
                        "observer %r failed on %s; further failures of this kind are not logged",
                        observer,
                        type(record).__name__,
                    )


class Recorder:
    """Keeps every record in ``records`` (tests and examples)."""

    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records: list[Observation] = []

    def observe(self, record: Observation) -> None:
        self.records.append(record)


__all__ = ["Observer", "Observers", "Recorder"]
