"""Channel controls: ring, progress, hold, music on hold, silence, mute, redirect, snoop,
RTP statistics and transfer progress (``res/ari/resource_channels.c``,
``res/stasis/control.c``).

Every control first finds the channel's Stasis control (404 "Channel not found", 409
"Channel not in Stasis application") and, except redirect's extra checks, refuses a
channel that is still Down, Rsrvd or Ringing: 412 "Channel in invalid state"
(``channel_state_invalid``). What they do that a test can see: the simulated phone
records the indication (``Caller.indications``: ``ringing``, ``ringing_stop``,
``progress``, ``hold``, ``unhold``, ``transfer_progress:...``), music on hold is heard
as ``moh:CLASS`` (``Caller.heard``), ``CHANNEL(onhold)`` reads 1 while held. Audio
itself (hold music, silence, muting) is not simulated.
"""

from __future__ import annotations

import functools
import zlib

from ivrkit.sim.model._apps import AppOps
from ivrkit.sim.model._json import channel_json
from ivrkit.sim.model._objects import Channel, JsonDict
from ivrkit.sim.model._replies import AriError, SimResponse

#: ``ast_ari_channels_answer`` when its command fails (res/ari/resource_channels.c)
_ANSWER_FAILED = SimResponse(500, {"message": "Failed to answer channel"})

#: music on hold classes a default musiconhold.conf defines
MOH_CLASSES = ("default",)
_SNOOP_DIRECTIONS = ("none", "both", "out", "in")
#: channel technologies with RTP (an ``ast_rtp_glue``): the others answer 403
_RTP_TECHS = ("PJSIP", "SIP", "IAX2", "UnicastRTP")
_TRANSFER_STATES = {
    "channel_progress": "progress",
    "channel_answered": "answered",
    "channel_unavailable": "unavailable",
    "channel_declined": "declined",
}


