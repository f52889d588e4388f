"""Input facts for the call machine: what happened on the call.

Events are small frozen values (h11 style): keyword-only, slotted, validated on
construction. Names are past-tense facts. Don't subclass them; the machine dispatches on
the exact type.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ivrkit.ivr._commands import Command

# DTMF digits ARI can report (ChannelDtmfReceived.digit; see channels.json sendDTMF).
DTMF_DIGITS = frozenset("0123456789*#ABCD")


class Event:
    """Base of every event; carries no data."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStarted(Event):
    """The call entered the application (ARI StasisStart).

    The facts the call data is seeded from (see ``MenuTree.call_data``): the StasisStart
    ``args``, the caller id, the channel's language, the channel variables the menu file
    names (as read by the driver; an unset variable is left out), and ``wall_clock``: the
    Unix time at this event's ``now``, from which time-of-day routes tell the hour (None:
    the driver has no wall clock, and a route then takes its ``otherwise``).
    """

    channel_name: str
    args: tuple[str, ...] = ()
    caller_number: str = ""
    caller_name: str = ""
    language: str = ""
    variables: tuple[tuple[str, str], ...] = ()
    wall_clock: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallResumed(Event):
    """A call checkpointed by another machine (process) continues on this one.

    Fed once to a machine built by ``CallMachine.resume``: it re-greets its menu. The
    channel is already answered, so nothing is answered again. ``wall_clock`` as for
    CallStarted.
    """

    wall_clock: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DigitReceived(Event):
    """The caller pressed a key (ARI ChannelDtmfReceived)."""

    digit: str

    def __post_init__(self) -> None:
        if self.digit not in DTMF_DIGITS:
            raise ValueError(f"digit must be one of 0-9 * # A-D, got {self.digit!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptStarted(Event):
    """A playback the machine asked for began (ARI PlaybackStarted)."""

    playback_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptFinished(Event):
    """A playback ended: played out or stopped (ARI PlaybackFinished, state done)."""

    playback_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PromptFailed(Event):
    """A playback ended without playing (ARI PlaybackFinished, state failed)."""

    playback_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TimerExpired(Event):
    """A timer the machine started ran out."""

    timer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerFinished(Event):
    """The Python handler started by RunHandler returned normally.

    ``result`` is what it returned (None, or a step of ``ivrkit.ivr.steps``: anything
    else is reported and runs ``on_error``); ``data`` is the call data as the handler
    left it (None: unchanged).
    """

    name: str
    result: object = None
    data: Mapping[str, object] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(Event):
    """A recording the machine started ended and was stored (ARI RecordingFinished)."""

    name: str
    duration: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(Event):
    """A recording the machine started failed (ARI RecordingFailed)."""

    name: str
    cause: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandFailed(Event):
    """The driver could not carry out a command (request refused, handler raised...)."""

    command: Command
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerHungUp(Event):
    """The call left the application without the machine asking (hang-up, StasisEnd)."""


__all__ = [
    "DTMF_DIGITS",
    "CallResumed",
    "CallStarted",
    "CallerHungUp",
    "CommandFailed",
    "DigitReceived",
    "Event",
    "HandlerFinished",
    "PromptFailed",
    "PromptFinished",
    "PromptStarted",
    "RecordingFailed",
    "RecordingFinished",
    "TimerExpired",
]
