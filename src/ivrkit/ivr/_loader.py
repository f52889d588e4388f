"""Menu files: YAML in, a validated MenuTree out, or every problem with file:line:field.

We walk PyYAML's *node* tree (``yaml.compose``) instead of loaded Python objects because
nodes keep their line: every problem names file, line and dotted field (STYLE.md §5).
All problems are collected in one pass. Unknown fields are errors ("unknown field `x`,
expected one of ..."), duplicate fields are errors (plain YAML would silently keep the
last one), and there is one spelling per field (snake_case).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from ivrkit.ivr._exceptions import MenuDefinitionError, MenuProblem
from ivrkit.ivr._handler_path import import_handler_module
from ivrkit.ivr._menu import (
    DEFAULT_HANDLER_TIMEOUT,
    MAX_ATTEMPTS,
    MAX_PRIORITY,
    MAX_SECONDS,
    TRANSCRIPT_FIELDS,
    WEEKDAYS,
    Action,
    BackAction,
    CallData,
    CollectAction,
    Confirm,
    ContinueAction,
    Escalating,
    Filler,
    GotoAction,
    HandlerAction,
    HangupAction,
    MatchKind,
    Menu,
    MenuTree,
    Option,
    PlayAction,
    RecordAction,
    Review,
    RouteAction,
    TimeRule,
    TopAction,
    Transcript,
    TransferAction,
    by_attempt,
    compile_pattern,
    date_problem,
    escalating,
    nested_actions,
    tree_problems,
)
from ivrkit.ivr._yamlsource import compose_menu_yaml, read_menu_text

ATTENDANT_MENU = Path(__file__).with_name("menus") / "channel-aa.yaml"
"""The guide's automated attendant, as a menu file shipped with the package."""

_TOP_FIELDS = (
    "start",
    "time_zone",
    "transcript",
    "call_data",
    "on_start",
    "on_end",
    "on_error",
    "handler_timeout",
    "filler",
    "menus",
)
_CALL_DATA_FIELDS = ("args", "variables", "defaults", "fields")
_FILLER_FIELDS = ("play", "moh", "after")
_HANDLER_FIELDS = ("name", "timeout", "filler", "goes_to")
_MENU_FIELDS = (
    "greeting",
    "regreeting",
    "invalid",
    "no_input",
    "timeout",
    "inter_digit_timeout",
    "max_no_input",
    "max_no_match",
    "on_limit",
    "on_error",
    "language",
    "barge_in",
    "type_ahead",
    "options",
)
_MATCH_FIELDS: tuple[MatchKind, ...] = ("key", "digits", "pattern")
_ACTION_FIELDS = (
    "play",
    "goto",
    "back",
    "top",
    "hangup",
    "continue",
    "transfer",
    "handler",
    "collect",
    "route",
    "record",
)
_RECORD_FIELDS = (
    "name",
    "into",
    "prompt",
    "format",
    "beep",
    "max_duration",
    "max_silence",
    "terminate_on",
    "review",
    "then",
    "on_fail",
)
_REVIEW_FIELDS = ("prompt", "listen", "keep", "again", "timeout")
_ROUTE_FIELDS = ("zone", "rules", "otherwise")
_RULE_FIELDS = ("dates", "days", "hours")
_COLLECT_FIELDS = (
    "into",
    "prompt",
    "length",
    "min_length",
    "max_length",
    "terminator",
    "first_digit_timeout",
    "inter_digit_timeout",
    "pattern",
    "tries",
    "no_input",
    "no_match",
    "confirm",
    "then",
    "on_fail",
)
_CONFIRM_FIELDS = ("prompt", "yes", "no")
_CONTINUE_FIELDS = ("context", "extension", "priority")
_TRANSFER_FIELDS = ("endpoint", "timeout", "caller_id", "failed")

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_MISSING = object()

MAX_VALUES = 250_000
"""How many values the walk visits at most. Without aliases a 1 MiB file has fewer; with
them (``*name`` repeats what ``&name`` marks) a 14 KB file could stand for 27 million."""
_MAX_NUMBER_CHARS = 32  # longer is out of every range (and int() refuses 4,300 digits)


class _Arguments:
    """The keyword arguments of a value class, read field by field; ``bad`` once a field
    failed (its problem is already reported), so every field is still read and every
    problem reported at once."""

    __slots__ = ("bad", "values")

    def __init__(self, ok: bool) -> None:
        self.values: dict[str, Any] = {}
        self.bad = not ok

    def put(self, key: str, value: object) -> None:
        if value is None or value is _MISSING:
            self.bad = True
        else:
            self.values[key] = value


class _TooManyValues(Exception):
    def __init__(self, node: yaml.Node) -> None:
        super().__init__("too many values")
        self.node = node


