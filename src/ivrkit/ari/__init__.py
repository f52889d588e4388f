"""ivrkit.ari: an asyncio ARI client that survives real networks.

The public names are listed in ``__all__`` (see docs/client.md); everything else lives
in private modules and may change. Importing this package does not import aiohttp until
a client opens its default transport.
"""

import contextlib

from ivrkit.ari._client import AriClient, ClientState, ClientStatistics
from ivrkit.ari._config import ConfigurationError, ConnectionConfig, Credentials
from ivrkit.ari._digits import DigitBuffer, Gathered
from ivrkit.ari._events import (
    ApplicationReplaced,
    BridgeCreated,
    BridgeDestroyed,
    CallBroadcast,
    CallClaimed,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelEnteredBridge,
    ChannelHangupRequest,
    ChannelLeftBridge,
    ChannelStateChange,
    ChannelVarset,
    Dial,
    Disconnected,
    Event,
    PlaybackContinuing,
    PlaybackFinished,
    PlaybackStarted,
    Reconnected,
    RecordingFailed,
    RecordingFinished,
    RecordingStarted,
    StasisEnd,
    StasisStart,
    UnknownEvent,
    decode_event,
)
from ivrkit.ari._exceptions import (
    ApplicationReplacedError,
    AriError,
    AriHTTPError,
    AuthenticationFailed,
    BadRequest,
    ClientClosedError,
    Conflict,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    ServerError,
    TransportError,
    Unprocessable,
    Unreachable,
)
from ivrkit.ari._listener import OutboundListener, OutboundSession
from ivrkit.ari._models import (
    Application,
    AsteriskInfo,
    Bridge,
    CallerID,
    Channel,
    DialplanCEP,
    LiveRecording,
    Playback,
    Sound,
)
from ivrkit.ari._scope import CallEnded, CallScope, Subscription, Timer
from ivrkit.ari._transport import (
    EventStream,
    MockEventStream,
    MockTransport,
    Request,
    Response,
    Transport,
)

__all__ = [
    "Application",
    "ApplicationReplaced",
    "ApplicationReplacedError",
    "AriClient",
    "AriError",
    "AriHTTPError",
    "AsteriskInfo",
    "AuthenticationFailed",
    "BadRequest",
    "Bridge",
    "BridgeCreated",
    "BridgeDestroyed",
    "CallBroadcast",
    "CallClaimed",
    "CallEnded",
    "CallScope",
    "CallerID",
    "Channel",
    "ChannelDestroyed",
    "ChannelDtmfReceived",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelLeftBridge",
    "ChannelStateChange",
    "ChannelVarset",
    "ClientClosedError",
    "ClientState",
    "ClientStatistics",
    "ConfigurationError",
    "Conflict",
    "ConnectionConfig",
    "Credentials",
    "Dial",
    "DialplanCEP",
    "DigitBuffer",
    "Disconnected",
    "Event",
    "EventStream",
    "Gathered",
    "LiveRecording",
    "MockEventStream",
    "MockTransport",
    "NotFound",
    "OutboundListener",
    "OutboundSession",
    "Playback",
    "PlaybackContinuing",
    "PlaybackFinished",
    "PlaybackStarted",
    "PreconditionFailed",
    "Reconnected",
    "RecordingFailed",
    "RecordingFinished",
    "RecordingStarted",
    "Request",
    "RequestTimeout",
    "Response",
    "ServerError",
    "Sound",
    "StasisEnd",
    "StasisStart",
    "Subscription",
    "Timer",
    "Transport",
    "TransportError",
    "UnknownEvent",
    "Unprocessable",
    "Unreachable",
    "decode_event",
]

for _name in __all__:
    _obj = globals()[_name]
    if hasattr(_obj, "__module__"):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "ivrkit.ari"
del _name, _obj, contextlib
