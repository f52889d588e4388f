"""Turn what one call's runner sees into ``ivrkit.observe.Step`` records.

The runner hands this tap every event it feeds the machine and every batch of commands
the machine returns, plus the few facts only the runner knows (a transfer was bridged,
the call was released at shutdown, an engine error, the call left). Everything else is
derived here, so runner.py carries only one-line taps and no reporting logic:

* ``Note`` commands (a machine made with ``notes=True``) become menu/option/no-input/
  no-match/limit steps as they are;
* a ``PlayPrompt`` remembers its media, so PromptStarted/Finished can name the prompt;
* a ``StopPrompt`` decided while handling a key marks its playback: when Asterisk reports
  it finished, that is a cut-off whose ``seconds`` is the reaction time from the key's
  arrival to the stopped prompt's PlaybackFinished, as the application sees it;
* RunHandler/Transfer start a clock that their result (HandlerFinished, CommandFailed)
  stops; the last ending command (Hangup, ContinueInDialplan) sets the call's outcome.

No I/O, no clock: times are the loop times the runner passes in.
"""

from __future__ import annotations

from ivrkit.ivr._commands import (
    CancelHandler,
    Command,
    ContinueInDialplan,
    Hangup,
    Note,
    PlayPrompt,
    ReportError,
    RunHandler,
    SetLanguage,
    StartRecording,
    StopPrompt,
    Transfer,
)
from ivrkit.ivr._events import (
    CallerHungUp,
    CallResumed,
    CommandFailed,
    DigitReceived,
    Event,
    HandlerFinished,
    PromptFailed,
    PromptFinished,
    PromptStarted,
    RecordingFailed,
    RecordingFinished,
)
from ivrkit.observe import CallInfo, Observer, Step


