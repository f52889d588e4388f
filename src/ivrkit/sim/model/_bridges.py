"""Bridges: create, destroy, add and remove channels, BRIDGEPEER and their events."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._json import (
    bridge_json,
    channel_json,
    event,
)
from ivrkit.sim.model._objects import (
    Bridge,
    Channel,
    JsonDict,
)
from ivrkit.sim.model._replies import AriError


class BridgeOps(ModelCore):
    """Bridge behaviour of the model."""

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
        """``DELETE /bridges/{id}``: members leave and the id is gone at once.

        As in the traces (steps 58, 63): a bridge deleted with channels in it sends no
        BridgeDestroyed then; it comes right after the ChannelDestroyed of the last of
        those channels (see ``release_held_bridges``). An empty bridge sends none.
        """
        br = self._bridge(bridge_id, "Not found")
        for ch in list(br.channels):
            br.holders.append(ch)
            ch.held_bridges.append(br)
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
            # addChannel runs on each channel's control thread in turn, and the request
            # waits for it (_control_thread: EVENTS_FIRST, QUEUED_BEHIND_MEDIA)
            self._channel_command(ch, functools.partial(self._join_bridge, br, ch), sync=True)

    def _join_bridge(self, br: Bridge, ch: Channel) -> None:
        if br.id not in self.bridges or ch.gone or ch.stasis_app is None:
            return  # gone while the command waited: Asterisk's add fails, answered 204
        if ch.bridge is br or (ch.peer is not None and ch.peer.bridge is br):
            # already in, or its own Local peer is: Asterisk adds nothing (traces, step 54)
            return
        if ch.bridge is not None:
            self._bridge_remove(ch.bridge, ch)
        br.channels.append(ch)
        ch.bridge = br
        if ch.stasis_app is not None:  # the app now watches the bridge too
            br.subscribers.setdefault(ch.stasis_app, None)
        self._bridge_channel_event(br, ch, "ChannelEnteredBridge")
        if len(br.channels) == 2:
            # two parties: each one's connected line is the other's caller (trace step 54)
            a, b = br.channels
            a.connected_name, a.connected_number = b.caller_name, b.caller_number
            b.connected_name, b.connected_number = a.caller_name, a.caller_number
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
            self._channel_command(ch, functools.partial(self._leave_bridge, br, ch), sync=True)

    def _leave_bridge(self, br: Bridge, ch: Channel) -> None:
        if ch.bridge is br:  # else: left meanwhile (Asterisk: "Not in bridge", answered 204)
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


def release_held_bridges(model: ModelCore, ch: Channel) -> None:
    """``ch`` was destroyed: a deleted bridge it kept alive may now send BridgeDestroyed."""
    for br in ch.held_bridges:
        br.holders.remove(ch)
        if not br.holders and br.subscribers:
            ev = event(
                "BridgeDestroyed", model.timestamp(), model.asterisk_id, bridge=bridge_json(br)
            )
            model._deliver(list(br.subscribers), ev)
    ch.held_bridges.clear()
