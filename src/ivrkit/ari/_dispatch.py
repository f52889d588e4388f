"""Routing: which pump (call scope or the application pump) an event belongs to.

Theory of operation
-------------------
``feed(event)`` is synchronous and cheap: it finds the owner of the event and appends it
to that owner's queue; the owner's consumer task runs the handlers later (see
``_scope``). Ownership is kept in flat dicts keyed by id:

* channel id → scope: the Stasis channel itself plus channels a call adopted;
* bridge id → scope: bridges a call adopted (transfers);
* playback id → scope: playbacks started through the client (registered *before* the
  POST, with the client-chosen id) or first seen in a PlaybackStarted for a routed
  target (``target_uri`` is ``channel:<id>`` or ``bridge:<id>``).

Invariants:
1. A StasisStart for a channel no scope owns creates a new scope; it is the first item
   in that scope's queue, and the ``on_call`` setups run before its handlers.
2. The terminal event of a call (StasisEnd or ChannelDestroyed of its main channel)
   unroutes the scope at once, so a channel that re-enters Stasis gets a fresh scope,
   and later events for the old call go to the application pump.
3. A PlaybackFinished removes the playback from its scope's "believed playing" set; one
   that the client already synthesised after a reconnect is dropped, never delivered
   twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ivrkit import speedups
from ivrkit.ari._events import (
    BridgeCreated,
    BridgeDestroyed,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    ChannelVarset,
    Dial,
    Event,
    PlaybackContinuing,
    PlaybackFinished,
    PlaybackStarted,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    decode_event,
)
from ivrkit.ari._models import Playback
from ivrkit.ari._rest import AriRest
from ivrkit.ari._scope import CallScope, Pump

logger = logging.getLogger("ivrkit.ari")

CallSetup = Callable[[CallScope, StasisStart], Awaitable[None] | None]

_CHANNEL_EVENTS = (
    StasisEnd,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    ChannelDestroyed,
    ChannelStateChange,
)


class _SetupScope(CallScope):
    """A CallScope that runs the client's ``on_call`` setups before its first event."""

    def __init__(self, client: AriRest, dispatcher: Dispatcher, start: StasisStart) -> None:
        super().__init__(client, dispatcher, start)
        self._setups = dispatcher.call_setups

    async def _opening(self) -> None:
        # the start event is the scope's first item (Dispatcher._new_scope): the setups
        # run before it reaches any handler, so those they register see it
        for setup in tuple(self._setups):
            await self._guard(setup, self, self.start_event, what="on_call")


