"""``/asterisk`` modules, logging and dynamic configuration, and applications' event
filters, as ``res/ari/resource_asterisk.c`` and ``res/stasis/app.c`` answer them.

- modules: the modules an ARI test bed with PJSIP loads (``MODULES``); ``loadModule`` of
  a loaded one is 409 "Module is already loaded", of one that is not on disk 409 "Module
  load declined"; ``unloadModule``/``reloadModule`` of one not running 404 "Module not
  found in running modules". Unloading changes nothing else;
- logging: Asterisk's default logger.conf (``console`` and ``messages.log``, notice,
  warning, error); ``addLog`` needs levels (400 "Configuration levels are required") and
  a new name (409); only channels added by ARI can be deleted (``chan->dynamic``), the
  others are 404 "Log channel does not exist" like unknown ones;
- config: sorcery objects of ``res_pjsip`` (``endpoint`` and ``aor`` of the simulated
  endpoints) can be read; writing or deleting them is refused as Asterisk refuses it
  for objects that live in pjsip.conf (403);
- event filters: ``{"allowed": [{"type": ...}], "disallowed": [...]}``; an event reaches
  the application's websocket only if it is not disallowed and (no allowed list, or
  listed): ``stasis_app_event_allowed``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._objects import JsonDict
from ivrkit.sim.model._replies import AriError

#: (name, description, support level) of the modules the simulated Asterisk runs
MODULES: tuple[tuple[str, str, str], ...] = (
    ("app_dial.so", "Dialing Application", "core"),
    ("app_echo.so", "Simple Echo Application", "core"),
    ("app_playback.so", "Sound File Playback Application", "core"),
    ("app_stasis.so", "Stasis dialplan application", "core"),
    ("chan_pjsip.so", "PJSIP Channel Driver", "core"),
    ("chan_rtp.so", "RTP Media Channel", "core"),
    ("res_ari.so", "Asterisk RESTful Interface", "core"),
    ("res_ari_applications.so", "RESTful API module - Stasis application resources", "core"),
    ("res_ari_asterisk.so", "RESTful API module - Asterisk resources", "core"),
    ("res_ari_bridges.so", "RESTful API module - Bridge resources", "core"),
    ("res_ari_channels.so", "RESTful API module - Channel resources", "core"),
    ("res_ari_device_states.so", "RESTful API module - Device state resources", "core"),
    ("res_ari_endpoints.so", "RESTful API module - Endpoint resources", "core"),
    ("res_ari_events.so", "RESTful API module - WebSocket resource", "core"),
    ("res_ari_mailboxes.so", "RESTful API module - Mailboxes resources", "core"),
    ("res_ari_model.so", "ARI Model validators", "core"),
    ("res_ari_playbacks.so", "RESTful API module - Playback control resources", "core"),
    ("res_ari_recordings.so", "RESTful API module - Recording resources", "core"),
    ("res_ari_sounds.so", "RESTful API module - Sound resources", "core"),
    ("res_musiconhold.so", "Music On Hold Resource", "core"),
    ("res_mwi_external.so", "Core external MWI resource", "extended"),
    ("res_pjsip.so", "Basic SIP resource", "core"),
    ("res_stasis.so", "Stasis application support", "core"),
    ("res_stasis_device_state.so", "Stasis application device state support", "core"),
    ("res_stasis_mailbox.so", "Stasis application mailbox support", "core"),
    ("res_stasis_playback.so", "Stasis application playback support", "core"),
    ("res_stasis_recording.so", "Stasis application recording support", "core"),
    ("res_stasis_snoop.so", "Stasis application snoop support", "core"),
)
#: ``levels[]`` of main/logger.c, in mask order
_LEVELS = ("DEBUG", "TRACE", "NOTICE", "WARNING", "ERROR", "VERBOSE", "DTMF")
_LOG_DIR = "/var/log/asterisk"


@dataclass(slots=True)
class LogChannel:
    filename: str
    kind: str
    levels: tuple[str, ...]
    dynamic: bool = False


def _log_filename(name: str) -> str:
    """``make_filename``: console is "", syslog names stay, files go in the log dir."""
    if name.lower() == "console":
        return ""
    if name.lower().startswith("syslog") or name.startswith("/"):
        return name
    return f"{_LOG_DIR}/{name}"


def _levels(configuration: str) -> tuple[str, ...]:
    wanted = {part.strip().upper() for part in configuration.replace(",", " ").split()}
    if "*" in wanted:
        return _LEVELS
    return tuple(level for level in _LEVELS if level in wanted)


class SystemOps(ModelCore):
    """Modules, log channels, sorcery config and application event filters."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._modules: dict[str, tuple[str, str]] = {
            name: (description, level) for name, description, level in MODULES
        }
        self._unloaded: dict[str, tuple[str, str]] = {}
        self._log_channels: list[LogChannel] = [
            LogChannel("", "Console", ("NOTICE", "WARNING", "ERROR")),
            LogChannel(f"{_LOG_DIR}/messages.log", "File", ("NOTICE", "WARNING", "ERROR")),
        ]

    # -- modules
    def _module_json(self, name: str) -> JsonDict:
        description, level = self._modules[name]
        return {
            "name": name,
            "description": description,
            "use_count": 0,
            "status": "Running",
            "support_level": level,
        }

    def list_modules(self) -> list[JsonDict]:
        return [self._module_json(name) for name in sorted(self._modules)]

    def get_module(self, name: str) -> JsonDict:
        if name not in self._modules:
            raise AriError(404, "Module could not be found in running modules")
        return self._module_json(name)

    def load_module(self, name: str) -> None:
        if name in self._modules:
            raise AriError(409, "Module is already loaded")
        if name not in self._unloaded:
            raise AriError(409, "Module load declined")
        self._modules[name] = self._unloaded.pop(name)

    def unload_module(self, name: str) -> None:
        if name not in self._modules:
            raise AriError(404, "Module not found in running modules")
        self._unloaded[name] = self._modules.pop(name)

    def reload_module(self, name: str) -> None:
        if name not in self._modules:
            raise AriError(404, "Module not found in running modules")

    # -- logging
    def list_log_channels(self) -> list[JsonDict]:
        return [
            {
                "channel": chan.filename,
                "type": chan.kind,
                "status": "Enabled",
                "configuration": "".join(f"{level} " for level in chan.levels),
            }
            for chan in self._log_channels
        ]

    def _log_channel(self, name: str) -> LogChannel | None:
        filename = _log_filename(name)
        return next((c for c in self._log_channels if c.filename == filename), None)

    def add_log(self, name: str, configuration: str | None) -> None:
        if not configuration:
            raise AriError(400, "Configuration levels are required")
        if self._log_channel(name) is not None:
            raise AriError(409, "Log channel already exists")
        kind = "Syslog" if name.lower().startswith("syslog") else "File"
        self._log_channels.append(
            LogChannel(_log_filename(name), kind, _levels(configuration), dynamic=True)
        )

    def delete_log(self, name: str) -> None:
        chan = self._log_channel(name)
        if chan is None or not chan.dynamic:
            raise AriError(404, "Log channel does not exist")
        self._log_channels.remove(chan)

    def rotate_log(self, name: str) -> None:
        chan = self._log_channel(name)
        if chan is None or chan.kind != "File":
            raise AriError(404, "Log channel does not exist")

    # -- dynamic configuration (sorcery)
    def _sorcery(self, config_class: str, object_type: str) -> dict[str, list[JsonDict]]:
        if config_class != "res_pjsip":
            raise AriError(404, f"configClass '{config_class}' not found")
        if object_type not in ("endpoint", "aor"):
            raise AriError(404, f"objectType '{object_type}' not found")
        out: dict[str, list[JsonDict]] = {}
        for ep in self.endpoints.values():
            if ep.tech != "PJSIP":
                continue
            if object_type == "endpoint":
                fields = {
                    "aors": ep.resource,
                    "allow": "(ulaw)",
                    "context": "default",
                    "direct_media": "false",
                    "dtmf_mode": "rfc4733",
                }
            else:
                fields = {"max_contacts": "1", "qualify_frequency": "0"}
            out[ep.resource] = [{"attribute": k, "value": v} for k, v in fields.items()]
        return out

    def get_config_object(self, config_class: str, object_type: str, ident: str) -> list[JsonDict]:
        objects = self._sorcery(config_class, object_type)
        if ident not in objects:
            raise AriError(404, f"Object with id '{ident}' not found")
        return objects[ident]

    def update_config_object(
        self, config_class: str, object_type: str, ident: str, fields: object
    ) -> list[JsonDict]:
        objects = self._sorcery(config_class, object_type)
        if ident in objects:
            if not isinstance(fields, list):
                raise AriError(
                    400, f"Fields must be provided to update object '{ident}'", phrase="Bad request"
                )
            raise AriError(403, f"Cannot update sorcery objects of type '{object_type}'")
        raise AriError(403, f"Cannot create sorcery objects of type '{object_type}'")

    def delete_config_object(self, config_class: str, object_type: str, ident: str) -> None:
        objects = self._sorcery(config_class, object_type)
        if ident not in objects:
            raise AriError(404, f"Object with id '{ident}' not found")
        raise AriError(403, f"Could not delete object with id '{ident}'")

    # -- event filters
    def set_event_filter(self, name: str, body: object) -> JsonDict:
        """``stasis_app_event_filter_set``: disallowed first, then allowed."""
        app = self.apps.get(name)
        if app is None:
            raise AriError(404, "Application not found")
        if body is not None and not isinstance(body, Mapping):
            raise AriError(400, "Invalid format definition")
        lists: dict[str, list[JsonDict] | None] = {}
        for kind in ("disallowed", "allowed"):
            if body is None or not body:
                lists[kind] = []
                continue
            if kind not in body:
                lists[kind] = None  # "a filter type exists, but not this one"
                continue
            value = body[kind]
            if not isinstance(value, list) or not all(
                isinstance(item, Mapping) and isinstance(item.get("type"), str) and item["type"]
                for item in value
            ):
                raise AriError(400, "Invalid format definition")
            lists[kind] = [dict(item) for item in value]
        if lists["disallowed"] is not None:
            app.events_disallowed = lists["disallowed"]
        if lists["allowed"] is not None:
            app.events_allowed = lists["allowed"]
        return self._app_json(app)
