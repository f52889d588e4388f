"""The simulator's objects (channels, playbacks, bridges, applications) and Asterisk's
cause tables. Plain mutable records: all behaviour lives in the model mixins.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ivrkit.sim.model._replies import Pending, SimResponse

ASTERISK_ID = "02:fc:00:00:00:01"
ASTERISK_VERSION = "20.20.1"

#: hangup ``reason`` → Q.850 cause (Asterisk's ari/resource_channels.c)
HANGUP_CAUSES = {
    "normal": 16,
    "busy": 17,
    "congestion": 34,
    "no_answer": 19,
    "timeout": 19,
    "rejected": 21,
    "unallocated": 1,
    "normal_unspecified": 31,
    "number_incomplete": 28,
    "codec_mismatch": 58,
    "interworking": 127,
    "failure": 38,
    "answered_elsewhere": 26,
}
CAUSE_TEXT = {
    0: "Unknown",
    1: "Unallocated (unassigned) number",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    21: "Call Rejected",
    26: "Answered elsewhere",
    28: "Invalid number format (incomplete number)",
    31: "Normal, unspecified",
    34: "Circuit/channel congestion",
    38: "Network out of order",
    58: "Bearer capability not available",
    127: "Interworking, unspecified",
}
DIAL_STATUS = {17: "BUSY", 34: "CONGESTION", 21: "CHANUNAVAIL", 1: "CHANUNAVAIL"}
DTMF_DIGITS = frozenset("0123456789ABCDabcd#*")
#: After the DTMF duration Asterisk reported the digit ~100 ms later (traces, step 51).
DTMF_LATENCY = 0.1


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What the model needs from a clock: an asyncio loop fits."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Any: ...


JsonDict = dict[str, Any]

#: Receives one event for one application (``application`` key already set).
Sink = Callable[[str, JsonDict], None]
#: a ``per_call_config`` outbound websocket's connector: (channel, app, args, where the
#: dialplan goes on if it cannot connect) -> None; see ``ModelCore.per_call_apps``
PerCallConnect = Callable[["Channel", str, list[str], tuple[str, str, int]], None]


class ReactionHooks(Protocol):
    """Where the model and the socket writer report a reaction's start and end.

    Implemented by ``control._reaction.ReactionProbe``; a protocol so that the model and
    the front door don't import the test controls.
    """

    def dtmf_written(self, channel_id: str, now: float) -> None: ...

    def stop_requested(self, channel_id: str, now: float) -> None: ...

    def play_requested(self, channel_id: str, now: float) -> None: ...

    def channel_gone(self, channel_id: str) -> None: ...


class ChannelObserver(Protocol):
    """Hooks a simulated caller uses to see what happens on its channel."""

    def media_started(self, uri: str, now: float) -> None: ...

    def media_ended(self, uri: str, now: float, cut_off: bool) -> None: ...

    def destroyed(self, now: float) -> None: ...

    def dtmf_heard(self, digit: str, now: float) -> None: ...

    def indicated(self, what: str, now: float) -> None:
        """An indication reached the phone: ``ringing``, ``progress``, ``hold``,
        ``unhold``, ``connected:PJSIP/bob-...`` (a ``Dial()`` answered),
        ``transfer:TARGET`` (redirect)."""


@dataclass(eq=False, slots=True)
class Playback:
    """One playback: a media list played in order on a channel or a bridge."""

    id: str
    media: list[str]
    target_uri: str
    language: str
    target: Channel | Bridge
    state: str = "queued"
    index: int = 0
    item_seconds: float = 0.0
    elapsed: float = 0.0
    started_at: float = 0.0
    timer: Any = None
    stopped_while_queued: bool = False
    #: place in the target's media queue, shared with recordings (see PlaybackQueue)
    seq: int = 0


@dataclass(eq=False, slots=True)
class PlaybackQueue:
    """The media queue of one channel or bridge: playbacks and recordings.

    Asterisk runs both as commands on the channel's control thread, one at a time in
    the order they were asked for (``res/stasis/control.c``: ``play_uri`` and
    ``record_file`` go through ``stasis_app_send_command_async``), so a record waits
    behind a playing prompt and a play behind a running recording. ``seq`` orders the
    two queues as one.
    """

    queue: deque[Playback] = field(default_factory=deque)
    current: Playback | None = None
    #: started but abandoned (unknown scheme): visible until stopped or the target goes
    orphans: list[Playback] = field(default_factory=list)
    #: the recording running now, and those waiting (``LiveRecording``s)
    recording: LiveRecording | None = None
    waiting: deque[LiveRecording] = field(default_factory=deque)
    #: other channel commands waiting behind the media (``model/_control_thread.py``)
    commands: deque[ChannelCommand] = field(default_factory=deque)
    #: runs once when the thread has nothing left to run (a channel move's switch)
    on_idle: Callable[[], None] | None = None

    def idle(self) -> bool:
        """Nothing runs on this channel's control thread and nothing waits for it."""
        return (
            self.current is None
            and self.recording is None
            and not self.queue
            and not self.waiting
            and not self.commands
        )


