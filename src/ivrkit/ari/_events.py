"""Typed events from the ARI websocket, plus the client's own connection signals.

Each Asterisk event is a frozen, slotted, keyword-only dataclass whose field names and
types are those of ``ari-api-docs/api-docs/events.json`` (``StasisStart.args`` is
``List[string]``, ``ChannelDtmfReceived.duration_ms`` is ``int``...). Every event keeps
the JSON object it was decoded from in ``.raw``, so fields this version does not model
pass through untouched, and an event type it does not know becomes :class:`UnknownEvent`
rather than an error: newer Asterisk versions add both.

``synthetic=True`` marks an event the client made up after a reconnect (a
``PlaybackFinished`` for a prompt that ended while the websocket was down, a
``StasisEnd`` for a call that ended during the gap). Don't subclass these classes.
Imports: stdlib and ``_models`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivrkit.ari._models import Bridge, Channel, Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base of every event; ``type`` is the ARI ``type`` string."""

    application: str = ""
    timestamp: str = ""
    synthetic: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def type(self) -> str:
        return self.raw.get("type") or type(self).__name__


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisStart(Event):
    channel: Channel
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StasisEnd(Event):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class CallBroadcast(Event):
    """A ``StasisBroadcast()`` offers ``channel`` to every app matching its filter.

    Claim it with ``client.events.claim(channel.id, app)``: the first claim wins (204),
    later ones get 409, and the channel enters Stasis with the winner (Asterisk 20.20+).
    """

    channel: Channel
    caller: str = ""
    called: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallClaimed(Event):
    """``winner_app`` claimed a broadcast channel (sent only with ``notify_claimed``)."""

    channel: Channel
    winner_app: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDtmfReceived(Event):
    channel: Channel
    digit: str
    duration_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelHangupRequest(Event):
    channel: Channel
    cause: int | None = None
    soft: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelDestroyed(Event):
    channel: Channel
    cause: int = 0
    cause_txt: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelStateChange(Event):
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelVarset(Event):
    variable: str
    value: str
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackStarted(Event):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackContinuing(Event):
    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class PlaybackFinished(Event):
    """``playback.state`` is ``done`` or ``failed`` (a hang-up mid-prompt gives ``failed``)."""

    playback: Playback


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplicationReplaced(Event):
    """Another websocket registered our application; Asterisk leaves ours open but idle."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeCreated(Event):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeDestroyed(Event):
    bridge: Bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelEnteredBridge(Event):
    bridge: Bridge
    channel: Channel | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelLeftBridge(Event):
    bridge: Bridge
    channel: Channel


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial(Event):
    """Progress of a dial; ``dialstatus`` is ``""`` while ringing, then e.g. ``ANSWER``."""

    peer: Channel
    dialstatus: str = ""
    caller: Channel | None = None
    dialstring: str = ""
    forward: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UnknownEvent(Event):
    """An event type this client does not model; everything is in ``raw``."""


# -- client-made connection signals (never sent by Asterisk) ------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Disconnected(Event):
    """The event websocket was lost; ``reason`` says how. Calls stay up in Asterisk."""

    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconnected(Event):
    """The websocket is back after ``gap`` seconds and the state has been re-synced.

    ``adopted``: calls still up; ``ended``: calls that ended during the gap (each got a
    synthetic StasisEnd); ``playbacks_finished``: playbacks that ended during the gap
    (each got a synthetic PlaybackFinished).
    """

    gap: float = 0.0
    adopted: tuple[str, ...] = ()
    ended: tuple[str, ...] = ()
    playbacks_finished: tuple[str, ...] = ()


# -- decoding ------------------------------------------------------------------------


def _opt_channel(data: Mapping[str, Any], key: str) -> Channel | None:
    value = data.get(key)
    return Channel.from_json(value) if value else None


def _base(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "application": data.get("application", ""),
        "timestamp": data.get("timestamp", ""),
        "raw": data,
    }


def _stasis_start(d: Mapping[str, Any]) -> Event:
    return StasisStart(
        channel=Channel.from_json(d["channel"]),
        args=tuple(d.get("args", ())),
        replace_channel=_opt_channel(d, "replace_channel"),
        **_base(d),
    )


def _dtmf(d: Mapping[str, Any]) -> Event:
    return ChannelDtmfReceived(
        channel=Channel.from_json(d["channel"]),
        digit=d["digit"],
        duration_ms=d.get("duration_ms", 0),
        **_base(d),
    )


def _hangup_request(d: Mapping[str, Any]) -> Event:
    return ChannelHangupRequest(
        channel=Channel.from_json(d["channel"]),
        cause=d.get("cause"),
        soft=d.get("soft"),
        **_base(d),
    )


def _destroyed(d: Mapping[str, Any]) -> Event:
    return ChannelDestroyed(
        channel=Channel.from_json(d["channel"]),
        cause=d.get("cause", 0),
        cause_txt=d.get("cause_txt", ""),
        **_base(d),
    )


def _varset(d: Mapping[str, Any]) -> Event:
    return ChannelVarset(
        variable=d.get("variable", ""),
        value=d.get("value", ""),
        channel=_opt_channel(d, "channel"),
        **_base(d),
    )


def _dial(d: Mapping[str, Any]) -> Event:
    return Dial(
        peer=Channel.from_json(d["peer"]),
        dialstatus=d.get("dialstatus", ""),
        caller=_opt_channel(d, "caller"),
        dialstring=d.get("dialstring", ""),
        forward=d.get("forward", ""),
        **_base(d),
    )


def _entered_bridge(d: Mapping[str, Any]) -> Event:
    return ChannelEnteredBridge(
        bridge=Bridge.from_json(d["bridge"]), channel=_opt_channel(d, "channel"), **_base(d)
    )


def _left_bridge(d: Mapping[str, Any]) -> Event:
    return ChannelLeftBridge(
        bridge=Bridge.from_json(d["bridge"]), channel=Channel.from_json(d["channel"]), **_base(d)
    )


def _channel_only(cls: type[StasisEnd] | type[ChannelStateChange]) -> Callable[..., Event]:
    def decode(d: Mapping[str, Any]) -> Event:
        return cls(channel=Channel.from_json(d["channel"]), **_base(d))

    return decode


def _playback_only(
    cls: type[PlaybackStarted] | type[PlaybackContinuing] | type[PlaybackFinished],
) -> Callable[..., Event]:
    def decode(d: Mapping[str, Any]) -> Event:
        return cls(playback=Playback.from_json(d["playback"]), **_base(d))

    return decode


def _bridge_only(cls: type[BridgeCreated] | type[BridgeDestroyed]) -> Callable[..., Event]:
    def decode(d: Mapping[str, Any]) -> Event:
        return cls(bridge=Bridge.from_json(d["bridge"]), **_base(d))

    return decode


def _broadcast(d: Mapping[str, Any]) -> Event:
    return CallBroadcast(
        channel=Channel.from_json(d["channel"]),
        caller=str(d.get("caller") or ""),
        called=str(d.get("called") or ""),
        **_base(d),
    )


def _claimed(d: Mapping[str, Any]) -> Event:
    return CallClaimed(
        channel=Channel.from_json(d["channel"]), winner_app=str(d["winner_app"]), **_base(d)
    )


_DECODERS: dict[str, Callable[[Mapping[str, Any]], Event]] = {
    "CallBroadcast": _broadcast,
    "CallClaimed": _claimed,
    "StasisStart": _stasis_start,
    "StasisEnd": _channel_only(StasisEnd),
    "ChannelDtmfReceived": _dtmf,
    "ChannelHangupRequest": _hangup_request,
    "ChannelDestroyed": _destroyed,
    "ChannelStateChange": _channel_only(ChannelStateChange),
    "ChannelVarset": _varset,
    "PlaybackStarted": _playback_only(PlaybackStarted),
    "PlaybackContinuing": _playback_only(PlaybackContinuing),
    "PlaybackFinished": _playback_only(PlaybackFinished),
    "ApplicationReplaced": lambda d: ApplicationReplaced(**_base(d)),
    "BridgeCreated": _bridge_only(BridgeCreated),
    "BridgeDestroyed": _bridge_only(BridgeDestroyed),
    "ChannelEnteredBridge": _entered_bridge,
    "ChannelLeftBridge": _left_bridge,
    "Dial": _dial,
}

#: the ARI event types decoded into their own classes
KNOWN_EVENT_TYPES = frozenset(_DECODERS)


def decode_event(data: Mapping[str, Any]) -> Event:
    """Turn one websocket JSON object into an :class:`Event`.

    Unknown types, and known types missing a required object (a malformed or
    future-changed frame), become :class:`UnknownEvent` with the data in ``raw``: one
    strange frame must not stop the event pump.
    """
    decoder = _DECODERS.get(data.get("type", ""))
    if decoder is not None:
        try:
            return decoder(data)
        except (KeyError, TypeError, AttributeError):
            pass
    return UnknownEvent(**_base(data))