class CallTap:
    """The reporting side of one call (see the module docstring)."""

    __slots__ = (
        "_ended",
        "_handler",
        "_key_at",
        "_media",
        "_menu",
        "_started_at",
        "_stopping",
        "_transfer",
        "call",
        "observer",
        "outcome",
    )

    def __init__(self, observer: Observer, call: CallInfo, now: float) -> None:
        self.observer = observer
        self.call = call
        self.outcome = "caller_hangup"
        self._started_at = now
        self._media: dict[str, str] = {}  # playback id -> media, until it ends
        self._stopping: dict[str, float | None] = {}  # stopped by us -> key time (or None)
        self._key_at: float | None = None  # set while a key's commands are handled
        self._menu: str | None = None  # the menu of the machine's last note (for recordings)
        self._handler: tuple[str, float] | None = None
        self._transfer: tuple[str, float] | None = None
        self._ended = False
        self.step("call_started")

    def step(self, kind: str, **fields: str | float | None) -> None:
        """Report one step of this call (also the entry point for new flow features).

        Nothing is reported after ``call_ended``: a request still in flight when the call
        left fails then, and that is not news about the call.
        """
        if not self._ended:
            self.observer.observe(Step(call=self.call, step=kind, **fields))  # type: ignore[arg-type]

    # ------------------------------------------------------------ from the runner

    def event(self, event: Event, now: float) -> None:
        """An event the runner is about to feed the machine."""
        self._key_at = None
        if isinstance(event, DigitReceived):
            self._key_at = now
            self.step("key", key=event.digit)
        elif isinstance(event, PromptStarted):
            pid = event.playback_id
            self.step("prompt_started", prompt=self._media.get(pid), playback_id=pid)
        elif isinstance(event, PromptFinished | PromptFailed):
            self._prompt_ended(event, now)
        elif isinstance(event, HandlerFinished):
            result = None if event.result is None else type(event.result).__name__.lower()
            self._handler_done(now, "ok", None, result)
        elif isinstance(event, RecordingFinished):
            self.step(
                "record_finished",
                menu=self._menu,
                target=event.name,
                outcome="ok",
                seconds=event.duration,
            )
        elif isinstance(event, RecordingFailed):
            self.step(
                "record_finished",
                menu=self._menu,
                target=event.name,
                outcome="failed",
                cause=event.cause,
            )
        elif isinstance(event, CommandFailed):
            self._failed(event.command, event.reason, now)
        elif isinstance(event, CallResumed):
            self.step("call_resumed")  # taken over from another process (its checkpoint)
        elif isinstance(event, CallerHungUp):
            for pid, media in self._media.items():
                self.step("prompt_cut_off", prompt=media, playback_id=pid, cause="call ended")
            self._media.clear()
            self._stopping.clear()

    def commands(self, commands: tuple[Command, ...], now: float) -> None:
        """The machine's answer to the event last passed to ``event``."""
        for command in commands:
            if isinstance(command, Note):
                self._menu = command.menu
                self.step(
                    command.kind,
                    menu=command.menu,
                    option=command.option,
                    entry=command.entry,
                    action=command.action,
                    target=command.target,
                    cause=command.cause,
                    field=command.field,
                )
            elif isinstance(command, PlayPrompt):
                self._media[command.playback_id] = command.media
            elif isinstance(command, StopPrompt):
                self._stopping[command.playback_id] = self._key_at
            elif isinstance(command, Hangup):
                self.outcome = "hangup"
            elif isinstance(command, ContinueInDialplan):
                self.outcome = "continue"
            elif isinstance(command, RunHandler):
                self._handler = (command.name, now)
                self.step("handler_started", target=command.name, entry=command.digits)
            elif isinstance(command, Transfer):
                self._transfer = (command.endpoint, now)
                self.step("transfer_started", target=command.endpoint)
            elif isinstance(command, CancelHandler):
                self._handler_done(now, "timeout", "did not return in time")
            elif isinstance(command, ReportError):
                self.step("recovered", error=command.reason)
            elif isinstance(command, StartRecording):
                self.step("record_started", menu=self._menu, target=command.name)
            elif isinstance(command, SetLanguage):
                self.step("language", target=command.language)

    def transfer_bridged(self, now: float) -> None:
        if self._transfer is not None:
            endpoint, since = self._transfer
            self._transfer = None
            self.outcome = "transferred"
            self.step("transfer_finished", target=endpoint, outcome="ok", seconds=now - since)

    def released(self) -> None:
        """The process handed the call back to the dialplan (shutdown)."""
        self.outcome = "released"

    def error(self, message: str) -> None:
        """Something of ours failed on this call (an engine error)."""
        self.outcome = "error"
        self.step("error", error=message)

    def ended(self, now: float) -> None:
        self.step("call_ended", outcome=self.outcome, seconds=now - self._started_at)
        self._ended = True

    # ------------------------------------------------------------ helpers

    def _prompt_ended(self, event: PromptFinished | PromptFailed, now: float) -> None:
        pid = event.playback_id
        media = self._media.pop(pid, None)
        if media is None:
            return  # already reported (cut off by the hang-up)
        if isinstance(event, PromptFailed):
            self._stopping.pop(pid, None)
            self.step("prompt_failed", prompt=media, playback_id=pid, cause="playback failed")
        elif pid in self._stopping:
            key_at = self._stopping.pop(pid)
            if key_at is None:
                self.step("prompt_cut_off", prompt=media, playback_id=pid, cause="stopped")
            else:
                reaction = now - key_at
                self.step(
                    "prompt_cut_off", prompt=media, playback_id=pid, cause="key", seconds=reaction
                )
        else:
            self.step("prompt_finished", prompt=media, playback_id=pid)

    def _handler_done(
        self, now: float, outcome: str, error: str | None, action: str | None = None
    ) -> None:
        if self._handler is not None:
            name, since = self._handler
            self._handler = None
            self.step(
                "handler_finished",
                target=name,
                outcome=outcome,
                seconds=now - since,
                error=error,
                action=action,
            )

    def _failed(self, command: Command, reason: str, now: float) -> None:
        if isinstance(command, RunHandler):
            self._handler_done(now, "error", reason)
        elif isinstance(command, Transfer):
            endpoint, since = self._transfer or (command.endpoint, now)
            self._transfer = None
            self.step(
                "transfer_finished",
                target=endpoint,
                outcome="failed",
                cause=reason,
                seconds=now - since,
            )
        elif isinstance(command, PlayPrompt):
            media = self._media.pop(command.playback_id, command.media)
            self.step("prompt_failed", prompt=media, playback_id=command.playback_id, cause=reason)
        else:
            self.step("error", action=type(command).__name__, error=reason)


def report_turned_away(
    observer: Observer, call: CallInfo, reason: str, error: str | None = None
) -> None:
    """A call handed back to the dialplan the moment it arrived (``reason``: its
    ``IVRKIT_HANDBACK``, e.g. ``drain``): it never entered the engine, so it has no
    ``CallTap`` and no call_started/call_ended, only this one step."""
    observer.observe(Step(call=call, step="call_turned_away", cause=reason, error=error))


__all__ = ["CallTap", "report_turned_away"]
