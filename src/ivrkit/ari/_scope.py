"""Ordered event pumps: the per-call scope and the application-wide pump.

Theory of operation
-------------------
A :class:`Pump` owns one FIFO of work items (events and fired timers), one consumer task
that runs them one at a time, and everything registered on it: handlers, timers and
spawned tasks. A :class:`CallScope` is the pump of one call (one Stasis channel plus any
channels/bridges it adopts); the client also keeps one application pump for events that
belong to no call (and for the connection signals).

Invariants:
1. Items of one pump run in arrival order, one at a time, in its consumer task; a
   handler registered while handling event N sees event N+1.
2. A handler or timer that raises is logged with the call's channel id and the pump goes
   on; a slow one delays only its own call (each call has its own consumer task).
3. When a call's scope closes (StasisEnd or ChannelDestroyed of its main channel, or the
   client closing), its timers are cancelled, its spawned tasks are cancelled and
   awaited, its handlers are dropped, its waiters fail with :class:`CallEnded`, and its
   routes are removed: nothing of the call outlives it (``statistics()`` counts them).
4. Timers do not call back from the loop directly: a due timer is queued like an event,
   so timer callbacks and event handlers of one call never interleave.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from ivrkit.ari._digits import DigitBuffer, Gathered, gather
from ivrkit.ari._events import ChannelDtmfReceived, Event, PlaybackFinished, StasisStart
from ivrkit.ari._exceptions import AriError
from ivrkit.ari._models import Channel, Playback
from ivrkit.ari._rest import AriRest

logger = logging.getLogger("ivrkit.ari")

E = TypeVar("E", bound=Event)
T = TypeVar("T")
Handler = Callable[[E], Awaitable[None] | None]

# how long closing a scope waits for its cancelled tasks to finish their cleanup
_TASK_CLEANUP_TIMEOUT = 5.0


class CallEnded(AriError):
    """The call ended (or the client closed) while something was waiting on it."""


class Routes(Protocol):
    """What a call scope needs from whoever routes events to it (the dispatcher).

    A scope asks for routes and says when it is closed; it never sees the routing
    tables, so this module does not import the dispatcher.
    """

    def route_channel(self, scope: CallScope, channel_id: str) -> None: ...

    def route_bridge(self, scope: CallScope, bridge_id: str) -> None: ...

    def forget(self, scope: CallScope) -> None: ...

    def is_terminal(self, scope: CallScope, event: Event) -> bool: ...


class Subscription:
    """A registered handler; ``cancel()`` removes it (idempotent)."""

    __slots__ = ("_pump", "handler", "types")

    def __init__(
        self, pump: Pump, types: tuple[type[Event], ...], handler: Callable[[Any], Any]
    ) -> None:
        self._pump = pump
        self.types = types
        self.handler = handler

    def cancel(self) -> None:
        handlers = self._pump._handlers
        if self in handlers:
            handlers.remove(self)


class Timer:
    """A timer owned by a pump; its callback runs in the pump's consumer, in order."""

    __slots__ = ("_callback", "_handle", "_pump", "cancelled", "fired")

    def __init__(self, pump: Pump, callback: Callable[[], Awaitable[None] | None]) -> None:
        self._pump = pump
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None
        self.cancelled = False
        self.fired = False

    def cancel(self) -> None:
        """Stop the timer; it is a no-op once the callback has run (idempotent)."""
        if self.cancelled or self.fired:
            return
        self.cancelled = True
        if self._handle is not None:
            self._handle.cancel()
        self._pump._timers.discard(self)

    def _due(self) -> None:
        if self.cancelled:
            return
        self._pump._timers.discard(self)
        self._pump._put(self)

    async def _run(self) -> None:
        if self.cancelled:
            return
        self.fired = True
        result = self._callback()
        if inspect.iscoroutine(result):
            await result


class _Waiter:
    __slots__ = ("future", "predicate", "types")

    def __init__(
        self,
        types: tuple[type[Event], ...],
        predicate: Callable[[Any], bool] | None,
        future: asyncio.Future[Any],
    ) -> None:
        self.types = types
        self.predicate = predicate
        self.future = future


