"""Outgoing calls to devices (simulated PJSIP/SIP/IAX2 endpoints, UnicastRTP, AudioSocket,
WebSocket media channels): originate, ``/channels/create`` + ``/dial``, external media
and the dialplan's ``Dial()``.

Theory of operation
-------------------
Three diallers drive the same far end (``_endpoints.EndpointBehaviour``), each with the
events its Asterisk counterpart publishes:

1. ``originate`` (``res/ari/resource_channels.c`` → ``main/dial.c``, asynchronous): the
   channel is created Down and returned; ``Dial`` (status "", no caller) follows; the
   far end's 180 makes it Ringing (``ChannelStateChange``, ``Dial`` RINGING), its 200 Up
   (``ChannelStateChange``, ``Dial`` ANSWER), then it enters the application
   (``StasisStart`` with ``appArgs``) or runs the dialplan. A refusal (486/503) is
   ``ChannelHangupRequest`` (cause, PJSIP ``tech_cause``), ``Dial`` BUSY/CONGESTION
   (``ast_hangup_cause_to_dial_status``) and ``ChannelDestroyed``; the timeout hangs
   it up with cause 19 and no ``Dial`` event (``handle_timeout_trip``).
2. ARI ``dial`` of a created channel (``res/stasis/control.c`` ``app_control_dial``): the
   channel is already in Stasis (``StasisStart`` came at create time, state Down); only
   ``Dial`` "" is published, then the state changes; a refusal is a remote hang-up
   (``ChannelHangupRequest``, ``StasisEnd``, ``ChannelDestroyed``); the timeout is
   ``hangup_channel``: cause 19 with an explicit soft hang-up (request cause 32).
3. ``Dial()`` in the dialplan (``apps/app_dial.c``): ``Dial`` events name the caller;
   ringing is passed to the caller; on answer the caller is answered and the two are
   connected until one hangs up (then both end: no ``g`` option); otherwise
   ``DIALSTATUS`` (BUSY, CONGESTION, NOANSWER, CHANUNAVAIL, CANCEL) is set and the
   dialplan goes on at the next priority.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ivrkit.sim.model._controls import ControlOps
from ivrkit.sim.model._endpoints import (
    ENDPOINT_TECHS,
    REFUSALS,
    Endpoint,
    EndpointBehaviour,
    EndpointOps,
)
from ivrkit.sim.model._json import channel_json
from ivrkit.sim.model._objects import Channel, JsonDict, parse_caller_id
from ivrkit.sim.model._replies import AriError

#: media channel technologies: they answer as soon as they are called
#: (``chan_rtp.c`` ``unicast_rtp_call``, ``chan_audiosocket.c``, ``chan_websocket.c``)
MEDIA_TECHS = ("UnicastRTP", "AudioSocket", "WebSocket")
_IMMEDIATE = EndpointBehaviour(result="answer", after=0.0)
#: a Local destination of Dial(): its far end is its ;2 half's dialplan
_LOCAL = EndpointBehaviour(result="noanswer")
#: SIP status → cause text of ``tech_cause`` is only reported by chan_pjsip
_TECH_CAUSE_TECHS = ("PJSIP",)


@dataclass(eq=False, slots=True)
class DialGroup:
    """One ``Dial()``: the caller, its destinations and where its dialplan goes on."""

    caller: Channel
    resume: tuple[str, str, int]
    attempts: list[Attempt] = field(default_factory=list)
    timer: Any = None
    rang: bool = False
    done: bool = False
    #: option ``g``: go on in the dialplan when the called party hangs up
    go_on: bool = False
    busy: int = 0
    congestion: int = 0
    nochan: int = 0


@dataclass(eq=False, slots=True)
class Attempt:
    """One outgoing call in progress: who dials (``mode``) and what to do on answer."""

    ch: Channel
    mode: str  # "originate" | "ari" | "app"
    device: str
    behaviour: EndpointBehaviour
    caller: Channel | None = None
    on_answer: Callable[[], None] | None = None
    answered: bool = False
    over: bool = False
    #: Dial(): the group of destinations this one belongs to
    group: DialGroup | None = None


class OutboundOps(ControlOps, EndpointOps):
    """Device channels and the three diallers (see the module docstring)."""

    _pointer = itertools.count(0x7F3A2C001A40, 0x140)

    # -- creating device channels (ast_request)
    def _request_device(
        self,
        tech: str,
        resource: str,
        channel_id: str | None,
        caller: tuple[str, str],
    ) -> tuple[Channel, EndpointBehaviour] | None:
        """A new Down channel for ``TECH/resource``, or ``None`` when ``ast_request``
        fails (unknown technology, unknown or unregistered endpoint)."""
        if tech in ENDPOINT_TECHS:
            ep = self._endpoint_for(tech, resource)
            if ep is None or ep.behaviour.result == "unavailable":
                return None
            if tech == "IAX2":
                name = f"IAX2/{ep.resource}-{next(self._name_counter)}"
            else:
                name = f"{tech}/{ep.resource}-{self._name_suffix()}"
            behaviour = ep.behaviour
            device: Endpoint | None = ep
        elif tech in MEDIA_TECHS:
            name = self._media_channel_name(tech, resource)
            behaviour, device = _IMMEDIATE, None
        else:
            return None
        ch = self._new_channel(channel_id, name, "Down", caller, caller, "default", "s")
        ch.device = device
        ch.dialstring = resource
        return ch, behaviour

    def _media_channel_name(self, tech: str, resource: str) -> str:
        pointer = f"0x{next(self._pointer):x}"
        if tech == "UnicastRTP":
            return f"UnicastRTP/{resource.split('/')[0]}-{pointer}"
        if tech == "AudioSocket":
            host, _, ident = resource.partition("/")
            return f"AudioSocket/{host}-{ident}"
        return f"WebSocket/{resource.split('/')[0]}/{pointer}"

    # -- originate (main/dial.c)
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
        """``POST /channels`` to a device: 500 "Allocation failed" when it can't be made."""
        given = parse_caller_id(caller_id)
        made = self._request_device(tech, resource, channel_id, given)
        if made is None:
            raise AriError(500, "Allocation failed", key="error")
        ch, behaviour = made
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        for name, value in variables.items():
            self.write_variable(ch, name, value)
        if app:
            ch.subscribers[app] = None
            args = app_args.split(",") if app_args else []
            ch.pending_app = (app, args)
        else:
            ch.pending_dialplan = where
        response = channel_json(ch)
        att = Attempt(ch, "originate", resource, behaviour)
        att.on_answer = lambda: self._originated_answered(ch)
        self._dial_event(ch, "")
        seconds = 30 if timeout == 0 else timeout
        if seconds > 0:
            ch.timeout_timer = self._at(ch, float(seconds), self._originate_timeout, ch)
        self._place_call(att)
        return response

    def _originated_answered(self, ch: Channel) -> None:
        if ch.timeout_timer is not None:
            ch.timeout_timer.cancel()
            ch.timers.discard(ch.timeout_timer)
            ch.timeout_timer = None
        if ch.pending_app is not None:
            app, args = ch.pending_app
            ch.pending_app = None
            ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])
            self.write_variable(ch, "STASISSTATUS", "")
            if self.app_connected(app):
                self._enter_stasis(ch, app, args)
            else:
                self.write_variable(ch, "STASISSTATUS", "FAILED")
                self._hangup(ch, 16, request=(16, True))
        elif ch.pending_dialplan is not None:
            context, exten, priority = ch.pending_dialplan
            ch.pending_dialplan = None
            ch.runs_dialplan = True
            self._run_dialplan(ch, context, exten, priority)

    # -- the far end
    def _place_call(self, att: Attempt) -> None:
        """The INVITE goes out: schedule what the far end does."""
        ch = att.ch
        ch.attempt = att
        self._record_call(ch, "ringing")
        b = att.behaviour
        if b.result in ("answer", "noanswer") and (
            b.result == "noanswer" or b.ring_after < b.after
        ):
            self._at(ch, b.ring_after, self._far_ringing, att)
        if b.result == "answer":
            self._at(ch, b.after, self._far_answered, att)
        elif b.result in REFUSALS:
            self._at(ch, b.after, self._far_refused, att)

    def _far_ringing(self, att: Attempt) -> None:
        if att.over or att.answered or att.ch.state == "Ringing":
            return
        self._set_state(att.ch, "Ringing")
        if att.mode != "ari":
            self._dial_event(att.ch, "RINGING", caller=att.caller)
        group = att.group
        if group is not None and not group.rang:  # app_dial passes ringing on once
            group.rang = True
            self._indicate(group.caller, "ringing")

    def _far_answered(self, att: Attempt) -> None:
        if att.over:
            return
        att.answered = True
        ch = att.ch
        self._record_call(ch, "answered")
        self._set_state(ch, "Up")
        if att.group is not None:
            # wait_for_answer: CANCEL to the others first, then Dial ANSWER (app_dial.c)
            self._group_answered(att.group, att)
        elif att.mode != "ari":
            self._dial_event(ch, "ANSWER", caller=att.caller)
        hangup_after = att.behaviour.hangup_after
        if hangup_after is not None:
            self._at(ch, hangup_after, self._far_hangs_up, ch)
        if att.on_answer is not None:
            att.on_answer()

    def _far_hangs_up(self, ch: Channel) -> None:
        """The far end sends BYE: cause 16, no technology cause (a 2xx-ended session)."""
        if ch.gone or ch.hanging:
            return
        self._record_call(ch, "hungup")
        self._hangup(ch, 16, request=(16, False))

    def _far_refused(self, att: Attempt) -> None:
        if att.over or att.answered:
            return
        att.over = True
        ch = att.ch
        cause, sip = REFUSALS[att.behaviour.result]
        self._record_call(ch, att.behaviour.result)
        if ch.name.partition("/")[0] in _TECH_CAUSE_TECHS:
            ch.tech_cause = sip
        status = "BUSY" if cause == 17 else "CONGESTION"
        if att.mode == "ari":
            self._hangup(ch, cause, request=(cause, False))
            return
        ch.hanging = True
        ch.hangup_cause = cause
        self._hangup_request(ch, cause, False)
        self._dial_event(ch, status, caller=att.caller)
        self._destroy(ch, cause)

    # -- Dial() (apps/app_dial.c)
    def _app_dial(self, ch: Channel, data: str, resume: tuple[str, str, int]) -> bool:
        """``Dial(TECH/resource[&TECH/resource...][,timeout[,options]])``: every target
        is called at once and the first to answer wins; ``True``: go on at once."""
        parts = data.split(",")
        targets = [t.strip() for t in parts[0].split("&") if t.strip()]
        try:
            timeout = float(parts[1]) if len(parts) > 1 and parts[1].strip() else 0.0
        except ValueError:
            timeout = 0.0
        self.write_variable(ch, "DIALSTATUS", "")
        group = DialGroup(ch, resume, go_on="g" in (parts[2] if len(parts) > 2 else ""))
        for target in targets:
            tech, _, resource = target.partition("/")
            peer = self._app_dial_request(ch, tech, resource, group)
            if peer is None:
                # "Unable to create channel of type ...": the last destination sets the cause
                group.nochan += 1
                ch.hangup_cause = 3 if tech in ENDPOINT_TECHS or tech == "Local" else 66
        if not group.attempts:
            self.write_variable(ch, "DIALSTATUS", "CHANUNAVAIL")
            return True
        ch.dialing = group
        if timeout > 0:
            group.timer = self._at(ch, timeout, self._app_dial_timeout, group)
        for att in list(group.attempts):
            if att.behaviour is _LOCAL:
                self._at(att.ch, 0.0, self._call_local, att)
            else:
                self._place_call(att)
        return False

    def _app_dial_request(
        self, ch: Channel, tech: str, resource: str, group: DialGroup
    ) -> Channel | None:
        """``ast_request`` for one destination, set up as app_dial sets up a peer."""
        if tech.lower() == "local":
            target, _, ctx = resource.partition("@")
            ctx = ctx.split("/")[0] or "default"
            if not resource or not self.dialplan.exists(ctx, target):
                return None
            peer = self._create_local(resource, None, None)
            two = peer.peer
            assert two is not None
            two.caller_name, two.caller_number = ch.caller_name, ch.caller_number
            behaviour = _LOCAL
        else:
            made = self._request_device(tech, resource, None, (ch.caller_name, ch.caller_number))
            if made is None:
                return None
            peer, behaviour = made
        peer.app_name, peer.app_data = "AppDial", "(Outgoing Line)"
        peer.caller_name, peer.caller_number = ch.caller_name, ch.caller_number
        peer.connected_name, peer.connected_number = ch.caller_name, ch.caller_number
        peer.language = ch.language
        peer.dialstring = resource
        peer.dialer = "app"
        for name, level in ch.inherit.items():
            value = ch.variables.get(name)
            if value is not None:
                self.write_variable(peer, ("__" if level == 2 else "") + name, value)
        self.write_variable(peer, "DIALEDPEERNUMBER", resource)
        att = Attempt(peer, "app", resource, behaviour, caller=ch, group=group)
        att.on_answer = lambda: self._app_dial_answered(att)
        peer.attempt = att
        group.attempts.append(att)
        self._dial_event(peer, "", caller=ch)
        return peer

    def _call_local(self, att: Attempt) -> None:
        """``ast_call`` on a Local ``;1``: its ``;2`` runs the dialplan; ``;2``'s ringing
        and answer come back through ``_ring_peer``/``_answer``."""
        one = att.ch
        two = one.peer
        if att.over or one.gone or two is None or two.gone:
            return
        two.runs_dialplan = True
        self._run_dialplan(two, two.context, two.exten, 1)

    def _group_answered(self, group: DialGroup, winner: Attempt) -> None:
        """The first answer: the other destinations get CANCEL and are hung up with
        cause 26 (``hanguptree(..., AST_CAUSE_ANSWERED_ELSEWHERE)``)."""
        group.done = True
        if group.timer is not None:
            group.timer.cancel()
            group.caller.timers.discard(group.timer)
            group.timer = None
        for att in group.attempts:
            if att is not winner and not att.over:
                att.over = True
                self._record_call(att.ch, "noanswer")
                self._dial_event(att.ch, "CANCEL", caller=group.caller)
                self._end_peer(att.ch, 26)
        self._dial_event(winner.ch, "ANSWER", caller=group.caller)

    def _app_dial_answered(self, att: Attempt) -> None:
        caller, peer = att.caller, att.ch
        assert caller is not None
        if caller.state != "Up":
            self._answer(caller)
        caller.dialing = None
        caller.linked = peer
        peer.linked = caller
        self.write_variable(caller, "DIALSTATUS", "ANSWER")
        self._indicate(caller, f"connected:{peer.name}")

    def _app_dial_timeout(self, group: DialGroup) -> None:
        """Nobody answered in time: NOANSWER to each (``publish_dial_end_event``), then
        ``hanguptree(..., -1)``: their cause stays unset."""
        group.timer = None
        if group.done:
            return
        group.done = True
        for att in group.attempts:
            if not att.over and not att.answered:
                att.over = True
                self._record_call(att.ch, "noanswer")
                self._dial_event(att.ch, "NOANSWER", caller=group.caller)
                self._end_peer(att.ch, 0)
        self._dial_over(group, "NOANSWER")

    def _end_peer(self, peer: Channel, cause: int) -> None:
        if peer.gone:
            return
        peer.hanging = True
        peer.hangup_cause = cause
        if peer.half == 1 and peer.peer is not None and not peer.peer.gone:
            self._hangup(peer, cause, request=(cause, False))
            return
        self._destroy(peer, cause)

    def _dial_over(self, group: DialGroup, status: str) -> None:
        """``Dial()`` returns without a connection: DIALSTATUS, then the next priority."""
        caller = group.caller
        group.done = True
        if caller.gone or caller.hanging or caller.dialing is not group:
            return
        caller.dialing = None
        self.write_variable(caller, "DIALSTATUS", status)
        context, exten, priority = group.resume
        self._run_dialplan(caller, context, exten, priority)

    def _caller_leaves_dial(self, ch: Channel) -> None:
        """The caller hangs up while dialling (CANCEL to every destination,
        DIALSTATUS=CANCEL) or while connected (the far end is hung up too)."""
        group = ch.dialing
        if group is not None:
            ch.dialing = None
            group.done = True
            if group.timer is not None:
                group.timer.cancel()
                group.timer = None
            self.write_variable(ch, "DIALSTATUS", "CANCEL")
            for att in group.attempts:
                if not att.over and not att.answered:
                    att.over = True
                    self._record_call(att.ch, "noanswer")
                    self._dial_event(att.ch, "CANCEL", caller=ch)
                    self._end_peer(att.ch, ch.hangup_cause or 16)
            return
        peer = ch.linked
        if peer is not None and not peer.gone and not peer.hanging:
            ch.linked = None
            peer.linked = None
            self._hangup(peer, 16, request=(16, False))

    def _dialled_channel_ends(self, ch: Channel) -> None:
        """A dialled channel is being destroyed (before its ``ChannelDestroyed``): a
        dialler still waiting for it reports the end (``dial.c``/``app_dial.c`` read a
        hang-up: ``ast_hangup_cause_to_dial_status``)."""
        att = ch.attempt
        if att is None or att.over or att.answered or att.mode == "ari":
            return
        att.over = True
        self._record_call(ch, "noanswer")
        self._dial_event(ch, _dial_status(ch.hangup_cause), caller=att.caller)

    def _dialled_channel_gone(self, ch: Channel) -> None:
        """After its ``ChannelDestroyed``: a ``Dial()`` caller counts the cause and goes
        on once every destination is gone (``handle_cause``: all busy → BUSY, else
        congestion → CONGESTION, else unreachable → CHANUNAVAIL, else NOANSWER), or is
        hung up too if it was connected to this one (no ``g`` option)."""
        att = ch.attempt
        ch.attempt = None
        if att is None or att.group is None:
            return
        group = att.group
        caller = group.caller
        if att.answered:
            if caller.linked is ch:
                caller.linked = None
                ch.linked = None
                if caller.gone or caller.hanging:
                    return
                if group.go_on:
                    self._run_dialplan(caller, *group.resume)
                else:
                    self._hangup(caller, 16, request=(16, True))
            return
        cause = ch.hangup_cause
        if cause == 17:
            group.busy += 1
        elif cause == 34:
            group.congestion += 1
        elif cause not in (0, 16, 19):
            group.nochan += 1
        if group.done or any(not a.over and not a.answered for a in group.attempts):
            return
        if group.busy:
            status = "BUSY"
        elif group.congestion:
            status = "CONGESTION"
        elif group.nochan and group.nochan == len(group.attempts):
            status = "CHANUNAVAIL"
        else:
            status = "NOANSWER"
        caller.hangup_cause = cause
        self._dial_over(group, status)

    # -- /channels/create and /channels/{id}/dial
    def create_channel(
        self,
        *,
        endpoint: str | None,
        app: str | None,
        app_args: str | None,
        channel_id: str | None,
        other_channel_id: str | None,
        originator: str | None,
        formats: str | None,
        variables: Mapping[str, str],
    ) -> JsonDict:
        """``POST /channels/create``: a Down channel in Stasis, dialled later."""
        if originator and formats:
            raise AriError(400, "Originator and formats can't both be specified")
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        tech, _, resource = endpoint.partition("/")
        if not tech or not resource:
            raise AriError(400, "Invalid endpoint specified")
        for cid in (channel_id, other_channel_id):
            if cid and cid in self.channels:
                raise AriError(409, "Channel with given unique ID already exists")
        if tech.lower() == "local":
            ch = self._create_local(resource, channel_id, other_channel_id)
        else:
            made = self._request_device(tech, resource, channel_id, ("", ""))
            if made is None:
                raise AriError(500, "Allocation failed", key="error")
            ch, behaviour = made
            ch.pending_behaviour = behaviour
        ch.created_by_ari = True
        ch.dialstring = resource
        origin = self.channels.get(originator) if originator else None
        if origin is not None and app:
            origin.subscribers[app] = None
        if app:
            ch.subscribers[app] = None
        for name, value in variables.items():
            self.write_variable(ch, name, value)
        response = channel_json(ch)
        stasis_args = app_args.split(",") if app_args else []
        self._at(ch, 0.0, self._created_enters_stasis, ch, app or "(null)", stasis_args)
        return response

    def _create_local(self, resource: str, channel_id: str | None, other_id: str | None) -> Channel:
        """``ast_request("Local", ...)``: both halves exist, ``;2`` runs nothing yet."""
        target, _, ctx = resource.partition("@")
        ctx = ctx.split("/")[0] or "default"
        suffix = self._name_suffix()
        one = self._new_channel(
            channel_id, f"Local/{resource}-{suffix};1", "Down", ("", ""), ("", ""), ctx, target
        )
        two = self._new_channel(
            other_id, f"Local/{resource}-{suffix};2", "Ring", ("", ""), ("", ""), ctx, target
        )
        one.half, two.half = 1, 2
        one.peer, two.peer = two, one
        return one

    def dial_channel(self, channel_id: str, caller_id: str | None, timeout: int) -> None:
        """``POST /channels/{id}/dial`` (``ast_ari_channels_dial``'s checks, in order)."""
        ch = self._stasis_channel(channel_id)
        if ch.state not in ("Down", "Rsrvd"):
            raise AriError(409, "Channel is not in the 'Down' state")
        if not ch.created_by_ari:
            raise AriError(409, "Dialing a channel not created by ARI")
        caller = self.channels.get(caller_id) if caller_id else None
        if caller is not None:
            for name, level in caller.inherit.items():
                value = caller.variables.get(name)
                if value is not None:
                    self.write_variable(ch, ("__" if level == 2 else "") + name, value)
            ch.language = caller.language
            if (ch.connected_name, ch.connected_number) != (
                caller.caller_name,
                caller.caller_number,
            ):
                ch.connected_name = caller.caller_name
                ch.connected_number = caller.caller_number
                self._channel_event(ch, "ChannelConnectedLine")
        # stasis_app_control_dial: stasis_app_send_command_async(control,
        # app_control_dial, ...) (res/stasis/control.c): answered at once, and the call
        # (ast_call, the Dial event) is placed when the channel's thread runs it, after
        # the commands asked for before it and before those asked for after it
        dial = functools.partial(self._ari_dial, ch, max(0, timeout))
        self._channel_command(ch, dial, sync=False, after_answer=True)

    def _ari_dial(self, ch: Channel, timeout: int) -> None:
        if ch.gone or ch.hanging or not ch.created_by_ari or ch.state != "Down":
            return
        ch.created_by_ari = False  # dialled once
        if ch.half == 1 and ch.peer is not None:
            two = ch.peer
            ch.dialer = "ari"
            self._dial_event(ch, "")
            if timeout:
                ch.timeout_timer = self._at(ch, float(timeout), self._ari_dial_timeout, ch)
            two.runs_dialplan = True
            self._run_dialplan(two, two.context, two.exten, 1)
            return
        behaviour = ch.pending_behaviour or _IMMEDIATE
        att = Attempt(ch, "ari", ch.dialstring, behaviour)
        att.on_answer = lambda: self._cancel_timeout(ch)
        self._dial_event(ch, "")
        if timeout:
            ch.timeout_timer = self._at(ch, float(timeout), self._ari_dial_timeout, ch)
        self._place_call(att)

    def _cancel_timeout(self, ch: Channel) -> None:
        if ch.timeout_timer is not None:
            ch.timeout_timer.cancel()
            ch.timers.discard(ch.timeout_timer)
            ch.timeout_timer = None

    def _ari_dial_timeout(self, ch: Channel) -> None:
        """``bridge_timeout`` → ``hangup_channel``: cause 19, explicit soft hang-up."""
        ch.timeout_timer = None
        if ch.gone or ch.hanging or ch.state == "Up":
            return
        if ch.attempt is not None:
            ch.attempt.over = True
        self._record_call(ch, "noanswer")
        self._hangup(ch, 19, request=(32, True))

    # -- external media (resource_channels.c ast_ari_channels_external_media)
    def external_media(
        self,
        *,
        app: str | None,
        channel_id: str | None,
        external_host: str | None,
        encapsulation: str | None,
        transport: str | None,
        connection_type: str | None,
        fmt: str | None,
        direction: str | None,
        data: str | None,
        transport_data: str | None,
        variables: Mapping[str, str],
    ) -> JsonDict:
        if not app:
            raise AriError(400, "app cannot be empty")
        transport = transport or "udp"
        encapsulation = encapsulation or "rtp"
        if transport == "websocket" and encapsulation != "none":
            raise AriError(400, "encapsulation must be 'none' for websocket transport")
        if encapsulation == "rtp" and transport != "udp":
            raise AriError(400, "transport must be 'udp' for rtp encapsulation")
        if encapsulation == "audiosocket" and transport != "tcp":
            raise AriError(400, "transport must be 'tcp' for audiosocket encapsulation")
        connection_type = connection_type or "client"
        if transport != "websocket" and connection_type == "server":
            raise AriError(
                400, "'server' connection_type can only be used with the websocket transport"
            )
        if not external_host:
            if connection_type == "client":
                raise AriError(
                    400, "external_host is required for all but websocket server connections"
                )
            external_host = "INCOMING"
        if transport == "websocket":
            if connection_type == "client":  # no websocket_client.conf connections here
                raise AriError(400, "external_host must be a valid websocket_client connection id.")
        elif not _host_port(external_host):
            raise AriError(
                400, "external_host must be <host>:<port> for all transports other than websocket"
            )
        if not fmt:
            raise AriError(400, "format cannot be empty")
        if direction and direction not in ("both", "in", "out"):
            raise AriError(400, "Invalid direction specified")
        if encapsulation == "rtp" and transport == "udp":
            tech, resource = "UnicastRTP", f"{external_host}/c({fmt})"
            media_vars = {
                "UNICASTRTP_LOCAL_ADDRESS": "127.0.0.1",
                "UNICASTRTP_LOCAL_PORT": str(10000 + 2 * (next(self._name_counter) % 5000)),
            }
        elif encapsulation == "audiosocket" and transport == "tcp":
            if not data:
                raise AriError(400, "data can not be empty")
            tech, resource = "AudioSocket", f"{external_host}/{data}"
            media_vars = {"AUDIOSOCKET_UUID": data, "AUDIOSOCKET_SERVICE": external_host}
        elif encapsulation == "none" and transport == "websocket":
            tech, resource = "WebSocket", external_host
            media_vars = {
                "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": "160",
                "MEDIA_WEBSOCKET_CONNECTION_ID": str(uuid.uuid4()),
            }
        else:
            raise AriError(501, "The encapsulation and/or transport is not supported")
        if channel_id and channel_id in self.channels:
            raise AriError(409, "Channel with given unique ID already exists")
        made = self._request_device(tech, resource, channel_id, ("", ""))
        assert made is not None
        ch, behaviour = made
        ch.app_name, ch.app_data = "AppDial2", "(Outgoing Line)"
        for name, value in {**media_vars, **variables}.items():
            self.write_variable(ch, name, value)
        ch.subscribers[app] = None
        args = [data] if data else []
        ch.pending_app = (app, args)
        response = channel_json(ch)
        response["channelvars"] = dict(ch.variables)
        att = Attempt(ch, "originate", resource, behaviour)
        att.on_answer = lambda: self._originated_answered(ch)
        self._dial_event(ch, "")
        self._place_call(att)
        return response


def _dial_status(cause: int) -> str:
    """``ast_hangup_cause_to_dial_status`` (``main/dial.c``)."""
    if cause == 17:
        return "BUSY"
    if cause == 34:
        return "CONGESTION"
    if cause in (3, 20):
        return "CHANUNAVAIL"
    return "NOANSWER"


def _host_port(text: str) -> bool:
    """``ast_sockaddr_split_hostport(..., PARSE_PORT_REQUIRE)``."""
    host, sep, port = text.rpartition(":")
    return bool(sep and host and port.isdigit())
