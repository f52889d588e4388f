"""Resource values returned by REST calls and carried by events.

Field names and types follow Asterisk's own models (``ari-api-docs/api-docs/channels.json``
``Channel``/``CallerID``/``DialplanCEP``, ``playbacks.json`` ``Playback``, ``bridges.json``
``Bridge``, ``applications.json`` ``Application``, ``sounds.json`` ``Sound``). Decoding is
lenient: a missing field gets an empty default, and every value keeps the JSON it came
from in ``.raw`` so fields this version does not know about are still reachable.
Imports: stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerID:
    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CallerID:
        if not data:
            return _NO_CALLER
        return cls(name=data.get("name", ""), number=data.get("number", ""))


_NO_CALLER = CallerID()


@dataclass(frozen=True, slots=True, kw_only=True)
class DialplanCEP:
    """Where a channel is in the dialplan: context, extension, priority (+ app)."""

    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> DialplanCEP:
        if not data:
            return cls()
        return cls(
            context=data.get("context", ""),
            exten=data.get("exten", ""),
            priority=data.get("priority", 0),
            app_name=data.get("app_name", ""),
            app_data=data.get("app_data", ""),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """A channel. ``caller``, ``connected``, ``dialplan`` and ``channelvars`` are decoded
    from ``raw`` when read: every channel event carries them, few handlers look, and
    building them eagerly was most of the cost of decoding an event."""

    id: str
    name: str = ""
    state: str = ""
    language: str = ""
    creationtime: str = ""
    accountcode: str = ""
    protocol_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        get = data.get
        return cls(
            id=data["id"],
            name=get("name", ""),
            state=get("state", ""),
            language=get("language", ""),
            creationtime=get("creationtime", ""),
            accountcode=get("accountcode", ""),
            protocol_id=get("protocol_id", ""),
            raw=data,
        )

    @property
    def caller(self) -> CallerID:
        return CallerID.from_json(self.raw.get("caller"))

    @property
    def connected(self) -> CallerID:
        return CallerID.from_json(self.raw.get("connected"))

    @property
    def dialplan(self) -> DialplanCEP:
        return DialplanCEP.from_json(self.raw.get("dialplan"))

    @property
    def channelvars(self) -> Mapping[str, Any] | None:
        value = self.raw.get("channelvars")
        return value if isinstance(value, Mapping) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveRecording:
    """A recording in progress or just ended (``state`` queued, recording, paused, done,
    failed, canceled); ``duration`` in seconds once it is done; ``cause`` when failed."""

    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    cause: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LiveRecording:
        duration = data.get("duration")
        return cls(
            name=data["name"],
            format=data.get("format", ""),
            state=data.get("state", ""),
            target_uri=data.get("target_uri", ""),
            duration=duration if type(duration) is int else None,
            cause=data.get("cause", "") if isinstance(data.get("cause"), str) else "",
            raw=data,
        )

    @property
    def channel_id(self) -> str | None:
        """The recorded channel's id, or None when the target is a bridge."""
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "channel" and ident else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Playback:
    """A playback; ``target_uri`` is ``channel:<id>`` or ``bridge:<id>``."""

    id: str
    media_uri: str = ""
    target_uri: str = ""
    state: str = ""
    language: str = ""
    next_media_uri: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Playback:
        return cls(
            id=data["id"],
            media_uri=data.get("media_uri", ""),
            target_uri=data.get("target_uri", ""),
            state=data.get("state", ""),
            language=data.get("language", ""),
            next_media_uri=data.get("next_media_uri"),
            raw=data,
        )

    @property
    def channel_id(self) -> str | None:
        """The target channel's id, or None when the target is a bridge."""
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "channel" else None

    @property
    def bridge_id(self) -> str | None:
        """The target bridge's id, or None when the target is a channel."""
        kind, _, ident = self.target_uri.partition(":")
        return ident if kind == "bridge" else None


@dataclass(frozen=True, slots=True, kw_only=True)
class Bridge:
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    creationtime: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Bridge:
        return cls(
            id=data["id"],
            technology=data.get("technology", ""),
            bridge_type=data.get("bridge_type", ""),
            bridge_class=data.get("bridge_class", ""),
            creator=data.get("creator", ""),
            name=data.get("name", ""),
            channels=tuple(data.get("channels", ())),
            creationtime=data.get("creationtime", ""),
            raw=data,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Application:
    name: str
    channel_ids: tuple[str, ...] = ()
    bridge_ids: tuple[str, ...] = ()
    endpoint_ids: tuple[str, ...] = ()
    device_names: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Application:
        return cls(
            name=data["name"],
            channel_ids=tuple(data.get("channel_ids", ())),
            bridge_ids=tuple(data.get("bridge_ids", ())),
            endpoint_ids=tuple(data.get("endpoint_ids", ())),
            device_names=tuple(data.get("device_names", ())),
            raw=data,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Sound:
    id: str
    text: str = ""
    formats: tuple[tuple[str, str], ...] = ()  # (language, format) pairs
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sound:
        formats = tuple(
            (f.get("language", ""), f.get("format", "")) for f in data.get("formats", ())
        )
        return cls(id=data["id"], text=data.get("text", ""), formats=formats, raw=data)


@dataclass(frozen=True, slots=True, kw_only=True)
class AsteriskInfo:
    """``GET /asterisk/info``; the sections are kept as JSON (``build``, ``system``...)."""

    version: str = ""
    # the Asterisk's identity (a MAC address by default): events carry it as asterisk_id
    entity_id: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AsteriskInfo:
        system = data.get("system") or {}
        return cls(
            version=system.get("version", ""), entity_id=system.get("entity_id", ""), raw=data
        )
