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

from ivrkit.ari._models import Bridge, Channel, LiveRecording, Playback


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
class RecordingStarted(Event):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFinished(Event):
    recording: LiveRecording


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingFailed(Event):
    recording: LiveRecording


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
    """An event type this client does not model; everything is in ``raw``.

    ``problem`` is set when the frame claimed a type the client does model but its fields
    are not what Asterisk sends (a null playback id, a channel id that is a number...):
    such a frame reaches only application-level handlers, never a call.
    """

    problem: str = ""


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


def _what(value: object) -> str:
    """How a wrong value is named in a problem: its JSON kind, short."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "empty" if not value else f"the string {value[:40]!r}"
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


def _ident_problem(value: object, where: str) -> str | None:
    if type(value) is not str or not value:
        return f"{where} is {_what(value)}"
    return _unicode_problem(value, where)


def _text_problem(value: object, where: str) -> str | None:
    if type(value) is not str:
        return f"{where} is {_what(value)}, not a string"
    return _unicode_problem(value, where)


def _unicode_problem(value: str, where: str) -> str | None:
    """A lone surrogate (JSON ``"\\ud800"``) is no character: such an id cannot go into a
    URL and such a name cannot be logged. Asterisk's jansson never writes one."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{where} holds a lone surrogate, not text"
    return None


def _channel_problem(channel: Channel | None, where: str = "channel") -> str | None:
    if channel is None:
        return None
    return _ident_problem(channel.id, f"{where}.id") or _text_problem(channel.name, f"{where}.name")


_OBJECT_FIELDS = ("channel", "playback", "bridge", "peer", "caller", "replace_channel")


def _shape_problem(data: Mapping[str, Any]) -> str | None:
    """Which object field made decoding fail: not an object, or an object without id."""
    for key in _OBJECT_FIELDS:
        value = data.get(key)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            return f"{key} is {_what(value)}, not an object"
        if "id" not in value:
            return f"{key}.id is missing"
    return None


def _event_problem(event: Event) -> str | None:
    """What is wrong with a decoded event's fields that the client routes or compares by,
    or None. Only those: a field nobody reads may be anything (it passes through)."""
    problem = _text_problem(event.application, "application")
    if problem is None and isinstance(event, StasisStart):
        problem = _channel_problem(event.channel) or _channel_problem(
            event.replace_channel, "replace_channel"
        )
        if problem is None and not all(type(a) is str for a in event.args):
            problem = "args is not a list of strings"
    elif problem is None and isinstance(event, ChannelDtmfReceived):
        problem = _channel_problem(event.channel) or _text_problem(event.digit, "digit")
    elif problem is None and isinstance(
        event, RecordingStarted | RecordingFinished | RecordingFailed
    ):
        problem = _ident_problem(event.recording.name, "recording.name") or _text_problem(
            event.recording.target_uri, "recording.target_uri"
        )
    elif problem is None and isinstance(
        event, PlaybackStarted | PlaybackContinuing | PlaybackFinished
    ):
        playback = event.playback
        problem = (
            _ident_problem(playback.id, "playback.id")
            or _text_problem(playback.target_uri, "playback.target_uri")
            or _text_problem(playback.state, "playback.state")
            or _text_problem(playback.media_uri, "playback.media_uri")
        )
    elif problem is None and isinstance(event, BridgeCreated | BridgeDestroyed):
        problem = _ident_problem(event.bridge.id, "bridge.id")
    elif problem is None and isinstance(event, ChannelEnteredBridge | ChannelLeftBridge):
        problem = _ident_problem(event.bridge.id, "bridge.id") or _channel_problem(event.channel)
    elif problem is None and isinstance(event, Dial):
        problem = (
            _channel_problem(event.peer, "peer")
            or _channel_problem(event.caller, "caller")
            or _text_problem(event.dialstatus, "dialstatus")
        )
    elif problem is None and isinstance(event, ChannelVarset):
        problem = (
            _channel_problem(event.channel)
            or _text_problem(event.variable, "variable")
            or _text_problem(event.value, "value")
        )
    elif problem is None and hasattr(event, "channel"):
        problem = _channel_problem(event.channel)
    return problem


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


def _recording_only(
    cls: type[RecordingStarted] | type[RecordingFinished] | type[RecordingFailed],
) -> Callable[..., Event]:
    def decode(d: Mapping[str, Any]) -> Event:
        return cls(recording=LiveRecording.from_json(d["recording"]), **_base(d))

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
    "RecordingStarted": _recording_only(RecordingStarted),
    "RecordingFinished": _recording_only(RecordingFinished),
    "RecordingFailed": _recording_only(RecordingFailed),
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

    Unknown types, and known types missing a required object or with an identifier
    that is not a non-empty string (a malformed or future-changed frame), become
    :class:`UnknownEvent` with the data in ``raw`` (and, when malformed, what was wrong
    in ``problem``): one strange frame must not stop the event pump or touch a call.
    """
    kind = data.get("type", "")
    if type(kind) is not str:
        return UnknownEvent(problem=f"type is {_what(kind)}, not a string", **_base(data))
    decoder = _DECODERS.get(kind)
    if decoder is None:
        return UnknownEvent(**_base(data))
    try:
        event = decoder(data)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        problem: str | None = _shape_problem(data) or (
            f"{exc.args[0]} is missing" if isinstance(exc, KeyError) else "has a wrong field"
        )
    else:
        problem = _event_problem(event)
        if problem is None:
            return event
    return UnknownEvent(problem=f"{kind} {problem}", **_base(data))
