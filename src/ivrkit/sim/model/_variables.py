"""Channel variables and the dialplan functions the simulator knows, read and written as
Asterisk 20.20.1 does it.

Reading (``GET /channels/{id}/variable``, ``res/ari/resource_channels.c``
``ast_ari_channels_get_channel_var``):

1. a name ending in ``)`` is a *function* call, ``ast_func_read2``: an unregistered
   function, or one whose read fails (``CHANNEL(nonsense)``: "Unknown or unavailable
   item requested"), answers 500 "Unable to read provided function" (reason phrase
   "Error With Function"). Function names are case-sensitive (``pbx_functions.c``
   ``ast_custom_function_find`` uses ``strcmp``), their arguments are not
   (``func_channel.c`` and ``func_callerid.c`` use ``strcasecmp``);
2. otherwise ``ast_str_retrieve_variable`` (``main/pbx_variables.c``): first the
   predefined names (``EXTEN``, ``CONTEXT``, ``PRIORITY``, ``CHANNEL``, ``UNIQUEID``,
   ``HANGUPCAUSE``, ``CALLINGPRES``..., ``EPOCH``, ``SYSTEMNAME``, ``ENTITYID``), then
   the channel's own variables, then the global ones, all compared case-sensitively; a
   miss answers 404 "Provided variable was not found" (phrase "Variable Not Found").

The channel lookup of a read does not need Stasis (``ast_channel_get_by_name``): an
unknown channel is 404 "Provided channel was not found" (phrase "Channel Not Found").

Writing (``POST /channels/{id}/variable``) needs the channel in Stasis (``find_control``:
404 "Channel not found" / 409 "Channel not in Stasis application") and then runs
``pbx_builtin_setvar_helper`` on the channel's thread: a function goes to
``ast_func_write``, whose failure is only logged (``app_control_set_channel_var`` answers
204 whatever it returns); a plain variable replaces the old one (leading ``_``/``__``
mark inheritance and are not part of the name compared) and publishes
``ChannelVarset``; no ``value`` unsets it (``ChannelVarset`` with "" only if the old
value was not empty).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._objects import ASTERISK_ID, Channel
from ivrkit.sim.model._replies import AriError, SimResponse

#: what ``ast_func_read2`` failing looks like over ARI
#: ``ast_ari_channels_set_channel_var`` when its command fails (resource_channels.c)
_SET_FAILED = SimResponse(400, {"message": "Failed to execute function"})
_FUNCTION_FAILED = ("Unable to read provided function", "Error With Function")

#: CHANNEL() items that are plain strings on the channel, readable and writable
#: (``func_channel.c`` ``func_channel_read``/``func_channel_write_real``)
CHANNEL_STRINGS = (
    "accountcode",
    "hangupsource",
    "musicclass",
    "parkinglot",
    "peeraccount",
    "userfield",
)


def strip_inheritance(name: str) -> str:
    """``__FOO`` and ``_FOO`` are stored as ``FOO`` (``ast_var_name``)."""
    if name.startswith("__"):
        return name[2:]
    if name.startswith("_"):
        return name[1:]
    return name


def split_function(text: str) -> tuple[str, str] | None:
    """``CALLERID(num)`` → ``("CALLERID", "num")``; ``None`` for a plain variable."""
    if not text.endswith(")") or "(" not in text:
        return None
    name, _, rest = text.partition("(")
    return name.strip(), rest[:-1]


def variables_from_json(raw: object) -> dict[str, tuple[str, bool]]:
    """The ``variables`` object of originate/create/setChannelVars, checked like
    ``json_to_ast_variables`` in ``resource_channels.c``: each value is a string or
    ``{"value": str, "report_events": bool}``. Returns name → (value, report_events).
    """
    if not isinstance(raw, Mapping):
        raise AriError(400, "The 'variables' field must be a JSON object")
    out: dict[str, tuple[str, bool]] = {}
    for key, value in raw.items():
        if not key:
            continue
        if isinstance(value, str):
            out[str(key)] = (value, False)
        elif isinstance(value, Mapping):
            inner = value.get("value")
            if not isinstance(inner, str):
                raise AriError(
                    400, "Each object value in 'variables' must include string field 'value'"
                )
            report = value.get("report_events", False)
            if not isinstance(report, bool):
                raise AriError(400, "Field 'report_events' in 'variables' entries must be boolean")
            out[str(key)] = (inner, report)
        else:
            raise AriError(
                400,
                "Each value in 'variables' must be a string or an object with 'value' "
                "and optional 'report_events'",
            )
    return out


def plain_variables(raw: object) -> dict[str, str]:
    """A ``variables`` body field (absent: none) checked by :func:`variables_from_json`,
    as name → value."""
    if raw is None:
        return {}
    return {name: value for name, (value, _) in variables_from_json(raw).items()}


class VariableOps(ModelCore):
    """Channel variables and functions (see the module docstring for the rules)."""

    # -- ARI operations
    def get_channel_var(self, channel_id: str, name: str | None) -> str:
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self._channel_for_read(channel_id)
        return self._read_or_404(ch, name)

    def get_channel_vars(self, channel_id: str, names: Iterable[str]) -> dict[str, str]:
        """``GET /channels/{id}/variables``: every name or the first error."""
        wanted = list(names)
        if not wanted:
            raise AriError(400, "At least one variable name is required")
        ch = self._channel_for_read(channel_id)
        out: dict[str, str] = {}
        for raw in wanted:
            name = raw.strip()
            if not name:
                raise AriError(400, "Variable names are required")
            out[name] = self._read_or_404(ch, name)
        return out

    def set_channel_var(
        self, channel_id: str, name: str | None, value: str | None, report_events: bool = False
    ) -> None:
        if not name:
            raise AriError(400, "Variable name is required")
        ch = self._stasis_channel(channel_id)
        # stasis_app_control_set_channel_var is synchronous (res/stasis/control.c):
        # the answer waits behind a playing prompt (_control_thread, QUEUED_BEHIND_MEDIA)
        self._channel_command(
            ch,
            functools.partial(self.write_variable, ch, name, value, report_events=report_events),
            sync=True,
            failure=_SET_FAILED,
        )

    def set_channel_vars(self, channel_id: str, variables: object) -> None:
        """``POST /channels/{id}/variables`` with ``{"variables": {...}}`` (the inner object
        arrives here; without one: 400 "The 'variables' field is required")."""
        if variables is None:
            raise AriError(400, "The 'variables' field is required")
        if channel_id not in self.channels:
            raise AriError(404, "Provided channel was not found", phrase="Channel Not Found")
        ch = self._stasis_channel(channel_id)
        parsed = variables_from_json(variables)
        for name, (value, report) in parsed.items():
            write = functools.partial(
                self.write_variable, ch, name.strip(), value, report_events=report
            )
            self._channel_command(ch, write, sync=True, failure=_SET_FAILED)

    def get_global_var(self, name: str | None) -> str:
        """``GET /asterisk/variable``: a missing global is "" (``pbx_builtin_getvar_helper``)."""
        if not name:
            raise AriError(400, "Variable name is required")
        if split_function(name) is not None:
            value = self._read_function(None, name)
            if value is None:
                raise AriError(500, _FUNCTION_FAILED[0], phrase=_FUNCTION_FAILED[1])
            return value
        return self.global_vars.get(name, "")

    def set_global_var(self, name: str | None, value: str | None) -> None:
        if not name:
            raise AriError(400, "Variable name is required")
        if split_function(name) is not None:
            return  # a function write without a channel: logged and ignored by Asterisk
        key = strip_inheritance(name)
        if value is None:
            self.global_vars.pop(key, None)
        else:
            self.global_vars[key] = value

    # -- the model's own use (dialplan Set(), originate variables)
    def _channel_for_read(self, channel_id: str) -> Channel:
        ch = self.channels.get(channel_id)
        if ch is None:
            raise AriError(404, "Provided channel was not found", phrase="Channel Not Found")
        return ch

    def _read_or_404(self, ch: Channel, name: str) -> str:
        if split_function(name) is not None:
            value = self._read_function(ch, name)
            if value is None:
                raise AriError(500, _FUNCTION_FAILED[0], phrase=_FUNCTION_FAILED[1])
            return value
        value = self.read_variable(ch, name)
        if value is None:
            raise AriError(404, "Provided variable was not found", phrase="Variable Not Found")
        return value

    def read_variable(self, ch: Channel | None, name: str) -> str | None:
        """A plain variable as ``ast_str_retrieve_variable`` finds it (``None``: unset)."""
        if ch is not None:
            builtin = self._predefined(ch, name)
            if builtin is not None:
                return builtin
        if name == "EPOCH":
            return str(int(self.wall_time()))
        if name == "SYSTEMNAME":
            return ""
        if name == "ENTITYID":
            return ASTERISK_ID
        if ch is not None and name in ch.variables:
            return ch.variables[name]
        return self.global_vars.get(name)

    def substitute_value(self, ch: Channel | None, name: str) -> str:
        """``${name}`` in the dialplan: a function's value or a variable, "" when unset."""
        if split_function(name) is not None:
            return self._read_function(ch, name) or ""
        return self.read_variable(ch, name) or ""

    def write_variable(
        self, ch: Channel, name: str, value: str | None, *, report_events: bool = False
    ) -> None:
        """``pbx_builtin_setvar_helper`` on ``ch`` (functions go to their writer)."""
        if report_events:
            ch.reported_vars[name] = None
        if split_function(name) is not None:
            self._write_function(ch, name, value or "")
            return
        key = strip_inheritance(name)
        old = ch.variables.pop(key, None)
        ch.inherit.pop(key, None)
        if value is not None:
            ch.variables[key] = value
            if name != key:
                ch.inherit[key] = len(name) - len(key)
            self._varset(ch, name, value)
        elif old:
            self._varset(ch, name, "")

    @staticmethod
    def _predefined(ch: Channel, name: str) -> str | None:
        if name == "EXTEN":
            return ch.exten
        if name == "CONTEXT":
            return ch.context
        if name == "PRIORITY":
            return str(ch.priority)
        if name == "CHANNEL":
            return ch.name
        if name == "UNIQUEID":
            return ch.id
        if name == "HANGUPCAUSE":
            return str(ch.hangup_cause)
        if name in ("CALLINGPRES", "CALLINGANI2", "CALLINGTON", "CALLINGTNS"):
            return "0"
        return None

    # -- functions
    def _read_function(self, ch: Channel | None, text: str) -> str | None:
        """The value of ``FUNC(args)``; ``None`` when Asterisk's read fails."""
        parts = split_function(text)
        assert parts is not None
        func, args = parts
        if ch is None:
            return None  # every function the simulator knows needs a channel
        if func == "CALLERID":
            return _party_read(args, ch.caller_name, ch.caller_number, ch)
        if func == "CONNECTEDLINE":
            return _party_read(args, ch.connected_name, ch.connected_number, None)
        if func == "CHANNEL":
            return self._channel_read(ch, args.strip().lower())
        if func == "LEN":
            return str(len(args))
        return None

    def _channel_read(self, ch: Channel, item: str) -> str | None:
        simple: dict[str, str] = {
            "language": ch.language,
            "name": ch.name,
            "channame": ch.name,
            "uniqueid": ch.id,
            "linkedid": ch.linkedid or ch.id,
            "state": ch.state,
            "exten": ch.exten,
            "context": ch.context,
            "appname": ch.app_name,
            "appdata": ch.app_data,
            "channeltype": ch.name.partition("/")[0],
            "onhold": "1" if ch.on_hold else "0",
            "checkhangup": "1" if ch.hanging else "0",
            "accountcode": ch.accountcode,
            "audioreadformat": "ulaw",
            "audiowriteformat": "ulaw",
            "audionativeformat": "(ulaw)",
            "max_forwards": "20",
            "amaflags": "3",
        }
        if item in simple:
            return simple[item]
        if item in CHANNEL_STRINGS:
            return ch.channel_strings.get(item, "")
        if item == "peer":
            br = ch.bridge
            if br is not None:
                others = [c for c in br.channels if c is not ch]
                if len(others) == 1:
                    return others[0].name
            return ""
        return None  # "Unknown or unavailable item requested"

    def _write_function(self, ch: Channel, text: str, value: str) -> None:
        parts = split_function(text)
        assert parts is not None
        func, args = parts
        member = args.strip().lower()
        if func == "CALLERID":
            name, number = ch.caller_name, ch.caller_number
            if member == "name":
                name = value
            elif member.startswith("num"):
                number = value
            elif member == "all":
                name, number = _split_callerid(value)
            else:
                return
            self._set_caller(ch, name, number)
        elif func == "CONNECTEDLINE":
            name, number = ch.connected_name, ch.connected_number
            if member == "name":
                name = value
            elif member.startswith("num"):
                number = value
            elif member == "all":
                name, number = _split_callerid(value)
            else:
                return
            if (name, number) != (ch.connected_name, ch.connected_number):
                ch.connected_name, ch.connected_number = name, number
                self._channel_event(ch, "ChannelConnectedLine")
        elif func == "CHANNEL":
            if member == "language":
                ch.language = value
            elif member == "accountcode":
                ch.accountcode = value
            elif member in CHANNEL_STRINGS:
                ch.channel_strings[member] = value
        # any other function: Asterisk logs "Function X not registered" and answers 204


def _party_read(args: str, name: str, number: str, ch: Channel | None) -> str:
    """CALLERID()/CONNECTEDLINE() members (``func_callerid.c`` ``party_id_read``); an
    unknown member reads as "" (logged "Unknown callerid data type", not a failure)."""
    member = args.split(",")[0].strip().lower()
    if member == "all":
        return f'"{name}" <{number}>'
    if member == "name":
        return name
    if member.startswith("num"):
        return number
    if ch is not None and member in ("dnid", "dnid-num"):
        return ch.exten if ch.half == 0 else ""
    if member in ("pres", "name-pres", "num-pres"):
        return "allowed_not_screened"
    if member == "ton":
        return "0"
    return ""


def _split_callerid(text: str) -> tuple[str, str]:
    """``ast_callerid_split``: ``"Bob" <200>`` → (Bob, 200); digits alone are a number."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, number = text[:-1].partition("<")
        return name.strip().strip('"'), number.strip()
    if text.replace("+", "").isdigit():
        return "", text
    return text.strip('"'), ""
