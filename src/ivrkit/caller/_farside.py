"""What the caller can see of the far side of its Local channel, recorded as it happens.

Theory of operation
-------------------
``ivrkit call`` originates ``Local/EXTEN@CONTEXT`` into its own app with two ids it
chose: ``one`` (``;1``, enters our app when answered) and ``two`` (``;2``, runs the
dialplan into the IVR). Asterisk subscribes the originating app to *both* halves of a
Local channel (the driver of ../shared/asterisk-traces received ``;2``'s
ChannelDtmfReceived, PlaybackStarted/Finished and hang-up events without any
``POST /applications/{app}/subscription``; the simulator does the same), so the IVR's
prompts arrive as ``PlaybackStarted``/``PlaybackContinuing``/``PlaybackFinished`` with
``target_uri == "channel:<two>"``.

:class:`FarSide` is fed every event (``feed`` is synchronous, stamped with the loop
clock) and answers the runner's waits. Events of ``two`` are never routed to a call
scope of our client (``two`` is in Stasis of *another* app), so they all come through
the application pump, in Asterisk's order.

Invariants:
1. A playback item is one :class:`MediaRecord`; a media list gives one record per item
   (``PlaybackContinuing`` ends one and starts the next).
2. Whether a prompt was cut off is not in ARI (a stopped playback finishes ``done``,
   like a complete one); it is inferred at report time, see ``_report.outcome``.
3. Waiters are re-checked after every fed event; none is left when the call has ended
   (``ended``: the far half's or our half's ``ChannelDestroyed``, or ``ApplicationReplaced``:
   another client took our app name, so no further event of this call will come).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass

from ivrkit.ari import (
    ApplicationReplaced,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Event,
    PlaybackContinuing,
    PlaybackFinished,
    PlaybackStarted,
    StasisStart,
)


@dataclass(slots=True)
class MediaRecord:
    """One media item the far side played on its channel (loop-clock seconds)."""

    playback_id: str
    media_uri: str
    start: float
    end: float | None = None
    state: str = ""  # PlaybackFinished state: "done" or "failed"; "" while playing


@dataclass(frozen=True, slots=True)
class Destroyed:
    at: float
    cause: int
    cause_txt: str


class CallOver(Exception):
    """The call ended before what a step waits for happened."""


class FarSide:
    """The record of one call, fed with events; see the module docstring."""

    def __init__(self, one: str, two: str, now: Callable[[], float]) -> None:
        self.one = one
        self.two = two
        self._now = now
        self.media: list[MediaRecord] = []
        self._playing: dict[str, MediaRecord] = {}
        self.answered_at: float | None = None
        #: (digit, time) of each ChannelDtmfReceived on the far half
        self.keys_received: list[tuple[str, float]] = []
        #: first ChannelHangupRequest or ChannelDestroyed on either half
        self.hangup_seen_at: float | None = None
        self.destroyed: dict[str, Destroyed] = {}
        #: why events stopped coming although the call may go on (None while they come)
        self.lost: str | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # -- recording ---------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """The call is over, or we can no longer see it (``lost``): waits give up."""
        return bool(self.destroyed) or self.lost is not None

    @property
    def playing(self) -> bool:
        return bool(self._playing)

    def feed(self, event: Event) -> None:
        now = self._now()
        if isinstance(event, (PlaybackStarted, PlaybackContinuing, PlaybackFinished)):
            self._playback(event, now)
        elif isinstance(event, ChannelDtmfReceived):
            if event.channel.id == self.two:
                self.keys_received.append((event.digit, now))
        elif isinstance(event, ApplicationReplaced):
            self.lost = (
                f"another client connected as ARI app {event.application!r} and took this "
                "call's events; give each concurrent caller its own --app"
            )
        elif isinstance(event, StasisStart):
            if event.channel.id == self.one and self.answered_at is None:
                self.answered_at = now
        elif isinstance(event, (ChannelHangupRequest, ChannelDestroyed)):
            cid = event.channel.id
            if cid in (self.one, self.two):
                if self.hangup_seen_at is None:
                    self.hangup_seen_at = now
                if isinstance(event, ChannelDestroyed) and cid not in self.destroyed:
                    self.destroyed[cid] = Destroyed(now, event.cause, event.cause_txt)
        else:
            return
        self._check()

    def _playback(
        self, event: PlaybackStarted | PlaybackContinuing | PlaybackFinished, now: float
    ) -> None:
        pb = event.playback
        if pb.target_uri != f"channel:{self.two}":
            return
        current = self._playing.get(pb.id)
        if isinstance(event, PlaybackStarted):
            if current is not None and current.media_uri == pb.media_uri:
                return  # a repeat (e.g. after unpause): the same item goes on
            if current is not None:
                self._end(current, now, "done")
            self._start(pb.id, pb.media_uri, now)
        elif isinstance(event, PlaybackContinuing):
            if current is not None:
                self._end(current, now, "done")
            if pb.next_media_uri:
                self._start(pb.id, pb.next_media_uri, now)
        else:
            if current is None:
                # finished without a start we saw (e.g. a queued playback that was
                # stopped before it played): nothing was heard
                return
            self._end(current, now, pb.state or "done")

    def _start(self, playback_id: str, media_uri: str, now: float) -> None:
        record = MediaRecord(playback_id, media_uri, now)
        self.media.append(record)
        self._playing[playback_id] = record

    def _end(self, record: MediaRecord, now: float, state: str) -> None:
        record.end, record.state = now, state
        self._playing.pop(record.playback_id, None)

    # -- waiting -----------------------------------------------------------------

    def _check(self) -> None:
        still = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            if predicate():
                future.set_result(None)
            else:
                still.append((predicate, future))
        self._waiters = still

    async def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Until ``predicate()`` holds after some event (bound it with a timeout)."""
        if predicate():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            await future
        finally:
            future.cancel()

    async def wait_ended(self, index: int) -> MediaRecord:
        """Until record ``index`` has ended (or the call has: its end is then unknown)."""
        record = self.media[index]
        await self.wait_until(lambda: self.ended or record.end is not None)
        return record

    async def wait_keys(self, count: int) -> None:
        """Until the far half has received ``count`` keys in all."""
        await self.wait_until(lambda: self.ended or len(self.keys_received) >= count)
        if len(self.keys_received) < count:
            raise CallOver(self.lost or "the call ended before the far side received every key")

    async def wait_answered(self) -> None:
        await self.wait_until(lambda: self.ended or self.answered_at is not None)
        if self.answered_at is None:
            raise CallOver(self.lost or "the call ended before it was answered")

    async def wait_ended_call(self) -> None:
        await self.wait_until(lambda: self.ended)
        if not self.destroyed:
            raise CallOver(self.lost or "the call did not end")

    def _started_since(self, count: int) -> bool:
        return len(self.media) > count or self.ended

    async def wait_quiet(self, settle: float) -> float:
        """Until nothing has played for ``settle`` s; returns when the last prompt ended.

        Two prompts in a row leave a gap of a few milliseconds between PlaybackFinished
        and the next PlaybackStarted (an app posts the next play when the previous one
        finishes), so "quiet" is only believed after ``settle`` seconds of it.
        """
        loop = asyncio.get_running_loop()
        while True:
            await self.wait_until(lambda: self.ended or not self._playing)
            if self._playing and not self.ended:
                continue  # the next prompt started before we resumed
            ends = [m.end for m in self.media if m.end is not None]
            quiet_since = max(ends) if ends else loop.time()
            if self.ended:
                return quiet_since
            count = len(self.media)
            try:
                async with asyncio.timeout(max(0.0, quiet_since + settle - loop.time())):
                    await self.wait_until(functools.partial(self._started_since, count))
            except TimeoutError:
                return quiet_since
            if self.ended:
                return quiet_since