@dataclass(eq=False, slots=True)
class ChannelCommand:
    """A channel operation queued on its control thread (``model/_control_thread.py``)."""

    run: Callable[[], None]
    seq: int
    #: for a synchronous command: settles the request's answer once ``run`` has run
    pending: Pending | None = None
    #: what the request answers if the channel leaves Stasis before the command runs
    failure: SimResponse | None = None


@dataclass(eq=False, slots=True)
class LiveRecording:
    """One ``POST .../record`` (``res/res_stasis_recording.c``)."""

    name: str
    format: str
    target_uri: str
    target: Channel | Bridge
    max_duration: int
    max_silence: int
    #: DTMF that ends it: "" (none), a digit string (``any``: ``#*0123456789abcd``)
    accept_dtmf: str
    if_exists: str
    beep: bool
    seq: int = 0
    state: str = "queued"
    #: loop time the recording loop began (after the beep), and the wall clock then
    started_at: float = 0.0
    started_wall: float = 0.0
    paused_at: float | None = None
    paused_total: float = 0.0
    muted: bool = False
    timer: Any = None
    duration: int | None = None
    talking: int | None = None
    cause: str | None = None


@dataclass(eq=False, slots=True)
class StoredRecording:
    """A recording file: its name (path without extension), format and audio length."""

    name: str
    format: str
    seconds: float


@dataclass(eq=False, slots=True)
class Channel:
    id: str
    name: str
    state: str
    caller_name: str
    caller_number: str
    connected_name: str
    connected_number: str
    context: str
    exten: str
    priority: int
    app_name: str
    app_data: str
    creationtime: str
    language: str = "en"
    half: int = 0  # 0: not Local; 1/2: ;1/;2 of a Local pair
    peer: Channel | None = None
    runs_dialplan: bool = False
    variables: dict[str, str] = field(default_factory=dict)
    subscribers: dict[str, None] = field(default_factory=dict)
    stasis_app: str | None = None
    pending_app: tuple[str, list[str]] | None = None  # ;1: enter Stasis when answered
    pending_dialplan: tuple[str, str, int] | None = None  # ;1: run dialplan when answered
    dialstring: str = ""
    playbacks: PlaybackQueue = field(default_factory=PlaybackQueue)
    bridge: Bridge | None = None
    #: bridges deleted while this channel was in them: each lives on until its last
    #: such member is destroyed, then sends BridgeDestroyed (trace steps 58 and 63)
    held_bridges: list[Bridge] = field(default_factory=list)
    timers: set[Any] = field(default_factory=set)
    observer: ChannelObserver | None = None
    gone: bool = False
    hanging: bool = False
    dtmf_busy_until: float = 0.0
    timeout_timer: Any = None
    #: Q.850 cause the channel will hang up with (``HANGUPCAUSE``); 0 while it lives
    hangup_cause: int = 0
    #: the SIP status behind the hang-up (chan_pjsip's ``tech_cause``), 0 if none
    tech_cause: int = 0
    #: outgoing calls (model/_outbound.py): the simulated endpoint it reaches, the call
    #: attempt it is part of (as caller of Dial() or as the dialled channel), the channel
    #: it is connected to by Dial(), how it was dialled
    device: Any = None
    attempt: Any = None
    #: as the caller of Dial(): its destinations (a DialGroup) while they are called
    dialing: Any = None
    linked: Channel | None = None
    dialer: str = "originate"
    #: channel controls (model/_controls.py): muted directions, music on hold class,
    #: silence generator, snoop channels on it (and the one a snoop watches), when Up
    muted: set[str] = field(default_factory=set)
    moh: str | None = None
    silence: bool = False
    snoops: list[Channel] = field(default_factory=list)
    snooped: Channel | None = None
    up_since: float | None = None
    #: a Goto's target, taken by the dialplan loop after the step; Dial PROGRESS sent
    jump: tuple[str, str, int] | None = None
    progress_sent: bool = False
    #: made by POST /channels/create and not dialled yet; the far end's behaviour
    created_by_ari: bool = False
    pending_behaviour: Any = None
    accountcode: str = ""
    linkedid: str = ""
    on_hold: bool = False
    #: CHANNEL() items kept as plain strings (musicclass, userfield, ...)
    channel_strings: dict[str, str] = field(default_factory=dict)
    #: variables set with a leading ``_``/``__``: name → 1 or 2 (inherited by dialled
    #: channels, ``ast_channel_inherit_variables``)
    inherit: dict[str, int] = field(default_factory=dict)
    #: when the phone on this channel talks: (start, end) loop times (silence detection)
    talk_spans: list[tuple[float, float]] = field(default_factory=list)
    #: variables set with ``report_events``: listed as ``channelvars`` in the snapshot
    reported_vars: dict[str, None] = field(default_factory=dict)
    #: POST /move ran on the control thread: the next application and its arguments
    #: (``control->next_app``, ``next_app_args``), taken when the thread is idle
    next_app: tuple[str, list[str]] | None = None