class Dispatcher:
    """Owns every scope and the application pump; see the module docstring."""

    def __init__(self, client: AriRest) -> None:
        self._client = client
        self.app = Pump()
        self.scopes: dict[str, CallScope] = {}
        self.call_setups: list[CallSetup] = []
        self._channels: dict[str, CallScope] = {}
        self._bridges: dict[str, CallScope] = {}
        self._playbacks: dict[str, CallScope] = {}
        self.events_seen = 0
        # every scope whose consumer has not finished yet (a closing scope still counts)
        self._all: set[CallScope] = set()
        self._no_calls: asyncio.Event | None = None  # set when _all empties (wait_no_calls)

    def start(self) -> None:
        self.app._start()

    async def aclose(self) -> None:
        await self.close_scopes()
        await self.app.aclose()

    async def close_scopes(self) -> None:
        """Close every call scope (including closing ones); the application pump stays."""
        for scope in tuple(self._all):
            await scope.aclose()

    # -- routes ------------------------------------------------------------------------

    def route_channel(self, scope: CallScope, channel_id: str) -> None:
        scope.channel_ids.add(channel_id)
        self._channels[channel_id] = scope

    def route_bridge(self, scope: CallScope, bridge_id: str) -> None:
        scope.bridge_ids.add(bridge_id)
        self._bridges[bridge_id] = scope

    def forget(self, scope: CallScope) -> None:
        """Remove every route to ``scope`` (idempotent)."""
        for cid in scope.channel_ids:
            if self._channels.get(cid) is scope:
                del self._channels[cid]
        for bid in scope.bridge_ids:
            if self._bridges.get(bid) is scope:
                del self._bridges[bid]
        for pid in scope.playbacks:
            if self._playbacks.get(pid) is scope:
                del self._playbacks[pid]
        scope.playbacks.clear()
        scope.synthesized_finished.clear()
        if self.scopes.get(scope.channel_id) is scope:
            del self.scopes[scope.channel_id]

    def is_terminal(self, scope: CallScope, event: Event) -> bool:
        return (
            isinstance(event, (StasisEnd, ChannelDestroyed))
            and event.channel.id == scope.channel_id
        )

    def scope_for_channel(self, channel_id: str) -> CallScope | None:
        return self._channels.get(channel_id)

    def track_playback(self, target_uri: str, playback_id: str, media: str) -> None:
        """Note a playback about to be requested, so its events find their call."""
        kind, _, ident = target_uri.partition(":")
        scope = (self._channels if kind == "channel" else self._bridges).get(ident)
        if scope is not None:
            scope.playbacks[playback_id] = Playback(
                id=playback_id, media_uri=media, target_uri=target_uri, state="queued"
            )
            self._playbacks[playback_id] = scope

    def untrack_playback(self, playback_id: str) -> None:
        scope = self._playbacks.pop(playback_id, None)
        if scope is not None:
            scope.playbacks.pop(playback_id, None)

    def playing(self) -> list[tuple[CallScope, Playback]]:
        """Every (scope, playback) the client believes is queued or playing."""
        return [(s, p) for s in self.scopes.values() for p in s.playbacks.values()]

    def synthesize_finished(self, scope: CallScope, playback: Playback) -> None:
        """Deliver a PlaybackFinished Asterisk could not send while we were away."""
        self.untrack_playback(playback.id)
        scope.synthesized_finished.add(playback.id)
        raw: dict[str, Any] = {
            "type": "PlaybackFinished",
            "application": scope.start_event.application,
            "playback": dict(playback.raw) or {"id": playback.id},
        }
        done = Playback(
            id=playback.id,
            media_uri=playback.media_uri,
            target_uri=playback.target_uri,
            state="done",
            language=playback.language,
            raw=playback.raw,
        )
        scope._put(
            PlaybackFinished(
                playback=done,
                application=scope.start_event.application,
                synthetic=True,
                raw=raw,
            )
        )

    def synthesize_end(self, scope: CallScope) -> None:
        """Deliver a StasisEnd for a call that ended while we were away."""
        raw = {"type": "StasisEnd", "application": scope.start_event.application}
        self.feed(
            StasisEnd(
                channel=scope.channel,
                application=scope.start_event.application,
                synthetic=True,
                raw=raw,
            )
        )

    # -- feeding -----------------------------------------------------------------------

    def feed_frame(self, text: str) -> Event | None:
        """Decode one websocket text frame and route it; None if it was not an event."""
        try:
            data = speedups.loads(text)  # json.loads, faster with orjson installed
        except ValueError:
            logger.warning("ignoring a websocket frame that is not JSON: %.80r", text)
            return None
        except RecursionError:  # json.loads' limit is the interpreter's recursion limit
            logger.warning("ignoring a websocket frame nested too deep to decode: %.80r", text)
            return None
        if not isinstance(data, dict):
            logger.warning("ignoring a websocket frame that is not an object: %.80r", text)
            return None
        event = decode_event(data)
        if type(event) is UnknownEvent and event.problem:
            # one line, no traceback; only application-level handlers see it, no call
            logger.warning("ignoring a malformed event: %s", event.problem)
            self.events_seen += 1
            self.app._put(event)
            return event
        self.feed(event)
        return event

    def feed(self, event: Event) -> None:
        """Route ``event`` to its owner's queue (see the module docstring)."""
        self.events_seen += 1
        scope = self._owner(event)
        if scope is None:
            if type(event) is StasisStart:
                self._new_scope(event)
            else:
                self.app._put(event)
            return
        scope._put(event)
        channel = getattr(event, "channel", None)
        if channel is not None and channel.id == scope.channel_id:
            scope.channel = channel  # the latest snapshot (state, dialplan...)
        if isinstance(event, (StasisEnd, ChannelDestroyed)):
            if event.channel.id == scope.channel_id:
                self.forget(scope)  # invariant 2
            elif (
                isinstance(event, ChannelDestroyed)
                and self._channels.get(event.channel.id) is scope
            ):
                del self._channels[event.channel.id]
        elif isinstance(event, BridgeDestroyed) and self._bridges.get(event.bridge.id) is scope:
            del self._bridges[event.bridge.id]

    def _owner(self, event: Event) -> CallScope | None:
        cls = type(event)
        if cls in _CHANNEL_EVENTS or cls is StasisStart:
            return self._channels.get(event.channel.id)  # type: ignore[attr-defined]
        if cls is RecordingStarted or cls is RecordingFinished or cls is RecordingFailed:
            channel_id = event.recording.channel_id  # type: ignore[attr-defined]
            return None if channel_id is None else self._channels.get(channel_id)
        if cls is PlaybackFinished or cls is PlaybackStarted or cls is PlaybackContinuing:
            return self._playback_owner(event)  # type: ignore[arg-type]
        if cls is ChannelEnteredBridge or cls is ChannelLeftBridge:
            channel = event.channel  # type: ignore[attr-defined]
            scope = self._channels.get(channel.id) if channel is not None else None
            return scope or self._bridges.get(event.bridge.id)  # type: ignore[attr-defined]
        if cls is BridgeDestroyed or cls is BridgeCreated:
            return self._bridges.get(event.bridge.id)  # type: ignore[attr-defined]
        if cls is Dial:
            assert isinstance(event, Dial)
            scope = self._channels.get(event.peer.id)
            if scope is None and event.caller is not None:
                scope = self._channels.get(event.caller.id)
            return scope
        if cls is ChannelVarset:
            assert isinstance(event, ChannelVarset)
            return self._channels.get(event.channel.id) if event.channel else None
        channel = event.raw.get("channel")
        if isinstance(channel, dict) and type(cid := channel.get("id")) is str:
            return self._channels.get(cid)
        return None

    def _playback_owner(
        self, event: PlaybackStarted | PlaybackContinuing | PlaybackFinished
    ) -> CallScope | None:
        playback = event.playback
        scope = self._playbacks.get(playback.id)
        if scope is None:
            kind, _, ident = playback.target_uri.partition(":")
            scope = (self._channels if kind == "channel" else self._bridges).get(ident)
            if scope is None:
                return None
            if type(event) is PlaybackFinished:
                if playback.id in scope.synthesized_finished:
                    scope.synthesized_finished.discard(playback.id)
                    return _DROP
                return scope
            scope.playbacks[playback.id] = playback
            self._playbacks[playback.id] = scope
            return scope
        if type(event) is PlaybackFinished:
            del self._playbacks[playback.id]
            scope.playbacks.pop(playback.id, None)
        else:
            scope.playbacks[playback.id] = playback
        return scope

    def _new_scope(self, event: StasisStart) -> None:
        scope = _SetupScope(self._client, self, event)
        self.scopes[scope.channel_id] = scope
        self._channels[scope.channel_id] = scope
        self._all.add(scope)
        scope._start()
        assert scope._consumer is not None
        scope._consumer.add_done_callback(lambda _: self._scope_finished(scope))
        scope._put(event)

    def _scope_finished(self, scope: CallScope) -> None:
        self._all.discard(scope)
        if not self._all and self._no_calls is not None:
            self._no_calls.set()

    async def wait_no_calls(self) -> None:
        """Return once every call scope's consumer has finished (at once if none is up)."""
        while self._all:
            if self._no_calls is None or self._no_calls.is_set():
                self._no_calls = asyncio.Event()  # shared by every waiter until it is set
            await self._no_calls.wait()

    def statistics(self) -> dict[str, int]:
        totals = {"calls": len(self._all), "handlers": 0, "tasks": 0, "timers": 0, "queued": 0}
        for pump in self._all:
            for key, value in pump.statistics().items():
                totals[key] += value
        totals["routes"] = len(self._channels) + len(self._bridges) + len(self._playbacks)
        totals["playbacks"] = sum(len(s.playbacks) for s in self.scopes.values())
        return totals


class _DropScope(CallScope):
    """Sink for a duplicate PlaybackFinished (invariant 3): ``_put`` discards."""

    def __init__(self) -> None:  # no super().__init__: never started, never routed
        pass

    def _put(self, item: Any) -> None:
        pass


_DROP: CallScope = _DropScope()