def _as_types(types: type[E] | tuple[type[E], ...]) -> tuple[type[Event], ...]:
    return types if isinstance(types, tuple) else (types,)


class Pump:
    """An ordered work queue with its own consumer task; see the module docstring."""

    label = "application"

    def __init__(self) -> None:
        self._items: deque[Event | Timer] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._handlers: list[Subscription] = []
        self._waiters: list[_Waiter] = []
        self._timers: set[Timer] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._consumer: asyncio.Task[None] | None = None
        self.closed = False

    # -- registration -------------------------------------------------------------

    def on(self, types: type[E] | tuple[type[E], ...], handler: Handler[E]) -> Subscription:
        """Call ``handler(event)`` (sync or async) for each later event of ``types``."""
        self._check_open()
        sub = Subscription(self, _as_types(types), handler)
        self._handlers.append(sub)
        return sub

    def call_later(self, delay: float, callback: Callable[[], Awaitable[None] | None]) -> Timer:
        """Run ``callback()`` in this pump's order after ``delay`` seconds (loop clock)."""
        self._check_open()
        timer = Timer(self, callback)
        timer._handle = asyncio.get_running_loop().call_later(delay, timer._due)
        self._timers.add(timer)
        return timer

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task owned by this pump: cancelled and awaited when it closes."""
        if self.closed:
            coro.close()
            self._check_open()
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def expect(
        self,
        types: type[E] | tuple[type[E], ...],
        predicate: Callable[[E], bool] | None = None,
    ) -> asyncio.Future[E]:
        """A future for the next event of ``types`` (matching ``predicate``), armed now.

        Arm it *before* the request that causes the event, then await it. It fails with
        :class:`CallEnded` if the scope closes first; cancel it to stop waiting.
        """
        self._check_open()
        future: asyncio.Future[E] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(_as_types(types), predicate, future)
        self._waiters.append(waiter)

        def _disarm(_: asyncio.Future[E]) -> None:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

        future.add_done_callback(_disarm)
        return future

    async def wait_for(
        self,
        types: type[E] | tuple[type[E], ...],
        predicate: Callable[[E], bool] | None = None,
    ) -> E:
        """The next event of ``types`` (matching ``predicate``) that arrives after this call.

        Raises :class:`CallEnded` if the scope closes first; bound it with
        ``asyncio.timeout``. Don't await this inside a handler of the same pump: the
        handler blocks the very consumer that would deliver the event. Await it from a
        spawned task instead.
        """
        future = self.expect(types, predicate)
        try:
            return await future
        finally:
            future.cancel()

    def statistics(self) -> dict[str, int]:
        return {
            "handlers": len(self._handlers) + len(self._waiters),
            "tasks": len(self._tasks) + (0 if self._consumer is None else 1),
            "timers": len(self._timers),
            "queued": len(self._items),
        }

    # -- consumer -------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise CallEnded(f"{self.label} is closed")

    def _start(self) -> None:
        self._consumer = asyncio.get_running_loop().create_task(self._consume())

    def _put(self, item: Event | Timer) -> None:
        self._items.append(item)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def _consume(self) -> None:
        items = self._items
        loop = asyncio.get_running_loop()
        try:
            await self._opening()
            while not self.closed:
                if not items:
                    self._wakeup = loop.create_future()
                    await self._wakeup
                    self._wakeup = None
                    continue
                item = items.popleft()
                if isinstance(item, Timer):
                    await self._guard(item._run, what="timer")
                else:
                    self._filing(item)
                    await self._deliver(item)
                    if self._is_terminal(item):
                        break
        finally:
            self._consumer = None
            await self._close()

    # Hooks for subclasses. Hot path: one event is one coroutine (``_deliver``) however
    # deep the class tree, so what a subclass adds per event is a plain call.

    async def _opening(self) -> None:
        """Runs in the consumer before its first item."""

    def _filing(self, event: Event) -> None:
        """Called with each event before its handlers run."""

    async def _deliver(self, event: Event) -> None:
        # hot path: no coroutine per handler unless the handler itself is async
        handlers = self._handlers
        for sub in tuple(handlers):
            if isinstance(event, sub.types) and sub in handlers:
                try:
                    result = sub.handler(event)
                    if result is not None and inspect.iscoroutine(result):
                        await result
                except Exception:
                    logger.exception("%s handler failed for %s", type(event).__name__, self.label)
        if self._waiters:
            for waiter in tuple(self._waiters):
                if isinstance(event, waiter.types) and not waiter.future.done():
                    try:
                        ok = waiter.predicate is None or waiter.predicate(event)
                    except Exception as exc:
                        waiter.future.set_exception(exc)
                        continue
                    if ok:
                        waiter.future.set_result(event)

    async def _guard(self, fn: Callable[..., Any], *args: Any, what: str) -> None:
        try:
            result = fn(*args)
            # only coroutines are awaited: a lambda returning e.g. ``scope.spawn(...)``'s
            # task must not make the consumer wait for work that needs the consumer
            if inspect.iscoroutine(result):
                await result
        except Exception:
            logger.exception("%s handler failed for %s", what, self.label)

    def _is_terminal(self, event: Event) -> bool:
        return False

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error(
                "task %s of %s failed", task.get_name(), self.label, exc_info=task.exception()
            )

    async def _close(self) -> None:
        """Tear everything down (invariant 3); safe to call more than once."""
        if self.closed and not (self._timers or self._tasks or self._handlers or self._waiters):
            return
        self.closed = True
        for timer in tuple(self._timers):
            timer.cancel()
        self._items.clear()
        self._handlers.clear()
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(CallEnded(f"{self.label} ended"))
        self._waiters.clear()
        self._on_closed()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            try:
                async with asyncio.timeout(_TASK_CLEANUP_TIMEOUT):
                    await asyncio.gather(*tasks, return_exceptions=True)
            except TimeoutError:
                logger.error("%s: %d task(s) ignored cancellation", self.label, len(tasks))

    def _on_closed(self) -> None:
        """Hook for subclasses: unregister routes."""

    async def aclose(self) -> None:
        """Close from outside (client shutdown): stop the consumer, then tear down."""
        consumer = self._consumer
        if consumer is not None and consumer is not asyncio.current_task():
            consumer.cancel()
            # wait() never raises the consumer's CancelledError into us, so a caller
            # that is itself being cancelled still finishes the teardown
            await asyncio.wait({consumer})
        await self._close()


class CallScope(Pump):
    """Everything of one call: its events in order, handlers, timers, tasks, playbacks.

    Created by the client when a channel enters Stasis (``StasisStart``); closed after
    the StasisEnd or ChannelDestroyed of ``channel_id`` has been handled. Extra channels
    and bridges (a transfer's outgoing leg and its bridge) can be routed here with
    :meth:`adopt_channel`/:meth:`adopt_bridge` before they are created.
    """

    def __init__(self, client: AriRest, dispatcher: Routes, start: StasisStart) -> None:
        super().__init__()
        # the REST surface of the client that owns the call (an AriClient at run time)
        self.client = client
        # the latest snapshot of the main channel seen in any event (routing order)
        self.channel: Channel = start.channel
        self.channel_id: str = start.channel.id
        self.start_event = start
        # log lines name the call both ways: the id (ARI, the journey) and the channel's
        # name (the transcript, Asterisk's own log)
        self.label = f"channel {self.channel_id} ({start.channel.name})"
        self._dispatcher = dispatcher
        self.channel_ids: set[str] = {self.channel_id}
        self.bridge_ids: set[str] = set()
        # playbacks believed to be queued or playing (reconciled after a reconnect)
        self.playbacks: dict[str, Playback] = {}
        # playback ids given a synthetic PlaybackFinished; the real one, if late, is dropped
        self.synthesized_finished: set[str] = set()
        # every key of the main channel, in order, until read (ivrkit.ari._digits)
        self.digits = DigitBuffer(lambda: CallEnded(f"{self.label} ended"))

    def __repr__(self) -> str:
        return f"<CallScope {self.channel_id} closed={self.closed}>"

    def _is_terminal(self, event: Event) -> bool:
        return self._dispatcher.is_terminal(self, event)

    def _on_closed(self) -> None:
        self.digits.close()
        self._dispatcher.forget(self)

    def _filing(self, event: Event) -> None:
        # filed before any handler runs, so a handler's own reads see the key too
        if type(event) is ChannelDtmfReceived and event.channel.id == self.channel_id:
            self.digits.put(event.digit)

    # -- keys ------------------------------------------------------------------------

    async def next_digit(self) -> str:
        """The oldest key not yet read (pressed at any time since the call began).

        Waits for one if none is unread (bound it with ``asyncio.timeout``); raises
        CallEnded once the call has ended.
        """
        return await self.digits.get()

    async def gather(
        self,
        max_digits: int,
        terminator: str = "#",
        first_timeout: float = 5.0,
        inter_timeout: float = 3.0,
        *,
        prompt: str | Sequence[str] | None = None,
        interrupt: bool = True,
    ) -> Gathered:
        """Play ``prompt`` and collect up to ``max_digits`` keys, as Asterisk's Read() does.

        Keys typed ahead (unread in :attr:`digits`) count first. ``prompt`` is one media
        URI or several played in turn; with ``interrupt`` a key stops it (and skips the
        rest; a prompt is not started at all when keys are already waiting), without it
        the prompts play out and keys pressed meanwhile still count. The timers start
        when the prompts end: ``first_timeout`` for the first key, ``inter_timeout``
        after each one. ``terminator`` keys (``""`` for none) end the input and are not
        part of it. Returns :class:`Gathered` (``digits``, ``ended_by``); raises
        CallEnded if the call ends meanwhile. Like ``wait_for``, await it from a task
        (``spawn``), never inside a handler of this call.
        """
        return await gather(
            self, max_digits, terminator, first_timeout, inter_timeout, prompt, interrupt
        )

    # -- routing ---------------------------------------------------------------------

    def adopt_channel(self, channel_id: str) -> None:
        """Route ``channel_id``'s events to this call (e.g. before originating it)."""
        self._check_open()
        self._dispatcher.route_channel(self, channel_id)

    def adopt_bridge(self, bridge_id: str) -> None:
        """Route ``bridge_id``'s events (and its playbacks) to this call."""
        self._check_open()
        self._dispatcher.route_bridge(self, bridge_id)

    # -- handle-style conveniences (strict ARI semantics stay in client.channels) ------

    def new_id(self, kind: str = "pb") -> str:
        return self.client.new_id(kind)

    async def answer(self) -> None:
        await self.client.channels.answer(self.channel_id)

    async def play(
        self, media: str, *, playback_id: str | None = None, lang: str | None = None
    ) -> Playback:
        """Play on this call's channel; the id is chosen here, before the request."""
        return await self.client.channels.play(
            self.channel_id, media, playback_id=playback_id, lang=lang
        )

    async def play_and_wait(
        self, media: str, *, playback_id: str | None = None, lang: str | None = None
    ) -> PlaybackFinished:
        """Play and return its PlaybackFinished (``playback.state`` says how it ended)."""
        pid = playback_id or self.client.new_id("pb")
        finished = self.expect(PlaybackFinished, lambda e: e.playback.id == pid)
        try:
            await self.play(media, playback_id=pid, lang=lang)
            return await finished
        finally:
            finished.cancel()

    async def stop_playback_quietly(self, playback_id: str) -> bool:
        return await self.client.stop_playback_quietly(playback_id)

    async def hangup_quietly(self, reason: str | None = None) -> bool:
        return await self.client.hangup_quietly(self.channel_id, reason=reason)

    async def continue_in_dialplan(
        self,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        await self.client.channels.continue_in_dialplan(
            self.channel_id, context=context, extension=extension, priority=priority, label=label
        )

    async def wait_closed(self) -> None:
        """Return once the scope has been torn down."""
        consumer = self._consumer
        if consumer is not None:
            await asyncio.wait({consumer})
