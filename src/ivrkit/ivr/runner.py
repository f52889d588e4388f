"""Drive one CallMachine per call over ``ivrkit.ari``: the only async module of ivr.

Theory of operation
===================
``MenuRunner.attach(client)`` registers a call setup with the AriClient. For every call
that enters the application the client creates a ``CallScope``: one ordered queue of
that channel's events, plus the call's timers and tasks, all torn down when the call
ends. The runner gives each scope a ``_Call``: a ``CallMachine`` and the code that turns
ARI events into machine events and machine commands into ARI requests (the shape of
httpcore's http11 connection driving h11).

Invariants
  1. One call's events reach its machine one at a time, in arrival order: they are
     handled on the scope's consumer, and commands are carried out (awaited) before the
     next event is taken. Timer expiries and handler results are queued on the same
     scope (``scope.call_later``), so they never interleave with an event either.
  2. Playback ids are the machine's (``{channel_id}-p{n}``) and are routed to the call
     before the POST (client staging), so Started/Finished always find their machine.
  3. A command that fails is fed back as ``CommandFailed``; the rest of that batch is
     dropped, because the machine's answer to the failure supersedes it. Stops and
     hang-ups are quiet: "already gone" is what a hang-up race looks like, not an error.
     A stop is sent without waiting for its answer, so the next prompt's request follows
     immediately (a play queued behind a prompt starts when the stop lands).
  4. Nothing outlives the call: timers and handler/transfer tasks belong to the scope,
     which cancels them when the channel leaves; the runner forgets the call then too.
  5. A failure inside one call (a machine error, a handler that raises) is logged with
     the channel id and ends or resets *that* call only; other calls never notice. A
     machine error hands the call back to the dialplan rather than hanging it up.
  6. Nothing goes out for a call after it was handed back (``release``): the hand-back
     is marked first, and commands the machine still produces (a queued event, a timer
     that had fired) are dropped, so no request races the channel leaving Stasis.
  7. A call keeps the menu tree and handlers it started with; ``replace_menu`` (a
     reload) applies to calls that arrive afterwards.
  8. Calls survive their process (ivr/_handover.py): each call's checkpoint is kept on
     its channel (``IVRKIT_CALL``), machine ids carry this runner's token, and a call
     adopted from another process (a synthetic StasisStart) resumes its menu with the
     re-greeting. Playback events for ids this call's machine did not start (the old
     process's prompts, a handler's own playbacks) are ignored, with a debug line.
  9. Timers keep their deadlines across an outage: a prompt that ended while the
     websocket was down is reported by the re-sync (a synthetic PlaybackFinished) only
     later, so it is fed as of the moment the socket was lost (never before an event
     already fed), and the no-input timer it starts runs from there, not from the
     re-sync: the caller never waits longer than the menu's timeout.

Hand-backs set the channel variable ``IVRKIT_HANDBACK`` (``stop``, ``drain`` or
``error``) before ``continue``, so the dialplan can tell why the call came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ivrkit.ari import (
    AriClient,
    AriError,
    AriHTTPError,
    CallEnded,
    CallScope,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ClientClosedError,
    PlaybackFinished,
    PlaybackStarted,
    StasisEnd,
    StasisStart,
    Timer,
)
from ivrkit.ari import RecordingFailed as AriRecordingFailed
from ivrkit.ari import RecordingFinished as AriRecordingFinished
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
from ivrkit.ivr._durable import CallStore, previous_prompt, resume_machine
from ivrkit.ivr._events import (
    DTMF_DIGITS,
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
from ivrkit.ivr._exceptions import CheckpointError, IvrError
from ivrkit.ivr._handler_call import HandlerCall
from ivrkit.ivr._handover import (
    CHECKPOINT_VARIABLE,
    PROMPT_WINDOW,
    decode_checkpoint,
    encode_checkpoint,
    foreign_prompts,
    resume_key,
)
from ivrkit.ivr._loader import HandlerFunc, resolve_handlers
from ivrkit.ivr._machine import CallMachine
from ivrkit.ivr._menu import MenuTree
from ivrkit.ivr._observing import CallTap, report_turned_away
from ivrkit.ivr._state import CallState
from ivrkit.observe import CallInfo, Observer, bind_call

logger = logging.getLogger("ivrkit.ivr.runner")

TRANSFER_APP_ARG = "ivrkit-transfer"
HANDBACK_VARIABLE = "IVRKIT_HANDBACK"
_CLEANUP_TIMEOUT = 5.0
_SAVE_BEFORE_PLAY = 0.5  # the longest a new menu's greeting waits for its checkpoint
_MARK_TIMEOUT = 1.0  # IVRKIT_HANDBACK's set may wait behind a prompt: never the continue
_ARI_EVENTS = (
    ChannelDtmfReceived,
    PlaybackStarted,
    PlaybackFinished,
    ChannelHangupRequest,
    StasisEnd,
    ChannelDestroyed,
    AriRecordingFinished,
    AriRecordingFailed,
)


def _print_line(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True, slots=True)
class RunnerStatistics:
    """Counts for leak checks and monitoring; ``live_*`` are all 0 when no call is up."""

    live_calls: int
    live_timers: int
    live_tasks: int
    calls_total: int
    commands_total: int
    command_failures: int
    call_errors: int


class MenuRunner:
    """Serves a MenuTree to every call of an AriClient.

    ``transcript`` receives each transcript line (default: print). ``handlers`` maps
    "module:function" names to coroutine functions; by default they are imported from the
    tree (``resolve_handlers``), so a bad reference fails here, before any call.
    ``observer`` receives each call's steps (``ivrkit.observe``; docs/operations.md).
    ``store`` keeps each call's checkpoint beyond this process (``ivrkit.cluster``;
    protocol in ``ivr/_durable.py``): calls it says to resume carry on at their menu.
    """

    def __init__(
        self,
        tree: MenuTree,
        *,
        transcript: Callable[[str], None] = _print_line,
        handlers: Mapping[str, HandlerFunc] | None = None,
        observer: Observer | None = None,
        store: CallStore | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.tree = tree
        #: Unix time now; time-of-day routes read it through the machine (tests inject one)
        self.wall_clock = wall_clock
        self.store = store
        if store is not None:
            store.on_lost = self._lost
        self.observer = observer
        self.transcript = transcript
        self.handlers = dict(resolve_handlers(tree) if handlers is None else handlers)
        self._calls: dict[str, _Call] = {}
        self._client: AriClient | None = None
        self._idle: asyncio.Event | None = None
        self._calls_total = 0
        self._refusing = False
        # this runner's id namespace (invariant 8): never shared with another process
        self.token = os.urandom(4).hex()
        self.calls_refused = 0
        self.commands_total = 0
        self.command_failures = 0
        self.call_errors = 0
        self._end_hooks: set[asyncio.Task[None]] = set()

    def attach(self, client: AriClient) -> None:
        """Serve calls of ``client``; call before ``async with client`` opens it."""
        self._client = client
        client.on_call(self._setup)

    def replace_menu(
        self, tree: MenuTree, handlers: Mapping[str, HandlerFunc] | None = None
    ) -> None:
        """Serve ``tree`` to calls that arrive from now on (invariant 7); live calls keep theirs."""
        self.handlers = dict(resolve_handlers(tree) if handlers is None else handlers)
        self.tree = tree

    def refuse_new_calls(self) -> None:
        """Drain: from now on a new call is handed straight back to the dialplan.

        The application stays registered (its live calls still need their events), so a
        new call does enter Stasis; it is continued at once, before it is answered, with
        ``IVRKIT_HANDBACK=drain``, and the dialplan routes it on (docs/operations.md).
        """
        self._refusing = True

    @property
    def live_calls(self) -> int:
        return len(self._calls)

    def statistics(self) -> RunnerStatistics:
        return RunnerStatistics(
            live_calls=len(self._calls),
            live_timers=sum(len(c.timers) for c in self._calls.values()),
            live_tasks=sum(c.tasks for c in self._calls.values()) + len(self._end_hooks),
            calls_total=self._calls_total,
            commands_total=self.commands_total,
            command_failures=self.command_failures,
            call_errors=self.call_errors,
        )

    async def wait_no_calls(self) -> None:
        """Return once no call is live and the ``on_end`` hooks of those that ended have
        run (for demos and tests; bound it with a timeout)."""
        while self._calls:
            if self._idle is None or self._idle.is_set():
                self._idle = asyncio.Event()  # shared by every waiter until it is set
            await self._idle.wait()
        while self._end_hooks:
            await asyncio.wait(set(self._end_hooks))

    async def release_calls(self) -> int:
        """Hand every live call back to the dialplan (clean shutdown); returns how many."""
        calls = list(self._calls.values())
        if calls:
            await asyncio.gather(*(call.release() for call in calls))
        return len(calls)

    async def _setup(self, scope: CallScope, start: StasisStart) -> None:
        try:
            await self._start_call(scope, start)
        except Exception as exc:  # a bug of ours must not leave the caller in silence (inv. 5)
            self.call_errors += 1
            logger.exception(
                "call %s (%s): could not be started; handing it back to the dialplan",
                scope.channel_id,
                start.channel.name,
            )
            call = self._calls.get(scope.channel_id)
            if call is not None:
                if call.tap is not None:
                    call.tap.error(repr(exc))
                await call.abandon()
            else:
                self._turned_away(scope, start, "error", repr(exc))
                await _hand_back(scope, "error")

    async def _start_call(self, scope: CallScope, start: StasisStart) -> None:
        # (a transfer's outgoing leg is adopted by its caller's scope before it is
        # originated, so it never reaches this setup as a call of its own)
        if self._refusing:
            self.calls_refused += 1
            logger.info(
                "call %s (%s): draining, handed straight back to the dialplan",
                start.channel.id,
                start.channel.name,
            )
            self._turned_away(scope, start, "drain")
            await _hand_back(scope, "drain")
            return
        opening = (
            None
            if self.store is None
            else await self.store.open(scope.channel_id, adopted=start.synthetic)
        )
        if opening is not None and opening.action == "skip":
            return  # a live worker of the cluster owns this call: not a word to Asterisk
        call = _Call(self, scope, start.channel.name)
        # without a cluster store, the checkpoint is on the channel (invariant 8)
        resumed = await call.adopt() if start.synthetic and self.store is None else None
        info = CallInfo(scope.channel_id, start.channel.name, start.raw.get("asterisk_id", ""))
        bind_call(info)  # this task's log lines, and those of what it starts, name the call
        if self.observer is not None:
            call.tap = CallTap(self.observer, info, asyncio.get_running_loop().time())
        self._calls[scope.channel_id] = call
        self._calls_total += 1
        scope.on(_ARI_EVENTS, call.on_event)
        resume = opening.checkpoint if opening is not None and opening.action == "resume" else None
        if resume is not None and await call.resume(resume):
            await call.feed(CallResumed(wall_clock=self.wall_clock()))
            return
        await call.feed(
            await _call_started(scope, start, self.tree, self.wall_clock)
            if resumed is None
            else resumed
        )

    def _turned_away(
        self, scope: CallScope, start: StasisStart, reason: str, error: str | None = None
    ) -> None:
        if self.observer is not None:
            info = CallInfo(scope.channel_id, start.channel.name, start.raw.get("asterisk_id", ""))
            report_turned_away(self.observer, info, reason, error)

    def run_end_hook(
        self,
        name: str,
        handlers: Mapping[str, HandlerFunc],
        machine: CallMachine,
        scope: CallScope,
    ) -> None:
        """Run the file's ``on_end`` handler once the call has left: outside the call's
        scope (which is being torn down), bounded by the handler timeout, and its failure
        logged with the call, never raised."""
        handler = handlers.get(name)
        call = HandlerCall(scope, data=dict(machine.data), digits="", menu=machine.menu)

        async def run() -> None:
            try:
                if handler is None:
                    raise LookupError(f"handler {name!r} was not resolved")
                async with asyncio.timeout(self.tree.handler_timeout):
                    await handler(call, "")
            except Exception as exc:
                logger.error(
                    "call %s (%s): on_end handler %s failed: %r",
                    scope.channel_id,
                    scope.channel.name,
                    name,
                    exc,
                )

        task = asyncio.get_running_loop().create_task(run())
        self._end_hooks.add(task)
        task.add_done_callback(self._end_hooks.discard)

    async def _lost(self, channel_id: str) -> None:
        """The store says another worker owns this call now: drop it without a request."""
        call = self._calls.get(channel_id)
        if call is None:
            return
        call.released = True  # nothing more goes out for it (invariant 6)
        self._forget(call)
        await call.scope.aclose()

    def _forget(self, call: _Call) -> None:
        if self._calls.pop(call.scope.channel_id, None) is not None:
            if call.tap is not None:
                call.tap.ended(asyncio.get_running_loop().time())
            if self.store is not None:
                self.store.closed(call.scope.channel_id)
        if not self._calls and self._idle is not None:
            self._idle.set()


async def _call_started(
    scope: CallScope, start: StasisStart, tree: MenuTree, wall_clock: Callable[[], float]
) -> CallStarted:
    """The machine's CallStarted: the facts its call data is seeded from (the channel
    variables the file names are read first; an unset one is left out), and the wall
    clock (the core reads no clock; time-of-day routes need the hour)."""
    channel = start.channel
    caller = channel.caller
    variables: list[tuple[str, str]] = []
    for name in dict.fromkeys(tree.call_data.variables.values()):
        try:
            variables.append((name, await scope.client.channels.get_variable(channel.id, name)))
        except AriError as exc:  # 404: not set on this channel
            logger.debug("call %s: variable %s not read: %s", channel.id, name, exc)
    return CallStarted(
        channel_name=channel.name,
        args=start.args,
        caller_number=caller.number,
        caller_name=caller.name,
        language=channel.language,
        variables=tuple(variables),
        wall_clock=wall_clock(),
    )


async def _hand_back(scope: CallScope, reason: str) -> None:
    """Mark why (``IVRKIT_HANDBACK``) and continue the call in the dialplan, quietly.

    The continue goes out even if the mark does not make it: Asterisk runs a variable set
    on the channel's control thread, behind anything still playing, and answers only
    then; the continue queues behind it there, in order. A request failing otherwise
    means the channel is already leaving: nothing to do.
    """
    try:
        async with asyncio.timeout(_MARK_TIMEOUT):
            await scope.client.channels.set_variable(
                scope.channel_id, HANDBACK_VARIABLE, reason, may_be_held=True
            )
    except (AriError, TimeoutError) as exc:
        logger.debug("call %s: %s not answered (%r)", scope.channel_id, HANDBACK_VARIABLE, exc)
    try:
        await scope.continue_in_dialplan()
    except AriError as exc:
        logger.debug(
            "call %s (%s): hand-back (%s) ignored %r",
            scope.channel_id,
            scope.channel.name,
            reason,
            exc,
        )


def _channel_id(event: object) -> str | None:
    channel = getattr(event, "channel", None)
    return None if channel is None else str(channel.id)


class _TransferFailed(Exception):
    """The transfer's outgoing leg ended before it answered."""


