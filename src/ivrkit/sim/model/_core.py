"""State, clock, ids and event delivery shared by the model's parts; applications,
asterisk info, sounds and user events.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ivrkit.sim.model._dialplan import DEFAULT_DIALPLAN, Dialplan, DialplanSpec
from ivrkit.sim.model._expr import substitute
from ivrkit.sim.model._json import (
    application_json,
    bridge_json,
    channel_json,
    event,
    hangup_request_event,
    varset_event,
)
from ivrkit.sim.model._objects import (
    ASTERISK_ID,
    ASTERISK_VERSION,
    Application,
    Bridge,
    Channel,
    ChannelCommand,
    Endpoint,
    JsonDict,
    LiveRecording,
    PerCallConnect,
    Playback,
    PlaybackQueue,
    ReactionHooks,
    Scheduler,
    Sink,
    StoredRecording,
)
from ivrkit.sim.model._replies import AriError, SimResponse
from ivrkit.sim.model._sounds import SoundLibrary


class ModelCore:
    """The model's state and plumbing; ``SimModel`` adds channels, playbacks, bridges."""

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
        #: orders playbacks and recordings in a target's media queue
        self._media_seq = itertools.count(1)
        self._wall0_ms = int(self._wall0.timestamp() * 1000)
        self._ts_ms = -1
        self._ts_second = -1
        self._ts_prefix = ""
        self._ts_text = ""
        self.channels: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.playbacks: dict[str, list[Playback]] = {}
        #: recordings in progress (or queued) by name, and the recording files by name
        self.live_recordings: dict[str, LiveRecording] = {}
        #: simulated endpoints by name (``PJSIP/bob``), see ``_endpoints``
        self.endpoints: dict[str, Endpoint] = {}
        #: ``Stasis:`` device states (name without the prefix) and MWI mailboxes
        self.device_states: dict[str, str] = {}
        self.mailboxes: dict[str, tuple[int, int]] = {}
        self.stored_recordings: dict[str, StoredRecording] = {}
        self.apps: dict[str, Application] = {}
        self.global_vars: dict[str, str] = {}
        self.events_emitted = 0
        #: applications connected with ``subscribeAll=true``: they see every event
        self.all_events_apps: dict[str, None] = {}
        #: called with the app name whenever a websocket takes an application
        self.app_listeners: list[Callable[[str], None]] = []
        #: times the app's reaction to DTMF when set (the benchmark); see ``_reaction``
        self.reaction: ReactionHooks | None = None
        #: ``per_call_config`` outbound websockets (``ari.conf``), by app name: called as
        #: ``connect(channel, app, args, (context, exten, next priority))`` when
        #: ``Stasis(app)`` finds the app unregistered; it later calls
        #: ``enter_stasis`` or ``stasis_failed`` (sim/control/_websocket_client.py)
        self.per_call_apps: dict[str, PerCallConnect] = {}

    def now(self) -> float:
        return self.scheduler.time()

    @staticmethod
    def _format(dt: datetime) -> str:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"

    def timestamp(self) -> str:
        """Asterisk's event timestamp for the current clock, e.g. ``...T04:21:08.291+0000``.

        Cached per millisecond, with the date part cached per second: every event
        carries one, so this must be cheap under load.
        """
        ms_total = self._wall0_ms + int((self.scheduler.time() - self._t0) * 1000)
        if ms_total != self._ts_ms:
            seconds, ms = divmod(ms_total, 1000)
            if seconds != self._ts_second:
                stamp = datetime.fromtimestamp(seconds, UTC)
                self._ts_prefix = stamp.strftime("%Y-%m-%dT%H:%M:%S")
                self._ts_second = seconds
            self._ts_ms = ms_total
            self._ts_text = f"{self._ts_prefix}.{ms:03d}+0000"
        return self._ts_text

    def wall_time(self) -> float:
        """The simulated wall clock (epoch seconds): the start time plus loop time."""
        return self._wall0.timestamp() + (self.scheduler.time() - self._t0)

    def substitute_data(self, ch: Channel, text: str) -> str:
        """A dialplan step's arguments with ``${...}``/``$[...]`` expanded on ``ch``."""
        if "$" not in text:
            return text
        return substitute(text, lambda name: self.substitute_value(ch, name))

    def substitute_value(self, ch: Channel | None, name: str) -> str:
        raise NotImplementedError  # VariableOps

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
                if (app.events_allowed or app.events_disallowed) and not _allowed(app, ev):
                    continue
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
            if ch.tech_cause and not soft:  # ast_queue_hangup adds the tech cause
                ev = {"cause": ev.pop("cause"), "tech_cause": ch.tech_cause, **ev}
            self._deliver(recipients, ev)

    def _dial_event(self, peer: Channel, status: str, caller: Channel | None = None) -> None:
        """``Dial``: published on the peer's and (``Dial()``) the caller's topics."""
        recipients = self._channel_recipients(peer)
        if caller is not None:
            recipients += [n for n in self._channel_recipients(caller) if n not in recipients]
        if recipients:
            fields: dict[str, Any] = {
                "dialstatus": status,
                "forward": "",
                "dialstring": peer.dialstring,
            }
            if caller is not None:
                fields["caller"] = channel_json(caller)
            fields["peer"] = channel_json(peer)
            ev = event("Dial", self.timestamp(), self.asterisk_id, **fields)
            self._deliver(recipients, ev)

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
        return application_json(
            app.name,
            channel_ids,
            bridge_ids,
            sorted(app.endpoint_ids),
            sorted(app.device_names),
            app.events_allowed,
            app.events_disallowed,
        )

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
        resolved: list[Channel | Bridge | tuple[str, str]] = []
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
            elif scheme == "endpoint":
                if not self._endpoint_source_exists(ident):
                    raise AriError(422, f"Unable to find event source {source}")
                resolved.append((scheme, ident))
            elif scheme == "deviceState":
                resolved.append((scheme, ident))
            else:
                raise AriError(400, "Invalid event source URI scheme")
        for item in resolved:
            if isinstance(item, tuple):
                kind, ident = item
                names = app.endpoint_ids if kind == "endpoint" else app.device_names
                if on:
                    names.add(ident)
                else:
                    names.discard(ident)
            elif on:
                item.subscribers[name] = None
            else:
                item.subscribers.pop(name, None)
        return self._app_json(app)

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

    def _channel(self, channel_id: str) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        return ch

    def _controlled(self, channel_id: str) -> Channel:
        """``find_control`` then ``channel_state_invalid`` (``resource_channels.c``): a
        channel still Down, Rsrvd or Ringing is 412 "Channel in invalid state"."""
        ch = self._stasis_channel(channel_id)
        if ch.state in ("Down", "Rsrvd", "Ringing"):
            raise AriError(412, "Channel in invalid state")
        return ch

    def _stasis_channel(self, channel_id: str) -> Channel:
        ch = self._channel(channel_id)
        if ch.stasis_app is None:
            raise AriError(409, "Channel not in Stasis application")
        return ch

    def _stasis_event(self, ch: Channel, type_: str, **fields: Any) -> None:
        """StasisStart/StasisEnd go to the Stasis application only (traces)."""
        assert ch.stasis_app is not None
        fields["channel"] = channel_json(ch)
        self._deliver([ch.stasis_app], event(type_, self.timestamp(), self.asterisk_id, **fields))

    def _bridge(self, bridge_id: str, phrase: str | None = None) -> Bridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise AriError(404, "Bridge not found", phrase=phrase)
        return br

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

    def stats(self) -> dict[str, int]:
        """Counts of live objects (leak checks: all zero after every call has ended)."""
        return {
            "channels": len(self.channels),
            "playbacks": sum(len(v) for v in self.playbacks.values()),
            "bridges": len(self.bridges),
            "timers": sum(len(ch.timers) for ch in self.channels.values()),
        }

    def media_seconds(self, uri: str, lang: str) -> float | None:
        """Length of one media item: sounds from the library, ``recording:NAME`` from the
        stored recordings (``res_stasis_playback.c`` plays those files)."""
        scheme, _, rest = uri.partition(":")
        if scheme == "recording":
            stored = self.stored_recordings.get(rest)
            return None if stored is None else stored.seconds
        return self.sounds.media_seconds(uri, lang)

    # -- provided by the other mixins (declared here so each part type-checks alone)
    def _originate_device(
        self,
        tech: str,
        resource: str,
        *,
        app: str | None,
        app_args: str | None,
        where: tuple[str, str, int] | None,
        caller_id: str | None,
        timeout: int,
        variables: Mapping[str, str],
        channel_id: str | None,
    ) -> JsonDict:
        raise NotImplementedError  # OutboundOps

    def _app_dial(self, ch: Channel, data: str, resume: tuple[str, str, int]) -> bool:
        raise NotImplementedError  # OutboundOps

    def _caller_leaves_dial(self, ch: Channel) -> None:
        raise NotImplementedError  # OutboundOps

    def _far_ringing(self, att: Any) -> None:
        raise NotImplementedError  # OutboundOps

    def _far_answered(self, att: Any) -> None:
        raise NotImplementedError  # OutboundOps

    def _dialled_channel_ends(self, ch: Channel) -> None:
        raise NotImplementedError  # OutboundOps

    def _dialled_channel_gone(self, ch: Channel) -> None:
        raise NotImplementedError  # OutboundOps

    def _caller_endpoint(self, tech_resource: str) -> None:
        raise NotImplementedError  # EndpointOps

    def _end_snoops(self, ch: Channel) -> None:
        raise NotImplementedError  # ControlThreadOps

    def _endpoint_source_exists(self, ident: str) -> bool:
        raise NotImplementedError  # EndpointOps

    def _endpoint_channels_changed(self, ch: Channel) -> None:
        raise NotImplementedError  # EndpointOps

    def _start_recording(self, target: PlaybackQueue, rec: LiveRecording) -> None:
        raise NotImplementedError  # RecordingOps

    def _stop_target_recordings(self, target: PlaybackQueue) -> None:
        raise NotImplementedError  # RecordingOps

    def _recording_hears_dtmf(self, ch: Channel, digit: str) -> None:
        raise NotImplementedError  # RecordingOps

    def _answer(self, ch: Channel) -> None:
        raise NotImplementedError  # ChannelOps

    def _next_playback(self, target: PlaybackQueue) -> None:
        raise NotImplementedError  # PlaybackOps

    def write_variable(
        self, ch: Channel, name: str, value: str | None, *, report_events: bool = False
    ) -> None:
        raise NotImplementedError  # VariableOps

    def _set_caller(self, ch: Channel, name: str, number: str) -> None:
        raise NotImplementedError  # ChannelOps

    def _stop_target_playbacks(self, target: PlaybackQueue, state: str) -> None:
        raise NotImplementedError  # PlaybackOps

    def _run_command(self, command: ChannelCommand) -> None:
        raise NotImplementedError  # ControlThreadOps

    def _progress(self, ch: Channel) -> None:
        raise NotImplementedError  # PlaybackOps

    def _channel_command(
        self,
        ch: Channel,
        run: Callable[[], None],
        *,
        sync: bool,
        failure: SimResponse | None = None,
        after_answer: bool = False,
    ) -> None:
        raise NotImplementedError  # ControlThreadOps

    def _flush_commands(self, target: PlaybackQueue) -> None:
        raise NotImplementedError  # ControlThreadOps

    def _bridge_remove(self, br: Bridge, ch: Channel) -> None:
        raise NotImplementedError  # BridgeOps

    def _bridge_peer_vars(self, br: Bridge, announcer: str | None = None) -> None:
        raise NotImplementedError  # BridgeOps

    def destroy_bridge(self, bridge_id: str) -> None:
        raise NotImplementedError  # BridgeOps

    def _stasis_broadcast(
        self, ch: Channel, data: str, context: str, exten: str, priority: int
    ) -> None:
        raise NotImplementedError  # BroadcastOps


def _allowed(app: Application, ev: JsonDict) -> bool:
    """``stasis_app_event_allowed``: not disallowed, and allowed (an empty list: all)."""
    kind = ev.get("type")
    if any(item.get("type") == kind for item in app.events_disallowed):
        return False
    return not app.events_allowed or any(item.get("type") == kind for item in app.events_allowed)
