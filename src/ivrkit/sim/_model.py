"""Pure in-memory Asterisk: channels, playbacks, bridges and applications on a clock.

Theory of operation
-------------------
The model is synchronous and knows nothing about HTTP or websockets. Time comes from a
:class:`Scheduler` (an asyncio loop satisfies it: ``time()`` and ``call_at()``), so under
``VirtualTimeEventLoop`` a 30 s prompt takes no wall time. Every state change emits ARI
events through :meth:`SimModel._emit`, which hands each event to the *sink* of every
connected application that should see it (the websocket writer in ``_app``).

Who sees an event (as in the recorded traces):

1. the application whose ``Stasis()`` the channel is in, from ``StasisStart`` up to and
   including ``StasisEnd`` (so a dialplan app never sees ``ChannelDestroyed``);
2. applications explicitly subscribed to the channel: the app given to ``originate``
   (for a Local channel: to both halves) and ``POST /applications/{app}/subscription``.

Invariants:

1. a channel is in ``self.channels`` until its ``ChannelDestroyed`` has been emitted;
2. at most one playback per target is ``playing``/``paused``; the others wait in order;
3. every timer the model starts is cancelled when its owner goes away, so a hung-up
   call leaves no callbacks behind (``stats()`` goes back to zero).

Hang-up orderings follow the traces; see ``_hangup`` for the exact sequence.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from ivrkit.sim._dialplan import DEFAULT_DIALPLAN, Dialplan, DialplanSpec, Step
from ivrkit.sim._dispatch import AriError, SimResponse
from ivrkit.sim._json import (
    JsonDict,
    application_json,
    bridge_json,
    channel_json,
    event,
    hangup_request_event,
    playback_json,
    varset_event,
)
from ivrkit.sim._sounds import FOREVER, UNKNOWN_SCHEME, SoundLibrary

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
_DIAL_STATUS = {17: "BUSY", 34: "CONGESTION", 21: "CHANUNAVAIL", 1: "CHANUNAVAIL"}
_DTMF_DIGITS = frozenset("0123456789ABCDabcd#*")
#: After the DTMF duration Asterisk reported the digit ~100 ms later (traces, step 51).
DTMF_LATENCY = 0.1


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """What the model needs from a clock: an asyncio loop fits."""

    def time(self) -> float: ...

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> Any: ...


#: Receives one event for one application (``application`` key already set).
Sink = Callable[[str, JsonDict], None]


class ChannelObserver(Protocol):
    """Hooks a simulated caller uses to see what happens on its channel."""

    def media_started(self, uri: str, now: float) -> None: ...

    def media_ended(self, uri: str, now: float, cut_off: bool) -> None: ...

    def destroyed(self, now: float) -> None: ...


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


@dataclass(eq=False, slots=True)
class _Target:
    """Shared playback queue of channels and bridges."""

    queue: deque[Playback] = field(default_factory=deque)
    current: Playback | None = None
    #: started but abandoned (unknown scheme): visible until stopped or the target goes
    orphans: list[Playback] = field(default_factory=list)


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
    playbacks: _Target = field(default_factory=_Target)
    bridge: Bridge | None = None
    timers: set[Any] = field(default_factory=set)
    observer: ChannelObserver | None = None
    gone: bool = False
    hanging: bool = False
    dtmf_busy_until: float = 0.0
    timeout_timer: Any = None


@dataclass(eq=False, slots=True)
class Bridge:
    id: str
    name: str
    bridge_type: str
    creationtime: str
    channels: list[Channel] = field(default_factory=list)
    subscribers: dict[str, None] = field(default_factory=dict)
    playbacks: _Target = field(default_factory=_Target)


@dataclass(eq=False, slots=True)
class Application:
    name: str
    sink: Sink | None = None
    channel_ids: set[str] = field(default_factory=set)
    bridge_ids: set[str] = field(default_factory=set)
    endpoint_ids: set[str] = field(default_factory=set)


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


class SimModel:
    """The simulated Asterisk. All public methods raise :class:`AriError` on bad input."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        dialplan: DialplanSpec | None = None,
        sounds: SoundLibrary | None = None,
        wall_start: datetime | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.dialplan = Dialplan(DEFAULT_DIALPLAN if dialplan is None else dialplan)
        self.sounds = sounds or SoundLibrary()
        self.asterisk_id = ASTERISK_ID
        self._t0 = scheduler.time()
        self._wall0 = wall_start or datetime.now(UTC)
        self._startup = self._format(self._wall0)
        self._uid_base = int(self._wall0.timestamp())
        self._uid_counter = itertools.count(1)
        self._name_counter = itertools.count(1)
        self._ts_cache: tuple[float, str] = (-1.0, "")
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.playbacks: dict[str, list[Playback]] = {}
        self.apps: dict[str, Application] = {}
        self.global_vars: dict[str, str] = {}
        self.events_emitted = 0
        #: applications connected with ``subscribeAll=true``: they see every event
        self.all_events_apps: dict[str, None] = {}
        #: called with the app name whenever a websocket takes an application
        self.app_listeners: list[Callable[[str], None]] = []

    # ------------------------------------------------------------------ time, ids, events
    def now(self) -> float:
        return self.scheduler.time()

    @staticmethod
    def _format(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"

    def timestamp(self) -> str:
        """Asterisk's event timestamp for the current clock, e.g. ``...T04:21:08.291+0000``."""
        now = self.scheduler.time()
        if self._ts_cache[0] != now:
            wall = self._wall0 + timedelta(seconds=now - self._t0)
            self._ts_cache = (now, self._format(wall))
        return self._ts_cache[1]

    def _unique_id(self) -> str:
        return f"{self._uid_base}.{next(self._uid_counter)}"

    def _name_suffix(self) -> str:
        return f"{next(self._name_counter):08x}"

    def _at(
        self, owner: Channel | None, delay: float, cb: Callable[..., object], *args: Any
    ) -> Any:
        """Start a timer; a channel owner cancels it when it goes away."""
        holder: list[Any] = []

        def fire() -> None:
            if owner is not None:
                owner.timers.discard(holder[0])
            cb(*args)

        handle = self.scheduler.call_at(self.scheduler.time() + delay, fire)
        holder.append(handle)
        if owner is not None:
            owner.timers.add(handle)
        return handle

    def _deliver(self, recipients: Iterable[str], ev: JsonDict) -> None:
        self.events_emitted += 1
        for name in recipients:
            app = self.apps.get(name)
            if app is not None and app.sink is not None:
                out = dict(ev)
                out["application"] = name
                app.sink(name, out)

    def _channel_recipients(self, ch: Channel) -> list[str]:
        names = list(ch.subscribers)
        if ch.stasis_app is not None and ch.stasis_app not in ch.subscribers:
            names.append(ch.stasis_app)
        if self.all_events_apps:
            names += [n for n in self.all_events_apps if n not in names]
        return names

    def _channel_event(self, ch: Channel, type_: str, **fields: Any) -> None:
        recipients = self._channel_recipients(ch)
        if not recipients:
            return
        fields["channel"] = channel_json(ch)
        self._deliver(recipients, event(type_, self.timestamp(), self.asterisk_id, **fields))

    def _varset(self, ch: Channel, variable: str, value: str) -> None:
        recipients = self._channel_recipients(ch)
        if recipients:
            ev = varset_event(variable, value, self.timestamp(), self.asterisk_id, channel_json(ch))
            self._deliver(recipients, ev)

    def _hangup_request(self, ch: Channel, cause: int, soft: bool) -> None:
        recipients = self._channel_recipients(ch)
        if recipients:
            ev = hangup_request_event(
                cause, soft, self.timestamp(), self.asterisk_id, channel_json(ch)
            )
            self._deliver(recipients, ev)

    def _dial_event(self, peer: Channel, status: str) -> None:
        recipients = self._channel_recipients(peer)
        if recipients:
            ev = event(
                "Dial",
                self.timestamp(),
                self.asterisk_id,
                dialstatus=status,
                forward="",
                dialstring=peer.dialstring,
                peer=channel_json(peer),
            )
            self._deliver(recipients, ev)

    # ------------------------------------------------------------------ applications
    def connect_app(self, name: str, sink: Sink) -> Sink | None:
        """A websocket took ``name``; returns the sink it replaced (gets ApplicationReplaced)."""
        app = self.apps.get(name)
        if app is None:
            app = self.apps[name] = Application(name)
        previous = app.sink
        app.sink = sink
        for listener in list(self.app_listeners):
            listener(name)
        return previous

    def set_subscribe_all(self, name: str, on: bool) -> None:
        """``subscribeAll=true`` on the events websocket: every event goes to ``name``."""
        if on:
            self.all_events_apps[name] = None
        else:
            self.all_events_apps.pop(name, None)

    def disconnect_app(self, name: str, sink: Sink) -> None:
        """The websocket holding ``name`` went away (no-op if it was replaced)."""
        app = self.apps.get(name)
        if app is None or app.sink != sink:
            return
        app.sink = None
        self.all_events_apps.pop(name, None)
        if not self._app_in_use(name):
            del self.apps[name]

    def _app_in_use(self, name: str) -> bool:
        return any(ch.stasis_app == name or name in ch.subscribers for ch in self.channels.values())

    def app_connected(self, name: str) -> bool:
        app = self.apps.get(name)
        return app is not None and app.sink is not None

    def _app_json(self, app: Application) -> JsonDict:
        channel_ids = sorted(
            ch.id
            for ch in self.channels.values()
            if ch.stasis_app == app.name or app.name in ch.subscribers
        )
        bridge_ids = sorted(b.id for b in self.bridges.values() if app.name in b.subscribers)
        return application_json(app.name, channel_ids, bridge_ids, sorted(app.endpoint_ids))

    def list_applications(self) -> list[JsonDict]:
        return [self._app_json(app) for app in self.apps.values() if app.sink is not None]

    def get_application(self, name: str) -> JsonDict:
        app = self.apps.get(name)
        if app is None:
            raise AriError(404, "Application not found")
        return self._app_json(app)

    def subscribe(self, name: str, sources: Sequence[str], on: bool) -> JsonDict:
        app = self.apps.get(name)
        if app is None:
            raise AriError(404, "Application not found")
        if not sources:
            raise AriError(400, "Missing parameter eventSource")
        resolved: list[Channel | Bridge | str] = []
        for source in sources:
            scheme, _, ident = source.partition(":")
            if scheme == "channel":
                ch = self.channels.get(ident)
                if ch is None:
                    raise AriError(422, f"Unable to find event source {source}")
                resolved.append(ch)
            elif scheme == "bridge":
                br = self.bridges.get(ident)
                if br is None:
                    raise AriError(422, f"Unable to find event source {source}")
                resolved.append(br)
            elif scheme in ("endpoint", "deviceState"):
                resolved.append(source)
            else:
                raise AriError(400, "Invalid event source URI scheme")
        for item in resolved:
            if isinstance(item, str):
                if on:
                    app.endpoint_ids.add(item.partition(":")[2])
                else:
                    app.endpoint_ids.discard(item.partition(":")[2])
            elif on:
                item.subscribers[name] = None
            else:
                item.subscribers.pop(name, None)
        return self._app_json(app)

    # ------------------------------------------------------------------ asterisk
    def asterisk_info(self, only: Sequence[str] | None) -> JsonDict:
        full: JsonDict = {
            "build": {
                "os": "Linux",
                "kernel": "ivrkit-sim",
                "machine": "x86_64",
                "options": "OPTIONAL_API",
                "date": self._startup[:10] + " " + self._startup[11:19] + " UTC",
                "user": "ivrkit",
            },
            "system": {"version": ASTERISK_VERSION, "entity_id": self.asterisk_id},
            "config": {"name": "", "default_language": "en", "setid": {"user": "", "group": ""}},
            "status": {"startup_time": self._startup, "last_reload_time": self._startup},
        }
        if not only:
            return full
        return {k: v for k, v in full.items() if k in only}

    def ping(self) -> JsonDict:
        return {"ping": "pong", "timestamp": self.timestamp(), "asterisk_id": self.asterisk_id}

    def get_global_var(self, name: str | None) -> str:
        if not name:
            raise AriError(400, "Variable name is required")
        return self.global_vars.get(name, "")

    def set_global_var(self, name: str | None, value: str) -> None:
        if not name:
            raise AriError(400, "Variable name is required")
        self.global_vars[name] = value

    # ------------------------------------------------------------------ channels: lookup
    def _channel(self, channel_id: str) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        return ch

    def _stasis_channel(self, channel_id: str) -> Channel:
        ch = self._channel(channel_id)
        if ch.stasis_app is None:
            raise AriError(409, "Channel not in Stasis application")
        return ch

    def list_channels(self) -> list[JsonDict]:
        return [channel_json(ch) for ch in self.channels.values()]

    def get_channel(self, channel_id: str) -> JsonDict:
        return channel_json(self._channel(channel_id))

    def _new_channel(
        self,
        channel_id: str | None,
        name: str,
        state: str,
        caller: tuple[str, str],
        connected: tuple[str, str],
        context: str,
        exten: str,
    ) -> Channel:
        ch = Channel(
            id=channel_id or self._unique_id(),
            name=name,
            state=state,
            caller_name=caller[0],
            caller_number=caller[1],
            connected_name=connected[0],
            connected_number=connected[1],
            context=context,
            exten=exten,
            priority=1,
            app_name="",
            app_data="",
            creationtime=self.timestamp(),
        )
        self.channels[ch.id] = ch
        return ch

    # ------------------------------------------------------------------ calls from outside
    def incoming_call(
        self,
        tech_resource: str,
        exten: str,
        context: str = "default",
        caller_id: str | None = "Alice <100>",
        observer: ChannelObserver | None = None,
    ) -> Channel:
        """A phone (``PJSIP/alice``) dials ``exten``: a channel in state Ring runs the dialplan."""
        if "/" not in tech_resource:
            raise ValueError(f"caller endpoint {tech_resource!r} must look like PJSIP/alice")
        ch = self._new_channel(
            None,
            f"{tech_resource}-{self._name_suffix()}",
            "Ring",
            parse_caller_id(caller_id),
            ("", ""),
            context,
            exten,
        )
        ch.runs_dialplan = True
        ch.observer = observer
        self._run_dialplan(ch, context, exten, 1)
        return ch

    # ------------------------------------------------------------------ originate
    def originate(
        self,
        *,
        endpoint: str | None,
        extension: str | None,
        context: str | None,
        priority: int | None,
        label: str | None,
        app: str | None,
        app_args: str | None,
        caller_id: str | None,
        timeout: int,
        variables: dict[str, Any] | None,
        channel_id: str | None,
        other_channel_id: str | None,
    ) -> JsonDict:
        """``POST /channels``: only Local channels can be dialled in the simulator."""
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        if not app and not extension:
            raise AriError(400, "Application or extension must be specified")
        if "/" not in endpoint:
            raise AriError(400, "Invalid endpoint specified")
        for cid in (channel_id, other_channel_id):
            if cid and cid in self.channels:
                raise AriError(409, "Channel with given unique ID already exists")
        tech, _, resource = endpoint.partition("/")
        if tech.lower() != "local" or not resource:
            raise AriError(500, "Allocation failed", key="error")
        target, _, ctx = resource.partition("@")
        ctx = ctx or "default"
        ctx = ctx.split("/")[0]
        vars_in = {str(k): str(v) for k, v in (variables or {}).items()}
        if "CALLERID(name)" in vars_in or "CALLERID(num)" in vars_in:
            base = parse_caller_id(caller_id)
            caller = (vars_in.get("CALLERID(name)", base[0]), vars_in.get("CALLERID(num)", base[1]))
        else:
            caller = parse_caller_id(caller_id)
        connected = parse_caller_id(caller_id)
        suffix = self._name_suffix()
        one = self._new_channel(
            channel_id, f"Local/{resource}-{suffix};1", "Down", caller, connected, ctx, target
        )
        two = self._new_channel(
            other_channel_id, f"Local/{resource}-{suffix};2", "Ring", caller, connected, ctx, target
        )
        one.half, two.half = 1, 2
        one.peer, two.peer = two, one
        one.app_name, one.app_data = "AppDial2", "(Outgoing Line)"
        one.dialstring = f"{target}@{ctx}"
        two.runs_dialplan = True
        if app:
            args = app_args.split(",") if app_args else []
            one.pending_app = (app, args)
            one.subscribers[app] = None
            two.subscribers[app] = None
        else:
            one.pending_dialplan = (context or "default", extension or "s", priority or 1)
        response = channel_json(one)
        if not self.dialplan.exists(ctx, target):
            # Local to a missing extension: both halves are destroyed at once (cause 0).
            self._destroy(two, 0)
            self._destroy(one, 0)
            return response
        if caller_id:
            self._channel_event(
                two,
                "ChannelCallerId",
                caller_presentation=0,
                caller_presentation_txt="Presentation Allowed, Not Screened",
            )
        for name, value in vars_in.items():
            if not name.startswith("CALLERID("):
                two.variables[name] = value
                self._varset(two, name, value)
        if caller_id or any(name.startswith("CALLERID(") for name in vars_in):
            self._channel_event(two, "ChannelConnectedLine")
        self._dial_event(one, "")
        if timeout > 0:
            one.timeout_timer = self._at(one, float(timeout), self._originate_timeout, one)
        self._run_dialplan(two, ctx, target, 1)
        return response

    def _originate_timeout(self, one: Channel) -> None:
        one.timeout_timer = None
        if one.gone or one.state == "Up":
            return
        self._hangup(one, 19, request=None)

    # ------------------------------------------------------------------ dialplan
    def _run_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """Execute steps until one waits (Stasis, Wait, Echo) or the channel hangs up."""
        while not ch.gone and not ch.hanging:
            step = self.dialplan.step(context, exten, priority)
            if step is None:
                if priority == 1:
                    self._hangup(ch, 0, request=None)
                else:
                    self._hangup(ch, 16, request=(16, True))
                return
            ch.context, ch.exten, ch.priority = context, exten, priority
            ch.app_name, ch.app_data = step.app, step.data
            self._channel_event(
                ch, "ChannelDialplan", dialplan_app=step.app, dialplan_app_data=step.data
            )
            if not self._exec(ch, step, context, exten, priority):
                return
            priority += 1

    def _exec(self, ch: Channel, step: Step, context: str, exten: str, priority: int) -> bool:
        """Run one application; ``True`` to go on with the next priority."""
        app = step.app.lower()
        if app == "set":
            name, _, value = step.data.partition("=")
            ch.variables[name.strip()] = value
            self._varset(ch, name.strip(), value)
            return True
        if app == "stasis":
            name, *args = step.data.split(",")
            ch.variables["STASISSTATUS"] = ""
            self._varset(ch, "STASISSTATUS", "")
            if not self.app_connected(name):
                ch.variables["STASISSTATUS"] = "FAILED"
                self._varset(ch, "STASISSTATUS", "FAILED")
                return True
            self._enter_stasis(ch, name, args)
            return False
        if app == "hangup":
            self._hangup(ch, 16, request=(16, True))
            return False
        if app == "answer":
            self._answer(ch)
            return not (ch.gone or ch.hanging)
        if app == "wait":
            try:
                seconds = float(step.data or 0)
            except ValueError:
                seconds = 0.0
            self._at(ch, seconds, self._run_dialplan, ch, context, exten, priority + 1)
            return False
        return app != "echo"

    def _stasis_event(self, ch: Channel, type_: str, **fields: Any) -> None:
        """StasisStart/StasisEnd go to the Stasis application only (traces)."""
        assert ch.stasis_app is not None
        fields["channel"] = channel_json(ch)
        self._deliver([ch.stasis_app], event(type_, self.timestamp(), self.asterisk_id, **fields))

    def _enter_stasis(self, ch: Channel, app: str, args: list[str]) -> None:
        ch.stasis_app = app
        self._stasis_event(ch, "StasisStart", args=args)

    def _leave_stasis(self, ch: Channel, *, hangup: bool) -> None:
        """Stop media, leave the bridge, emit StasisEnd and STASISSTATUS=SUCCESS."""
        self._stop_target_playbacks(ch.playbacks, "failed" if hangup else "done")
        if ch.bridge is not None:
            self._bridge_remove(ch.bridge, ch)
        if ch.stasis_app is None:
            return
        self._stasis_event(ch, "StasisEnd")
        ch.stasis_app = None
        ch.variables["STASISSTATUS"] = "SUCCESS"
        self._varset(ch, "STASISSTATUS", "SUCCESS")

    # ------------------------------------------------------------------ channel state
    def _set_state(self, ch: Channel, state: str) -> None:
        if ch.state == state:
            return
        ch.state = state
        self._channel_event(ch, "ChannelStateChange")

    def channel_action(self, channel_id: str, action: str) -> None:
        ch = self._stasis_channel(channel_id)
        if action == "answer":
            self._answer(ch)
        elif action == "ring" and ch.half == 2 and ch.peer is not None:
            self._ring_peer(ch.peer)
        # ring_stop, hold, unhold: accepted, no visible effect on events

    def _ring_peer(self, one: Channel) -> None:
        if one.state == "Down":
            self._set_state(one, "Ringing")
            self._dial_event(one, "RINGING")

    def _answer(self, ch: Channel) -> None:
        if ch.state == "Up":
            return
        self._set_state(ch, "Up")
        one = ch.peer if ch.half == 2 else None
        if one is None or one.gone or one.state == "Up":
            return
        self._set_state(one, "Up")
        self._dial_event(one, "ANSWER")
        if one.timeout_timer is not None:
            one.timeout_timer.cancel()
            one.timers.discard(one.timeout_timer)
            one.timeout_timer = None
        if one.pending_app is not None:
            app, args = one.pending_app
            one.pending_app = None
            one.app_name, one.app_data = "Stasis", ",".join([app, *args])
            one.variables["STASISSTATUS"] = ""
            self._varset(one, "STASISSTATUS", "")
            if self.app_connected(app):
                self._enter_stasis(one, app, args)
            else:
                one.variables["STASISSTATUS"] = "FAILED"
                self._varset(one, "STASISSTATUS", "FAILED")
                self._hangup(one, 16, request=(16, True))
        elif one.pending_dialplan is not None:
            context, exten, priority = one.pending_dialplan
            one.pending_dialplan = None
            one.runs_dialplan = True
            self._run_dialplan(one, context, exten, priority)

    def mute(self, channel_id: str, direction: str, on: bool) -> None:
        ch = self._channel(channel_id)
        if direction not in ("both", "in", "out"):
            raise AriError(400, "Invalid direction specified")
        if ch.stasis_app is None:
            raise AriError(409, "Channel not in Stasis application")

    def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None,
        extension: str | None,
        priority: int | None,
        label: str | None,
    ) -> None:
        ch = self._stasis_channel(channel_id)
        if context or extension or priority:
            where = (context or ch.context, extension or ch.exten, priority or 1)
        else:
            where = (ch.context, ch.exten, ch.priority + 1)
        self._leave_stasis(ch, hangup=False)
        if not ch.runs_dialplan:
            self._hangup(ch, 16, request=(16, True))
            return
        self._run_dialplan(ch, *where)

    # ------------------------------------------------------------------ variables
    def get_channel_var(self, channel_id: str, name: str | None) -> str:
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self._channel(channel_id)
        upper = name.upper()
        if upper == "CALLERID(NUM)":
            return ch.caller_number
        if upper == "CALLERID(NAME)":
            return ch.caller_name
        if upper in ("CALLERID(ALL)", "CALLERID()"):
            return f'"{ch.caller_name}" <{ch.caller_number}>'
        if name not in ch.variables:
            raise AriError(404, "Provided variable was not found", phrase="Variable Not Found")
        return ch.variables[name]

    def set_channel_var(self, channel_id: str, name: str | None, value: str) -> None:
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self._channel(channel_id)
        upper = name.upper()
        if upper == "CALLERID(NUM)":
            ch.caller_number = value
        elif upper == "CALLERID(NAME)":
            ch.caller_name = value
        else:
            ch.variables[name] = value
            self._varset(ch, name, value)

    # ------------------------------------------------------------------ DTMF
    def send_dtmf(
        self,
        channel_id: str,
        dtmf: str | None,
        *,
        before: int,
        between: int,
        duration: int,
        after: int,
    ) -> None:
        """``POST /channels/{id}/dtmf``: the digits reach the other side after their time.

        Timing from the traces: digit *i* is reported at
        ``before + duration + 100 ms + i × (duration + between)``.
        """
        if not dtmf:
            raise AriError(400, "DTMF is required")
        ch = self._stasis_channel(channel_id)
        receiver = ch.peer if ch.half and ch.peer is not None else None
        start = max(self.now(), ch.dtmf_busy_until) - self.now()
        t = start + max(before, 0) / 1000 + DTMF_LATENCY
        step_duration = max(duration, 0) / 1000
        for digit in dtmf:
            if digit in "wW":
                t += 0.5
                continue
            if digit not in _DTMF_DIGITS:
                continue
            t += step_duration
            if receiver is not None:
                self._at(receiver, t, self._dtmf_arrives, receiver, digit, duration)
            t += max(between, 0) / 1000
        ch.dtmf_busy_until = self.now() + t + max(after, 0) / 1000

    def caller_presses(self, ch: Channel, digits: str, duration_ms: int, between_ms: int) -> float:
        """A phone sends DTMF into its channel; returns the clock when the last one lands."""
        t = 0.0
        for digit in digits:
            if digit not in _DTMF_DIGITS:
                raise ValueError(f"{digit!r} is not a DTMF digit (use 0-9, A-D, # or *)")
            t += duration_ms / 1000
            self._at(ch, t, self._dtmf_arrives, ch, digit, duration_ms)
            t += between_ms / 1000
        return self.now() + t

    def _dtmf_arrives(self, ch: Channel, digit: str, duration_ms: int) -> None:
        if ch.gone or ch.hanging:
            return
        self._channel_event(ch, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)

    # ------------------------------------------------------------------ hang-up
    def hangup_channel(
        self, channel_id: str, *, reason_code: str | None, reason: str | None
    ) -> None:
        """``DELETE /channels/{id}``."""
        ch = self._channel(channel_id)
        cause = 16
        if reason_code:
            try:
                cause = int(reason_code)
            except ValueError as exc:
                raise AriError(400, "Invalid reason for hangup reason_code provided") from exc
        elif reason:
            if reason not in HANGUP_CAUSES:
                raise AriError(
                    400, "Invalid reason for hangup reason provided", phrase="Invalid Reason"
                )
            cause = HANGUP_CAUSES[reason]
        if ch.hanging:
            return
        self._hangup(ch, cause, request=(32, True))

    def caller_hangs_up(self, ch: Channel) -> None:
        """The phone side hangs up (cause 16, no ``soft``)."""
        if ch.gone or ch.hanging:
            return
        self._hangup(ch, 16, request=(16, False))

    def hangup_all(self) -> None:
        """Shutdown: every channel hangs up (cause 16), bridges and timers go away."""
        for ch in list(self.channels.values()):
            self._hangup(ch, 16, request=(16, False))
        for br in list(self.bridges.values()):
            self.destroy_bridge(br.id)

    def _hangup(self, x: Channel, cause: int, *, request: tuple[int, bool] | None) -> None:
        """Tear down ``x`` (and its Local peer) with the traces' event order.

        For the side that hangs up (``x``): ChannelHangupRequest(request), its playback
        finished ``failed``, StasisEnd, STASISSTATUS; a dialplan-running channel also
        gets a soft ChannelHangupRequest(16). The Local peer gets
        ChannelHangupRequest(cause), its own StasisEnd sequence, then both are destroyed.
        """
        if x.gone or x.hanging:
            return
        x.hanging = True
        peer = x.peer if x.peer is not None and not x.peer.gone and not x.peer.hanging else None
        if request is not None:
            self._hangup_request(x, *request)
        if x.half == 1 and x.state != "Up" and request is not None:
            self._dial_event(x, _DIAL_STATUS.get(cause, "NOANSWER"))
        if x.half == 1 and peer is not None:
            # ;1 hangs up: ;1 leaves Stasis, the ;2 side is hung up, ;1 destroyed, ;2 cleans up
            self._leave_stasis(x, hangup=True)
            peer.hanging = True
            self._hangup_request(peer, cause if cause else 16, False)
            if request is not None:  # DELETE of ;1: ;1 is gone before ;2 cleans up
                self._destroy(x, cause)
            self._stop_target_playbacks(peer.playbacks, "failed")
            if peer.bridge is not None:
                self._bridge_remove(peer.bridge, peer)
            was_in_stasis = peer.stasis_app is not None
            if was_in_stasis:
                self._stasis_event(peer, "StasisEnd")
                peer.stasis_app = None
            if was_in_stasis:
                peer.variables["STASISSTATUS"] = "SUCCESS"
                self._varset(peer, "STASISSTATUS", "SUCCESS")
            if request is None:  # originate timeout: ;1 goes after ;2 left Stasis (traces)
                self._destroy(x, cause)
            if peer.runs_dialplan:
                self._hangup_request(peer, 16, True)
            self._destroy(peer, cause)
            return
        self._leave_stasis(x, hangup=True)
        if x.runs_dialplan and request is not None and request != (16, True):
            self._hangup_request(x, 16, True)
        if peer is None:
            self._destroy(x, cause)
            return
        peer.hanging = True
        self._hangup_request(peer, cause if cause else 16, False)
        self._destroy(x, cause)
        if peer.state != "Up":
            self._dial_event(peer, _DIAL_STATUS.get(cause, "NOANSWER"))
        self._leave_stasis(peer, hangup=True)
        self._destroy(peer, cause)

    def _destroy(self, ch: Channel, cause: int) -> None:
        if ch.gone:
            return
        ch.hanging = True
        self._stop_target_playbacks(ch.playbacks, "failed")
        if ch.bridge is not None:
            self._bridge_remove(ch.bridge, ch)
        for handle in ch.timers:
            handle.cancel()
        ch.timers.clear()
        if ch.half == 1:
            ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        elif ch.runs_dialplan:
            ch.app_name, ch.app_data = "", ""
        self._channel_event(
            ch, "ChannelDestroyed", cause=cause, cause_txt=CAUSE_TEXT.get(cause, "Unknown")
        )
        ch.gone = True
        ch.stasis_app = None
        self.channels.pop(ch.id, None)
        for name in list(ch.subscribers):
            app = self.apps.get(name)
            if app is not None and app.sink is None and not self._app_in_use(name):
                del self.apps[name]
        if ch.observer is not None:
            ch.observer.destroyed(self.now())

    # ------------------------------------------------------------------ playbacks
    def play_on_channel(
        self, channel_id: str, media: Sequence[str], lang: str | None, playback_id: str | None
    ) -> SimResponse:
        ch = self._stasis_channel(channel_id)
        return self._play(
            ch, ch.playbacks, f"channel:{ch.id}", media, lang or ch.language, playback_id
        )

    def play_on_bridge(
        self, bridge_id: str, media: Sequence[str], lang: str | None, playback_id: str | None
    ) -> SimResponse:
        br = self._bridge(bridge_id)
        return self._play(br, br.playbacks, f"bridge:{br.id}", media, lang or "en", playback_id)

    def _play(
        self,
        owner: Channel | Bridge,
        target: _Target,
        target_uri: str,
        media: Sequence[str],
        lang: str,
        playback_id: str | None,
    ) -> SimResponse:
        media = [m for m in media if m]
        if not media:
            raise AriError(500, "Failed to queue media for playback")
        pb = Playback(
            id=playback_id or str(uuid.uuid4()),
            media=list(media),
            target_uri=target_uri,
            language=lang,
            target=owner,
        )
        self.playbacks.setdefault(pb.id, []).append(pb)
        body = playback_json(pb)
        target.queue.append(pb)
        if target.current is None:
            self._at(None, 0.0, self._next_playback, target)
        return SimResponse(201, body, {"Location": f"/ari/playbacks/{pb.id}"})

    def _playback_recipients(self, pb: Playback) -> list[str]:
        owner = pb.target
        if isinstance(owner, Channel):
            return self._channel_recipients(owner)
        names = list(owner.subscribers)
        for ch in owner.channels:
            names += [n for n in self._channel_recipients(ch) if n not in names]
        return names

    def _playback_event(self, pb: Playback, type_: str) -> None:
        recipients = self._playback_recipients(pb)
        if recipients:
            ev = event(type_, self.timestamp(), self.asterisk_id, playback=playback_json(pb))
            self._deliver(recipients, ev)

    def _next_playback(self, target: _Target) -> None:
        """Start the next queued playback of a target if it is idle."""
        if target.current is not None:
            return
        while target.queue:
            pb = target.queue.popleft()
            if pb.stopped_while_queued:
                pb.state = "done"
                self._playback_event(pb, "PlaybackFinished")
                self._forget(pb)
                continue
            if isinstance(pb.target, Channel) and (pb.target.gone or pb.target.hanging):
                self._forget(pb)
                continue
            target.current = pb
            self._start_item(pb)
            return

    def _start_item(self, pb: Playback) -> None:
        if isinstance(pb.target, Bridge) and pb.index == 0:
            # Asterisk plays into a bridge through an Announcer channel (traces, step 55)
            self._bridge_peer_vars(pb.target, f"Announcer/ARI-{self._name_suffix()};2")
        seconds = self.sounds.media_seconds(pb.media[pb.index], pb.language)
        pb.state = "playing"
        pb.elapsed = 0.0
        pb.started_at = self.now()
        self._playback_event(pb, "PlaybackStarted")
        self._observe(pb, started=True)
        if seconds is None:
            self._finish(pb, "failed")
            return
        if seconds == UNKNOWN_SCHEME:
            target = pb.target.playbacks
            target.orphans.append(pb)
            if target.current is pb:
                target.current = None
                self._next_playback(target)
            return
        pb.item_seconds = seconds
        if seconds != FOREVER:
            pb.timer = self._at(None, seconds, self._item_done, pb)

    def _observe(self, pb: Playback, *, started: bool, cut_off: bool = False) -> None:
        owner = pb.target
        targets: list[Channel] = []
        targets = [owner] if isinstance(owner, Channel) else list(owner.channels)
        for ch in targets:
            if ch.observer is not None:
                if started:
                    ch.observer.media_started(pb.media[pb.index], self.now())
                else:
                    ch.observer.media_ended(pb.media[pb.index], self.now(), cut_off)

    def _item_done(self, pb: Playback) -> None:
        pb.timer = None
        self._observe(pb, started=False)
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self._playback_event(pb, "PlaybackContinuing")
            pb.index += 1
            self._start_item(pb)
            return
        self._finish(pb, "done", observed=True)

    def _finish(self, pb: Playback, state: str, *, observed: bool = False) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if not observed:
            self._observe(pb, started=False, cut_off=False)
        pb.state = state
        self._playback_event(pb, "PlaybackFinished")
        if isinstance(pb.target, Bridge):
            self._bridge_peer_vars(pb.target)
        self._forget(pb)
        target = pb.target.playbacks
        if target.current is pb:
            target.current = None
            owner = pb.target
            if not (isinstance(owner, Channel) and (owner.gone or owner.hanging)):
                self._next_playback(target)

    def _forget(self, pb: Playback) -> None:
        same = self.playbacks.get(pb.id)
        if same is not None:
            if pb in same:
                same.remove(pb)
            if not same:
                del self.playbacks[pb.id]

    def _stop_target_playbacks(self, target: _Target, state: str) -> None:
        """Channel leaving: the current playback finishes with ``state``; queued ones vanish."""
        queued = list(target.queue) + target.orphans
        target.queue.clear()
        target.orphans.clear()
        for pb in queued:
            self._forget(pb)
        current = target.current
        if current is not None:
            target.current = None
            if current.timer is not None:
                current.timer.cancel()
                current.timer = None
            self._observe(current, started=False, cut_off=True)
            current.state = state
            self._playback_event(current, "PlaybackFinished")
            self._forget(current)

    def _playback(self, playback_id: str) -> Playback:
        same = self.playbacks.get(playback_id)
        if not same:
            raise AriError(404, "Playback not found")
        return same[0]

    def get_playback(self, playback_id: str) -> JsonDict:
        return playback_json(self._playback(playback_id))

    def stop_playback(self, playback_id: str) -> None:
        pb = self._playback(playback_id)
        target = pb.target.playbacks
        if target.current is pb:
            if pb.timer is not None:
                pb.timer.cancel()
                pb.timer = None
            self._observe(pb, started=False, cut_off=True)
            pb.state = "done"
            self._playback_event(pb, "PlaybackFinished")
            self._forget(pb)
            target.current = None
            self._next_playback(target)
            return
        if pb in target.orphans:  # an abandoned unknown-scheme playback: just forget it
            target.orphans.remove(pb)
            self._forget(pb)
            return
        # queued: marked done now (GET shows it), PlaybackFinished when the queue reaches it
        pb.stopped_while_queued = True
        pb.state = "done"

    def control_playback(self, playback_id: str, operation: str | None) -> None:
        if not operation:
            raise AriError(400, "Missing operation")
        pb = self._playback(playback_id)
        if operation not in ("restart", "pause", "unpause", "reverse", "forward"):
            raise AriError(400, f"Invalid operation {operation}")
        if pb.state not in ("playing", "paused"):
            raise AriError(409, f"Can only {operation} while media is playing")
        now = self.now()
        if operation == "pause":
            if pb.state == "playing":
                pb.elapsed += now - pb.started_at
                if pb.timer is not None:
                    pb.timer.cancel()
                    pb.timer = None
                pb.state = "paused"
            return
        if operation == "unpause":
            if pb.state == "paused":
                pb.state = "playing"
                pb.started_at = now
                self._playback_event(pb, "PlaybackStarted")
                self._reschedule(pb)
            return
        if pb.state == "playing":
            pb.elapsed += now - pb.started_at
            pb.started_at = now
        if operation == "restart":
            pb.elapsed = 0.0
        elif operation == "forward":
            pb.elapsed += 3.0
        else:
            pb.elapsed = max(0.0, pb.elapsed - 3.0)
        if pb.state == "playing":
            self._reschedule(pb)

    def _reschedule(self, pb: Playback) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if pb.item_seconds == FOREVER:
            return
        pb.timer = self._at(None, max(0.0, pb.item_seconds - pb.elapsed), self._item_done, pb)

    # ------------------------------------------------------------------ bridges
    def _bridge(self, bridge_id: str, phrase: str | None = None) -> Bridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise AriError(404, "Bridge not found", phrase=phrase)
        return br

    def list_bridges(self) -> list[JsonDict]:
        return [bridge_json(b) for b in self.bridges.values()]

    def get_bridge(self, bridge_id: str) -> JsonDict:
        return bridge_json(self._bridge(bridge_id))

    def create_bridge(self, bridge_id: str | None, type_: str | None, name: str | None) -> JsonDict:
        kinds = [t.strip() for t in (type_ or "mixing").split(",") if t.strip()]
        allowed = {
            "mixing",
            "holding",
            "dtmf_events",
            "proxy_media",
            "video_sfu",
            "video_single",
            "sdp_label",
        }
        if any(k not in allowed for k in kinds):
            raise AriError(
                500,
                "Unable to create bridge. Possible duplicate bridge id '(null)'",
                phrase="Internal Error",
            )
        if bridge_id and bridge_id in self.bridges:
            raise AriError(
                500,
                f"Unable to create bridge. Possible duplicate bridge id '{bridge_id}'",
                phrase="Internal Error",
            )
        br = Bridge(
            id=bridge_id or str(uuid.uuid4()),
            name=name or "",
            bridge_type="holding" if "holding" in kinds else "mixing",
            creationtime=self.timestamp(),
        )
        self.bridges[br.id] = br
        return bridge_json(br)

    def destroy_bridge(self, bridge_id: str) -> None:
        br = self._bridge(bridge_id, "Not found")
        for ch in list(br.channels):
            self._bridge_remove(br, ch)
        self._stop_target_playbacks(br.playbacks, "done")
        del self.bridges[br.id]

    def _bridge_peer_vars(self, br: Bridge, announcer: str | None = None) -> None:
        """BRIDGEPEER of every member: the others' names (an announcer first while playing)."""
        if len(br.channels) < 2 and announcer is None:
            return
        for ch in br.channels:
            names = [o.name for o in br.channels if o is not ch]
            if announcer is not None:
                names.insert(0, announcer)
            others = ",".join(names)
            ch.variables["BRIDGEPEER"] = others
            self._varset(ch, "BRIDGEPEER", others)

    def add_to_bridge(self, bridge_id: str, channel_ids: Sequence[str] | None) -> None:
        if not channel_ids:
            raise AriError(400, "Missing parameter channel")
        br = self._bridge(bridge_id, "Not found")
        chans: list[Channel] = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None:
                raise AriError(400, "Channel not found")
            if ch.stasis_app is None:
                raise AriError(422, "Channel not in Stasis application")
            chans.append(ch)
        for ch in chans:
            if ch.bridge is br or (ch.peer is not None and ch.peer.bridge is br):
                # already in, or its own Local peer is: Asterisk adds nothing (traces, step 54)
                continue
            if ch.bridge is not None:
                self._bridge_remove(ch.bridge, ch)
            br.channels.append(ch)
            ch.bridge = br
            if ch.stasis_app is not None:  # the app now watches the bridge too
                br.subscribers.setdefault(ch.stasis_app, None)
            self._bridge_channel_event(br, ch, "ChannelEnteredBridge")
            if len(br.channels) >= 2:
                self._bridge_peer_vars(br)
                for member in [ch] + [m for m in br.channels if m is not ch]:
                    self._channel_event(member, "ChannelConnectedLine")

    def remove_from_bridge(self, bridge_id: str, channel_ids: Sequence[str] | None) -> None:
        if not channel_ids:
            raise AriError(400, "Missing parameter channel")
        br = self._bridge(bridge_id)
        chans: list[Channel] = []
        for cid in channel_ids:
            ch = self.channels.get(cid)
            if ch is None:
                raise AriError(400, "Channel not found")
            if ch.bridge is not br:
                raise AriError(422, "Channel not in this bridge")
            chans.append(ch)
        for ch in chans:
            self._bridge_remove(br, ch)

    def _bridge_remove(self, br: Bridge, ch: Channel) -> None:
        if ch not in br.channels:
            ch.bridge = None
            return
        if "BRIDGEPEER" in ch.variables:
            ch.variables["BRIDGEPEER"] = ""
            self._varset(ch, "BRIDGEPEER", "")
        br.channels.remove(ch)
        ch.bridge = None
        self._bridge_channel_event(br, ch, "ChannelLeftBridge")

    def _bridge_channel_event(self, br: Bridge, ch: Channel, type_: str) -> None:
        recipients = self._channel_recipients(ch)
        recipients += [n for n in br.subscribers if n not in recipients]
        if recipients:
            ev = event(
                type_,
                self.timestamp(),
                self.asterisk_id,
                bridge=bridge_json(br),
                channel=channel_json(ch),
            )
            self._deliver(recipients, ev)

    # ------------------------------------------------------------------ sounds
    def list_sounds(self, lang: str | None, fmt: str | None) -> list[JsonDict]:
        if lang not in (None, "", "en"):
            raise AriError(404, "No sounds found that matched the query")
        out = []
        for name in self.sounds.list_sounds():
            formats = self.sounds.sound_formats(name)
            if fmt and fmt not in formats:
                continue
            out.append({"id": name, "formats": [{"language": "en", "format": f} for f in formats]})
        if not out:
            raise AriError(404, "No sounds found that matched the query")
        return out

    def get_sound(self, sound_id: str) -> JsonDict:
        formats = self.sounds.sound_formats(sound_id)
        if not formats:
            raise AriError(404, "Sound not found")
        return {"id": sound_id, "formats": [{"language": "en", "format": f} for f in formats]}

    # ------------------------------------------------------------------ user events
    def user_event(
        self,
        event_name: str,
        application: str | None,
        sources: Sequence[str],
        variables: dict[str, Any] | None,
    ) -> None:
        if not application:
            raise AriError(400, "Missing parameter application")
        if application not in self.apps:
            raise AriError(404, "Application not found")
        extra: dict[str, Any] = {}
        for source in sources:
            scheme, _, ident = source.partition(":")
            if scheme == "channel":
                ch = self.channels.get(ident)
                if ch is None:
                    raise AriError(422, f"Unable to find event source {source}")
                extra["channel"] = channel_json(ch)
            elif scheme == "bridge":
                br = self.bridges.get(ident)
                if br is None:
                    raise AriError(422, f"Unable to find event source {source}")
                extra["bridge"] = bridge_json(br)
            else:
                raise AriError(400, "Invalid event source URI scheme")
        userevent = dict(variables or {})
        userevent["eventname"] = event_name
        ev = event(
            "ChannelUserevent",
            self.timestamp(),
            self.asterisk_id,
            eventname=event_name,
            userevent=userevent,
            **extra,
        )
        self._deliver([application], ev)

    # ------------------------------------------------------------------ leak checks
    def stats(self) -> dict[str, int]:
        """Counts of live objects (leak checks: all zero after every call has ended)."""
        return {
            "channels": len(self.channels),
            "playbacks": sum(len(v) for v in self.playbacks.values()),
            "bridges": len(self.bridges),
            "timers": sum(len(ch.timers) for ch in self.channels.values()),
        }
