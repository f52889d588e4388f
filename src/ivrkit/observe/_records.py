"""What the runner, the client and the process report: small frozen records.

They are facts, like the engine's events, but for watchers instead of the machine: the
metrics exporter counts them, the journey log writes them, a test collects them. They
carry no call id in a place a metric could use as a label by accident: the call's
identity lives in one shared :class:`CallInfo`, made once per call.

``Step`` is deliberately one flat record with a ``step`` kind and optional fields, not
one class per kind: a new flow feature (collect, record, route...) reports itself with
a new kind and the fields it has (``action``, ``target``, ``outcome``...), and every
observer that does not know the kind still writes or ignores it correctly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

# The kinds the runner reports today (docs/operations.md, "Journey log"). Observers must
# accept kinds not listed here: new flow features add their own.
STEP_KINDS = frozenset(
    {
        "call_started",  # the call entered the application
        "call_resumed",  # taken over from another process: its menu resumes
        "call_ended",  # outcome: caller_hangup, hangup, continue, transferred, released, error
        # handed back to the dialplan on arrival, never entering the engine; cause: the
        # IVRKIT_HANDBACK value (TURN_AWAY_REASONS); error: what failed, for "error"
        "call_turned_away",
        "menu_entered",  # menu
        "key",  # key: one DTMF digit as received
        "option_selected",  # option, entry, action, target
        "no_input",  # the menu's timeout ran out
        "no_match",  # entry matched no option
        "limit",  # max_no_input/max_no_match reached; action, target
        "prompt_started",  # prompt (media URI), playback_id
        "prompt_finished",  # played to its end
        "prompt_cut_off",  # stopped by us (barge-in, hang-up, shutdown); seconds = DTMF→stop
        "prompt_failed",  # Asterisk could not play it; cause
        "handler_started",  # target = "module:function"
        "handler_finished",  # outcome ok|error; seconds; error
        "transfer_started",  # target = endpoint
        "transfer_finished",  # outcome ok|failed; cause; seconds
        "error",  # something of ours failed on this call; error
        # the programmable flow (docs/menus.md): reported by the machine's notes and the tap
        "recovered",  # a recovered error (handler, template, recording): error; on_error ran
        "collected",  # a collect's entry; action, target: what runs next; field: its into
        "collect_no_match",  # a refused collect entry; cause
        "collect_no_input",  # a collect attempt with no entry (silence, or only the terminator)
        "routed",  # a time-of-day route chose; cause: rule N | otherwise
        "record_started",  # target = recording name
        "record_finished",  # outcome ok|failed; seconds; cause
        "recorded",  # the recording kept for the call; entry = its name
        "language",  # target = the channel's new language
    }
)

CALL_OUTCOMES = ("caller_hangup", "hangup", "continue", "transferred", "released", "error")

# Why a call was handed back the moment it arrived (``call_turned_away``'s cause, the
# ``reason`` label of ivrkit_calls_turned_away_total): the process is draining, or
# starting the call failed (a bug of ours, a store that could not be asked).
TURN_AWAY_REASONS = ("drain", "error")


class CallInfo(NamedTuple):
    """Who a call is: the ids an operator greps for. One instance per call, shared."""

    call_id: str  # the ARI channel id (Asterisk's uniqueid, or the id we originated with)
    channel: str  # the channel name, e.g. "PJSIP/alice-00000001", as in the transcript
    asterisk_id: str  # the Asterisk instance (ARI ``asterisk_id``, its entity id)


class Step(NamedTuple):
    """One step of one call; only ``call`` and ``step`` are always set.

    Records are named tuples rather than frozen dataclasses: as immutable, but built in
    a third of the time (a frozen dataclass sets each of its 15 fields through
    ``object.__setattr__``), and a busy process builds some 25 per call.
    """

    call: CallInfo
    step: str
    menu: str | None = None
    key: str | None = None
    option: str | None = None
    entry: str | None = None
    action: str | None = None
    target: str | None = None
    prompt: str | None = None
    playback_id: str | None = None
    outcome: str | None = None
    cause: str | None = None
    seconds: float | None = None
    error: str | None = None
    field: str | None = None  # the call-data field a collect or record fills (its ``into``)


class AriRequest(NamedTuple):
    """One REST request the client made, answered or not.

    ``operation`` is the route template with its method ("POST /channels/{channelId}/play"),
    never the URL, so it can be a metric label. ``status`` is the HTTP status as text, or
    the error class name when no status came back ("RequestTimeout", "Unreachable").
    """

    operation: str
    status: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Connection:
    """The client's event websocket changed state.

    ``down``: the socket was lost (``reason``); ``up``: it is back and re-synced, after
    ``gap`` seconds (a reconnect).
    """

    state: Literal["down", "up"]
    reason: str | None = None
    gap: float | None = None


Observation = Step | AriRequest | Connection


__all__ = [
    "CALL_OUTCOMES",
    "STEP_KINDS",
    "TURN_AWAY_REASONS",
    "AriRequest",
    "CallInfo",
    "Connection",
    "Observation",
    "Step",
]
