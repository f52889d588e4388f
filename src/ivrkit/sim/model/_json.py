"""JSON encoders for ARI objects and events, with Asterisk's field sets and key order.

Every dict the simulator sends is built here, directly (no dataclass → dict
reflection), because the simulator is also the load generator: per-event work must
stay cheap. Key order follows the recorded traces (shared/asterisk-traces): most
events start with ``type, timestamp``, but ``ChannelVarset`` and
``ChannelHangupRequest`` put their own fields first, as Asterisk does. ``application``
is added per recipient by the delivery code (:func:`for_app`), after ``asterisk_id``.

The fields each object declares in the API description are in ``front/_models.py``.
"""

from __future__ import annotations

from typing import Any

from ivrkit.sim.model._objects import Bridge, Channel, JsonDict, Playback


def channel_json(ch: Channel) -> JsonDict:
    """The ARI ``Channel`` object (``channelvars`` once a variable is reported)."""
    out: JsonDict = {
        "id": ch.id,
        "name": ch.name,
        "state": ch.state,
        "protocol_id": "",
        "caller": {"name": ch.caller_name, "number": ch.caller_number},
        "connected": {"name": ch.connected_name, "number": ch.connected_number},
        "accountcode": ch.accountcode,
        "dialplan": {
            "context": ch.context,
            "exten": ch.exten,
            "priority": ch.priority,
            "app_name": ch.app_name,
            "app_data": ch.app_data,
        },
        "creationtime": ch.creationtime,
        "language": ch.language,
    }
    if ch.reported_vars:
        out["channelvars"] = {name: ch.variables.get(name, "") for name in ch.reported_vars}
    return out


def playback_json(pb: Playback) -> JsonDict:
    """The ARI ``Playback`` object (``next_media_uri`` only while there is a next item)."""
    out: JsonDict = {"id": pb.id, "media_uri": pb.media[pb.index]}
    if pb.index + 1 < len(pb.media):
        out["next_media_uri"] = pb.media[pb.index + 1]
    out["target_uri"] = pb.target_uri
    out["language"] = pb.language
    out["state"] = pb.state
    return out


def bridge_json(br: Bridge) -> JsonDict:
    """The ARI ``Bridge`` object (``video_source_id`` only in ``single`` video mode)."""
    out: JsonDict = {
        "id": br.id,
        "technology": "simple_bridge",
        "bridge_type": br.bridge_type,
        "bridge_class": "stasis",
        "creator": "Stasis",
        "name": br.name,
        "channels": [ch.id for ch in br.channels],
        "creationtime": br.creationtime,
        "video_mode": "talker" if br.video_source is None else "single",
    }
    if br.video_source is not None:
        out["video_source_id"] = br.video_source
    return out


def event(type_: str, timestamp: str, asterisk_id: str, **fields: Any) -> JsonDict:
    """A generic event: ``type, timestamp, <fields in the given order>, asterisk_id``."""
    out: JsonDict = {"type": type_, "timestamp": timestamp}
    out.update(fields)
    out["asterisk_id"] = asterisk_id
    return out


def varset_event(
    variable: str, value: str, timestamp: str, asterisk_id: str, channel: JsonDict
) -> JsonDict:
    """``ChannelVarset`` (its own fields come first, as in the traces)."""
    return {
        "variable": variable,
        "value": value,
        "type": "ChannelVarset",
        "timestamp": timestamp,
        "channel": channel,
        "asterisk_id": asterisk_id,
    }


def hangup_request_event(
    cause: int, soft: bool, timestamp: str, asterisk_id: str, channel: JsonDict
) -> JsonDict:
    """``ChannelHangupRequest``: ``soft`` appears only when true, as in the traces."""
    out: JsonDict = {"cause": cause}
    if soft:
        out["soft"] = True
    out["type"] = "ChannelHangupRequest"
    out["timestamp"] = timestamp
    out["channel"] = channel
    out["asterisk_id"] = asterisk_id
    return out


def for_app(ev: JsonDict, application: str) -> JsonDict:
    """The event as delivered to one application."""
    out = dict(ev)
    out["application"] = application
    return out


def application_json(
    name: str,
    channel_ids: list[str],
    bridge_ids: list[str],
    endpoint_ids: list[str],
    device_names: list[str] | None = None,
    events_allowed: list[JsonDict] | None = None,
    events_disallowed: list[JsonDict] | None = None,
) -> JsonDict:
    """The ARI ``Application`` object."""
    return {
        "name": name,
        "channel_ids": channel_ids,
        "bridge_ids": bridge_ids,
        "endpoint_ids": endpoint_ids,
        "device_names": device_names or [],
        "events_allowed": events_allowed or [],
        "events_disallowed": events_disallowed or [],
    }
