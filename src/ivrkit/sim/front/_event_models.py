"""The models of Asterisk 22.10's ``events.json``, all of them, and what the simulator sends.

Why all of them, even events the simulator never sends: Swagger-driven clients (ari-py,
aioari, asyncari) read an event's model to decide how to hand it to a callback. An event
with one field of a model's type (``Channel``) passes that object; one with two passes
a dict of them. ``StasisStart`` has two Channel fields on Asterisk (``channel`` and
``replace_channel``), so those clients pass a dict there; a description with only
``channel`` would make them pass a bare Channel, and an application written against the
simulator would break on Asterisk. So the description is Asterisk's, field for field
(``tests/sim/test_apidocs.py`` compares it with ``shared/ari-api-docs``), and what the
simulator does *not* send is listed here, with the reason, in :data:`NOT_SENT` and
:data:`FIELDS_NOT_SENT` (the test checks that everything else is produced, and
docs/simulator.md shows both lists).

Models of other resources that these events use (``Endpoint``, ``LiveRecording``,
``DeviceState``, ``TextMessage``) are declared with their own resources in ``_models``.
"""

from __future__ import annotations

from collections.abc import Mapping

#: ``(field, swagger type, required)`` per model, as in ``_models.MODELS``.
ModelTable = Mapping[str, tuple[tuple[str, str, bool], ...]]

