"""CallMachine: one call's menu logic, sans I/O (see ``_state.py`` for the theory).

The whole API is ``handle(event, now) -> tuple[Command, ...]`` plus read-only properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Literal

from ivrkit.ivr._checkpoint import Checkpoint, DataValue, data_problem
from ivrkit.ivr._commands import (
    Answer,
    CancelHandler,
    CancelTimer,
    Command,
    ContinueInDialplan,
    Hangup,
    Log,
    Note,
    PlayPrompt,
    ReportError,
    RunEndHook,
    RunHandler,
    SetLanguage,
    StartMusicOnHold,
    StartRecording,
    StartTimer,
    StopMusicOnHold,
    StopPrompt,
    StopRecording,
    Transfer,
)
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
from ivrkit.ivr._exceptions import CheckpointError, IllegalEventError, IvrError, MachineError
from ivrkit.ivr._menu import (
    RECORD_GRACE,
    Action,
    BackAction,
    Checker,
    CollectAction,
    ContinueAction,
    Filler,
    GotoAction,
    HandlerAction,
    HangupAction,
    Menu,
    MenuTree,
    Option,
    PlayAction,
    RecordAction,
    RouteAction,
    TopAction,
    TransferAction,
    by_attempt,
)
from ivrkit.ivr._route import route_action
from ivrkit.ivr._state import TRANSITIONS, CallState
from ivrkit.ivr._templates import render
from ivrkit.ivr.steps import Step

_TimerKind = Literal["no_input", "inter_digit", "filler", "handler", "record"]
_RecPhase = Literal["prompt", "recording", "review", "listen"]
_HandlerKind = Literal["menu", "start"]
MAX_ERRORS = 3
"""Errors in a row (no caller input between them) after which the call is handed back to
the dialplan instead of running on_error again: an error that recurs every time the menu
comes back must not keep the caller in a loop."""
_NO_COMMANDS: tuple[Command, ...] = ()
_NO_BUILTINS: Mapping[str, DataValue] = MappingProxyType(
    {"caller_number": "", "caller_name": "", "lang": ""}
)
_LISTENING = frozenset({CallState.WAITING, CallState.COLLECTING})


class CallMachine:
    """The menu engine for one call. Not thread-safe; one driver feeds it in order.

    >>> machine = CallMachine(tree, call_id="1795839668.5")
    >>> machine.handle(CallStarted(channel_name="PJSIP/alice-00000001"), now=0.0)
    (Log(line=...), Answer(), PlayPrompt(playback_id='1795839668.5-p1', media='sound:press-1'))
    """

    __slots__ = (
        "_ask",
        "_ask_confirming",
        "_ask_no_input",
        "_ask_no_match",
        "_ask_tries",
        "_call_id",
        "_channel",
        "_collected",
        "_current",
        "_data",
        "_digits",
        "_errors",
        "_filler",
        "_greetings",
        "_handler",
        "_handler_kind",
        "_handler_left",
        "_handler_runs",
        "_live",
        "_menu",
        "_moh",
        "_no_input",
        "_no_match",
        "_notes",
        "_now",
        "_out",
        "_pb_count",
        "_queue",
        "_queue_pos",
        "_rec",
        "_rec_name",
        "_rec_phase",
        "_rec_tries",
        "_resuming",
        "_stack",
        "_state",
        "_swallow",
        "_timer",
        "_timer_count",
        "_timer_kind",
        "_transfer_failed",
        "_tree",
        "_typed",
        "_wall_offset",
    )

    def __init__(self, tree: MenuTree, call_id: str, *, notes: bool = False) -> None:
        if not call_id:
            raise ValueError("call_id must be a non-empty string")
        self._tree = tree
        self._call_id = call_id
        self._state = CallState.IDLE
        self._channel = call_id
        self._menu: Menu = tree.menus[tree.start]
        self._stack: list[str] = []
        self._out: list[Command] = []
        self._now = float("-inf")
        self._pb_count = 0
        self._timer_count = 0
        self._current: str | None = None  # the playback the machine is waiting on
        self._live: set[str] = set()  # started, not yet reported finished/failed
        self._queue: tuple[str, ...] = ()
        self._queue_pos = 0
        self._timer: str | None = None
        self._timer_kind: _TimerKind = "no_input"
        self._collected = ""  # digits of the entry being dialled
        self._typed = ""  # keys kept for the menu while it was not listening (type-ahead)
        self._digits = ""  # the last complete entry, for "{digits}" in prompts
        self._no_input = 0
        self._no_match = 0
        self._transfer_failed: tuple[str, ...] = ()
        self._data: dict[str, DataValue] = {}
        self._errors = 0  # consecutive errors handled (on_error), reset by the caller's input
        self._resuming = False  # built by resume(): waits for CallResumed
        self._wall_offset: float | None = None  # Unix time minus loop time
        self._notes = notes  # emit Note commands for observers
        self._handler: HandlerAction | None = None  # the one running (state HANDLER)
        self._handler_kind: _HandlerKind = "menu"
        self._handler_runs = 0
        self._handler_left = 0.0  # of its timeout, once the filler timer has run
        self._filler: Filler | None = None  # playing while the handler runs
        self._moh = False  # the filler's music on hold is on
        self._ask: CollectAction | None = None  # the collect under way, if any
        self._ask_tries = 0  # of the collect's tries, used up
        self._ask_no_input = self._ask_no_match = 0  # each kind's count, for escalation
        self._ask_confirming = False  # the entry is in; its confirmation is asked for
        self._swallow: str | None = None  # a terminator due after a full-length entry
        self._greetings = 0  # (re)greetings of the current menu visit, for escalation
        self._rec: RecordAction | None = None  # the recording under way, if any
        self._rec_name = ""
        self._rec_phase: _RecPhase = "prompt"
        self._rec_tries = 0  # silences at its review

    # ------------------------------------------------------------ checkpoints

    def checkpoint(self) -> dict[str, Any]:
        """The call as JSON-safe data, for ``CallMachine.resume`` in another process.

        Kept: the menu the caller is in and the way back, the failure counters, the last
        entry, the call data, the id counters (so resumed ids never repeat old ones) and
        the wall clock's offset. Not kept: what was in flight (see ``_checkpoint.py``).
        Raises MachineError once the machine is in ERROR (its state is not trustworthy).
        """
        if self._state is CallState.ERROR:
            raise MachineError(f"call {self._call_id} is in ERROR; its checkpoint would lie")
        return Checkpoint(
            call_id=self._call_id,
            channel=self._channel,
            state=self._state.name,
            menu=self._menu.name,
            stack=tuple(self._stack),
            no_input=self._no_input,
            no_match=self._no_match,
            errors=self._errors,
            greetings=max(1, self._greetings),
            digits=self._digits,
            data=self._data,
            playbacks=self._pb_count,
            timers=self._timer_count,
            wall_offset=self._wall_offset,
        ).to_json()

    @classmethod
    def resume(
        cls, tree: MenuTree, checkpoint: Mapping[str, Any], *, notes: bool = False
    ) -> CallMachine:
        """A machine that carries on a checkpointed call: feed it ``CallResumed`` once,
        and it re-greets the checkpoint's menu (no Answer; counters and data kept).

        ``tree`` may be a newer version of the menu file. Raises CheckpointError if the
        checkpoint is malformed, of an unknown format, of a call that had already ended,
        or names a menu ``tree`` does not have (start such a call afresh instead).
        """
        cp = Checkpoint.from_json(checkpoint)
        if cp.state in (CallState.DONE.name, CallState.ERROR.name):
            raise CheckpointError(f"call {cp.call_id} had ended ({cp.state}); nothing to resume")
        for where, name in (("menu", cp.menu), *(("stack", m) for m in cp.stack)):
            if name not in tree.menus:
                raise CheckpointError(
                    f"checkpoint field {where!r} names menu `{name}`, which {tree.source} "
                    f"does not have (menus: {', '.join(tree.menus)})"
                )
        machine = cls(tree, cp.call_id, notes=notes)
        machine._resuming = True
        machine._channel = cp.channel
        machine._menu = tree.menus[cp.menu]
        machine._stack = list(cp.stack)
        machine._no_input, machine._no_match, machine._errors = cp.no_input, cp.no_match, cp.errors
        machine._digits = cp.digits
        machine._greetings = cp.greetings
        machine._data = dict(cp.data)
        machine._pb_count, machine._timer_count = cp.playbacks, cp.timers
        machine._wall_offset = cp.wall_offset
        return machine

    # ------------------------------------------------------------ read-only view

    @property
    def call_id(self) -> str:
        return self._call_id

    @property
    def tree(self) -> MenuTree:
        """The menus this call runs (what ``resume`` needs along with the checkpoint)."""
        return self._tree

    @property
    def state(self) -> CallState:
        return self._state

    @property
    def menu(self) -> str:
        """Name of the menu the call is in."""
        return self._menu.name

    @property
    def data(self) -> Mapping[str, DataValue]:
        """The call data (seeded at CallStarted; handlers and collects write it); the
        built-in fields the call lacks read as ""."""
        return MappingProxyType({**_NO_BUILTINS, **self._data})

    @property
    def current_playback(self) -> str | None:
        """The playback the machine waits on, if any (rule 3)."""
        return self._current

    @property
    def running_timer(self) -> str | None:
        """The id of the one running timer, if any (rule 4)."""
        return self._timer

    @property
    def handler_runs(self) -> int:
        """RunHandler commands issued so far: a driver tags each run with it, and feeds a
        result only while ``state`` is HANDLER and this number is unchanged (a result that
        arrives after the machine gave up on the handler is not wanted)."""
        return self._handler_runs

    @property
    def recording(self) -> str | None:
        """The name of the recording the machine waits on (state RECORDING), if any."""
        return self._rec_name if self._state is CallState.RECORDING else None

    @property
    def live_playbacks(self) -> frozenset[str]:
        """Playbacks started and not yet reported finished or failed (stopped ones included)."""
        return frozenset(self._live)

    # ------------------------------------------------------------ the API

    def handle(self, event: Event, now: float) -> tuple[Command, ...]:
        """Feed one event that happened at loop time ``now``; return what to do, in order.

        Raises IllegalEventError (state unchanged) for an event the current state does not
        accept, and MachineError (state becomes ERROR) if the machine breaks its own rules.
        """
        state = self._state
        allowed = TRANSITIONS[state].get(type(event))
        if allowed is None:
            raise IllegalEventError(
                event=event, state=state.name, call_id=self._call_id, reason="not allowed here"
            )
        if now < self._now:
            raise IllegalEventError(
                event=event,
                state=state.name,
                call_id=self._call_id,
                reason=f"time went backwards ({now} < {self._now})",
            )
        if isinstance(event, CallStarted | CallResumed) and (
            self._resuming != isinstance(event, CallResumed)
        ):
            raise IllegalEventError(
                event=event,
                state=state.name,
                call_id=self._call_id,
                reason=(
                    "a resumed machine takes CallResumed, not CallStarted"
                    if self._resuming
                    else "only a machine built by CallMachine.resume takes CallResumed"
                ),
            )
        if state is not CallState.DONE:  # DONE absorbs even ids it never issued
            self._check_ids(event, state)
        self._now = now
        if state is CallState.DONE:
            # absorbing: nothing to do, but keep the books on playbacks we stopped
            if isinstance(event, PromptFinished | PromptFailed):
                self._live.discard(event.playback_id)
            elif isinstance(event, CommandFailed) and isinstance(event.command, PlayPrompt):
                self._live.discard(event.command.playback_id)
            return _NO_COMMANDS
        out: list[Command] = []
        self._out = out
        try:
            self._dispatch(event)
        except IvrError:
            self._state = CallState.ERROR
            raise
        except Exception as exc:
            self._state = CallState.ERROR
            raise MachineError(
                f"internal error handling {type(event).__name__} in state={state.name} "
                f"(call {self._call_id}): {exc!r}"
            ) from exc
        if self._state not in allowed:
            bad = self._state
            self._state = CallState.ERROR
            raise MachineError(
                f"{type(event).__name__} moved call {self._call_id} from {state.name} to "
                f"{bad.name}, which the transition table does not allow"
            )
        return tuple(out) if out else _NO_COMMANDS

    # ------------------------------------------------------------ validation

    def _issued(self, ident: str, tag: str, count: int) -> bool:
        prefix = f"{self._call_id}-{tag}"
        if not ident.startswith(prefix):
            return False
        number = ident[len(prefix) :]
        return number.isdecimal() and 1 <= int(number) <= count and number[0] != "0"

    def _check_ids(self, event: Event, state: CallState) -> None:
        if isinstance(event, PromptStarted | PromptFinished | PromptFailed):
            if not self._issued(event.playback_id, "p", self._pb_count):
                raise IllegalEventError(
                    event=event,
                    state=state.name,
                    call_id=self._call_id,
                    reason=f"playback {event.playback_id!r} was never started by this call",
                )
        elif isinstance(event, TimerExpired) and not self._issued(
            event.timer_id, "t", self._timer_count
        ):
            raise IllegalEventError(
                event=event,
                state=state.name,
                call_id=self._call_id,
                reason=f"timer {event.timer_id!r} was never started by this call",
            )

    # ------------------------------------------------------------ dispatch

    def _dispatch(self, event: Event) -> None:
        if isinstance(event, DigitReceived):
            self._on_digit(event.digit)
        elif isinstance(event, PromptFinished | PromptFailed):
            self._on_prompt_ended(event.playback_id)
        elif isinstance(event, TimerExpired):
            self._on_timer(event.timer_id)
        elif isinstance(event, CallStarted):
            self._channel = event.channel_name
            self._seed(event)
            self._log(self._tree.transcript.call_started, "")
            self._out.append(Answer())
            if self._tree.on_start is None:
                self._enter_menu(self._tree.start, greet=True)
            else:
                self._handler_kind = "start"
                self._run(self._tree.on_start)
        elif isinstance(event, CallResumed):
            self._resuming = False
            if event.wall_clock is not None:
                self._wall_offset = event.wall_clock - self._now
            self._return_to_menu()
        elif isinstance(event, CallerHungUp):
            self._on_caller_gone()
        elif isinstance(event, HandlerFinished):
            self._on_handler_finished(event)
        elif isinstance(event, RecordingFinished):
            if self._state is CallState.RECORDING and event.name == self._rec_name:
                self._cancel_timer()
                self._rec_done()
        elif isinstance(event, RecordingFailed):
            if self._state is CallState.RECORDING and event.name == self._rec_name:
                self._rec_failed(f"recording {event.name} failed: {event.cause or 'no cause'}")
        elif isinstance(event, CommandFailed):
            self._on_command_failed(event)
        # PromptStarted: informative only; the table keeps the state

    def _seed(self, event: CallStarted) -> None:
        """The call data's first values: caller id, language, variables, then args."""
        if event.wall_clock is not None:
            self._wall_offset = event.wall_clock - self._now
        spec = self._tree.call_data
        data = self._data
        data.update(spec.defaults)
        # the built-ins are kept only when Asterisk gave them ("" otherwise, see data):
        # a machine per live call, so an attendant call carries no dict entries it lacks
        for key, value in (
            ("caller_number", event.caller_number),
            ("caller_name", event.caller_name),
            ("lang", event.language),
        ):
            if value:
                data[key] = value
        variables = dict(event.variables)
        for name, variable in spec.variables.items():
            if variable in variables:
                data[name] = variables[variable]
        position = 0
        for arg in event.args:
            key, sep, value = arg.partition("=")
            if sep and key.isidentifier():
                data[key] = value
            elif position < len(spec.args):
                data[spec.args[position]] = arg
                position += 1

    def _on_caller_gone(self) -> None:
        was_idle = self._state is CallState.IDLE
        self._cancel_timer()
        # rule 5: Asterisk ends the channel's playbacks with the channel
        self._current = None
        self._live.clear()
        if not was_idle:
            self._log(self._tree.transcript.call_ended, "")
            self._end_hook()
        self._state = CallState.DONE

    def _on_command_failed(self, event: CommandFailed) -> None:
        command, reason = event.command, event.reason
        state = self._state
        if isinstance(command, PlayPrompt):
            if command.playback_id == self._current:
                self._on_prompt_ended(command.playback_id)
            else:
                self._live.discard(command.playback_id)
        elif isinstance(command, Answer):
            self._finish(Hangup())
        elif isinstance(command, Transfer) and state is CallState.TRANSFERRING:
            self._play(self._transfer_failed)
        elif isinstance(command, StartRecording) and state is CallState.RECORDING:
            self._rec_failed(f"recording {command.name} could not start: {reason}")
        elif isinstance(command, RunHandler) and state is CallState.HANDLER:
            self._end_handler()
            self._recover(f"handler {command.name} failed: {reason}")
        # failures of stop/cancel/hangup/continue change nothing: the call is ending anyway

    # ------------------------------------------------------------ digits

    def _on_digit(self, digit: str) -> None:
        state = self._state
        self._log(self._tree.transcript.digit, digit)
        if self._swallow is not None:
            swallow, self._swallow = self._swallow, None
            if digit == swallow:
                return  # the "#" that closes a full-length entry: already done
        if self._rec is not None:
            # keys while it records are Asterisk's (terminate_on); before the beep they
            # wait for nothing; at the review they choose
            if self._rec_phase in ("review", "listen") and self._rec.review is not None:
                self._cancel_timer()
                self._stop_current()
                self._rec_digit(digit)
            return
        if self._ask is not None and state is not CallState.HANDLER:
            self._cancel_timer()
            self._stop_current()
            self._ask_digit(digit)
            return
        if state is CallState.GREETING:
            if self._menu.barge_in:
                self._stop_current()
                self._collect(digit)
            elif self._menu.type_ahead:
                self._typed += digit
        elif state is CallState.WAITING or state is CallState.COLLECTING:
            self._cancel_timer()
            self._collect(digit)
        elif state is not CallState.TRANSFERRING and self._menu.type_ahead:
            # PLAYING, HANDLER: keep the key for when the menu comes back
            self._typed += digit

    def _collect(self, digit: str) -> None:
        menu = self._menu
        if digit == "#" and self._collected:
            self._select(self._first_match(self._collected))
            return
        entry = self._collected + digit
        match = self._first_match(entry)
        if any(option.could_extend(entry) for option in menu.options):
            self._collected = entry
            self._state = CallState.COLLECTING
            self._start_timer("inter_digit", menu.inter_digit_timeout)
        else:
            self._collected = entry
            self._select(match)

    def _first_match(self, entry: str) -> Option | None:
        for option in self._menu.options:
            if option.matches(entry):
                return option
        return None

    def _select(self, option: Option | None) -> None:
        entry, self._collected = self._collected, ""
        if option is None:
            self._no_match += 1
            if self._notes:
                self._note("no_match", entry=entry)
            self._log(self._tree.transcript.no_match, entry[-1:])
            limit = self._menu.max_no_match
            if limit is not None and self._no_match >= limit:
                self._limit_reached("no_match")
            else:
                self._play(self._menu.prompts_for("invalid", self._no_match))
            return
        self._no_input = self._no_match = self._errors = 0
        self._digits = entry
        if self._notes:
            self._note("option_selected", option=option.value, entry=entry, act=option.action)
        self._run(option.action)

    # ------------------------------------------------------------ timers

    def _on_timer(self, timer_id: str) -> None:
        if timer_id != self._timer:
            return  # rule 4: stale
        self._timer = None
        if self._timer_kind == "filler":
            self._start_filler()
            return
        if self._timer_kind == "handler":
            handler = self._handler
            assert handler is not None
            self._out.append(CancelHandler(name=handler.name))
            self._end_handler()
            self._recover(
                f"handler {handler.name} did not return within {self._timeout_of(handler):g} s"
            )
            return
        if self._timer_kind == "record":
            self._out.append(StopRecording(name=self._rec_name))  # the end got lost
            self._rec_done()
            return
        if self._rec is not None:  # silence at the review
            self._rec_tries += 1
            if self._rec_tries >= 3:
                self._rec_accept()
            else:
                self._rec_review()
            return
        if self._ask is not None:
            if self._timer_kind == "inter_digit":
                self._ask_complete()
            else:
                self._ask_failed("no_input")
            return
        if self._timer_kind == "inter_digit":
            self._select(self._first_match(self._collected))
            return
        self._no_input += 1
        if self._notes:
            self._note("no_input")
        self._log(self._tree.transcript.no_input, "")
        limit = self._menu.max_no_input
        if limit is not None and self._no_input >= limit:
            self._limit_reached("no_input")
        else:
            self._play(self._menu.prompts_for("no_input", self._no_input))

    def _start_timer(self, kind: _TimerKind, seconds: float) -> None:
        self._cancel_timer()
        self._timer_count += 1
        self._timer = timer_id = f"{self._call_id}-t{self._timer_count}"
        self._timer_kind = kind
        self._out.append(
            StartTimer(timer_id=timer_id, seconds=seconds, deadline=self._now + seconds)
        )

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._out.append(CancelTimer(timer_id=self._timer))
            self._timer = None

    def _limit_reached(self, which: str) -> None:
        self._no_input = self._no_match = 0
        if self._notes:
            self._note("limit", act=self._menu.on_limit, cause=which)
        self._run(self._menu.on_limit)

    # ------------------------------------------------------------ prompts

    def _on_prompt_ended(self, playback_id: str) -> None:
        self._live.discard(playback_id)
        if playback_id != self._current:
            return  # a prompt we stopped earlier reporting its end
        self._current = None
        self._queue_pos += 1
        if self._state is CallState.HANDLER:
            self._play_filler()
            return
        self._play_next()

    def _play(self, prompts: tuple[str, ...]) -> None:
        """Play an action's prompts, then bring the menu back (state PLAYING)."""
        self._state = CallState.PLAYING
        self._queue, self._queue_pos = prompts, 0
        self._play_next()

    def _play_next(self) -> None:
        if self._queue_pos < len(self._queue):
            media = self._render(self._queue[self._queue_pos])
            if media is None:
                return  # reported; on_error has taken over
            self._pb_count += 1
            self._current = pb = f"{self._call_id}-p{self._pb_count}"
            self._live.add(pb)
            self._out.append(PlayPrompt(playback_id=pb, media=media))
        elif self._rec is not None:
            if self._rec_phase == "prompt":
                self._rec_begin()
            elif self._rec_phase == "listen":
                self._rec_review()
            else:  # the review prompt ended: wait for a key
                self._state = CallState.WAITING
                review = self._rec.review
                assert review is not None
                self._start_timer("no_input", review.timeout)
        elif self._ask is not None:
            if self._state is CallState.GREETING:
                self._ask_listen()
            else:
                self._ask_prompt()
        elif self._state is CallState.GREETING:
            self._listen()
        else:
            self._return_to_menu()

    # ------------------------------------------------------------ record

    def _start_record(self, action: RecordAction) -> None:
        name = self._render(action.name)
        if name is None:
            return
        self._rec, self._rec_name, self._rec_tries = action, name, 0
        self._rec_prompt()

    def _rec_prompt(self) -> None:
        rec = self._rec
        assert rec is not None
        self._rec_phase = "prompt"
        self._state = CallState.PLAYING
        self._queue, self._queue_pos = rec.prompt, 0
        self._play_next()

    def _rec_begin(self) -> None:
        rec = self._rec
        assert rec is not None
        self._rec_phase = "recording"
        self._state = CallState.RECORDING
        # named now: a caller who hangs up mid-message leaves it (Asterisk keeps the file)
        self._data[rec.into] = self._rec_name
        self._out.append(
            StartRecording(
                name=self._rec_name,
                format=rec.format,
                beep=rec.beep,
                max_duration=max(1, round(rec.max_duration)),
                max_silence=round(rec.max_silence),
                terminate_on=rec.terminate_on,
            )
        )
        self._start_timer("record", rec.max_duration + RECORD_GRACE)

    def _rec_done(self) -> None:
        """The recording is stored: review it, or keep it."""
        rec = self._rec
        assert rec is not None
        self._data[rec.into] = self._rec_name
        if self._notes:
            self._note("recorded", entry=self._rec_name, act=rec.then, field=rec.into)
        if rec.review is None:
            self._rec_accept()
        else:
            self._rec_review()

    def _rec_review(self) -> None:
        rec = self._rec
        assert rec is not None
        assert rec.review is not None
        self._rec_phase = "review"
        self._state = CallState.GREETING
        self._queue, self._queue_pos = rec.review.prompt, 0
        self._play_next()

    def _rec_digit(self, digit: str) -> None:
        rec = self._rec
        assert rec is not None
        review = rec.review
        assert review is not None
        if digit == review.keep:
            self._rec_accept()
        elif digit == review.again:
            self._rec_tries = 0
            self._rec_prompt()
        elif digit == review.listen:
            self._rec_phase = "listen"
            self._state = CallState.PLAYING
            self._queue, self._queue_pos = (f"recording:{self._rec_name}",), 0
            self._play_next()
        else:
            self._rec_review()

    def _rec_accept(self) -> None:
        rec = self._rec
        assert rec is not None
        self._rec = None
        self._errors = 0
        self._run(rec.then)

    def _rec_failed(self, reason: str) -> None:
        rec = self._rec
        assert rec is not None
        self._cancel_timer()
        self._rec = None
        self._data.pop(rec.into, None)
        if rec.on_fail is None:
            self._recover(reason)
        else:
            self._out.append(
                ReportError(reason=f"call {self._call_id} in menu {self._menu.name}: {reason}")
            )
            self._run(rec.on_fail)

    # ------------------------------------------------------------ collect

    def _start_collect(self, action: CollectAction) -> None:
        self._ask, self._ask_tries, self._ask_confirming = action, 0, False
        self._ask_no_input = self._ask_no_match = 0
        self._collected = ""
        if self._typed:
            self._ask_listen()  # type-ahead: the caller is already entering it
        else:
            self._ask_prompt()

    def _ask_prompt(self) -> None:
        """(Again) the collect's prompt for this attempt, or its confirmation."""
        ask = self._ask
        assert ask is not None
        self._collected = ""
        self._state = CallState.GREETING
        if self._ask_confirming:
            assert ask.confirm is not None
            self._queue = ask.confirm.prompt
        else:
            self._queue = by_attempt(ask.prompt, self._ask_tries + 1)
        self._queue_pos = 0
        self._play_next()

    def _ask_listen(self) -> None:
        ask = self._ask
        assert ask is not None
        self._state = CallState.WAITING
        self._swallow = None
        if not self._typed:
            self._start_timer("no_input", ask.first_digit_timeout)
            return
        while self._typed and self._ask is ask and self._state in _LISTENING:
            digit, self._typed = self._typed[0], self._typed[1:]
            self._cancel_timer()
            self._ask_digit(digit)

    def _ask_digit(self, digit: str) -> None:
        ask = self._ask
        assert ask is not None
        if self._ask_confirming:
            confirm = ask.confirm
            assert confirm is not None
            if digit == confirm.yes:
                self._ask_accept()
            elif digit == confirm.no:
                self._ask_confirming = False
                self._data.pop(ask.into, None)
                self._ask_prompt()
            else:
                self._ask_prompt()
            return
        if digit == ask.terminator:
            self._ask_complete()
            return
        self._collected += digit
        if len(self._collected) >= ask.max_length:
            self._ask_complete(full=True)
        else:
            self._state = CallState.COLLECTING
            self._start_timer("inter_digit", ask.inter_digit_timeout)

    def _ask_complete(self, *, full: bool = False) -> None:
        ask = self._ask
        assert ask is not None
        entry = self._collected
        self._collected = ""
        if full and ask.terminator is not None:
            self._swallow = ask.terminator
        if not entry:
            self._ask_failed("no_input")
            return
        if why := ask.entry_problem(entry):
            self._log(self._tree.transcript.no_match, entry[-1:])
            if self._notes:
                self._note("collect_no_match", entry=entry, cause=why, field=ask.into)
            self._ask_failed("no_match")
            return
        self._digits = entry
        self._data[ask.into] = entry
        if ask.confirm is not None:
            self._ask_confirming = True
            self._ask_prompt()
        else:
            self._ask_accept()

    def _ask_accept(self) -> None:
        ask = self._ask
        assert ask is not None
        self._ask = None
        self._ask_confirming = False
        self._errors = 0
        if self._notes:
            entry = str(self._data.get(ask.into, ""))
            self._note("collected", entry=entry, act=ask.then, field=ask.into)
        self._run(ask.then)

    def _ask_failed(self, kind: str) -> None:
        """A no-input or no-match: one try used; its prompt, then ask again, or give up."""
        ask = self._ask
        assert ask is not None
        self._ask_tries += 1
        if kind == "no_input":
            self._log(self._tree.transcript.no_input, "")
            if self._notes:
                self._note("collect_no_input", field=ask.into)
        if self._ask_tries >= ask.tries:
            self._ask = None
            self._ask_confirming = False
            if self._notes:
                act, cause = ask.on_fail or self._menu.on_limit, f"collect_{kind}"
                self._note("limit", act=act, cause=cause, field=ask.into)
            self._run(ask.on_fail or self._menu.on_limit)
            return
        # VoiceXML: each event counts on its own
        if kind == "no_input":
            self._ask_no_input += 1
            attempt = self._ask_no_input
        else:
            self._ask_no_match += 1
            attempt = self._ask_no_match
        prompts = by_attempt(ask.no_input if kind == "no_input" else ask.no_match, attempt)
        self._state = CallState.PLAYING
        self._queue, self._queue_pos = prompts, 0
        self._play_next()

    def _listen(self) -> None:
        """The menu listens: handle typed-ahead keys, else wait ``timeout`` for one.

        Keys go in one at a time; an action that leaves this menu (or plays something)
        stops the loop, and the rest waits until a menu listens again.
        """
        self._state = CallState.WAITING
        if not self._typed:
            self._start_timer("no_input", self._menu.timeout)
            return
        menu = self._menu
        while self._typed and self._menu is menu and self._state in _LISTENING:
            digit, self._typed = self._typed[0], self._typed[1:]
            self._cancel_timer()
            self._collect(digit)

    def _stop_current(self) -> None:
        if self._current is not None:
            self._out.append(StopPrompt(playback_id=self._current))
            self._current = None  # its PromptFinished will arrive and be ignored
        self._queue, self._queue_pos = (), 0

    # ------------------------------------------------------------ menus and actions

    def _return_to_menu(self) -> None:
        self._enter_menu(self._menu.name, greet=False)

    def _enter_menu(self, name: str, *, greet: bool) -> None:
        menu = self._menu = self._tree.menus[name]
        self._handler_kind = "menu"
        self._rec = None
        self._ask = None
        self._ask_confirming = False
        if greet and menu.language is not None:
            self._set_language(menu.language)  # on entry; a handler may change it after
        if greet:
            self._no_input = self._no_match = self._greetings = 0
            if self._notes:
                self._note("menu_entered")
        self._collected = ""
        if self._typed:
            self._listen()  # type-ahead: the caller already answered; skip the greeting
            return
        self._state = CallState.GREETING
        self._greetings += 1
        self._queue = menu.prompts_for("greeting", self._greetings)
        self._queue_pos = 0
        self._play_next()

    def _run(self, action: Action) -> None:
        if isinstance(action, PlayAction):
            self._play(action.prompts)
        elif isinstance(action, GotoAction):
            self._stack.append(self._menu.name)
            self._enter_menu(action.menu, greet=True)
        elif isinstance(action, BackAction):
            self._enter_menu(self._stack.pop() if self._stack else self._menu.name, greet=True)
        elif isinstance(action, TopAction):
            self._stack.clear()
            self._enter_menu(self._tree.start, greet=True)
        elif isinstance(action, HangupAction):
            self._finish(Hangup())
        elif isinstance(action, ContinueAction):
            self._finish(
                ContinueInDialplan(
                    context=action.context, extension=action.extension, priority=action.priority
                )
            )
        elif isinstance(action, TransferAction):
            endpoint = self._render(action.endpoint)
            if endpoint is None:
                return
            self._state = CallState.TRANSFERRING
            self._transfer_failed = action.failed
            self._out.append(
                Transfer(endpoint=endpoint, timeout=action.timeout, caller_id=action.caller_id)
            )
        elif isinstance(action, CollectAction):
            self._start_collect(action)
        elif isinstance(action, RecordAction):
            self._start_record(action)
        elif isinstance(action, RouteAction):
            wall = None if self._wall_offset is None else self._now + self._wall_offset
            chosen, rule = route_action(action, wall)
            if self._notes:
                cause = "otherwise" if rule is None else f"rule {rule}"
                self._note("routed", act=chosen, cause=cause)
            self._run(chosen)
        else:  # HandlerAction
            assert isinstance(action, HandlerAction)
            self._start_handler(action)

    def _finish(self, command: Command) -> None:
        """End the call from our side (rule 5): nothing may be left running."""
        self._cancel_timer()
        self._stop_current()
        self._out.append(command)
        self._log(self._tree.transcript.call_ended, "")
        self._end_hook()
        self._state = CallState.DONE

    def _note(
        self,
        kind: str,
        *,
        option: str | None = None,
        entry: str | None = None,
        act: Action | None = None,
        cause: str | None = None,
        field: str | None = None,
    ) -> None:
        action = target = None
        if act is not None:
            action = type(act).__name__.removesuffix("Action").lower()
            for name in ("menu", "endpoint", "name", "context"):
                value = getattr(act, name, None)
                if isinstance(value, str):
                    target = value
                    break
        self._out.append(
            Note(
                kind=kind,
                menu=self._menu.name,
                option=option,
                entry=entry,
                action=action,
                target=target,
                cause=cause,
                field=field,
            )
        )

    # ------------------------------------------------------------ handlers and errors

    def _timeout_of(self, handler: HandlerAction) -> float:
        return self._tree.handler_timeout if handler.timeout is None else handler.timeout

    def _start_handler(self, action: HandlerAction) -> None:
        """Run the handler; one timer bounds it: first the filler's delay, then the rest
        of its timeout (rule 4 holds: the handler state is never without its timer)."""
        self._cancel_timer()
        self._state = CallState.HANDLER
        self._handler = action
        self._handler_runs += 1
        self._out.append(RunHandler(name=action.name, digits=self._digits))
        timeout = self._timeout_of(action)
        filler = action.filler or self._tree.filler
        if filler is not None and filler.after < timeout:
            self._filler = filler
            self._handler_left = timeout - filler.after
            self._start_timer("filler", filler.after)
        else:
            self._filler = None
            self._start_timer("handler", timeout)

    def _start_filler(self) -> None:
        self._queue, self._queue_pos = (), 0
        self._start_timer("handler", self._handler_left)
        filler = self._filler
        if filler is not None and filler.moh is not None:
            self._moh = True
            self._out.append(StartMusicOnHold(moh_class=filler.moh or None))
            return
        self._play_filler()

    def _play_filler(self) -> None:
        """The filler's next media, round and round until the handler returns."""
        filler = self._filler
        if filler is None or self._current is not None or not filler.media:
            return
        self._queue = filler.media
        self._queue_pos %= len(filler.media)
        media = self._render(filler.media[self._queue_pos])
        if media is None:
            return
        self._pb_count += 1
        self._current = pb = f"{self._call_id}-p{self._pb_count}"
        self._live.add(pb)
        self._out.append(PlayPrompt(playback_id=pb, media=media))

    def _end_handler(self) -> None:
        """The handler is over (returned, failed or given up on): stop its timer and filler."""
        self._cancel_timer()
        self._stop_current()
        if self._moh:
            self._moh = False
            self._out.append(StopMusicOnHold())
        self._handler = None
        self._filler = None

    def _on_handler_finished(self, event: HandlerFinished) -> None:
        handler = self._handler
        assert handler is not None
        kind = self._handler_kind
        self._end_handler()
        if event.data is not None:
            if why := data_problem(event.data):
                self._recover(f"handler {handler.name} left bad call data: {why}")
                return
            before = self._data.get("lang")
            self._data = dict(event.data)  # type: ignore[arg-type]  # checked just above
            language = self._data.get("lang")
            if isinstance(language, str) and language and language != before:
                self._out.append(SetLanguage(language=language))
        result = event.result
        if result is None:
            self._errors = 0
            if kind == "start":
                self._enter_menu(self._tree.start, greet=True)
            else:
                self._return_to_menu()
            return
        if not isinstance(result, Step):
            self._recover(
                f"handler {handler.name} returned {result!r}; expected None or a step "
                "from ivrkit.ivr.steps (Goto, Back, Top, Hangup, Transfer, Continue, Play)"
            )
            return
        action = result.action()
        checker = Checker(self._tree.menus, self._tree.fields)
        checker.action(action, "result")
        if checker.problems:
            _, why = checker.problems[0]
            self._recover(f"handler {handler.name} returned {result!r}: {why}")
            return
        self._errors = 0
        self._run(action)

    def _recover(self, reason: str) -> None:
        """Report ``reason`` (one line, naming the call) and run on_error: the call goes
        on (rule: a call never goes dead); MAX_ERRORS in a row hand it to the dialplan."""
        self._out.append(
            ReportError(reason=f"call {self._call_id} in menu {self._menu.name}: {reason}")
        )
        self._errors += 1
        self._cancel_timer()
        self._stop_current()
        self._collected = ""
        self._ask = None
        self._ask_confirming = False
        self._rec = None
        if self._errors >= MAX_ERRORS:
            self._out.append(
                ReportError(
                    reason=f"call {self._call_id}: {self._errors} errors in a row; "
                    "handing the call back to the dialplan"
                )
            )
            self._finish(ContinueInDialplan())
            return
        action = self._menu.on_error or self._tree.on_error
        if action is not None:
            self._run(action)
        elif self._handler_kind == "start":
            self._enter_menu(self._tree.start, greet=True)
        else:
            self._return_to_menu()

    def _render(self, template: str) -> str | None:
        """``template`` filled from the call data, or None after reporting a missing field."""
        if "{" not in template:
            return template
        try:
            values = {
                **_NO_BUILTINS,
                **self._data,
                "digits": self._digits,
                "call_id": self._call_id,
            }
            return render(template, values)
        except KeyError as exc:
            self._recover(
                f"{template!r} needs call-data field `{exc.args[0]}`, which the call lacks"
            )
            return None

    def _set_language(self, language: str) -> None:
        if self._data.get("lang") != language:
            self._data["lang"] = language
            self._out.append(SetLanguage(language=language))

    def _end_hook(self) -> None:
        if self._tree.on_end is not None:
            self._out.append(RunEndHook(name=self._tree.on_end))

    def _log(self, template: str | None, digit: str) -> None:
        if template is not None:
            self._out.append(Log(line=template.format(channel=self._channel, digit=digit)))


__all__ = ["CallMachine"]