class _Reader:
    """Walks one document's nodes, recording problems and the line of every field."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[MenuProblem] = []
        self.lines: dict[str, int] = {}
        self.option_index: dict[str, list[int]] = {}
        self.settings: dict[str, Any] = {}  # the tree's fields besides menus and start
        self.time_zone: tuple[tzinfo, str] | None = None  # the routes' default zone
        self._constructor = yaml.SafeLoader("")
        self._visited = 0

    def visit(self, node: yaml.Node) -> None:
        """Count the values of a collection node toward MAX_VALUES (alias bombs)."""
        self._visited += len(node.value) if isinstance(node.value, list) else 1
        if self._visited > MAX_VALUES:
            raise _TooManyValues(node)

    # -------------------------------------------------------------- plumbing

    def problem(self, node: yaml.Node, field: str, message: str) -> None:
        line = node.start_mark.line + 1
        self.problems.append(
            MenuProblem(field=field, message=message, line=line, source=self.source)
        )

    def mapping(
        self, node: yaml.Node, field: str, allowed: tuple[str, ...]
    ) -> dict[str, yaml.Node] | None:
        """The fields of a mapping node; unknown and duplicate fields are problems."""
        self.lines[field] = node.start_mark.line + 1
        if not isinstance(node, yaml.MappingNode):
            self.problem(node, field, f"expected a mapping with fields {_one_of(allowed)}")
            return None
        self.visit(node)
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = f"{field}.{key}" if field else str(key)
            if not isinstance(key, str) or key not in allowed:
                shown = _printable(str(key))
                self.problem(
                    key_node,
                    f"{field}.{shown}" if field else shown,
                    f"unknown field `{shown}`, expected one of {_one_of(allowed)}",
                )
            elif key in out:
                first = out[key].start_mark.line + 1
                self.problem(
                    key_node,
                    _printable(where),
                    f"duplicate field `{_printable(key)}` (first given on line {first})",
                )
            else:
                out[key] = value_node
                self.lines[where] = value_node.start_mark.line + 1
        return out

    def scalar(self, node: yaml.Node, field: str) -> Any:
        """The Python value of a scalar node, or _MISSING (a problem) if its tag refuses
        its text: ``!!int ten``, ``!!float ""``, ``!!bool maybe``, 5,000 digits."""
        if node.tag in (_INT, _FLOAT) and len(node.value) > _MAX_NUMBER_CHARS:
            self.problem(node, field, f"{_number_text(node.value)} is out of range{_range(field)}")
            return _MISSING
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ValueError, ArithmeticError, LookupError, yaml.YAMLError):
            what = {_INT: "an integer", _FLOAT: "a number", _BOOL: "true or false"}
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problem(
                node,
                field,
                f"{_short(node.value)!r} is tagged {tag} but is not "
                f"{what.get(node.tag, 'a valid ' + tag)}",
            )
            return _MISSING

    def string(self, node: yaml.Node, field: str, *, nullable: bool = False) -> str | None:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR:
                value = self.scalar(node, field)
                assert isinstance(value, str)
                if why := _text_problem(value):
                    self.problem(node, field, why)
                    return None
                if value:
                    return value
                self.problem(node, field, "must not be empty")
                return None
            if nullable and node.tag == _NULL:
                return None
        self.problem(
            node, field, f"expected a string{' or null' if nullable else ''}, got {_kind(node)}"
        )
        return None

    def number(self, node: yaml.Node, field: str) -> float | None:
        if isinstance(node, yaml.ScalarNode) and node.tag in (_INT, _FLOAT):
            value = self.scalar(node, field)
            return None if value is _MISSING else float(value)
        self.problem(node, field, f"expected a number of seconds, got {_kind(node)}")
        return None

    def integer(self, node: yaml.Node, field: str) -> int | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _INT:
            value = self.scalar(node, field)
            if value is _MISSING:
                return None
            assert isinstance(value, int)
            return value
        self.problem(node, field, f"expected an integer, got {_kind(node)}")
        return None

    def limit(self, node: yaml.Node, field: str) -> object:
        """A failure limit: an integer, or null for none; _MISSING when invalid."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _NULL:
            return None
        return _or_missing(self.integer(node, field))

    def boolean(self, node: yaml.Node, field: str) -> bool | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            value = self.scalar(node, field)
            return None if value is _MISSING else bool(value)
        self.problem(node, field, f"expected true or false, got {_kind(node)}")
        return None

    def prompts(
        self, node: yaml.Node, field: str, *, what: str = "media URIs"
    ) -> tuple[str, ...] | None:
        """A list of strings (media URIs); a single string is a list of one."""
        if isinstance(node, yaml.ScalarNode) and node.tag == _STR:
            one = self.string(node, field)
            return None if one is None else (one,)
        if not isinstance(node, yaml.SequenceNode):
            self.problem(node, field, f"expected a list of {what}, got {_kind(node)}")
            return None
        self.visit(node)
        items = [self.string(item, f"{field}.{i}") for i, item in enumerate(node.value)]
        for i, item in enumerate(node.value):
            self.lines[f"{field}.{i}"] = item.start_mark.line + 1
        if any(item is None for item in items):
            return None
        return tuple(item for item in items if item is not None)

    # -------------------------------------------------------------- the document

    def tree(self, root: yaml.Node | None) -> tuple[dict[str, Menu], str, Transcript, list[str]]:
        menus: dict[str, Menu] = {}
        names: list[str] = []
        start: str | None = None
        transcript = Transcript()
        if root is None:
            self.problems.append(
                MenuProblem(
                    field="",
                    message="the file is empty; expected a `menus:` mapping",
                    line=1,
                    source=self.source,
                )
            )
            return menus, "", transcript, names
        fields = self.mapping(root, "", _TOP_FIELDS)
        if fields is None:
            return menus, "", transcript, names
        if "time_zone" in fields:
            self.time_zone = self.zone(fields["time_zone"], "time_zone")  # before the menus
        if "menus" not in fields:
            self.problem(root, "menus", "missing field `menus`")
        else:
            menus_node = fields["menus"]
            if isinstance(menus_node, yaml.MappingNode) and not menus_node.value:
                self.problem(menus_node, "menus", "at least one menu is required")
            entries = self.mapping(menus_node, "menus", _AnyName()) or {}
            bad = self.bad_names(menus_node)
            for name, node in entries.items():
                if name in bad:
                    continue
                names.append(name)
                menu = self.menu(node, f"menus.{name}", name)
                if menu is not None:
                    menus[name] = menu
        if "start" in fields:
            start = self.string(fields["start"], "start")
        if "transcript" in fields:
            transcript = self.transcript(fields["transcript"]) or transcript
        self.flow(fields)
        return menus, start or (names[0] if names else ""), transcript, names

    def bad_names(self, menus_node: yaml.Node) -> set[str]:
        """Menu names that cannot be used, each a problem on the line of its key."""
        bad: set[str] = set()
        if isinstance(menus_node, yaml.MappingNode):
            for key_node, _ in menus_node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if isinstance(name, str) and (why := _name_problem(name)):
                    self.problem(key_node, "menus", why)
                    bad.add(name)
        return bad

    def flow(self, fields: Mapping[str, yaml.Node]) -> None:
        """The top-level fields of the programmable flow, into ``settings``."""
        out = self.settings
        if "call_data" in fields:
            spec = self.call_data(fields["call_data"])
            if spec is not None:
                out["call_data"] = spec
        if "on_start" in fields:
            node = fields["on_start"]
            if isinstance(node, yaml.ScalarNode):
                name = self.string(node, "on_start")
                if name is not None:
                    out["on_start"] = HandlerAction(name=name)
            elif (action := self.action_mapping(node, "on_start")) is not None:
                out["on_start"] = action
        if "on_end" in fields and (name := self.string(fields["on_end"], "on_end")):
            out["on_end"] = name
        if "on_error" in fields and (action := self.action_mapping(fields["on_error"], "on_error")):
            out["on_error"] = action
        if "handler_timeout" in fields:
            seconds = self.number(fields["handler_timeout"], "handler_timeout")
            if seconds is not None:
                out["handler_timeout"] = seconds
        if "filler" in fields and (filler := self.filler(fields["filler"], "filler")):
            out["filler"] = filler

    def call_data(self, node: yaml.Node) -> CallData | None:
        fields = self.mapping(node, "call_data", _CALL_DATA_FIELDS)
        if fields is None:
            return None
        kwargs: dict[str, Any] = {}
        bad = False
        for key in ("args", "fields"):
            if key in fields:
                names = self.prompts(fields[key], f"call_data.{key}", what="field names")
                bad |= names is None
                kwargs[key] = names or ()
        if "variables" in fields:
            entries = self.mapping(fields["variables"], "call_data.variables", _AnyName())
            variables = {}
            for name, value in (entries or {}).items():
                variable = self.string(value, f"call_data.variables.{name}")
                if variable is not None:
                    variables[name] = variable
            bad |= entries is None
            kwargs["variables"] = variables
        if "defaults" in fields:
            entries = self.mapping(fields["defaults"], "call_data.defaults", _AnyName())
            defaults = {}
            for name, value in (entries or {}).items():
                if isinstance(value, yaml.ScalarNode):
                    scalar = self.scalar(value, f"call_data.defaults.{name}")
                    bad |= scalar is _MISSING
                    defaults[name] = scalar
                else:
                    self.problem(
                        value,
                        f"call_data.defaults.{name}",
                        f"expected a string, number, boolean or null, got {_kind(value)}",
                    )
            bad |= entries is None
            kwargs["defaults"] = defaults
        return None if bad else CallData(**kwargs)

    def filler(self, node: yaml.Node, field: str) -> Filler | None:
        fields = self.mapping(node, field, _FILLER_FIELDS)
        if fields is None:
            return None
        if ("play" in fields) == ("moh" in fields):
            self.problem(
                node,
                f"{field}.play",
                "give `play` (media to play round) or `moh` (a music-on-hold class), one of them",
            )
            return None
        media = self.prompts(fields["play"], f"{field}.play") if "play" in fields else ()
        moh = None
        if "moh" in fields:
            moh_node = fields["moh"]
            moh = "" if moh_node.tag == _NULL else self.string(moh_node, f"{field}.moh")
        after = self.number(fields["after"], f"{field}.after") if "after" in fields else 1.0
        if media is None or after is None or ("moh" in fields and moh is None):
            return None
        return Filler(media=media, after=after, moh=moh)

    def handler_action(self, node: yaml.Node, field: str) -> HandlerAction | None:
        if isinstance(node, yaml.ScalarNode):
            name = self.string(node, field)
            return None if name is None else HandlerAction(name=name)
        fields = self.mapping(node, field, _HANDLER_FIELDS)
        if fields is None:
            return None
        if "name" not in fields:
            self.problem(node, f"{field}.name", "missing field `name` (package.module:function)")
            return None
        name = self.string(fields["name"], f"{field}.name")
        timeout = (
            self.number(fields["timeout"], f"{field}.timeout") if "timeout" in fields else None
        )
        filler = self.filler(fields["filler"], f"{field}.filler") if "filler" in fields else None
        goes_to = (
            self.prompts(fields["goes_to"], f"{field}.goes_to", what="menu names")
            if "goes_to" in fields
            else ()
        )
        if (
            name is None
            or ("timeout" in fields and timeout is None)
            or ("filler" in fields and filler is None)
            or goes_to is None
        ):
            return None
        return HandlerAction(name=name, timeout=timeout, filler=filler, goes_to=goes_to)

    def transcript(self, node: yaml.Node) -> Transcript | None:
        fields = self.mapping(node, "transcript", TRANSCRIPT_FIELDS)
        if fields is None:
            return None
        values = {k: self.string(v, f"transcript.{k}", nullable=True) for k, v in fields.items()}
        return Transcript(**values)

    def menu(self, node: yaml.Node, field: str, name: str) -> Menu | None:
        """The menu built from its valid fields (problems recorded for the rest), so the
        graph checks can still run over it and report everything in one pass."""
        fields = self.mapping(node, field, _MENU_FIELDS)
        if fields is None:
            return None
        kwargs: dict[str, Any] = {}

        def take(key: str, read: Callable[[yaml.Node, str], Any]) -> None:
            if key in fields:
                value = read(fields[key], f"{field}.{key}")
                if value is not _MISSING:
                    kwargs[key] = value

        take("regreeting", lambda n, f: _or_missing(self.prompts(n, f)))
        later: dict[str, Escalating] = {}
        for key in ("greeting", "invalid", "no_input"):
            if key in fields:
                steps = self.escalating(fields[key], f"{field}.{key}")
                if steps is not None:
                    kwargs[key] = by_attempt(steps, 1)
                    if rest := tuple(s for s in steps if s[0] > 1):
                        later[key] = rest
        if later:
            kwargs["later"] = later
        for key in ("timeout", "inter_digit_timeout"):
            take(key, lambda n, f: _or_missing(self.number(n, f)))
        for key in ("max_no_input", "max_no_match"):
            take(key, self.limit)
        for key in ("barge_in", "type_ahead"):
            take(key, lambda n, f: _or_missing(self.boolean(n, f)))
        take("on_limit", lambda n, f: _or_missing(self.action_mapping(n, f)))
        take("on_error", lambda n, f: _or_missing(self.action_mapping(n, f)))
        take("language", lambda n, f: _or_missing(self.string(n, f)))
        options: list[Option] = []
        kept: list[int] = []  # file index of each option kept, to name fields correctly
        if "options" not in fields:
            self.problem(node, f"{field}.options", "missing field `options`")
        else:
            opts_node = fields["options"]
            if not isinstance(opts_node, yaml.SequenceNode):
                self.problem(
                    opts_node,
                    f"{field}.options",
                    f"expected a list of options, got {_kind(opts_node)}",
                )
            else:
                self.visit(opts_node)
                for i, item in enumerate(opts_node.value):
                    option = self.option(item, f"{field}.options.{i}")
                    if option is not None:
                        options.append(option)
                        kept.append(i)
        self.option_index[name] = kept
        return Menu(name=name, options=tuple(options), **kwargs)

    def option(self, node: yaml.Node, field: str) -> Option | None:
        fields = self.mapping(node, field, (*_MATCH_FIELDS, *_ACTION_FIELDS))
        if fields is None:
            return None
        matches = [k for k in _MATCH_FIELDS if k in fields]
        action = self.action(node, fields, field)
        if len(matches) != 1:
            what = "none" if not matches else " and ".join(f"`{m}`" for m in matches)
            self.problem(
                node,
                field,
                f"an option needs exactly one of `key`, `digits` or `pattern`, got {what}",
            )
            return None
        kind = matches[0]
        value = self.match_value(fields[kind], f"{field}.{kind}", kind)
        if value is None or action is None:
            return None
        return Option(kind=kind, value=value, action=action)

    def match_value(self, node: yaml.Node, field: str, kind: MatchKind) -> str | None:
        if (
            kind == "key"
            and isinstance(node, yaml.ScalarNode)
            and node.tag == _INT
            and len(node.value) == 1
        ):
            number = self.scalar(node, field)
            if isinstance(number, int) and 0 <= number <= 9 and node.value == str(number):
                return str(number)
        if not (isinstance(node, yaml.ScalarNode) and node.tag == _STR):
            hint = ' (quote it: "0123" keeps its leading zero)' if kind == "digits" else ""
            self.problem(node, field, f"expected a quoted string, got {_kind(node)}{hint}")
            return None
        value: str = node.value
        try:
            if kind == "pattern":
                compile_pattern(value)
            else:
                Option(kind=kind, value=value, action=HangupAction())
        except ValueError as exc:
            self.problem(node, field, str(exc))
            return None
        return value

    def action_mapping(self, node: yaml.Node, field: str) -> Action | None:
        fields = self.mapping(node, field, _ACTION_FIELDS)
        return None if fields is None else self.action(node, fields, field)

    def action(self, node: yaml.Node, fields: Mapping[str, yaml.Node], field: str) -> Action | None:
        present = [k for k in _ACTION_FIELDS if k in fields]
        if len(present) != 1:
            what = "none" if not present else " and ".join(f"`{k}`" for k in present)
            self.problem(
                node, field, f"expected exactly one action of {_one_of(_ACTION_FIELDS)}, got {what}"
            )
            return None
        key = present[0]
        value = fields[key]
        where = f"{field}.{key}"
        if key == "play":
            prompts = self.prompts(value, where)
            return None if prompts is None else PlayAction(prompts=prompts)
        if key == "goto":
            target = self.string(value, where)
            return None if target is None else GotoAction(menu=target)
        if key == "handler":
            return self.handler_action(value, where)
        if key in ("back", "top", "hangup"):
            if self.boolean(value, where) is not True:
                if isinstance(value, yaml.ScalarNode) and value.tag == _BOOL:
                    self.problem(
                        value, where, f"`{key}` takes `true`; leave it out instead of false"
                    )
                return None
            if key == "back":
                return BackAction()
            return TopAction() if key == "top" else HangupAction()
        if key == "continue":
            return self.continue_action(value, where)
        if key == "collect":
            return self.collect_action(value, where)
        if key == "route":
            return self.route_action(value, where)
        if key == "record":
            return self.record_action(value, where)
        return self.transfer_action(value, where)

    def has_required(
        self, node: yaml.Node, field: str, fields: Mapping[str, yaml.Node], names: tuple[str, ...]
    ) -> bool:
        """Report each of ``names`` missing from ``fields``; True if none is."""
        missing = [name for name in names if name not in fields]
        for name in missing:
            self.problem(node, f"{field}.{name}", f"missing field `{name}`")
        return not missing

    def record_action(self, node: yaml.Node, field: str) -> RecordAction | None:
        fields = self.mapping(node, field, _RECORD_FIELDS)
        if fields is None:
            return None
        args = _Arguments(self.has_required(node, field, fields, ("name", "then")))
        put = args.put
        for key in ("name", "into", "format"):
            if key in fields:
                put(key, self.string(fields[key], f"{field}.{key}"))
        if "prompt" in fields:
            put("prompt", self.prompts(fields["prompt"], f"{field}.prompt"))
        if "beep" in fields:
            put("beep", self.boolean(fields["beep"], f"{field}.beep"))
        for key in ("max_duration", "max_silence"):
            if key in fields:
                put(key, self.number(fields[key], f"{field}.{key}"))
        if "terminate_on" in fields:
            term = fields["terminate_on"]
            if isinstance(term, yaml.ScalarNode) and term.tag == _NULL:
                args.values["terminate_on"] = None
            else:
                put("terminate_on", self.match_value(term, f"{field}.terminate_on", "key"))
        if "review" in fields:
            put("review", self.review(fields["review"], f"{field}.review"))
        for key in ("then", "on_fail"):
            if key in fields:
                put(key, self.action_mapping(fields[key], f"{field}.{key}"))
        return None if args.bad else RecordAction(**args.values)

    def review(self, node: yaml.Node, field: str) -> Review | None:
        fields = self.mapping(node, field, _REVIEW_FIELDS)
        if fields is None:
            return None
        if "prompt" not in fields:
            self.problem(node, f"{field}.prompt", "missing field `prompt`")
            return None
        kwargs: dict[str, Any] = {"prompt": self.prompts(fields["prompt"], f"{field}.prompt")}
        for key in ("listen", "keep", "again"):
            if key in fields:
                kwargs[key] = self.match_value(fields[key], f"{field}.{key}", "key")
        if "timeout" in fields:
            kwargs["timeout"] = self.number(fields["timeout"], f"{field}.timeout")
        if any(v is None for v in kwargs.values()):
            return None
        return Review(**kwargs)

    def zone(self, node: yaml.Node, field: str) -> tuple[tzinfo, str] | None:
        name = self.string(node, field)
        if name is None:
            return None
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError, OSError):
            self.problem(
                node,
                field,
                f"unknown time zone {name!r}: use an IANA name such as Europe/London or "
                "America/New_York (zone files: /usr/share/zoneinfo, or pip install tzdata)",
            )
            return None

    def route_action(self, node: yaml.Node, field: str) -> RouteAction | None:
        fields = self.mapping(node, field, _ROUTE_FIELDS)
        if fields is None:
            return None
        bad = False
        zone = None
        if "zone" in fields:
            zone = self.zone(fields["zone"], f"{field}.zone")
            bad |= zone is None
        elif self.time_zone is not None:
            zone = self.time_zone
        else:
            self.problem(
                node, f"{field}.zone", "missing field `zone` (or set `time_zone` at the top)"
            )
            bad = True
        rules: list[TimeRule] = []
        if "rules" in fields:
            rules_node = fields["rules"]
            if not isinstance(rules_node, yaml.SequenceNode):
                self.problem(
                    rules_node, f"{field}.rules", f"expected a list, got {_kind(rules_node)}"
                )
                bad = True
            else:
                for i, item in enumerate(rules_node.value):
                    rule = self.time_rule(item, f"{field}.rules.{i}")
                    bad |= rule is None
                    if rule is not None:
                        rules.append(rule)
        otherwise: Action | None = None
        if "otherwise" not in fields:
            self.problem(node, f"{field}.otherwise", "missing field `otherwise` (an action)")
            bad = True
        else:
            otherwise = self.action_mapping(fields["otherwise"], f"{field}.otherwise")
            bad |= otherwise is None
        if bad or zone is None or otherwise is None:
            return None
        return RouteAction(rules=tuple(rules), otherwise=otherwise, zone=zone[0], zone_name=zone[1])

    def time_rule(self, node: yaml.Node, field: str) -> TimeRule | None:
        fields = self.mapping(node, field, (*_RULE_FIELDS, *_ACTION_FIELDS))
        if fields is None:
            return None
        action = self.action(node, {k: v for k, v in fields.items() if k in _ACTION_FIELDS}, field)
        bad = action is None
        kwargs: dict[str, Any] = {}
        if "dates" in fields:
            dates = self.prompts(fields["dates"], f"{field}.dates", what="dates")
            for i, date in enumerate(dates or ()):
                if why := date_problem(date):
                    self.problem(fields["dates"], f"{field}.dates.{i}", why)
                    bad = True
            bad |= dates is None
            kwargs["dates"] = dates or ()
        if "days" in fields:
            names = self.prompts(fields["days"], f"{field}.days", what="weekdays")
            days: list[int] = []
            for i, name in enumerate(names or ()):
                day = _day_number(name)
                if day is None:
                    self.problem(
                        fields["days"],
                        f"{field}.days.{i}",
                        f"unknown weekday {name!r}, expected one of {', '.join(WEEKDAYS)} "
                        "or a range such as mon-fri",
                    )
                    bad = True
                else:
                    days.extend(day)
            bad |= names is None
            kwargs["days"] = tuple(dict.fromkeys(days))
        if "hours" in fields:
            spans = self.prompts(fields["hours"], f"{field}.hours", what="time ranges")
            hours: list[tuple[int, int]] = []
            for i, span in enumerate(spans or ()):
                parsed = _span(span)
                if parsed is None:
                    self.problem(
                        fields["hours"],
                        f"{field}.hours.{i}",
                        f"time range {span!r} must look like 09:00-17:30 (24-hour clock; "
                        "22:00-06:00 wraps past midnight)",
                    )
                    bad = True
                else:
                    hours.append(parsed)
            bad |= spans is None
            kwargs["hours"] = tuple(hours)
        if bad or action is None:
            return None
        return TimeRule(action=action, **kwargs)

    def escalating(self, node: yaml.Node, field: str) -> Escalating | None:
        """Prompts, or prompts by attempt: ``{1: [...], 3: [...]}`` (VoiceXML count)."""
        if not isinstance(node, yaml.MappingNode):
            prompts = self.prompts(node, field)
            return None if prompts is None else escalating(prompts)
        self.lines[field] = node.start_mark.line + 1
        steps: dict[int, tuple[str, ...]] = {}
        bad = False
        for key_node, value_node in node.value:
            if not (
                isinstance(key_node, yaml.ScalarNode)
                and key_node.tag == _INT
                and key_node.value.isdigit()
                and 1 <= int(key_node.value) <= MAX_ATTEMPTS
            ):
                self.problem(
                    key_node,
                    field,
                    f"prompts by attempt take attempt numbers 1 to {MAX_ATTEMPTS} as keys, "
                    f"got {_kind(key_node)}",
                )
                bad = True
                continue
            attempt = int(key_node.value)
            where = f"{field}.{attempt}"
            if attempt in steps:
                self.problem(key_node, where, f"duplicate attempt {attempt}")
                bad = True
                continue
            self.lines[where] = value_node.start_mark.line + 1
            prompts = self.prompts(value_node, where)
            if prompts is None:
                bad = True
            else:
                steps[attempt] = prompts
        return None if bad else tuple(sorted(steps.items()))

    def collect_action(self, node: yaml.Node, field: str) -> CollectAction | None:
        fields = self.mapping(node, field, _COLLECT_FIELDS)
        if fields is None:
            return None
        args = _Arguments(self.has_required(node, field, fields, ("into", "then")))
        put = args.put
        if "into" in fields:
            put("into", self.string(fields["into"], f"{field}.into"))
        for key in ("prompt", "no_input", "no_match"):
            if key in fields:
                put(key, self.escalating(fields[key], f"{field}.{key}"))
        if "length" in fields:
            if "min_length" in fields or "max_length" in fields:
                self.problem(
                    fields["length"],
                    f"{field}.length",
                    "give `length` (a fixed length) or `min_length`/`max_length`, not both",
                )
                args.bad = True
            length = self.integer(fields["length"], f"{field}.length")
            put("min_length", length)
            put("max_length", length)
        for key in ("min_length", "max_length", "tries"):
            if key in fields:
                put(key, self.integer(fields[key], f"{field}.{key}"))
        for key in ("first_digit_timeout", "inter_digit_timeout"):
            if key in fields:
                put(key, self.number(fields[key], f"{field}.{key}"))
        if "terminator" in fields:
            term = fields["terminator"]
            if isinstance(term, yaml.ScalarNode) and term.tag == _NULL:
                args.values["terminator"] = None
            else:
                put("terminator", self.match_value(term, f"{field}.terminator", "key"))
        if "pattern" in fields:
            put("pattern", self.match_value(fields["pattern"], f"{field}.pattern", "pattern"))
        if "confirm" in fields:
            put("confirm", self.confirm(fields["confirm"], f"{field}.confirm"))
        for key in ("then", "on_fail"):
            if key in fields:
                put(key, self.action_mapping(fields[key], f"{field}.{key}"))
        return None if args.bad else CollectAction(**args.values)

    def confirm(self, node: yaml.Node, field: str) -> Confirm | None:
        fields = self.mapping(node, field, _CONFIRM_FIELDS)
        if fields is None:
            return None
        if "prompt" not in fields:
            self.problem(node, f"{field}.prompt", "missing field `prompt`")
            return None
        prompt = self.prompts(fields["prompt"], f"{field}.prompt")
        keys = {
            k: self.match_value(fields[k], f"{field}.{k}", "key")
            for k in ("yes", "no")
            if k in fields
        }
        if prompt is None or any(v is None for v in keys.values()):
            return None
        return Confirm(prompt=prompt, **{k: v for k, v in keys.items() if v is not None})

    def continue_action(self, node: yaml.Node, field: str) -> ContinueAction | None:
        if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL:
            value = self.scalar(node, field)
            if value is _MISSING:
                return None
            if value:
                return ContinueAction()
        fields = self.mapping(node, field, _CONTINUE_FIELDS)
        if fields is None:
            return None
        context = (
            self.string(fields["context"], f"{field}.context") if "context" in fields else None
        )
        extension = None
        if "extension" in fields:
            ext_node = fields["extension"]
            if isinstance(ext_node, yaml.ScalarNode) and ext_node.tag == _INT:
                extension = ext_node.value
            else:
                extension = self.string(ext_node, f"{field}.extension")
        priority = (
            self.integer(fields["priority"], f"{field}.priority") if "priority" in fields else None
        )
        bad = any(
            k in fields and v is None
            for k, v in (("context", context), ("extension", extension), ("priority", priority))
        )
        return (
            None if bad else ContinueAction(context=context, extension=extension, priority=priority)
        )

    def transfer_action(self, node: yaml.Node, field: str) -> TransferAction | None:
        if isinstance(node, yaml.ScalarNode):
            endpoint = self.string(node, field)
            return None if endpoint is None else TransferAction(endpoint=endpoint)
        fields = self.mapping(node, field, _TRANSFER_FIELDS)
        if fields is None:
            return None
        if "endpoint" not in fields:
            self.problem(node, f"{field}.endpoint", "missing field `endpoint`")
            return None
        endpoint = self.string(fields["endpoint"], f"{field}.endpoint")
        kwargs: dict[str, Any] = {}
        bad = endpoint is None
        if "timeout" in fields:
            kwargs["timeout"] = self.number(fields["timeout"], f"{field}.timeout")
        if "caller_id" in fields:
            kwargs["caller_id"] = self.string(fields["caller_id"], f"{field}.caller_id")
        if "failed" in fields:
            kwargs["failed"] = self.prompts(fields["failed"], f"{field}.failed")
        if bad or any(v is None for v in kwargs.values()):
            return None
        assert endpoint is not None
        return TransferAction(endpoint=endpoint, **kwargs)


