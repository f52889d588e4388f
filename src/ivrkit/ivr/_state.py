"""Call states and the table of which event may move a call from which state to which.

Theory of operation
===================
One ``CallMachine`` follows one call. The driver feeds it events (facts: a digit, a
playback that finished, a timer that ran out) and carries out the commands it returns
(play this, stop that, start a timer). The machine never waits and never reads a clock:
the driver passes ``now`` with each event.

A call is always in one of these states:

* IDLE: created, the call has not entered the application yet (or, for a machine built
  by ``CallMachine.resume``, has not been taken over yet: CallResumed re-greets).
* GREETING: the current menu's (re)greeting is playing; keys are collected (barge-in) or
  typed ahead.
* WAITING: the greeting ended; the no-input timer runs.
* COLLECTING: part of a multi-digit entry is in; the inter-digit timer runs.
* PLAYING: an action's prompts (play-then-return, invalid, no-input, transfer failed)
  are playing; afterwards the menu comes back with its re-greeting.
* HANDLER: a Python handler runs, bounded by its timeout (the one timer; a filler prompt
  may play meanwhile); HandlerFinished brings the menu back or goes where it says.
* TRANSFERRING: the caller is being (or has been) bridged to another endpoint.
* RECORDING: Asterisk records the caller; RecordingFinished/Failed (or the safety timer,
  max_duration + RECORD_GRACE) moves on.
* DONE: the call left (hang-up by either side, continue in dialplan). Absorbing: every
  later event except CallStarted is accepted and produces nothing.
* ERROR: the machine broke its own rules. Every later event is refused.

Rules (numbered so tests and comments can cite them)
  1. Everything that decides *whether* an event is legal lives in TRANSITIONS below.
     An event type missing for a state is illegal there: IllegalEventError, state kept.
  2. The machine's handler for an event may only move to a state listed for it here; any
     other outcome is a bug and moves the machine to ERROR (MachineError).
  3. At most one playback the machine started is "current" (not yet stopped, finished or
     failed). A key that barges in stops it before anything else is played.
  4. At most one timer runs. Leaving a waiting state cancels it; a stale expiry (an id
     that is not the running timer) is ignored, an id never issued is illegal.
  5. Entering DONE cancels the running timer. Playbacks still current when the *caller*
     hangs up are ended by Asterisk with the channel, so no StopPrompt is sent for them.
  6. Identifiers are ``{call_id}-p{n}`` (playbacks) and ``{call_id}-t{n}`` (timers), n
     counting from 1 per call, so a replayed event script yields identical commands.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from ivrkit.ivr._events import (
    CallerHungUp,
    CallResumed,
    CallStarted,
    CommandFailed,
    DigitReceived,
    Event,
    HandlerFinished,
    PromptFailed,
    PromptFinished,
    PromptStarted,
    RecordingFailed,
    RecordingFinished,
    TimerExpired,
)


class CallState(enum.Enum):
    IDLE = "IDLE"
    GREETING = "GREETING"
    WAITING = "WAITING"
    COLLECTING = "COLLECTING"
    PLAYING = "PLAYING"
    HANDLER = "HANDLER"
    TRANSFERRING = "TRANSFERRING"
    RECORDING = "RECORDING"
    DONE = "DONE"
    ERROR = "ERROR"


_S = CallState
# Any state an action can lead to: a menu (GREETING/WAITING; COLLECTING or PLAYING when
# typed-ahead keys are handled at once), its own states, or the end of the call.
AFTER_ACTION: frozenset[CallState] = frozenset(
    {
        _S.GREETING,
        _S.WAITING,
        _S.COLLECTING,
        _S.PLAYING,
        _S.HANDLER,
        _S.TRANSFERRING,
        _S.RECORDING,
        _S.DONE,
    }
)
# Events that can only report on something already issued, or be stale: harmless anywhere
# the call is live, and in most states they change nothing.
_PLAYBACK_EVENTS: tuple[type[Event], ...] = (PromptStarted, PromptFinished, PromptFailed)
# A recording's end after the machine stopped waiting for it (its safety timer ran out).
_RECORDING_EVENTS: tuple[type[Event], ...] = (RecordingFinished, RecordingFailed)


_ANY = AFTER_ACTION


def _row(
    same: tuple[type[Event], ...],
    moving: Mapping[type[Event], frozenset[CallState]],
    state: CallState,
) -> Mapping[type[Event], frozenset[CallState]]:
    row: dict[type[Event], frozenset[CallState]] = {ev: frozenset({state}) for ev in same}
    row.update(moving)
    row.setdefault(CallerHungUp, frozenset({_S.DONE}))
    return MappingProxyType(row)


TRANSITIONS: Mapping[CallState, Mapping[type[Event], frozenset[CallState]]] = MappingProxyType(
    {
        _S.IDLE: MappingProxyType(
            {
                # the start menu, or wherever the file's on_start action leads
                CallStarted: AFTER_ACTION,
                # only on a machine built by CallMachine.resume (checked by the machine)
                CallResumed: frozenset({_S.GREETING, _S.WAITING}),
                CallerHungUp: frozenset({_S.DONE}),
            }
        ),
        _S.GREETING: _row(
            (PromptStarted, *_RECORDING_EVENTS),
            {
                DigitReceived: _ANY,
                # the current prompt ends: the next one starts, or the menu listens, which
                # may act at once on keys typed ahead while barge-in was off
                PromptFinished: _ANY,
                PromptFailed: _ANY,
                TimerExpired: frozenset({_S.GREETING}),  # stale only
                CommandFailed: _ANY,
            },
            _S.GREETING,
        ),
        _S.WAITING: _row(
            (*_PLAYBACK_EVENTS, *_RECORDING_EVENTS),
            {DigitReceived: _ANY, TimerExpired: _ANY, CommandFailed: _ANY},
            _S.WAITING,
        ),
        _S.COLLECTING: _row(
            (*_PLAYBACK_EVENTS, *_RECORDING_EVENTS),
            {DigitReceived: _ANY, TimerExpired: _ANY, CommandFailed: _ANY},
            _S.COLLECTING,
        ),
        _S.PLAYING: _row(
            (PromptStarted, *_RECORDING_EVENTS),
            {
                # kept for the menu (type-ahead), or, in a collect, barging in on a retry
                DigitReceived: _ANY,
                # the last prompt ending brings the menu back, which may act on typed keys
                PromptFinished: _ANY,
                PromptFailed: _ANY,
                TimerExpired: frozenset({_S.PLAYING}),  # stale only
                CommandFailed: _ANY,
            },
            _S.PLAYING,
        ),
        _S.HANDLER: _row(
            (PromptStarted, DigitReceived, *_RECORDING_EVENTS),
            {
                # the filler's delay, or the handler's timeout (then on_error runs)
                TimerExpired: _ANY,
                # the filler plays round (a template lacking a field runs on_error)
                PromptFinished: _ANY,
                PromptFailed: _ANY,
                HandlerFinished: _ANY,
                CommandFailed: _ANY,
            },
            _S.HANDLER,
        ),
        _S.TRANSFERRING: _row(
            (*_PLAYBACK_EVENTS, DigitReceived, *_RECORDING_EVENTS),
            {
                TimerExpired: frozenset({_S.TRANSFERRING}),  # stale only
                CommandFailed: _ANY,
            },
            _S.TRANSFERRING,
        ),
        # Asterisk records; keys are its (terminate_on), prompts are stale
        _S.RECORDING: _row(
            (*_PLAYBACK_EVENTS, DigitReceived),
            {
                TimerExpired: _ANY,  # its safety timer: the machine stops it and goes on
                RecordingFinished: _ANY,
                RecordingFailed: _ANY,
                CommandFailed: _ANY,
            },
            _S.RECORDING,
        ),
        # absorbing: everything but a second CallStarted is accepted and does nothing
        _S.DONE: _row(
            (
                *_PLAYBACK_EVENTS,
                DigitReceived,
                TimerExpired,
                HandlerFinished,
                *_RECORDING_EVENTS,
                CommandFailed,
                CallerHungUp,
            ),
            {},
            _S.DONE,
        ),
        _S.ERROR: MappingProxyType({}),
    }
)


def transition_table() -> str:
    """TRANSITIONS as a Markdown table (docs/menus.md shows it; a test keeps it current).

    Cells list the states an event may lead to; "any" is every state an action can lead
    to (AFTER_ACTION); "=" means the state is kept; empty means the event is illegal.
    """
    events = [
        CallStarted,
        CallResumed,
        DigitReceived,
        PromptStarted,
        PromptFinished,
        PromptFailed,
        TimerExpired,
        HandlerFinished,
        RecordingFinished,
        RecordingFailed,
        CommandFailed,
        CallerHungUp,
    ]
    lines = [
        "| state | " + " | ".join(e.__name__ for e in events) + " |",
        "|---|" + "---|" * len(events),
    ]
    for state, row in TRANSITIONS.items():
        cells = []
        for event in events:
            targets = row.get(event)
            if targets is None:
                cells.append("")
            elif targets == AFTER_ACTION:
                cells.append("any")
            elif targets == {state}:
                cells.append("=")
            else:
                cells.append(", ".join(sorted(t.name for t in targets)))
        lines.append(f"| {state.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = ["AFTER_ACTION", "TRANSITIONS", "CallState", "transition_table"]
