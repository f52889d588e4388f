"""The fields of each ARI object model, as the simulator declares them in its API description.

Kept next to the description (``_apidocs``), not the encoders (``model/_json``): the model
builds the dicts it sends, the front door describes them; ``tests/sim/test_apidocs.py``
checks that both agree.
"""

from __future__ import annotations

# Field declarations for the API description: model -> ((field, swagger type, required), ...)
MODELS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "Channel": (
        ("id", "string", True),
        ("name", "string", True),
        ("state", "string", True),
        ("protocol_id", "string", True),
        ("caller", "CallerID", True),
        ("connected", "CallerID", True),
        ("accountcode", "string", True),
        ("dialplan", "DialplanCEP", True),
        ("creationtime", "Date", True),
        ("language", "string", True),
        ("channelvars", "object", False),
    ),
    "CallerID": (("name", "string", True), ("number", "string", True)),
    "DialplanCEP": (
        ("context", "string", True),
        ("exten", "string", True),
        ("priority", "long", True),
        ("app_name", "string", True),
        ("app_data", "string", True),
    ),
    "Playback": (
        ("id", "string", True),
        ("media_uri", "string", True),
        ("next_media_uri", "string", False),
        ("target_uri", "string", True),
        ("language", "string", False),
        ("state", "string", True),
    ),
    "Bridge": (
        ("id", "string", True),
        ("technology", "string", True),
        ("bridge_type", "string", True),
        ("bridge_class", "string", True),
        ("creator", "string", True),
        ("name", "string", True),
        ("channels", "List[string]", True),
        ("video_mode", "string", False),
        ("video_source_id", "string", False),
        ("creationtime", "Date", True),
    ),
    "Application": (
        ("name", "string", True),
        ("channel_ids", "List[string]", True),
        ("bridge_ids", "List[string]", True),
        ("endpoint_ids", "List[string]", True),
        ("device_names", "List[string]", True),
        ("events_allowed", "List[object]", True),
        ("events_disallowed", "List[object]", True),
    ),
    "Variable": (("value", "string", True),),
    "Variables": (("variables", "object", True),),
    "Sound": (
        ("id", "string", True),
        ("formats", "List[FormatLangPair]", True),
    ),
    "FormatLangPair": (("language", "string", True), ("format", "string", True)),
    # used by events (events.json), declared by their own resources
    "Endpoint": (
        ("technology", "string", True),
        ("resource", "string", True),
        ("state", "string", False),
        ("channel_ids", "List[string]", True),
    ),
    "TextMessage": (
        ("from", "string", True),
        ("to", "string", True),
        ("body", "string", True),
        ("variables", "object", False),
    ),
    "LiveRecording": (
        ("name", "string", True),
        ("format", "string", True),
        ("target_uri", "string", True),
        ("state", "string", True),
        ("duration", "int", False),
        ("talking_duration", "int", False),
        ("silence_duration", "int", False),
        ("cause", "string", False),
    ),
    "DeviceState": (("name", "string", True), ("state", "string", True)),
    "StoredRecording": (("name", "string", True), ("format", "string", True)),
    "RTPstat": (
        ("txcount", "int", True),
        ("rxcount", "int", True),
        ("txploss", "int", True),
        ("rxploss", "int", True),
        ("local_ssrc", "int", True),
        ("remote_ssrc", "int", True),
        ("txoctetcount", "int", True),
        ("rxoctetcount", "int", True),
        ("channel_uniqueid", "string", True),
    ),
    "Module": (
        ("name", "string", True),
        ("description", "string", True),
        ("use_count", "int", True),
        ("status", "string", True),
        ("support_level", "string", True),
    ),
    "LogChannel": (
        ("channel", "string", True),
        ("type", "string", True),
        ("status", "string", True),
        ("configuration", "string", True),
    ),
    "ConfigTuple": (("attribute", "string", True), ("value", "string", True)),
    "Mailbox": (
        ("name", "string", True),
        ("old_messages", "int", True),
        ("new_messages", "int", True),
    ),
}
