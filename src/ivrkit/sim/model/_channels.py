"""Channels: incoming calls, Local pairs from originate, the dialplan, Stasis, answer,
DTMF, variables and the hang-up sequences recorded from Asterisk.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from ivrkit.sim.model._bridges import release_held_bridges
from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._dialplan import Step
from ivrkit.sim.model._json import (
    channel_json,
)
from ivrkit.sim.model._objects import (
    CAUSE_TEXT,
    DIAL_STATUS,
    DTMF_DIGITS,
    DTMF_LATENCY,
    HANGUP_CAUSES,
    Channel,
    ChannelObserver,
    JsonDict,
    parse_caller_id,
)
from ivrkit.sim.model._replies import AriError

_log = logging.getLogger("ivrkit.sim")
#: steps run without waiting before the simulator calls it a loop (Asterisk would spin)
MAX_STEPS_WITHOUT_WAIT = 10_000


class ChannelOps(ModelCore):
    """Channel behaviour of the model."""

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
        self._endpoint_channels_changed(ch)
        return ch

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
        self._caller_endpoint(tech_resource)
        self._run_dialplan(ch, context, exten, 1)
        return ch

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
            plain = {str(k): str(v) for k, v in (variables or {}).items()}
            where = (context or "default", extension or "s", priority or 1)
            return self._originate_device(
                tech,
                resource,
                app=app,
                app_args=app_args,
                where=None if app else where,
                caller_id=caller_id,
                timeout=timeout,
                variables=plain,
                channel_id=channel_id,
            )
        target, _, ctx = resource.partition("@")
        ctx = ctx or "default"
        ctx = ctx.split("/")[0]
        vars_in = {str(k): str(v) for k, v in (variables or {}).items()}
        # callerId is the originate's caller id: ;1's caller and connected line, and what
        # ;2 is called with. A CALLERID() variable is set on ;1 only: ;2 does not get it
        # as its caller but sees ;1's caller as its connected line (catalog recording).
        given = parse_caller_id(caller_id)
        caller = (
            vars_in.get("CALLERID(name)", given[0]),
            vars_in.get("CALLERID(num)", given[1]),
        )
        suffix = self._name_suffix()
        one = self._new_channel(
            channel_id, f"Local/{resource}-{suffix};1", "Down", caller, given, ctx, target
        )
        two = self._new_channel(
            other_channel_id, f"Local/{resource}-{suffix};2", "Ring", given, caller, ctx, target
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
        if one.attempt is not None:  # dial.c's timeout publishes no Dial event
            one.attempt.over = True
        self._hangup(one, 19, request=None)

    def _run_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        """Execute steps until one waits (Stasis, Wait, Echo) or the channel hangs up.

        Each step's arguments are substituted first (``pbx_extension_helper``), so the
        snapshot's ``app_data`` is the substituted text; a Goto leaves its target in
        ``ch.jump``. A loop that never waits is cut after ``MAX_STEPS_WITHOUT_WAIT``.
        """
        steps = 0
        while not ch.gone and not ch.hanging:
            step = self.dialplan.step(context, exten, priority)
            if step is None:
                if priority == 1:
                    self._hangup(ch, 0, request=None)
                else:
                    self._hangup(ch, 16, request=(16, True))
                return
            data = self.substitute_data(ch, step.data)
            if data != step.data:
                step = Step(step.app, data, step.label)
            ch.context, ch.exten, ch.priority = context, exten, priority
            ch.app_name, ch.app_data = step.app, step.data
            self._channel_event(
                ch, "ChannelDialplan", dialplan_app=step.app, dialplan_app_data=step.data
            )
            if not self._exec(ch, step, context, exten, priority):
                return
            if ch.jump is not None:
                (context, exten, priority), ch.jump = ch.jump, None
            else:
                priority += 1
            steps += 1
            if steps > MAX_STEPS_WITHOUT_WAIT:
                _log.error(
                    "dialplan loop: %s ran %d steps without waiting (at %s,%s,%d); hanging up",
                    ch.name,
                    steps,
                    context,
                    exten,
                    priority,
                )
                self._hangup(ch, 16, request=(16, True))
                return

    def _exec(self, ch: Channel, step: Step, context: str, exten: str, priority: int) -> bool:
        """Run one application; ``True`` to go on with the next priority."""
        app = step.app.lower()
        if app == "set":
            name, _, value = step.data.partition("=")
            self.write_variable(ch, name.strip(), value)
            return True
        if app == "stasis":
            name, *args = step.data.split(",")
            ch.variables["STASISSTATUS"] = ""
            self._varset(ch, "STASISSTATUS", "")
            if not self.app_connected(name):
                connect = self.per_call_apps.get(name)
                if connect is not None:  # app_stasis: ast_ari_create_per_call_websocket
                    connect(ch, name, args, (context, exten, priority + 1))
                    return False
                ch.variables["STASISSTATUS"] = "FAILED"
                self._varset(ch, "STASISSTATUS", "FAILED")
                return True
            self._enter_stasis(ch, name, args)
            return False
        if app == "stasisbroadcast":
            self._stasis_broadcast(ch, step.data, context, exten, priority)
            return False
        if app == "hangup":
            self._hangup(ch, 16, request=(16, True))
            return False
        if app == "dial":
            return self._app_dial(ch, step.data, (context, exten, priority + 1))
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

    def enter_stasis(self, channel_id: str, app: str, args: list[str]) -> bool:
        """A per-call websocket is up: the channel enters ``app`` (False if it is gone)."""
        ch = self.channels.get(channel_id)
        if ch is None or ch.gone or ch.hanging:
            return False
        self._enter_stasis(ch, app, args)
        return True

    def stasis_failed(self, channel_id: str, where: tuple[str, str, int]) -> None:
        """No per-call websocket: ``STASISSTATUS=FAILED`` and the dialplan goes on at
        ``where`` (app_stasis ``done:``); from Stasis, as ``stasis_app_control_continue``."""
        ch = self.channels.get(channel_id)
        if ch is None or ch.gone or ch.hanging:
            return
        if ch.stasis_app is not None:
            self._stop_target_playbacks(ch.playbacks, "done")
            if ch.bridge is not None:
                self._bridge_remove(ch.bridge, ch)
            self._stasis_event(ch, "StasisEnd")
            ch.stasis_app = None
        ch.variables["STASISSTATUS"] = "FAILED"
        self._varset(ch, "STASISSTATUS", "FAILED")
        self._run_dialplan(ch, *where)

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

    def _set_state(self, ch: Channel, state: str) -> None:
        if ch.state == state:
            return
        ch.state = state
        if state == "Up" and ch.up_since is None:
            ch.up_since = self.now()
        self._channel_event(ch, "ChannelStateChange")

    def _ring_peer(self, one: Channel) -> None:
        if one.attempt is not None and one.attempt.mode == "app":
            self._far_ringing(one.attempt)  # a Local destination of Dial()
            return
        if one.state == "Down":
            self._set_state(one, "Ringing")
            if one.dialer != "ari":  # an ARI dial publishes only its Dial ""
                self._dial_event(one, "RINGING")

    def _answer(self, ch: Channel) -> None:
        if ch.state == "Up":
            return
        self._set_state(ch, "Up")
        one = ch.peer if ch.half == 2 else None
        if one is None or one.gone or one.state == "Up":
            return
        if one.attempt is not None and one.attempt.mode == "app":
            self._far_answered(one.attempt)  # a Local destination of Dial()
            return
        self._set_state(one, "Up")
        if one.dialer != "ari":
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

    def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None,
        extension: str | None,
        priority: int | None,
        label: str | None,
    ) -> None:
        ch = self._controlled(channel_id)
        if context or extension or priority:
            where = (context or ch.context, extension or ch.exten, priority or 1)
        else:
            where = (ch.context, ch.exten, ch.priority + 1)
        # app_control_continue is an asynchronous command (res/stasis/control.c)
        self._channel_command(ch, functools.partial(self._continue, ch, where), sync=False)

    def _continue(self, ch: Channel, where: tuple[str, str, int]) -> None:
        if ch.gone or ch.stasis_app is None:
            return
        self._leave_stasis(ch, hangup=False)
        if not ch.runs_dialplan:
            self._hangup(ch, 16, request=(16, True))
            return
        self._run_dialplan(ch, *where)

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
        ch = self._controlled(channel_id)
        if not dtmf:
            raise AriError(400, "DTMF is required")
        # app_control_dtmf is an asynchronous command (res/stasis/control.c)
        send = functools.partial(self._send_dtmf, ch, dtmf, before, between, duration, after)
        self._channel_command(ch, send, sync=False)

    def _send_dtmf(
        self, ch: Channel, dtmf: str, before: int, between: int, duration: int, after: int
    ) -> None:
        if ch.gone:
            return
        receiver = ch.peer if ch.half and ch.peer is not None else None
        start = max(self.now(), ch.dtmf_busy_until) - self.now()
        t = start + max(before, 0) / 1000 + DTMF_LATENCY
        step_duration = max(duration, 0) / 1000
        for digit in dtmf:
            if digit in "wW":
                t += 0.5
                continue
            if digit not in DTMF_DIGITS:
                continue
            t += step_duration
            if receiver is not None:
                self._at(receiver, t, self._dtmf_arrives, receiver, digit, duration)
            elif ch.observer is not None:  # the app plays DTMF to a simulated phone
                self._at(ch, t, self._dtmf_to_phone, ch, digit)
            t += max(between, 0) / 1000
        ch.dtmf_busy_until = self.now() + t + max(after, 0) / 1000

    def caller_presses(self, ch: Channel, digits: str, duration_ms: int, between_ms: int) -> float:
        """A phone sends DTMF into its channel; returns the clock when the last one lands."""
        bad = [d for d in digits if d not in DTMF_DIGITS]
        if bad or not digits:
            raise ValueError(
                f"can't press {digits!r}: {bad[0] if bad else 'nothing'!r} is not a DTMF digit "
                "(use 0-9, A-D, # or *)"
            )
        t = landed = 0.0
        for digit in digits:
            t += duration_ms / 1000
            self._at(ch, t, self._dtmf_arrives, ch, digit, duration_ms)
            landed = t  # not the gap after the last key: nothing follows it
            t += between_ms / 1000
        return self.now() + landed

    def _dtmf_to_phone(self, ch: Channel, digit: str) -> None:
        if ch.observer is not None and not ch.hanging:
            ch.observer.dtmf_heard(digit, self.now())

    def _dtmf_arrives(self, ch: Channel, digit: str, duration_ms: int) -> None:
        if ch.gone or ch.hanging:
            return
        self._channel_event(ch, "ChannelDtmfReceived", digit=digit, duration_ms=duration_ms)
        self._recording_hears_dtmf(ch, digit)

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
        x.hangup_cause = cause
        if x.dialing is not None or (x.linked is not None and x.attempt is None):
            self._caller_leaves_dial(x)  # a Dial() caller: its destinations end too
        peer = x.peer if x.peer is not None and not x.peer.gone and not x.peer.hanging else None
        if request is not None:
            self._hangup_request(x, *request)
        if x.half == 1 and x.state != "Up" and request is not None:
            self._dial_event(x, DIAL_STATUS.get(cause, "NOANSWER"))
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
        if x.half == 2 and x.runs_dialplan and request == (16, True) and peer.state == "Up":
            # the dialplan ended ;2 (e.g. after /continue): ;1 takes ;2's connected line
            # as its caller, announced like any caller change (catalog steps 63, 64)
            self._set_caller(peer, x.connected_name, x.connected_number)
        self._destroy(x, cause)
        if peer.state != "Up":
            self._dial_event(peer, DIAL_STATUS.get(cause, "NOANSWER"))
        self._leave_stasis(peer, hangup=True)
        self._destroy(peer, cause)

    def _set_caller(self, ch: Channel, name: str, number: str) -> None:
        """Change the caller id; ``ChannelCallerId`` only if it really changed (Asterisk
        derives the event from two snapshots)."""
        if (ch.caller_name, ch.caller_number) == (name, number):
            return
        ch.caller_name, ch.caller_number = name, number
        self._channel_event(
            ch,
            "ChannelCallerId",
            caller_presentation=0,
            caller_presentation_txt="Presentation Allowed, Not Screened",
        )

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
        if ch.snoops:
            self._end_snoops(ch)
        if ch.moh is not None and ch.observer is not None:
            ch.observer.media_ended(f"moh:{ch.moh}", self.now(), True)
            ch.moh = None
        dialled = ch.attempt is not None and ch.attempt.ch is ch
        if dialled:
            self._dialled_channel_ends(ch)
        extra = {"tech_cause": ch.tech_cause} if ch.tech_cause else {}
        self._channel_event(
            ch,
            "ChannelDestroyed",
            cause=cause,
            cause_txt=CAUSE_TEXT.get(cause, "Unknown"),
            **extra,
        )
        release_held_bridges(self, ch)
        ch.gone = True
        ch.stasis_app = None
        self.channels.pop(ch.id, None)
        self._endpoint_channels_changed(ch)
        if self.reaction is not None:
            self.reaction.channel_gone(ch.id)
        for name in list(ch.subscribers):
            app = self.apps.get(name)
            if app is not None and app.sink is None and not self._app_in_use(name):
                del self.apps[name]
        if ch.observer is not None:
            ch.observer.destroyed(self.now())
        if dialled:
            self._dialled_channel_gone(ch)