def _day_number(name: str) -> list[int] | None:
    """Weekday numbers (Monday 0) of "mon" or of a range "mon-fri" (wrapping: "fri-mon")."""
    first, sep, last = name.lower().partition("-")
    if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
        return None
    start = WEEKDAYS.index(first)
    end = WEEKDAYS.index(last) if sep else start
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


def _span(text: str) -> tuple[int, int] | None:
    """(start, end) minutes since midnight of "HH:MM-HH:MM" (end may be 24:00)."""
    start, sep, end = text.replace(" ", "").partition("-")
    first, last = _minute(start), _minute(end)
    if not sep or first is None or last is None or first == last or first >= 24 * 60:
        return None
    return first, last


def _minute(text: str) -> int | None:
    hour, sep, minute = text.partition(":")
    if not (sep and hour.isdigit() and minute.isdigit() and len(minute) == 2 and len(hour) <= 2):
        return None
    h, m = int(hour), int(minute)
    if m > 59 or h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


class _AnyName(tuple[str, ...]):
    """Allowed-field set for mappings whose keys are free names (the menus mapping)."""

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key != ""


def _short(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters, so one bad value cannot flood a message."""
    return text if len(text) <= limit else f"{text[:limit]}…"


def _printable(text: str) -> str:
    """``text`` fit for one line of a message: short, with unprintables escaped."""
    text = _short(text)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def _number_text(text: str) -> str:
    digits = sum(c.isdigit() for c in text)
    return f"a number of {digits} digits ({text[:12]}…)"


def _range(field: str) -> str:
    """The allowed range of a numeric field, for out-of-range messages."""
    name = field.rpartition(".")[2]
    if name in ("timeout", "inter_digit_timeout"):
        return f"; expected seconds above 0 and at most {MAX_SECONDS:g}"
    if name in ("max_no_input", "max_no_match"):
        return f"; expected 1 to {MAX_ATTEMPTS} (or null for no limit)"
    if name == "priority":
        return f"; expected 1 to {MAX_PRIORITY}"
    return ""


def _text_problem(text: str) -> str | None:
    """Why a string from the file cannot be used as text, or None.

    YAML's ``"\\ud800"`` escape makes a lone surrogate, which is not a character: it
    cannot be written to a terminal, a log or a REST request. Control characters (other
    than tab) have no place in a media URI, a name or a one-line transcript template.
    """
    bad = _BAD_TEXT.search(text)
    if bad is None:
        return None
    char, i = bad.group(), bad.start()
    if "\ud800" <= char <= "\udfff":
        return (
            f"{_short(text)!r} holds a lone surrogate {char!r} at offset {i}, "
            "which is not a Unicode character"
        )
    return f"{_short(text)!r} holds the control character {char!r} at offset {i}"


_BAD_TEXT = re.compile("[\x00-\x08\x0a-\x1f\x7f\ud800-\udfff]")


def _name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a menu name, or None: problems name fields as dotted paths
    (``menus.main.options.0``), so a name holding a dot would name the wrong field."""
    if "." in name:
        return f"a menu name must not contain `.`: {_short(name)!r}"
    return _text_problem(name)


def _or_missing(value: object) -> object:
    return _MISSING if value is None else value


def _one_of(allowed: tuple[str, ...]) -> str:
    return ", ".join(f"`{a}`" for a in allowed) if allowed else "a menu name"


def _kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return {
        _STR: "a string",
        _INT: "an integer",
        _FLOAT: "a number",
        _BOOL: "a boolean",
        _NULL: "null",
    }.get(node.tag, f"a value tagged {node.tag}") + f" ({_short(node.value)!r})" * (
        node.tag != _NULL
    )


def load_menu(text: str, source: str = "<string>") -> MenuTree:
    """Parse and validate menu YAML. Raises MenuDefinitionError listing every problem.

    Input beyond the limits (docs/menus.md "Limits") is one problem with its line.
    """
    root = compose_menu_yaml(text, source)
    reader = _Reader(source)
    try:
        menus, start, transcript, names = reader.tree(root)
    except _TooManyValues as exc:
        message = (
            f"the file stands for more than {MAX_VALUES:,} values (aliases such as `*x` "
            "repeat what they point at); write the menus out or use fewer aliases"
        )
        line = exc.node.start_mark.line + 1
        raise MenuDefinitionError(source, [MenuProblem("", message, line, source)]) from None
    settings = reader.settings
    flow = (
        settings.get("on_start"),
        settings.get("on_end"),
        settings.get("on_error"),
        settings.get("handler_timeout", DEFAULT_HANDLER_TIMEOUT),
        settings.get("filler"),
    )
    call_data = settings.get("call_data", CallData())
    for tree_field, message in tree_problems(
        menus, start, transcript, names, call_data=call_data, flow=flow
    ):
        if tree_field == "menus":
            continue  # "no menus": the reader has already said why, with the line
        field = _file_field(tree_field, reader.option_index)
        reader.problems.append(
            MenuProblem(
                field=field, message=message, line=_line_for(reader.lines, field), source=source
            )
        )
    if reader.problems:
        raise MenuDefinitionError(source, sorted(reader.problems, key=_problem_order))
    return MenuTree(
        menus=menus,
        start=start,
        transcript=transcript,
        source=source,
        field_lines=reader.lines,
        **settings,
    )


def load_menu_file(path: str | Path) -> MenuTree:
    """Read and validate a menu file. Raises MenuDefinitionError (also for unreadable files)."""
    return load_menu(read_menu_text(path), str(path))


HandlerFunc = Callable[[Any, str], Any]


def resolve_handlers(tree: MenuTree) -> dict[str, HandlerFunc]:
    """Import every ``handler:`` of the tree; each must be an ``async def (call, digits)``.

    Done before any call is served, so a typo fails at start-up, not mid-call. Modules
    are looked for beside the menu file, then in the cwd, then among the installed
    packages (``_handler_path``).
    Raises MenuDefinitionError naming the option that refers to a bad handler.
    """
    found: dict[str, HandlerFunc] = {}
    problems: list[MenuProblem] = []

    def problem(field: str, message: str) -> MenuProblem:
        return MenuProblem(field, message, _line_for(tree.field_lines, field), tree.source)

    for field, name in _handler_refs(tree):
        if name in found:
            continue
        module_name, _, func_name = name.partition(":")
        try:
            module = import_handler_module(module_name, tree.source)
        except ModuleNotFoundError as exc:
            problems.append(problem(field, f"cannot import `{module_name}`: {exc}"))
            continue
        except Exception as exc:  # any import failure is the menu author's to fix
            problems.append(problem(field, f"cannot import `{module_name}`: {exc!r}"))
            continue
        func = getattr(module, func_name, None)
        if func is None:
            problems.append(problem(field, f"module `{module_name}` has no `{func_name}`"))
        elif not inspect.iscoroutinefunction(func):
            problems.append(
                problem(field, f"`{name}` must be an `async def handler(call, digits)`")
            )
        else:
            found[name] = func
    if problems:
        raise MenuDefinitionError(tree.source, problems)
    return found


def _handler_refs(tree: MenuTree) -> Iterator[tuple[str, str]]:
    if tree.on_end is not None:
        yield "on_end", tree.on_end
    for where, action in _actions(tree):
        if isinstance(action, HandlerAction):
            yield f"{where}.handler", action.name


def _actions(tree: MenuTree) -> Iterator[tuple[str, Action]]:
    """Every action of the tree with its dotted field (nested ones included)."""
    tops = (("on_start", tree.on_start), ("on_error", tree.on_error))
    stack: list[tuple[str, Action]] = [(w, a) for w, a in tops if a is not None]
    for menu_name, menu in tree.menus.items():
        base = f"menus.{menu_name}"
        stack.append((f"{base}.on_limit", menu.on_limit))
        if menu.on_error is not None:
            stack.append((f"{base}.on_error", menu.on_error))
        stack.extend((f"{base}.options.{i}", o.action) for i, o in enumerate(menu.options))
    while stack:
        where, action = stack.pop(0)
        yield where, action
        stack.extend(nested_actions(action, where))


def _file_field(field: str, option_index: Mapping[str, list[int]]) -> str:
    """Rename ``menus.M.options.N`` from the index among kept options to the file's index."""
    parts = field.split(".")
    if (
        len(parts) >= 4
        and parts[0] == "menus"
        and parts[2] == "options"
        and parts[3].isdigit()
        and parts[1] in option_index  # menu names hold no dot (the reader refuses them)
    ):
        # every parsed menu has its index, and tree_problems names only kept options
        parts[3] = str(option_index[parts[1]][int(parts[3])])
    return ".".join(parts)


def _line_for(lines: Mapping[str, int], field: str) -> int | None:
    """The recorded line of ``field``, or of the nearest enclosing field that has one."""
    while field:
        if field in lines:
            return lines[field]
        field = field.rpartition(".")[0]
    return None


def _problem_order(problem: MenuProblem) -> tuple[int, str]:
    return (problem.line or 0, problem.field)


__all__ = ["ATTENDANT_MENU", "load_menu", "load_menu_file", "resolve_handlers"]
