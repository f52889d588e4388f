"""Output orders from the call machine: what the driver must do next.

Commands are imperatives, frozen and slotted like events. The driver carries them out in
order; when one cannot be carried out it feeds back ``CommandFailed(command=..., ...)``.
Identifiers (playback_id, timer_id) are chosen by the machine, deterministically, so the
driver can stage a playback under a known id before Asterisk sees it.
"""

from __future__ import annotations

from dataclasses import dataclass


class Command:
    """Base of every command; carries no data."""

    __slots__ = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer(Command):
    """Answer the channel (POST /channels/{id}/answer)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayPrompt(Command):
    """Start one playback with this id; report PromptStarted/PromptFinished/PromptFailed."""

    playback_id: str
    media: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopPrompt(Command):
    """Stop this playback (DELETE /playbacks/{id}); a 404 means it already ended: ignore."""

    playback_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTimer(Command):
    """Feed TimerExpired(timer_id) at loop time ``deadline`` (= now + seconds)."""

    timer_id: str
    seconds: float
    deadline: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelTimer(Command):
    """Forget this timer; it must not fire (a stale expiry is ignored anyway)."""

    timer_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Hangup(Command):
    """Hang the channel up (DELETE /channels/{id})."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueInDialplan(Command):
    """Leave the application into the dialplan (POST /channels/{id}/continue).

    ``None`` fields are left out, so Asterisk continues at the next priority.
    """

    context: str | None = None
    extension: str | None = None
    priority: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Transfer(Command):
    """Originate ``endpoint`` and bridge it with the caller; CommandFailed if it can't."""

    endpoint: str
    timeout: float
    caller_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunHandler(Command):
    """Run the Python handler ``name`` ("module:function") with the digits entered.

    Report HandlerFinished when it returns, CommandFailed when it raises.
    """

    name: str
    digits: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Note(Command):
    """A milestone for observers (menu entered, option selected, no input...); no I/O.

    Only a machine made with ``notes=True`` emits notes (so a driver that watches nothing
    pays nothing); the driver hands them to its observer and does nothing else. ``kind`` is
    a step kind of docs/operations.md; ``action``/``target`` name what an option or limit
    ran ("goto"/"sales", "transfer"/"PJSIP/101"); ``cause`` says which limit was reached;
    ``field`` is the call-data field a collect or record fills (its ``into``), a name from
    the menu file, so a metric may use it as a label.
    """

    kind: str
    menu: str
    option: str | None = None
    entry: str | None = None
    action: str | None = None
    target: str | None = None
    cause: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StartRecording(Command):
    """Record the channel (POST /channels/{id}/record, ifExists=overwrite) into stored
    recording ``name``; report RecordingFinished / RecordingFailed."""

    name: str
    format: str
    beep: bool
    max_duration: int
    max_silence: int
    terminate_on: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopRecording(Command):
    """Stop (and keep) the live recording ``name``; a 404 means it already ended."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StartMusicOnHold(Command):
    """Play music on hold on the channel (POST /channels/{id}/moh); None: default class."""

    moh_class: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StopMusicOnHold(Command):
    """Stop the channel's music on hold (DELETE /channels/{id}/moh)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelHandler(Command):
    """The running handler took too long: cancel it; its result, if any, is not wanted."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RunEndHook(Command):
    """The call has ended: run the file's ``on_end`` handler with the final call data.

    Nothing is reported back; the machine is DONE. Bound it by the handler timeout.
    """

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLanguage(Command):
    """Set the channel's language (CHANNEL(language)), so Asterisk plays sounds/<lang>/."""

    language: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportError(Command):
    """Something went wrong that the call recovers from (a handler raised, timed out or
    returned nonsense; a template lacked a field): log this one line, naming the call."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Log(Command):
    """Write one transcript line."""

    line: str


__all__ = [
    "Answer",
    "CancelHandler",
    "CancelTimer",
    "Command",
    "ContinueInDialplan",
    "Hangup",
    "Log",
    "Note",
    "PlayPrompt",
    "ReportError",
    "RunEndHook",
    "RunHandler",
    "SetLanguage",
    "StartMusicOnHold",
    "StartRecording",
    "StartTimer",
    "StopMusicOnHold",
    "StopPrompt",
    "StopRecording",
    "Transfer",
]