@dataclass(eq=False, slots=True)
class Bridge:
    id: str
    name: str
    bridge_type: str
    creationtime: str
    channels: list[Channel] = field(default_factory=list)
    subscribers: dict[str, None] = field(default_factory=dict)
    playbacks: PlaybackQueue = field(default_factory=PlaybackQueue)
    #: after DELETE with members: the channels that keep it alive (see Channel.held_bridges)
    holders: list[Channel] = field(default_factory=list)
    #: model/_bridge_extras.py: variables, music on hold class, the single video source
    variables: dict[str, str] = field(default_factory=dict)
    moh: str | None = None
    video_source: str | None = None


@dataclass(eq=False, slots=True)
class Application:
    name: str
    sink: Sink | None = None
    channel_ids: set[str] = field(default_factory=set)
    bridge_ids: set[str] = field(default_factory=set)
    endpoint_ids: set[str] = field(default_factory=set)
    #: device state subscriptions (``deviceState:NAME``; "" = every device)
    device_names: set[str] = field(default_factory=set)
    #: ``PUT /applications/{app}/eventFilter``: event types let through / held back
    events_allowed: list[JsonDict] = field(default_factory=list)
    events_disallowed: list[JsonDict] = field(default_factory=list)


def parse_caller_id(text: str | None) -> tuple[str, str]:
    """``"Alice <100>"`` → ``("Alice", "100")``; ``"100"`` → ``("", "100")``."""
    if not text:
        return "", ""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    if text.replace("+", "").isdigit():
        return "", text
    return text, ""


#: what a simulated endpoint's far end does (model/_endpoints.py)
RESULTS = ("answer", "busy", "congestion", "noanswer", "unavailable")


class EndpointConfigError(ValueError):
    """An endpoint configuration is malformed; the message says where and how to fix it."""


@dataclass(frozen=True, slots=True)
class EndpointBehaviour:
    """What the far end does when called.

    ``after``: seconds from the INVITE to the final answer (200, 486 or 503); for
    ``answer`` and ``noanswer`` the phone rings (180) from ``ring_after`` on.
    ``hangup_after``: seconds after answering when the far end hangs up (None: never).
    """

    result: str = "answer"
    after: float = 1.0
    ring_after: float = 0.0
    hangup_after: float | None = None

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise EndpointConfigError(
                f"unknown endpoint behaviour {self.result!r}: use one of {', '.join(RESULTS)}"
            )
        for name in ("after", "ring_after"):
            if getattr(self, name) < 0:
                raise EndpointConfigError(f"{name} must be >= 0 seconds, not {getattr(self, name)}")
        if self.hangup_after is not None and self.hangup_after < 0:
            raise EndpointConfigError(f"hangup_after must be >= 0 seconds, not {self.hangup_after}")


@dataclass(eq=False, slots=True)
class Endpoint:
    """One simulated endpoint and what happened to the calls it got."""

    tech: str
    resource: str
    behaviour: EndpointBehaviour
    #: every call it was sent: (channel name, outcome) with outcome one of answered,
    #: busy, congestion, noanswer (still ringing when cancelled), hungup (ended by it)
    calls: list[list[str]] = field(default_factory=list)
    #: out-of-call messages sent to it (``PUT /endpoints/.../sendMessage``)
    messages: list[JsonDict] = field(default_factory=list)
    #: called with (channel name, outcome) on every change (``Simulator.wait_for_call``)
    listeners: list[Callable[[str, str], None]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.tech}/{self.resource}"

    @property
    def state(self) -> str:
        """``ast_endpoint_state_to_string``: a registered contact is online."""
        return "offline" if self.behaviour.result == "unavailable" else "online"