#: Every model of events.json, in Asterisk's order, with Asterisk's fields and flags.
EVENT_MODELS: ModelTable = {
    "Message": (
        ("type", "string", True),
        ("asterisk_id", "string", False),
    ),
    "MissingParams": (("params", "List[string]", True),),
    "Event": (
        ("application", "string", True),
        ("timestamp", "Date", True),
    ),
    "ContactInfo": (
        ("uri", "string", True),
        ("contact_status", "string", True),
        ("aor", "string", True),
        ("roundtrip_usec", "string", False),
    ),
    "Peer": (
        ("peer_status", "string", True),
        ("cause", "string", False),
        ("address", "string", False),
        ("port", "string", False),
        ("time", "string", False),
    ),
    "DeviceStateChanged": (("device_state", "DeviceState", True),),
    "PlaybackStarted": (("playback", "Playback", True),),
    "PlaybackContinuing": (("playback", "Playback", True),),
    "PlaybackFinished": (("playback", "Playback", True),),
    "RecordingStarted": (("recording", "LiveRecording", True),),
    "RecordingFinished": (("recording", "LiveRecording", True),),
    "RecordingFailed": (("recording", "LiveRecording", True),),
    "ApplicationMoveFailed": (
        ("channel", "Channel", True),
        ("destination", "string", True),
        ("args", "List[string]", True),
    ),
    "ApplicationRegistered": (),
    "ApplicationUnregistered": (),
    "ApplicationReplaced": (),
    "BridgeCreated": (("bridge", "Bridge", True),),
    "BridgeDestroyed": (("bridge", "Bridge", True),),
    "BridgeMerged": (
        ("bridge", "Bridge", True),
        ("bridge_from", "Bridge", True),
    ),
    "BridgeVideoSourceChanged": (
        ("bridge", "Bridge", True),
        ("old_video_source_id", "string", False),
    ),
    "BridgeBlindTransfer": (
        ("channel", "Channel", True),
        ("replace_channel", "Channel", False),
        ("transferee", "Channel", False),
        ("exten", "string", True),
        ("context", "string", True),
        ("result", "string", True),
        ("is_external", "boolean", True),
        ("bridge", "Bridge", False),
    ),
    "BridgeAttendedTransfer": (
        ("transferer_first_leg", "Channel", True),
        ("transferer_second_leg", "Channel", True),
        ("replace_channel", "Channel", False),
        ("transferee", "Channel", False),
        ("transfer_target", "Channel", False),
        ("result", "string", True),
        ("is_external", "boolean", True),
        ("transferer_first_leg_bridge", "Bridge", False),
        ("transferer_second_leg_bridge", "Bridge", False),
        ("destination_type", "string", True),
        ("destination_bridge", "string", False),
        ("destination_application", "string", False),
        ("destination_link_first_leg", "Channel", False),
        ("destination_link_second_leg", "Channel", False),
        ("destination_threeway_channel", "Channel", False),
        ("destination_threeway_bridge", "Bridge", False),
    ),
    "ChannelCreated": (("channel", "Channel", True),),
    "ChannelDestroyed": (
        ("cause", "int", True),
        ("cause_txt", "string", True),
        ("tech_cause", "int", False),
        ("channel", "Channel", True),
    ),
    "ChannelEnteredBridge": (
        ("bridge", "Bridge", True),
        ("channel", "Channel", False),
    ),
    "ChannelLeftBridge": (
        ("bridge", "Bridge", True),
        ("channel", "Channel", True),
    ),
    "ChannelStateChange": (("channel", "Channel", True),),
    "ChannelDtmfReceived": (
        ("digit", "string", True),
        ("duration_ms", "int", True),
        ("channel", "Channel", True),
    ),
    "ChannelDialplan": (
        ("channel", "Channel", True),
        ("dialplan_app", "string", True),
        ("dialplan_app_data", "string", True),
    ),
    "ChannelCallerId": (
        ("caller_presentation", "int", True),
        ("caller_presentation_txt", "string", True),
        ("channel", "Channel", True),
    ),
    "ChannelUserevent": (
        ("eventname", "string", True),
        ("channel", "Channel", False),
        ("bridge", "Bridge", False),
        ("endpoint", "Endpoint", False),
        ("userevent", "object", True),
    ),
    "ChannelHangupRequest": (
        ("cause", "int", False),
        ("tech_cause", "int", False),
        ("soft", "boolean", False),
        ("channel", "Channel", True),
    ),
    "ChannelVarset": (
        ("variable", "string", True),
        ("value", "string", True),
        ("channel", "Channel", False),
    ),
    "ChannelHold": (
        ("channel", "Channel", True),
        ("musicclass", "string", False),
    ),
    "ChannelUnhold": (("channel", "Channel", True),),
    "ChannelToneDetected": (("channel", "Channel", True),),
    "ChannelTalkingStarted": (("channel", "Channel", True),),
    "ChannelTalkingFinished": (
        ("channel", "Channel", True),
        ("duration", "int", True),
    ),
    "ContactStatusChange": (
        ("endpoint", "Endpoint", True),
        ("contact_info", "ContactInfo", True),
    ),
    "PeerStatusChange": (
        ("endpoint", "Endpoint", True),
        ("peer", "Peer", True),
    ),
    "EndpointStateChange": (("endpoint", "Endpoint", True),),
    "Dial": (
        ("caller", "Channel", False),
        ("peer", "Channel", True),
        ("forward", "string", False),
        ("forwarded", "Channel", False),
        ("dialstring", "string", False),
        ("dialstatus", "string", True),
    ),
    "StasisEnd": (("channel", "Channel", True),),
    "StasisStart": (
        ("args", "List[string]", True),
        ("channel", "Channel", True),
        ("replace_channel", "Channel", False),
    ),
    "TextMessageReceived": (
        ("message", "TextMessage", True),
        ("endpoint", "Endpoint", False),
    ),
    "ChannelConnectedLine": (("channel", "Channel", True),),
    "ChannelTransfer": (
        ("state", "string", False),
        ("refer_to", "ReferTo", True),
        ("referred_by", "ReferredBy", True),
    ),
    "ReferTo": (
        ("requested_destination", "RequiredDestination", True),
        ("destination_channel", "Channel", False),
        ("connected_channel", "Channel", False),
        ("bridge", "Bridge", False),
    ),
    "ReferredBy": (
        ("source_channel", "Channel", True),
        ("connected_channel", "Channel", False),
        ("bridge", "Bridge", False),
    ),
    "RequiredDestination": (
        ("protocol_id", "string", False),
        ("destination", "string", False),
        ("additional_protocol_params", "List[AdditionalParam]", False),
    ),
    "AdditionalParam": (
        ("parameter_name", "string", True),
        ("parameter_value", "string", True),
    ),
    "RESTHeader": (
        ("name", "string", True),
        ("value", "string", True),
    ),
    "RESTQueryStringParameter": (
        ("name", "string", True),
        ("value", "string", True),
    ),
    "RESTRequest": (
        ("type", "string", True),
        ("transaction_id", "string", True),
        ("request_id", "string", True),
        ("method", "string", True),
        ("uri", "string", True),
        ("content_type", "string", False),
        ("query_strings", "List[RESTQueryStringParameter]", False),
        ("message_body", "string", False),
    ),
    "RESTResponse": (
        ("transaction_id", "string", True),
        ("request_id", "string", True),
        ("status_code", "int", True),
        ("reason_phrase", "string", True),
        ("uri", "string", True),
        ("content_type", "string", False),
        ("message_body", "string", False),
    ),
    "CallBroadcast": (
        ("channel", "Channel", True),
        ("caller", "string", False),
        ("called", "string", False),
    ),
    "CallClaimed": (
        ("channel", "Channel", True),
        ("winner_app", "string", True),
    ),
}

