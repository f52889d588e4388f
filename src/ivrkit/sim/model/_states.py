"""Device states (``/deviceStates``) and mailboxes (``/mailboxes``), as Asterisk 20.20.1's
``res/res_stasis_device_state.c`` and ``res/res_stasis_mailbox.c`` (with
``res_mwi_external``) keep them.

Only ``Stasis:NAME`` devices can be set or deleted (409 "Uncontrolled device specified"
otherwise; 404 "Device name is missing" for a bare ``Stasis:``); a value
``ast_devstate_val`` does not know is 500 "Unknown device". Every change is a
``DeviceStateChanged`` to the applications subscribed to ``deviceState:NAME`` (or to all
device states, ``deviceState:``). Other devices are read from the simulated endpoints:
``PJSIP/bob`` is ``NOT_INUSE``, ``INUSE`` (a channel Up or Ring), ``RINGING`` (an
outgoing channel ringing), ``RINGINUSE``, ``UNAVAILABLE`` (not registered) or ``INVALID``
(no such endpoint), as ``chan_pjsip_devicestate`` counts them.
"""

from __future__ import annotations

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._objects import JsonDict
from ivrkit.sim.model._replies import AriError

#: ``ast_devstate_str`` names; ``ast_devstate_val`` reads them case-insensitively
DEVICE_STATES = (
    "UNKNOWN",
    "NOT_INUSE",
    "INUSE",
    "BUSY",
    "INVALID",
    "UNAVAILABLE",
    "RINGING",
    "RINGINUSE",
    "ONHOLD",
)
_PREFIX = "Stasis:"


class StateOps(ModelCore):
    """Device states and mailboxes."""

    # -- device states
    def device_state(self, name: str) -> str:
        """``ast_device_state(name)`` as ``ast_devstate_str`` spells it."""
        if name[: len(_PREFIX)].lower() == _PREFIX.lower():
            return self.device_states.get(name[len(_PREFIX) :], "UNKNOWN")
        tech, _, resource = name.partition("/")
        ep = self.endpoints.get(f"{tech}/{resource}") if resource else None
        if ep is None:
            return "INVALID"
        if ep.behaviour.result == "unavailable":
            return "UNAVAILABLE"
        prefix = f"{ep.tech}/{ep.resource}-"
        states = [ch.state for ch in self.channels.values() if ch.name.startswith(prefix)]
        in_use = sum(1 for s in states if s in ("Up", "Ring"))
        ringing = sum(1 for s in states if s == "Ringing")
        if ringing and in_use:
            return "RINGINUSE"
        if ringing:
            return "RINGING"
        return "INUSE" if in_use else "NOT_INUSE"

    def list_device_states(self) -> list[JsonDict]:
        """Only the ``Stasis:`` devices (the astdb family ARI writes)."""
        return [
            {"name": f"{_PREFIX}{name}", "state": state}
            for name, state in self.device_states.items()
        ]

    def get_device_state(self, name: str) -> JsonDict:
        return {"name": name, "state": self.device_state(name)}

    def update_device_state(self, name: str, value: str | None) -> None:
        if name[: len(_PREFIX)].lower() != _PREFIX.lower():
            raise AriError(409, "Uncontrolled device specified")
        device = name[len(_PREFIX) :]
        if not device:
            raise AriError(404, "Device name is missing")
        state = (value or "").upper()
        if state not in DEVICE_STATES or state == "UNKNOWN":
            raise AriError(500, "Unknown device")
        self.device_states[device] = state
        self._device_state_changed(f"{_PREFIX}{device}", state)

    def delete_device_state(self, name: str) -> None:
        if name[: len(_PREFIX)].lower() != _PREFIX.lower():
            raise AriError(409, "Uncontrolled device specified")
        device = name[len(_PREFIX) :]
        if not device:
            raise AriError(404, "Device name is missing")
        if self.device_states.pop(device, None) is not None:
            self._device_state_changed(f"{_PREFIX}{device}", "UNKNOWN")

    def _device_state_changed(self, name: str, state: str) -> None:
        """``send_device_state``: ``type, application, timestamp, device_state``."""
        recipients = [
            app.name
            for app in self.apps.values()
            if name in app.device_names or "" in app.device_names
        ]
        recipients += [n for n in self.all_events_apps if n not in recipients]
        if not recipients:
            return
        ev: JsonDict = {
            "type": "DeviceStateChanged",
            "application": "",
            "timestamp": self.timestamp(),
            "device_state": {"name": name, "state": state},
            "asterisk_id": self.asterisk_id,
        }
        self._deliver(recipients, ev)

    # -- mailboxes (res_mwi_external)
    def list_mailboxes(self) -> list[JsonDict]:
        return [self._mailbox_json(name) for name in self.mailboxes]

    def _mailbox_json(self, name: str) -> JsonDict:
        old, new = self.mailboxes[name]
        return {"name": name, "old_messages": old, "new_messages": new}

    def get_mailbox(self, name: str) -> JsonDict:
        if name not in self.mailboxes:
            raise AriError(404, "Mailbox is does not exist")  # sic, resource_mailboxes.c
        return self._mailbox_json(name)

    def update_mailbox(self, name: str, old: int, new: int) -> None:
        self.mailboxes[name] = (old, new)

    def delete_mailbox(self, name: str) -> None:
        if self.mailboxes.pop(name, None) is None:
            raise AriError(404, "Mailbox does not exist")