class _Call:
    """One call: its machine, its scope, its timers (see the module's invariants)."""

    __slots__ = (
        "bridge_id",
        "bridged",
        "checkpoint",
        "checkpoint_issued",
        "checkpoint_writer",
        "handler_task",
        "handlers",
        "label",
        "last_now",
        "machine",
        "peer_id",
        "played",
        "released",
        "runner",
        "save_before_play",
        "scope",
        "tap",
        "tasks",
        "timers",
    )

    def __init__(self, runner: MenuRunner, scope: CallScope, channel_name: str) -> None:
        self.runner = runner
        self.scope = scope
        # every log line names the call both ways: the id (ARI, journey) and the channel
        # name (the transcript, Asterisk's own log)
        self.label = f"{scope.channel_id} ({channel_name})"
        self.tap: CallTap | None = None
        self.machine = CallMachine(
            runner.tree, f"{scope.channel_id}-{runner.token}", notes=runner.observer is not None
        )
        self.handlers = runner.handlers  # invariant 7: a reload does not change this call
        self.released = False
        # ids of the playbacks this call asked for and not yet seen finish: a playback
        # event for any other id (a stray, a duplicate, a forged frame, the prompt of the
        # process this call was taken over from) is not this call's (invariant 8)
        self.played: set[str] = set()
        self.handler_task: asyncio.Task[None] | None = None
        self.checkpoint = ""  # resume_key of the checkpoint last written to the channel
        self.checkpoint_issued = 0  # its count of prompts issued (ivr/_handover.py rule 5)
        self.checkpoint_writer: asyncio.Task[None] | None = None
        self.save_before_play = False  # a new menu: its checkpoint goes before its prompt
        self.last_now = float("-inf")  # the loop time of the last event fed (invariant 9)
        self.timers: dict[str, Timer] = {}
        self.tasks = 0
        self.peer_id: str | None = None
        self.bridge_id: str | None = None
        self.bridged = False

    # ---------------------------------------------------------------- events in

    async def on_event(self, event: Any) -> None:
        try:
            await self._on_event(event)
        except ClientClosedError:
            # the connection this call lived on is gone for good (a per-call outbound
            # socket closed, the client stopped): no request can reach Asterisk, which
            # carries the call on (and offers it again on a new socket, if it opens one)
            logger.info("call %s: its connection closed; this process lets it go", self.label)
        except Exception:  # a bug of ours, not the engine's (that is IvrError, in feed)
            self.runner.call_errors += 1
            logger.exception(
                "call %s: internal error on %s; handing the call back to the dialplan",
                self.label,
                type(event).__name__,
            )
            await self.abandon()

    async def _on_event(self, event: Any) -> None:
        own = self.scope.channel_id
        if isinstance(event, ChannelDtmfReceived):
            if event.channel.id == own and event.digit in DTMF_DIGITS:
                await self.feed(DigitReceived(digit=event.digit))
        elif isinstance(event, PlaybackStarted | PlaybackFinished):
            pid = event.playback.id
            if pid not in self.played:  # invariant 8
                logger.debug(
                    "call %s: ignored %s of playback %s, which this call's machine did not "
                    "start (or already saw end)",
                    self.label,
                    type(event).__name__,
                    pid,
                )
            elif isinstance(event, PlaybackStarted):
                await self.feed(PromptStarted(playback_id=pid))
            else:
                self.played.discard(pid)
                failed = event.playback.state == "failed"
                await self.feed(
                    PromptFailed(playback_id=pid) if failed else PromptFinished(playback_id=pid),
                    at=self._lost_at() if event.synthetic else None,
                )
        elif isinstance(event, AriRecordingFinished):
            duration = event.recording.duration
            await self.feed(RecordingFinished(name=event.recording.name, duration=duration))
        elif isinstance(event, AriRecordingFailed):
            await self.feed(RecordingFailed(name=event.recording.name, cause=event.recording.cause))
        elif event.channel.id == own:  # hang-up request, StasisEnd, ChannelDestroyed
            if self.machine.state is not CallState.DONE:
                await self.feed(CallerHungUp())
            if not isinstance(event, ChannelHangupRequest):
                await self._drop_transfer()
                self.runner._forget(self)
        elif (
            event.channel.id == self.peer_id
            and self.bridged
            and not isinstance(event, ChannelHangupRequest)
        ):
            # the transferred-to party left: the call is over for the caller too
            self.peer_id = None
            await self._drop_transfer()
            await self.scope.hangup_quietly()

    def _lost_at(self) -> float | None:
        client = self.runner._client
        return None if client is None else client.disconnected_at

    async def feed(self, event: Event, *, at: float | None = None) -> None:
        """Feed one event; ``at``: when it happened, if earlier than now (invariant 9)."""
        now = asyncio.get_running_loop().time()
        if at is not None:
            now = max(min(at, now), self.last_now)
        self.last_now = now
        tap = self.tap
        if tap is not None:
            tap.event(event, now)
        menu = self.machine.menu
        try:
            commands = self.machine.handle(event, now)
        except IvrError as exc:
            self.runner.call_errors += 1
            logger.exception(
                "call %s: engine error; handing the call back to the dialplan", self.label
            )
            if tap is not None:
                tap.error(f"{type(exc).__name__}: {exc}")
            await self.abandon()
            return
        if tap is not None:
            tap.commands(commands, now)
        store = self.runner.store
        if store is not None:
            store.changed(self.scope.channel_id, self.machine.checkpoint)
        elif self.machine.menu != menu and not isinstance(event, CallStarted):
            self.save_before_play = True  # ivr/_handover.py rule 6
        await self.execute(commands)
        self.save_before_play = False
        if store is None:
            if isinstance(event, CallStarted):
                await self._save_checkpoint(fresh=True)  # rule 4: no request
            else:
                self._checkpoint_soon()

    # ---------------------------------------------------------------- takeover

    async def adopt(self) -> CallResumed | None:
        """A call found in Stasis (re-sync): resume it from the checkpoint on its channel.

        Returns the event to start the machine with, or None to start from the top
        (no checkpoint, or one that cannot be resumed; ivr/_handover.py rule 3).
        """
        scope = self.scope
        try:
            text = await scope.client.channels.get_variable(scope.channel_id, CHECKPOINT_VARIABLE)
        except AriError as exc:  # NotFound: not set (nobody served the call yet)
            logger.debug("call %s: no checkpoint to resume (%r)", self.label, exc)
            return None
        if not text:
            return None
        try:
            checkpoint = decode_checkpoint(text, self.machine.call_id)
            machine = CallMachine.resume(
                self.runner.tree, checkpoint, notes=self.runner.observer is not None
            )
        except CheckpointError as exc:
            logger.warning("call %s: can't resume (%s); starting from the top", self.label, exc)
            return None
        self.machine = machine
        self.checkpoint = resume_key(checkpoint)
        # rule 5: the old prompt may still play, and the re-greeting would queue behind it
        old = foreign_prompts(text, machine.call_id)
        await asyncio.gather(*(self._quietly(scope.stop_playback_quietly(p)) for p in old))
        logger.info("call %s: taken over; resuming in menu %s", self.label, machine.menu)
        return CallResumed(wall_clock=self.runner.wall_clock())

    def _checkpoint_soon(self) -> None:
        """Write the checkpoint without holding up the call's next event.

        On Asterisk a variable set runs on the channel's control thread, behind a playing
        prompt (docs/simulator.md, "Ordering"), so it is answered only when the prompt
        ends; awaited here, it would hold the caller's key press until then, and sent
        anyway it would hold one of the client's HTTP connections for the prompt's
        length (at 1,000 calls the pool ran dry: `make bench`, 2026-12-01). So it is
        written only while no prompt of ours plays, when it runs at once; the prompt's
        PlaybackFinished brings the next chance. One writer per call, writing the latest
        state for as long as it keeps changing.
        """
        if self.machine.current_playback is not None:
            return
        writer = self.checkpoint_writer
        if writer is None or writer.done():
            with contextlib.suppress(CallEnded):  # the call ended: nothing to keep
                self.checkpoint_writer = self.scope.spawn(self._write_checkpoints())

    async def _save_before_play(self) -> None:
        """A menu was entered and its greeting is about to start (ivr/_handover.py rule 6):
        write the checkpoint first, or it would wait until that greeting ends, and a
        takeover meanwhile would resume the menu before. The batch's StopPrompt has gone
        out already, so Asterisk answers the variable set as soon as the stopped prompt
        ends; a prompt of a handler's own could hold it longer, so after
        ``_SAVE_BEFORE_PLAY`` the greeting goes out anyway (behind the write, sent first:
        Asterisk runs a channel's commands in order)."""
        self.save_before_play = False
        with contextlib.suppress(CallEnded):
            writer = self.scope.spawn(self._save_checkpoint(held=True))
            await asyncio.wait({writer}, timeout=_SAVE_BEFORE_PLAY)

    async def _write_checkpoints(self) -> None:
        while self.machine.current_playback is None and await self._save_checkpoint():
            pass

    async def _save_checkpoint(self, *, fresh: bool = False, held: bool = False) -> bool:
        """Keep the channel's checkpoint current (ivr/_handover.py rules 1 and 4); True if
        the channel's copy was out of date and has been written. ``held``: the channel's
        thread may still be busy with a stopped prompt, so the write must not travel on
        the shared websocket (``AriRest.request``, ``may_be_held``)."""
        machine = self.machine
        if self.released or machine.state in (CallState.DONE, CallState.ERROR, CallState.IDLE):
            return False
        try:
            checkpoint = machine.checkpoint()
        except IvrError as exc:  # never worth the call: it goes on, unsaved
            logger.warning("call %s: no checkpoint taken: %s", self.label, exc)
            return False
        key = resume_key(checkpoint)
        issued = checkpoint.get("playbacks", 0)
        if key == self.checkpoint and issued < self.checkpoint_issued + PROMPT_WINDOW // 2:
            return False  # rule 5's exception: a count run far past the written one
        self.checkpoint, self.checkpoint_issued = key, issued
        if fresh:
            return False  # rule 4: a start from the top gives the same
        scope = self.scope
        try:
            # in the body, not the query: Asterisk reads at most 4096 bytes of request
            # line (main/http.c MAX_HTTP_LINE_LENGTH) but 40960 of JSON body, and ARI
            # takes a POST's parameters from either (res_ari_channels.c *_parse_body)
            await scope.client.request(
                "POST",
                f"/channels/{quote(scope.channel_id, safe='')}/variable",
                json={"variable": CHECKPOINT_VARIABLE, "value": encode_checkpoint(checkpoint)},
                may_be_held=held,
            )
        except (AriError, CallEnded) as exc:  # the call is leaving; the next change retries
            self.checkpoint = ""
            logger.debug("call %s: checkpoint not saved: %r", self.label, exc)
            return False
        return True

    async def resume(self, checkpoint: Mapping[str, Any]) -> bool:
        """Carry on a call checkpointed elsewhere; False (start afresh) if it cannot be."""
        try:
            machine, previous = resume_machine(
                self.machine.tree,
                checkpoint,
                self.machine.call_id,
                notes=self.runner.observer is not None,
            )
        except CheckpointError as exc:
            logger.warning("call %s: cannot resume (%s); starting it afresh", self.label, exc)
            return False
        self.machine = machine
        if previous is not None:  # still playing from before: the re-greeting goes first
            await self._quietly(self.scope.stop_playback_quietly(previous))
        logger.info("call %s: resumed at menu %s", self.label, checkpoint.get("menu"))
        return True

    # ---------------------------------------------------------------- commands out

    async def execute(self, commands: tuple[Command, ...]) -> None:
        for command in commands:
            if self.released and not isinstance(command, Log):
                continue  # invariant 6
            self.runner.commands_total += 1
            reason = await self._carry_out(command)
            if reason is not None:
                self.runner.command_failures += 1
                await self.feed(CommandFailed(command=command, reason=reason))
                return  # invariant 3

    async def _carry_out(self, command: Command) -> str | None:
        """Do one command; return why it failed if the machine must know, else None."""
        scope = self.scope
        client = scope.client
        try:
            if isinstance(command, PlayPrompt):
                if self.save_before_play:
                    await self._save_before_play()
                self.played.add(command.playback_id)
                await client.channels.play(
                    scope.channel_id, command.media, playback_id=command.playback_id
                )
            elif isinstance(command, Log):
                self.runner.transcript(command.line)
            elif isinstance(command, Note):
                pass  # for observers: the tap has reported it
            elif isinstance(command, StopPrompt):
                # Not awaited: the next prompt's request goes out at once (one round trip
                # to react to a key, not two). Asterisk gives the same result in either
                # order: a play queued behind the prompt starts as soon as it is stopped.
                self._spawn(self._stop_quietly(command.playback_id))
            elif isinstance(command, StartTimer):
                self._start_timer(command)
            elif isinstance(command, CancelTimer):
                timer = self.timers.pop(command.timer_id, None)
                if timer is not None:
                    timer.cancel()
            elif isinstance(command, Answer):
                await scope.answer()
            elif isinstance(command, Hangup):
                await self._quietly(scope.hangup_quietly())
            elif isinstance(command, ContinueInDialplan):
                await self._quietly(
                    scope.continue_in_dialplan(
                        context=command.context,
                        extension=command.extension,
                        priority=command.priority,
                    )
                )
            elif isinstance(command, RunHandler):
                self.handler_task = self._spawn(self._run_handler(command))
            elif isinstance(command, CancelHandler):
                if self.handler_task is not None:
                    self.handler_task.cancel()
            elif isinstance(command, ReportError):
                logger.error("%s (%s)", command.reason, self.label)
            elif isinstance(command, SetLanguage):
                await client.channels.set_variable(
                    scope.channel_id, "CHANNEL(language)", command.language, may_be_held=True
                )
            elif isinstance(command, StartRecording):
                await client.channels.record(
                    scope.channel_id,
                    command.name,
                    format=command.format,
                    max_duration=command.max_duration,
                    max_silence=command.max_silence,
                    if_exists="overwrite",  # a re-recording replaces the take
                    beep=command.beep,
                    terminate_on=command.terminate_on or "none",
                )
            elif isinstance(command, StartMusicOnHold):
                await client.channels.start_moh(scope.channel_id, command.moh_class)
            elif isinstance(command, StopMusicOnHold):
                await self._quietly(client.channels.stop_moh(scope.channel_id))
            elif isinstance(command, StopRecording):
                await self._quietly(client.recordings.stop(command.name))
            elif isinstance(command, RunEndHook):
                self.runner.run_end_hook(command.name, self.handlers, self.machine, scope)
            else:
                assert isinstance(command, Transfer)
                self._spawn(self._transfer(command))
        except (AriError, CallEnded) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None

    async def _quietly(self, request: Any) -> None:
        """Stops, hang-ups and continues: a race with the caller's hang-up is normal."""
        try:
            await request
        except AriError as exc:
            logger.debug("call %s: ignored %r", self.label, exc)

    def _start_timer(self, command: StartTimer) -> None:
        timer_id = command.timer_id
        delay = max(0.0, command.deadline - asyncio.get_running_loop().time())

        async def expire() -> None:
            if self.timers.pop(timer_id, None) is not None:
                await self.feed(TimerExpired(timer_id=timer_id))

        self.timers[timer_id] = self.scope.call_later(delay, expire)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = self.scope.spawn(coro)  # CallEnded (coro closed) once the scope is closed
        self.tasks += 1
        task.add_done_callback(self._task_done)
        return task

    async def _stop_quietly(self, playback_id: str) -> None:
        # the request is made here, not by the caller of _spawn: a coroutine made for a
        # scope that turns out closed would never be awaited
        await self._quietly(self.scope.client.stop_playback_quietly(playback_id))

    def _task_done(self, _: object) -> None:
        self.tasks -= 1

    def _report(self, event: Event) -> None:
        """Queue a result from a task behind the call's pending events (invariant 1)."""
        # if the call ended meanwhile, nobody is waiting for the result
        with contextlib.suppress(CallEnded):
            self.scope.call_later(0, lambda: self.feed(event))

    # ---------------------------------------------------------------- handlers

    async def _run_handler(self, command: RunHandler) -> None:
        """Run the handler; its result (the next step) and the call data it leaves go back
        to the machine, unless the machine gave up on this run meanwhile (its timeout)."""
        machine = self.machine
        run = machine.handler_runs
        handler = self.handlers.get(command.name)
        call = HandlerCall(
            self.scope, data=dict(machine.data), digits=command.digits, menu=machine.menu
        )
        event: Event
        try:
            if handler is None:
                raise LookupError(f"handler {command.name!r} was not resolved")
            result = await handler(call, command.digits)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            # the machine logs the one line (ReportError); the traceback is for debugging
            logger.debug("call %s: handler %s raised", self.label, command.name, exc_info=True)
            self.runner.command_failures += 1
            event = CommandFailed(command=command, reason=repr(exc))
        else:
            event = HandlerFinished(name=command.name, result=result, data=call.data)

        async def deliver() -> None:
            if machine.state is CallState.HANDLER and machine.handler_runs == run:
                await self.feed(event)

        with contextlib.suppress(CallEnded):  # the call ended: nobody wants the result
            self.scope.call_later(0, deliver)

    # ---------------------------------------------------------------- transfer

    async def _transfer(self, command: Transfer) -> None:
        scope = self.scope
        client = scope.client
        peer = client.new_id("ch")
        scope.adopt_channel(peer)
        # the leg either comes up in our app, or ends first (no answer, no such number)
        outcome = scope.expect(
            (StasisStart, StasisEnd, ChannelDestroyed), lambda e: _channel_id(e) == peer
        )
        try:
            bridge = await client.bridges.create()
            scope.adopt_bridge(bridge.id)
            self.bridge_id = bridge.id
            self.peer_id = peer
            await client.channels.originate(
                command.endpoint,
                app=client.config.apps[0],
                app_args=TRANSFER_APP_ARG,
                channel_id=peer,
                caller_id=command.caller_id,
                answer_timeout=max(1, int(command.timeout)),
            )
            async with asyncio.timeout(command.timeout):
                first = await outcome
            if not isinstance(first, StasisStart):
                cause = getattr(first, "cause_txt", "") or type(first).__name__
                raise _TransferFailed(f"{command.endpoint} ended without answering ({cause})")
            await client.bridges.add_channel(bridge.id, [scope.channel_id, peer])
            self.bridged = True
            if self.tap is not None:
                self.tap.transfer_bridged(asyncio.get_running_loop().time())
        except (AriError, CallEnded, TimeoutError, _TransferFailed) as exc:
            await self._drop_transfer()
            if await self._caller_left(exc):
                logger.debug(
                    "call %s: the caller hung up during the transfer (%r)", self.label, exc
                )
                return
            self.runner.command_failures += 1
            if isinstance(exc, TimeoutError):
                reason = f"no answer from {command.endpoint} within {command.timeout:g} s"
            else:
                reason = f"{type(exc).__name__}: {exc}"
            logger.warning(
                "call %s: transfer to %s failed: %s", self.label, command.endpoint, reason
            )
            self._report(CommandFailed(command=command, reason=reason))
        finally:
            outcome.cancel()

    async def _caller_left(self, exc: Exception) -> bool:
        """Whether the transfer failed only because the caller hung up meanwhile.

        A caller who hangs up while the callee answers is an ordinary ending, not a
        failure: Asterisk then answers ``addChannel`` with 400 "Channel not found"
        (res/ari/resource_bridges.c, channels looked up one by one before the bridge
        operation), and the StasisEnd may come after that answer. One GET tells which
        leg is gone; it is sent only on that error.
        """
        if isinstance(exc, CallEnded) or self.scope.closed:
            return True
        if not isinstance(exc, AriHTTPError) or exc.status not in (400, 404, 422):
            return False
        try:
            await self.scope.client.channels.get(self.scope.channel_id)
        except CallEnded:
            return True
        except AriHTTPError as probe:
            return probe.status == 404
        except AriError:
            return False
        return False

    async def _drop_transfer(self) -> None:
        client = self.scope.client
        peer, bridge, self.peer_id, self.bridge_id = self.peer_id, self.bridge_id, None, None
        self.bridged = False
        if peer is not None:
            await self._quietly(client.hangup_quietly(peer))
        if bridge is not None:
            await self._quietly(client.bridges.destroy(bridge))

    # ---------------------------------------------------------------- endings

    async def abandon(self) -> None:
        """The machine failed (invariant 5): stop this call's work, hand it back.

        The caller is not hung up: the dialplan decides (``IVRKIT_HANDBACK=error``).
        """
        if self.released:
            return
        self.released = True
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        try:
            async with asyncio.timeout(_CLEANUP_TIMEOUT):
                await self._stop_prompts()
                await self._drop_transfer()
                await _hand_back(self.scope, "error")
        except TimeoutError:
            logger.warning(
                "call %s: no answer from Asterisk within %g s while handing the call back",
                self.label,
                _CLEANUP_TIMEOUT,
            )

    async def _stop_prompts(self) -> None:
        """Stop every playback of the call, the machine's and the handlers' own alike:
        on Asterisk, what follows (a variable set, the continue) waits behind them."""
        playing = set(self.scope.playbacks)
        if self.machine.current_playback is not None:
            playing.add(self.machine.current_playback)
        client = self.scope.client
        await asyncio.gather(*(self._quietly(client.stop_playback_quietly(p)) for p in playing))

    async def release(self, reason: str = "stop") -> None:
        """Shutdown: stop what plays, cancel timers, continue the call in the dialplan.

        Marked released first (invariant 6). The machine then learns that the call left
        without its asking (CallerHungUp), which writes the transcript's last line.
        """
        if self.released:
            self.runner._forget(self)
            return
        self.released = True
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        if self.tap is not None:
            self.tap.released()
        try:
            async with asyncio.timeout(_CLEANUP_TIMEOUT):
                await self._stop_prompts()
                await self._drop_transfer()
                await _hand_back(self.scope, reason)
        except TimeoutError:  # Asterisk unreachable: the call stays in Stasis, for the next
            logger.warning(  # process to take over (invariant 8)
                "call %s: no answer from Asterisk within %g s while handing the call back",
                self.label,
                _CLEANUP_TIMEOUT,
            )
        if self.machine.state is not CallState.DONE:
            await self.feed(CallerHungUp())
        self.runner._forget(self)


__all__ = [
    "HANDBACK_VARIABLE",
    "TRANSFER_APP_ARG",
    "CallStore",
    "MenuRunner",
    "RunnerStatistics",
    "previous_prompt",
]