#: ``Message``'s and ``Event``'s subtypes, in Asterisk's order (the ``discriminator``
#: ``type`` picks the model of each websocket message).
MESSAGE_SUBTYPES = ("MissingParams", "Event")
EVENT_SUBTYPES = (
    "DeviceStateChanged",
    "PlaybackStarted",
    "PlaybackContinuing",
    "PlaybackFinished",
    "RecordingStarted",
    "RecordingFinished",
    "RecordingFailed",
    "ApplicationMoveFailed",
    "ApplicationRegistered",
    "ApplicationUnregistered",
    "ApplicationReplaced",
    "BridgeCreated",
    "BridgeDestroyed",
    "BridgeMerged",
    "BridgeBlindTransfer",
    "BridgeAttendedTransfer",
    "BridgeVideoSourceChanged",
    "ChannelCreated",
    "ChannelDestroyed",
    "ChannelEnteredBridge",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelDtmfReceived",
    "ChannelDialplan",
    "ChannelCallerId",
    "ChannelUserevent",
    "ChannelHangupRequest",
    "ChannelVarset",
    "ChannelToneDetected",
    "ChannelTalkingStarted",
    "ChannelTalkingFinished",
    "ChannelHold",
    "ChannelUnhold",
    "ContactStatusChange",
    "EndpointStateChange",
    "Dial",
    "StasisEnd",
    "StasisStart",
    "TextMessageReceived",
    "ChannelConnectedLine",
    "PeerStatusChange",
    "ChannelTransfer",
    "RESTResponse",
    "CallBroadcast",
    "CallClaimed",
)

#: Messages a client sends (REST over the websocket), not the simulator.
CLIENT_MESSAGES = frozenset({"RESTRequest", "RESTQueryStringParameter", "RESTHeader"})

#: Models only used inside other models (not sent on their own).
PART_MODELS = frozenset(
    {"ContactInfo", "Peer", "ReferTo", "ReferredBy", "RequiredDestination", "AdditionalParam"}
)

#: Messages the simulator never sends, and why (what it does not simulate).
NOT_SENT: Mapping[str, str] = {
    "MissingParams": "a websocket without app= is answered 400 over HTTP, before the upgrade",
    "DeviceStateChanged": "no device states are simulated",
    "ApplicationUnregistered": (
        "Asterisk sends it only on outbound websockets (res/ari/ari_websockets.c); the "
        "simulator's never unregister an application"
    ),
    "BridgeCreated": "only sent to applications subscribed to the bridge, which none is yet",
    "BridgeMerged": "bridges are never merged",
    "BridgeBlindTransfer": "no SIP transfers (REFER, blind)",
    "BridgeAttendedTransfer": "no SIP transfers (attended)",
    "BridgeVideoSourceChanged": "no video",
    "ChannelCreated": "only sent to applications subscribed to the channel beforehand",
    "ChannelToneDetected": "no audio, so no tone detection",
    "ChannelTalkingStarted": "no audio, so no talk detection",
    "ChannelTalkingFinished": "no audio, so no talk detection",
    "ChannelHold": "callers do not put calls on hold",
    "ChannelUnhold": "callers do not put calls on hold",
    "ContactStatusChange": "no SIP registrations",
    "PeerStatusChange": "no SIP peers",
    "ChannelTransfer": "no SIP REFER",
}

#: Fields of sent events that the simulator never fills, and why.
FIELDS_NOT_SENT: Mapping[tuple[str, str], str] = {
    ("StasisStart", "replace_channel"): "no channel is ever replaced (masquerade, transfer)",
    ("ChannelUserevent", "endpoint"): "user events name channels and bridges only",
    ("Dial", "forwarded"): "no call forwarding (302)",
}
