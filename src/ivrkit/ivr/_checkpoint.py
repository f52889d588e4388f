"""A call's checkpoint: the part of a CallMachine that must outlive its process.

Why: a call outlives the process serving it (a restart, a failover to another node). The
checkpoint is what the next machine needs to carry on *at the re-greeting of the menu the
caller was in*, with the call data and counters kept. What was in flight (a prompt half
played, digits half dialled, a running timer, a handler) is deliberately not kept: the
new machine cannot know how far it got, and a re-greeting is what a caller understands.

The format is plain JSON (str keys; str, int, float, bool, None, lists, dicts), tagged
``format: "ivrkit.call/1"``. Fields added later are optional with a default, so every
checkpoint of format 1 stays readable; a change that cannot be read that way gets a new
format number, and an unknown format is refused (CheckpointError) rather than guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivrkit.ivr._exceptions import CheckpointError

FORMAT = "ivrkit.call/1"

# JSON scalars: what call data may hold (handlers and templates read it back as such).
DataValue = str | int | float | bool | None


def data_problem(data: object) -> str | None:
    """Why ``data`` is not a JSON-safe call-data mapping (str keys, scalar values), or None."""
    if not isinstance(data, Mapping):
        return f"call data must be a mapping, got {type(data).__name__}"
    for key, value in data.items():
        if not isinstance(key, str):
            return f"call data keys must be strings, got {key!r}"
        if value is not None and not isinstance(value, str | int | float | bool):
            return (
                f"call data field {key!r} holds a {type(value).__name__}; "
                "only str, int, float, bool and None are kept"
            )
        if isinstance(value, float) and not math.isfinite(value):
            return f"call data field {key!r} is {value!r}, which JSON cannot hold"
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Checkpoint:
    """The decoded checkpoint (see the module docstring for what is in it and why)."""

    call_id: str
    channel: str
    menu: str
    stack: tuple[str, ...]
    no_input: int
    no_match: int
    digits: str
    data: Mapping[str, DataValue]
    playbacks: int  # ids issued so far: the resumed machine continues the numbering
    timers: int
    wall_offset: float | None  # Unix time minus loop time, when the driver gave a clock
    errors: int = 0  # consecutive errors handled by on_error (see the machine)
    greetings: int = 1  # (re)greetings of this menu visit: picks the escalating greeting
    state: str = ""  # informative: the state the call was in

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "call_id": self.call_id,
            "channel": self.channel,
            "state": self.state,
            "menu": self.menu,
            "stack": list(self.stack),
            "no_input": self.no_input,
            "no_match": self.no_match,
            "errors": self.errors,
            "greetings": self.greetings,
            "digits": self.digits,
            "data": dict(self.data),
            "playbacks": self.playbacks,
            "timers": self.timers,
            "wall_offset": self.wall_offset,
        }

    @classmethod
    def from_json(cls, raw: object) -> Checkpoint:
        """Decode and check a checkpoint; raises CheckpointError naming the bad field."""
        if not isinstance(raw, Mapping):
            raise CheckpointError(f"a checkpoint is a JSON object, got {type(raw).__name__}")
        if raw.get("format") != FORMAT:
            raise CheckpointError(
                f"checkpoint format {raw.get('format')!r} is not {FORMAT!r} "
                "(written by another ivrkit version?)"
            )

        def text(key: str, *, empty: bool = True) -> str:
            value = raw.get(key, "" if key == "state" else None)
            if not isinstance(value, str) or (not empty and not value):
                raise CheckpointError(f"checkpoint field {key!r} must be a string, got {value!r}")
            return value

        def count(key: str, default: int | None = None) -> int:
            value = raw.get(key, default)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CheckpointError(
                    f"checkpoint field {key!r} must be an integer >= 0, got {value!r}"
                )
            return value

        stack = raw.get("stack")
        if not isinstance(stack, list) or not all(isinstance(m, str) for m in stack):
            raise CheckpointError(
                f"checkpoint field 'stack' must be a list of menu names, got {stack!r}"
            )
        data = raw.get("data")
        if why := data_problem(data):
            raise CheckpointError(f"checkpoint field 'data': {why}")
        assert isinstance(data, Mapping)
        offset = raw.get("wall_offset")
        if offset is not None and (
            isinstance(offset, bool)
            or not isinstance(offset, int | float)
            or not math.isfinite(offset)
        ):
            raise CheckpointError(
                f"checkpoint field 'wall_offset' must be a number or null, got {offset!r}"
            )
        return cls(
            call_id=text("call_id", empty=False),
            channel=text("channel", empty=False),
            state=text("state"),
            menu=text("menu", empty=False),
            stack=tuple(stack),
            no_input=count("no_input"),
            no_match=count("no_match"),
            errors=count("errors", 0),
            greetings=count("greetings", 1),
            digits=text("digits"),
            data=dict(data),
            playbacks=count("playbacks"),
            timers=count("timers"),
            wall_offset=None if offset is None else float(offset),
        )


__all__ = ["FORMAT", "Checkpoint", "DataValue", "data_problem"]
