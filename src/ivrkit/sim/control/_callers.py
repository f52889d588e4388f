"""Simulated phones: a :class:`Caller` on one channel records what it heard and acts.

Made by ``Simulator.call``; it observes its channel through the model's
``ChannelObserver`` hooks and acts through the model's caller operations (press keys,
hang up). Nothing here starts a thread; timers are the loop's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from ivrkit.sim.model._model import Channel, SimModel


class SimulatorError(RuntimeError):
    """Misuse of the simulator API (not started, closed, unknown caller...)."""


@dataclass(slots=True)
class Heard:
    """One media item the caller heard: loop-clock start/end, cut off or not."""

    media_uri: str
    start: float
    end: float | None = None
    cut_off: bool = False


class Caller:
    """A simulated phone on one channel (made by :meth:`Simulator.call`)."""

    __test__ = False

    def __init__(self, model: SimModel) -> None:
        self._model = model
        self._channel: Channel | None = None
        self.heard: list[Heard] = []
        #: DTMF digits the application sent to this phone (``POST /channels/{id}/dtmf``)
        self.digits_heard: list[str] = []
        #: indications that reached the phone: (what, loop time); ``ringing``,
        #: ``progress``, ``hold``, ``unhold``, ``connected:PJSIP/bob-00000002``,
        #: ``transfer:PJSIP/bob``
        self.indications: list[tuple[str, float]] = []
        self._consumed: dict[str, int] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._destroyed = False
        self._timers: list[asyncio.TimerHandle] = []
        #: when the phone dialled, on the loop clock (``heard`` times minus this are
        #: seconds since the call started, as ``ivrkit sim --script`` prints them)
        self.started_at = asyncio.get_running_loop().time()
        #: when the channel was destroyed (either side), on the loop clock
        self.ended_at: float | None = None

    # -- identity
    @property
    def channel(self) -> Channel:
        if self._channel is None:
            raise SimulatorError("caller has no channel yet")
        return self._channel

    @property
    def channel_id(self) -> str:
        return self.channel.id

    @property
    def channel_name(self) -> str:
        return self.channel.name

    @property
    def hung_up(self) -> bool:
        """True once the channel has been destroyed (by either side)."""
        return self._destroyed

    # -- observer hooks (called by the model, synchronously)
    def media_started(self, uri: str, now: float) -> None:
        self.heard.append(Heard(uri, now))
        self._check()

    def media_ended(self, uri: str, now: float, cut_off: bool) -> None:
        for item in reversed(self.heard):
            if item.media_uri == uri and item.end is None:
                item.end = now
                item.cut_off = cut_off
                break
        self._check()

    def dtmf_heard(self, digit: str, now: float) -> None:
        self.digits_heard.append(digit)
        self._check()

    def indicated(self, what: str, now: float) -> None:
        self.indications.append((what, now))
        self._check()

    def destroyed(self, now: float) -> None:
        self._destroyed = True
        self.ended_at = now
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._check()

    def _check(self) -> None:
        still: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                still.append((predicate, fut))
        self._waiters = still

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds; it is re-checked whenever the phone hears or sees
        something (a playback starts or ends, a key, the hang-up)."""
        await self._wait(predicate)

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        await fut

    # -- actions
    async def wait_for_playback(self, media: str) -> Heard:
        """Until a playback of ``media`` starts on this channel (each start is used once).

        Raises :class:`SimulatorError` if the call ends first.
        """

        def started() -> bool:
            seen = sum(1 for h in self.heard if h.media_uri == media)
            return seen > self._consumed.get(media, 0) or self._destroyed

        await self._wait(started)
        index = self._consumed.get(media, 0)
        matches = [h for h in self.heard if h.media_uri == media]
        if len(matches) <= index:
            raise SimulatorError(
                f"call {self._channel.id if self._channel else '?'} ended before {media} "
                f"was played (heard: {[h.media_uri for h in self.heard]})"
            )
        self._consumed[media] = index + 1
        return matches[index]

    async def press(self, digits: str, duration_ms: int = 100, between_ms: int = 100) -> None:
        """Press keys; returns when the last ``ChannelDtmfReceived`` has been sent."""
        if self._destroyed:
            raise SimulatorError(f"can't press {digits!r}: call {self.channel_id} has ended")
        done_at = self._model.caller_presses(self.channel, digits, duration_ms, between_ms)
        delay = done_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def speak(self, seconds: float) -> None:
        """Talk for ``seconds`` (no audio content: only a recording's silence detection
        hears it); returns when the phone is quiet again."""
        if self._destroyed:
            raise SimulatorError(f"can't speak: call {self.channel_id} has ended")
        done_at = self._model.caller_speaks(self.channel, seconds)
        delay = done_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def hangup(self) -> None:
        """The caller hangs up (ChannelHangupRequest cause 16, StasisEnd...)."""
        self._model.caller_hangs_up(self.channel)

    def hangup_nowait(self, after: float = 0.0) -> None:
        """Hang up now or ``after`` seconds later (used by ``sim.faults.hang_up``)."""
        if after <= 0:
            self._model.caller_hangs_up(self.channel)
            return
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(after, self._model.caller_hangs_up, self.channel))

    async def wait_for_hangup(self) -> None:
        """Until the channel is destroyed (whoever hung up)."""
        await self._wait(lambda: self._destroyed)

    async def wait_until_heard(self, media: str) -> Heard:
        """Until a playback of ``media`` has *finished* (naturally or cut off)."""
        await self._wait(
            lambda: (
                self._destroyed
                or any(h.media_uri == media and h.end is not None for h in self.heard)
            )
        )
        for h in self.heard:
            if h.media_uri == media and h.end is not None:
                return h
        raise SimulatorError(f"call ended before {media} was heard to its end")
