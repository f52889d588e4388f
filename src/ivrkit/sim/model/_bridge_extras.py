"""Bridge variables, music on hold and video source (``res/ari/resource_bridges.c``).

``find_bridge`` answers 404 "Bridge not found" (reason phrase "Not found"); every bridge
the simulator has is a Stasis bridge, so its 409 never happens. The plural variable
operations look the bridge up themselves: 404 "Provided bridge was not found" (phrase
"Bridge Not Found"). Music on hold plays into the bridge from an announcer channel:
each member's phone hears ``moh:CLASS``; stopping when none plays is 409 "Bridge isn't
playing music". ``setVideoSource`` needs the channel in Stasis (400 "Channel not found",
422 "Channel not in Stasis application") and in this bridge (422), then the bridge's
``video_mode`` is ``single`` with ``video_source_id`` until ``clearVideoSource``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._objects import Bridge
from ivrkit.sim.model._replies import AriError
from ivrkit.sim.model._variables import split_function, strip_inheritance, variables_from_json

_NOT_FOUND = ("Bridge not found", "Not found")


class BridgeExtraOps(ModelCore):
    """Variables, music on hold and video source of bridges."""

    def _found_bridge(self, bridge_id: str) -> Bridge:
        return self._bridge(bridge_id, phrase=_NOT_FOUND[1])

    def _plural_bridge(self, bridge_id: str) -> Bridge:
        br = self.bridges.get(bridge_id)
        if br is None:
            raise AriError(404, "Provided bridge was not found", phrase="Bridge Not Found")
        return br

    # -- variables
    def get_bridge_var(self, bridge_id: str, name: str | None) -> str:
        if not name:
            raise AriError(400, "Variable name is required")
        br = self._found_bridge(bridge_id)
        value = br.variables.get(name)
        if value is None:
            raise AriError(404, "Provided variable was not found")
        return value

    def set_bridge_var(self, bridge_id: str, name: str | None, value: str | None) -> None:
        if not name:
            raise AriError(400, "Variable name is required")
        br = self._found_bridge(bridge_id)
        self._write_bridge_var(br, name.strip(), value)

    def _write_bridge_var(self, br: Bridge, name: str, value: str | None) -> None:
        if split_function(name) is not None:
            return  # a function write on a bridge: logged by Asterisk, nothing else
        key = strip_inheritance(name)
        if value is None:
            br.variables.pop(key, None)
        else:
            br.variables[key] = value

    def get_bridge_vars(self, bridge_id: str, names: Iterable[str]) -> dict[str, str]:
        wanted = list(names)
        if not wanted:
            raise AriError(400, "At least one variable name is required")
        br = self._plural_bridge(bridge_id)
        out: dict[str, str] = {}
        for raw in wanted:
            name = raw.strip()
            if not name:
                raise AriError(400, "Variable names are required")
            if split_function(name) is not None:
                raise AriError(
                    500, "Unable to read provided function", phrase="Error With Function"
                )
            value = br.variables.get(name)
            if value is None:
                raise AriError(404, "Provided variable was not found", phrase="Variable Not Found")
            out[name] = value
        return out

    def set_bridge_vars(self, bridge_id: str, variables: object) -> None:
        if variables is None:
            raise AriError(400, "The 'variables' field is required")
        br = self._plural_bridge(bridge_id)
        for name, (value, _) in variables_from_json(variables).items():
            self._write_bridge_var(br, name.strip(), value)

    # -- music on hold
    def start_bridge_moh(self, bridge_id: str, moh_class: str | None) -> None:
        br = self._found_bridge(bridge_id)
        if br.moh is not None:
            self._bridge_hears(br, f"moh:{br.moh}", started=False)
        br.moh = moh_class or "default"
        self._bridge_hears(br, f"moh:{br.moh}", started=True)

    def stop_bridge_moh(self, bridge_id: str) -> None:
        br = self._found_bridge(bridge_id)
        if br.moh is None:
            raise AriError(409, "Bridge isn't playing music")
        self._bridge_hears(br, f"moh:{br.moh}", started=False)
        br.moh = None

    def _bridge_hears(self, br: Bridge, uri: str, *, started: bool) -> None:
        for ch in br.channels:
            if ch.observer is not None:
                if started:
                    ch.observer.media_started(uri, self.now())
                else:
                    ch.observer.media_ended(uri, self.now(), False)

    # -- video source
    def set_video_source(self, bridge_id: str, channel_id: str) -> None:
        br = self._found_bridge(bridge_id)
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(400, "Channel not found")
        if ch.stasis_app is None:
            raise AriError(422, "Channel not in Stasis application")
        if ch.bridge is not br:
            raise AriError(422, "Channel not in this bridge")
        br.video_source = ch.id

    def clear_video_source(self, bridge_id: str) -> None:
        br = self._found_bridge(bridge_id)
        br.video_source = None
