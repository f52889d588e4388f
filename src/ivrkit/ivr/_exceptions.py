"""The engine's errors, typed by who is at fault.

::

    IvrError                    (never raised itself)
    ├── IllegalEventError       the driver fed an event the machine cannot accept now
    ├── MachineError            the machine broke its own rules (an ivrkit bug); state is ERROR
    ├── MenuDefinitionError     a menu file or MenuTree is invalid; names file, line, field
    └── CheckpointError         a checkpoint cannot be resumed with this tree (also ValueError)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class IvrError(Exception):
    """Base of every error raised by ``ivrkit.ivr``; catch this to catch them all."""

    def __init__(self, message: str) -> None:
        if type(self) is IvrError:
            raise TypeError("IvrError is abstract; raise one of its subclasses")
        super().__init__(message)


class IllegalEventError(IvrError):
    """The event is not allowed in the machine's current state.

    The machine's state is unchanged (or already ERROR). The driver (runner) fed something
    out of order: fix the driver, or drop the event if it came from a stale source.
    """

    def __init__(self, *, event: object, state: str, call_id: str, reason: str) -> None:
        self.event = event
        self.state = state
        self.call_id = call_id
        super().__init__(
            f"can't handle {type(event).__name__} in state={state} (call {call_id}): {reason}"
        )


class MachineError(IvrError):
    """The machine hit an internal inconsistency and moved to ERROR.

    Every later ``handle`` raises IllegalEventError. Hang the call up; report the bug.
    """


@dataclass(frozen=True, slots=True)
class MenuProblem:
    """One problem in a menu definition: where (file, line, dotted field) and what."""

    field: str
    message: str
    line: int | None = None  # 1-based; None when the definition did not come from a file
    source: str = "<python>"

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class MenuDefinitionError(IvrError):
    """A menu definition is invalid. ``problems`` lists every problem found in one pass.

    Fix each listed field in the named file and line, then load again.
    """

    def __init__(self, source: str, problems: Sequence[MenuProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        count = len(self.problems)
        headline = f"invalid menu definition {source} ({count} problem{'s' * (count != 1)})"
        super().__init__("\n".join([headline, *(f"  {p}" for p in self.problems)]))
        self.headline = headline


class CheckpointError(IvrError, ValueError):
    """A checkpoint is malformed, from another format version, or names a menu the tree
    no longer has. The message says which field; start the call afresh instead."""