class ControlOps(AppOps):
    """The channel control operations (see the module docstring)."""

    def channel_action(self, channel_id: str, action: str) -> None:
        """answer, ring, ring_stop, hold, unhold, progress (``stasis_app_control_*``).

        Each is a command on the channel's control thread (``_control_thread``): answer
        is synchronous (``res/res_stasis_answer.c``), the others asynchronous.
        """
        ch = self._controlled(channel_id)
        if action == "answer":
            self._channel_command(
                ch, functools.partial(self._answer, ch), sync=True, failure=_ANSWER_FAILED
            )
        else:
            act = functools.partial(self._channel_act, ch, action)
            self._channel_command(ch, act, sync=False)

    def _channel_act(self, ch: Channel, action: str) -> None:
        if ch.gone:
            return
        if action == "ring":
            self._indicate(ch, "ringing")
            if ch.half == 2 and ch.peer is not None:
                self._ring_peer(ch.peer)
        elif action == "ring_stop":
            self._indicate(ch, "ringing_stop")
        elif action == "progress":
            self._indicate_progress(ch)
        elif action in ("hold", "unhold"):
            # ast_indicate(HOLD/UNHOLD) sets the hold state CHANNEL(onhold) reads
            ch.on_hold = action == "hold"
            self._indicate(ch, action)

    def mute(self, channel_id: str, direction: str | None, on: bool) -> None:
        ch = self._controlled(channel_id)
        if not direction:
            raise AriError(400, "Direction is required")
        if direction not in ("both", "in", "out"):
            raise AriError(400, "Invalid direction specified")
        sides = {"in", "out"} if direction == "both" else {direction}

        def apply() -> None:  # app_control_mute/unmute: asynchronous commands
            ch.muted = ch.muted | sides if on else ch.muted - sides

        self._channel_command(ch, apply, sync=False)

    # Music on hold and silence are asynchronous commands on the channel's control
    # thread (res/stasis/control.c: stasis_app_control_moh_start/_stop and
    # stasis_app_control_silence_start/_stop each call stasis_app_send_command_async),
    # so a start or stop asked for while a prompt plays takes effect when it ends; the
    # request is answered at once (204).

    def start_moh(self, channel_id: str, moh_class: str | None) -> None:
        ch = self._controlled(channel_id)
        cls = moh_class or "default"
        self._channel_command(ch, functools.partial(self._moh_starts, ch, cls), sync=False)

    def _moh_starts(self, ch: Channel, cls: str) -> None:
        """``app_control_moh_start``: progress first if not Up, then the music (a class
        musiconhold.conf does not define plays nothing)."""
        if ch.gone:
            return
        self._indicate_progress(ch)
        if cls not in MOH_CLASSES:
            return
        if ch.moh is not None:
            self._moh_ends(ch)
        ch.moh = cls
        if ch.observer is not None:
            ch.observer.media_started(f"moh:{cls}", self.now())

    def stop_moh(self, channel_id: str) -> None:
        ch = self._controlled(channel_id)
        self._channel_command(ch, functools.partial(self._moh_ends, ch), sync=False)

    def _moh_ends(self, ch: Channel) -> None:
        if ch.moh is not None:
            if ch.observer is not None:
                ch.observer.media_ended(f"moh:{ch.moh}", self.now(), False)
            ch.moh = None

    def start_silence(self, channel_id: str) -> None:
        ch = self._controlled(channel_id)
        self._channel_command(ch, functools.partial(self._silence_starts, ch), sync=False)

    def _silence_starts(self, ch: Channel) -> None:
        """``app_control_silence_start``: progress first if not Up, then silence."""
        if ch.gone:
            return
        self._indicate_progress(ch)
        ch.silence = True

    def stop_silence(self, channel_id: str) -> None:
        ch = self._controlled(channel_id)
        self._channel_command(ch, functools.partial(self._silence_stops, ch), sync=False)

    @staticmethod
    def _silence_stops(ch: Channel) -> None:
        ch.silence = False

    def redirect(self, channel_id: str, endpoint: str | None) -> None:
        """``ast_ari_channels_redirect`` then ``ast_transfer``: a simulated phone that is
        Up takes a REFER and hangs up (BYE, cause 16); one still ringing gets a 302 and
        the call ends (cause 23, "Redirected to new destination"). Local channels have
        no transfer: "Unsupported transfer requested", and nothing happens."""
        ch = self._controlled(channel_id)
        if not endpoint:
            raise AriError(400, "Required parameter 'endpoint' not provided.", phrase="Not Found")
        tech, sep, resource = endpoint.partition("/")
        if not sep or not tech:
            raise AriError(422, f"Endpoint parameter '{endpoint}' does not contain tech/resource")
        if not resource:
            raise AriError(422, f"No resource provided in endpoint parameter '{endpoint}'")
        own = ch.name.partition("/")[0]
        if own[: len(tech)].lower() != tech.lower():
            raise AriError(
                422,
                f"Endpoint technology '{tech}' does not match channel technology '{own}'",
            )
        # stasis_app_control_redirect: stasis_app_send_command_async(control,
        # app_control_redirect, ...) (res/stasis/control.c): answered at once, the
        # transfer happens when the channel's thread gets to it (after a playing prompt)
        redirect = functools.partial(self._redirected, ch, resource)
        self._channel_command(ch, redirect, sync=False, after_answer=True)

    def _redirected(self, ch: Channel, target: str) -> None:
        if ch.gone or ch.hanging or ch.half or ch.observer is None:
            return  # Local channels (and far ends we dialled) have no transfer here
        self._indicate(ch, f"transfer:{target}")
        cause = 16 if ch.state == "Up" else 23
        self._hangup(ch, cause, request=(cause, False))

    def snoop(
        self,
        channel_id: str,
        *,
        spy: str | None,
        whisper: str | None,
        app: str | None,
        app_args: str | None,
        snoop_id: str | None,
    ) -> JsonDict:
        """``ari_channels_handle_snoop_channel``: a ``Snoop/<id>-<n>`` channel, Up, in
        Stasis(app,args); it ends when the channel it watches does."""
        spy = spy or "none"
        whisper = whisper or "none"
        if spy not in _SNOOP_DIRECTIONS:
            raise AriError(400, "Invalid direction specified for spy")
        if whisper not in _SNOOP_DIRECTIONS:
            raise AriError(400, "Invalid direction specified for whisper")
        if spy == "none" and whisper == "none":
            raise AriError(400, "Direction must be specified for at least spy or whisper")
        if not app:
            raise AriError(400, "Application name is required")
        target = self.channels.get(channel_id)
        if target is None:
            raise AriError(404, "Provided channel was not found", phrase="Channel Not Found")
        if snoop_id and snoop_id in self.channels:
            raise AriError(500, "Snoop channel could not be created", phrase="Internal error")
        name = f"Snoop/{target.id}-{self._name_suffix()}"
        snoop = self._new_channel(snoop_id, name, "Up", ("", ""), ("", ""), "default", "s")
        args = app_args.split(",") if app_args else []
        snoop.app_name, snoop.app_data = "Stasis", ",".join([app, *args])
        snoop.snooped = target
        target.snoops.append(snoop)
        response = channel_json(snoop)
        self._at(snoop, 0.0, self._created_enters_stasis, snoop, app, args)
        return response

    def _created_enters_stasis(self, ch: Channel, app: str, args: list[str]) -> None:
        """``ari_channel_thread``: ``Stasis(app,args)`` on the new channel."""
        if ch.gone or ch.hanging:
            return
        ch.app_name, ch.app_data = "Stasis", ",".join([app, *args])
        self.write_variable(ch, "STASISSTATUS", "")
        if self.app_connected(app):
            self._enter_stasis(ch, app, args)
            return
        self.write_variable(ch, "STASISSTATUS", "FAILED")
        self._hangup(ch, 0, request=None)

    def _end_snoops(self, ch: Channel) -> None:
        """The watched channel is gone: its snoop channels hang up (no cause is set)."""
        for snoop in list(ch.snoops):
            if not snoop.gone and not snoop.hanging:
                self._hangup(snoop, 0, request=None)
        ch.snoops.clear()

    def rtp_statistics(self, channel_id: str) -> JsonDict:
        """``ast_ari_channels_rtpstatistics``: 20 ms packets since the channel was Up."""
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(404, "Channel not found")
        if ch.name.partition("/")[0] not in _RTP_TECHS:
            raise AriError(403, "Unsupported channel type")
        packets = 0 if ch.up_since is None else int((self.now() - ch.up_since) / 0.02)
        ssrc = zlib.crc32(ch.id.encode()) & 0x7FFFFFFF
        return {
            "txcount": packets,
            "rxcount": packets,
            "txploss": 0,
            "rxploss": 0,
            "local_ssrc": ssrc,
            "remote_ssrc": ssrc ^ 0x5A5A5A5A,
            "txoctetcount": packets * 160,
            "rxoctetcount": packets * 160,
            "channel_uniqueid": ch.id,
        }

    def transfer_progress(self, channel_id: str, states: str | None) -> None:
        """``ast_ari_channels_transfer_progress``: no state check; the phone is told."""
        ch = self._stasis_channel(channel_id)
        if not states:
            raise AriError(400, "states must not be empty")
        what = _TRANSFER_STATES.get(states.lower())
        if what is None:
            raise AriError(400, "Invalid states value")
        self._indicate(ch, f"transfer_progress:{what}")
