"""Frozen menu definitions, and the graph checks that need the whole tree.

A ``MenuTree`` is what the machine runs. Build it from YAML with ``load_menu_file`` (errors
name file, line and field) or directly in Python (errors name the dotted field). Both paths
run ``tree_problems`` so the same rules hold either way.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from types import MappingProxyType
from typing import Literal

from ivrkit.ivr._checkpoint import DataValue, data_problem
from ivrkit.ivr._exceptions import MenuDefinitionError, MenuProblem
from ivrkit.ivr._template import template_problem as _template_problem
from ivrkit.ivr._templates import BUILTIN_FIELDS, template_fields

# Media URI schemes ARI plays (channels.json play: "media" — sound:, recording:, number:,
# digits:, characters:, tone:).
MEDIA_SCHEMES = ("characters", "digits", "number", "recording", "sound", "tone")
DIGITS_PLACEHOLDER = "{digits}"
KEY_CHARS = "0123456789*#ABCD"
_DIGIT_CLASSES = {"X": "0123456789", "Z": "123456789", "N": "23456789"}

# The ranges numbers must fall in (docs/menus.md "Limits"). A timer of .inf never fires and
# one of 1e300 s is the same bug, so both are refused with the range, not accepted.
MAX_SECONDS = 3600.0
"""Largest ``timeout``, ``inter_digit_timeout`` and transfer ``timeout``: one hour."""
MAX_ATTEMPTS = 100
"""Largest ``max_no_input`` / ``max_no_match``."""
MAX_PRIORITY = 2**31 - 1
"""Largest ``continue.priority``: Asterisk keeps dialplan priorities in a C int."""


# ---------------------------------------------------------------- actions


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayAction:
    """Play these prompts one at a time, then come back to the menu (its re-greeting)."""

    prompts: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class GotoAction:
    """Enter another menu (remembered, so ``back`` returns here)."""

    menu: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BackAction:
    """Return to the menu that entered this one (the start menu stays where it is)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TopAction:
    """Return to the start menu, forgetting the way back."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HangupAction:
    """Hang the call up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ContinueAction:
    """Leave the application into the dialplan; unset fields mean "next priority"."""

    context: str | None = None
    extension: str | None = None
    priority: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferAction:
    """Originate ``endpoint`` ("{digits}" is replaced) and bridge it with the caller.

    If it cannot be reached, ``failed`` prompts play and the menu comes back.
    """

    endpoint: str
    timeout: float = 30.0
    caller_id: str | None = None
    failed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Filler:
    """Keep a slow handler's caller company: after ``after`` seconds, ``media`` (a tone, a
    "please wait") plays over and over, or the channel's music on hold of class ``moh``
    ("" for the default class) plays, until the handler returns."""

    media: tuple[str, ...] = ()
    after: float = 1.0
    moh: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerAction:
    """Run ``async def handler(call, digits)`` named "package.module:function".

    It may return where the call goes next (``ivrkit.ivr.steps``); ``timeout`` (None: the
    tree's ``handler_timeout``) bounds it, and ``filler`` (None: the tree's) plays while
    it runs.
    """

    name: str
    timeout: float | None = None
    filler: Filler | None = None
    goes_to: tuple[str, ...] = ()  # menus its Goto may return: `ivrkit check` follows them


Escalating = tuple[tuple[int, tuple[str, ...]], ...]
"""Prompts by attempt, VoiceXML ``count`` style: ((1, first), (3, from the third on)), sorted;
attempt n plays the entry with the largest number <= n (none: nothing)."""


def by_attempt(prompts: Escalating, attempt: int) -> tuple[str, ...]:
    """The prompts of ``prompts`` for ``attempt`` (1-based)."""
    chosen: tuple[str, ...] = ()
    for first, media in prompts:
        if first > attempt:
            break
        chosen = media
    return chosen


def escalating(media: tuple[str, ...]) -> Escalating:
    """The same prompts at every attempt."""
    return ((1, media),) if media else ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Confirm:
    """After a collect: play ``prompt`` ({field} names the entry), then ``yes`` keeps
    the entry and ``no`` asks for it again; another key or silence plays it again."""

    prompt: tuple[str, ...]
    yes: str = "1"
    no: str = "2"


MAX_COLLECT_LENGTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class CollectAction:
    """Ask for digits into the call-data field ``into``, then run ``then``.

    The entry ends at ``max_length`` digits, at ``terminator`` (None: none; a terminator
    pressed right after a full-length entry is swallowed), or when ``inter_digit_timeout``
    passes; it must have ``min_length`` digits and match ``pattern`` (Asterisk-style, as
    options). Silence for ``first_digit_timeout`` is a no-input, a bad entry a no-match;
    each uses one of ``tries``, playing ``no_input``/``no_match`` for that attempt and
    then ``prompt`` again. When the tries are used up ``on_fail`` runs (None: the menu's
    ``on_limit``).
    """

    into: str
    then: Action
    prompt: Escalating = ()
    min_length: int = 1
    max_length: int = 20
    terminator: str | None = "#"
    first_digit_timeout: float = 5.0
    inter_digit_timeout: float = 3.0
    pattern: str | None = None
    tries: int = 3
    no_input: Escalating = ()
    no_match: Escalating = ()
    confirm: Confirm | None = None
    on_fail: Action | None = None

    def entry_problem(self, entry: str) -> str | None:
        """Why ``entry`` is not acceptable, or None."""
        if len(entry) < self.min_length:
            return f"{len(entry)} digits, at least {self.min_length} needed"
        if self.pattern is not None:
            option = Option(kind="pattern", value=self.pattern, action=HangupAction())
            if not option.matches(entry):
                return f"does not match {self.pattern}"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Review:
    """After a recording: ``prompt`` ("1 to listen, 2 to keep, 3 to record again"), then
    ``listen`` plays it back, ``keep`` keeps it, ``again`` records it again; another key
    plays the prompt again, and ``timeout`` seconds of silence, 3 times, keep it."""

    prompt: tuple[str, ...]
    listen: str = "1"
    keep: str = "2"
    again: str = "3"
    timeout: float = 5.0


RECORD_GRACE = 5.0
"""Seconds past ``max_duration`` after which the machine stops a recording itself (the
RecordingFinished it waits for was lost): a call never waits on Asterisk forever."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordAction:
    """Record the caller into stored recording ``name`` (a template: call-data fields and
    ``{call_id}``), with a beep, up to ``max_duration`` seconds, ending after
    ``max_silence`` seconds of silence (0: never) or at ``terminate_on``; then ``into``
    holds the name (play it as ``recording:{into}``), ``review`` (optional) lets the
    caller listen, keep or record again, and ``then`` runs. A failure runs ``on_fail``
    (None: on_error)."""

    name: str
    then: Action
    into: str = "recording"
    prompt: tuple[str, ...] = ()
    format: str = "wav"
    beep: bool = True
    max_duration: float = 60.0
    max_silence: float = 5.0
    terminate_on: str | None = "#"
    review: Review | None = None
    on_fail: Action | None = None


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeRule:
    """One rule of a route: every condition given must hold (none given: always).

    ``dates``: "YYYY-MM-DD" (that day) or "MM-DD" (that day every year); ``days``:
    weekday numbers, Monday 0; ``hours``: (start, end) minutes since midnight, end
    exclusive, an end before the start wrapping past midnight.
    """

    action: Action
    dates: tuple[str, ...] = ()
    days: tuple[int, ...] = ()
    hours: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteAction:
    """Run the action of the first rule that holds at the call's local time in ``zone``,
    else ``otherwise``. ``zone`` is a tzinfo (the loader makes it from an IANA name with
    zoneinfo); the time comes from the driver's wall clock, never read by the engine."""

    rules: tuple[TimeRule, ...]
    otherwise: Action
    zone: tzinfo
    zone_name: str = ""


Action = (
    PlayAction
    | GotoAction
    | BackAction
    | TopAction
    | HangupAction
    | ContinueAction
    | TransferAction
    | HandlerAction
    | CollectAction
    | RouteAction
    | RecordAction
)


# ---------------------------------------------------------------- options


MatchKind = Literal["key", "digits", "pattern"]


def compile_pattern(pattern: str) -> tuple[tuple[str, ...], int | None]:
    """Compile an Asterisk-style pattern into per-position digit sets and an open tail.

    ``X`` 0-9, ``Z`` 1-9, ``N`` 2-9, ``[1-5*]`` a set, a final ``.`` one or more further
    digits, a final ``!`` zero or more. Returns (sets, minimum extra digits or None).
    Raises ValueError with the reason for a bad pattern.
    """
    sets: list[str] = []
    tail: int | None = None
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch in ".!":
            if i != len(pattern) - 1:
                raise ValueError(f"`{ch}` may only end a pattern")
            tail = 1 if ch == "." else 0
        elif ch in _DIGIT_CLASSES:
            sets.append(_DIGIT_CLASSES[ch])
        elif ch == "[":
            end = pattern.find("]", i)
            if end < 0:
                raise ValueError("`[` without a closing `]`")
            sets.append(_compile_set(pattern[i + 1 : end]))
            i = end
        elif ch in KEY_CHARS and ch != "#":
            sets.append(ch)
        else:
            raise ValueError(f"unexpected character {ch!r} (use 0-9 * A-D X Z N [..] . !)")
        i += 1
    if not sets:
        raise ValueError("a pattern needs at least one digit position")
    return tuple(sets), tail


def _compile_set(body: str) -> str:
    chars: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            lo, hi = body[i], body[i + 2]
            if not (lo.isdigit() and hi.isdigit() and lo <= hi):
                raise ValueError(f"bad range {lo}-{hi} in [{body}]")
            chars.extend(chr(c) for c in range(ord(lo), ord(hi) + 1))
            i += 3
            continue
        if body[i] not in KEY_CHARS or body[i] == "#":
            raise ValueError(f"unexpected character {body[i]!r} in [{body}]")
        chars.append(body[i])
        i += 1
    if not chars:
        raise ValueError("empty set []")
    return "".join(sorted(set(chars)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    """One menu entry: what the caller dials (``kind``/``value``) and what happens."""

    kind: MatchKind
    value: str
    action: Action
    _sets: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _tail: int | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind == "pattern":
            sets, tail = compile_pattern(self.value)
        else:
            if not self.value or any(c not in KEY_CHARS for c in self.value):
                raise ValueError(f"{self.kind} must be made of 0-9 * # A-D, got {self.value!r}")
            if self.kind == "key" and len(self.value) != 1:
                raise ValueError(f"key must be one character, got {self.value!r}")
            if self.kind == "digits" and "#" in self.value:
                raise ValueError("digits may not contain `#` (it finishes an entry)")
            sets, tail = tuple(self.value), None
        object.__setattr__(self, "_sets", sets)
        object.__setattr__(self, "_tail", tail)

    def matches(self, digits: str) -> bool:
        """True if ``digits`` is a complete entry for this option."""
        n = len(self._sets)
        if self._tail is None:
            if len(digits) != n:
                return False
        elif len(digits) < n + self._tail:
            return False
        return all(d in s for d, s in zip(digits, self._sets, strict=False)) and (
            self._tail is None or all(d in KEY_CHARS and d != "#" for d in digits[n:])
        )

    def could_extend(self, digits: str) -> bool:
        """True if more digits after ``digits`` could still complete this option."""
        n = len(self._sets)
        if self._tail is None and len(digits) >= n:
            return False
        return all(d in s for d, s in zip(digits, self._sets, strict=False))


# ---------------------------------------------------------------- menus


@dataclass(frozen=True, slots=True, kw_only=True)
class Menu:
    """One menu. Prompts are media URIs played one at a time, each after the previous ends.

    ``regreeting`` (default: the greeting) plays when the menu comes back after an action,
    an invalid entry or a no-input prompt. ``max_no_input``/``max_no_match`` (None: no
    limit) count consecutive failures; reaching one runs ``on_limit`` instead of the prompt.
    """

    name: str
    options: tuple[Option, ...]
    greeting: tuple[str, ...] = ()
    regreeting: tuple[str, ...] | None = None
    invalid: tuple[str, ...] = ()
    no_input: tuple[str, ...] = ()
    timeout: float = 10.0
    inter_digit_timeout: float = 3.0
    max_no_input: int | None = None
    max_no_match: int | None = None
    on_limit: Action = HangupAction()
    on_error: Action | None = None
    language: str | None = None
    # prompts for later attempts ("greeting", "invalid", "no_input" -> Escalating); the
    # plain fields are attempt 1 (the greeting's attempt 2 on: regreeting, if set)
    later: Mapping[str, Escalating] = field(default_factory=dict)
    barge_in: bool = True
    type_ahead: bool = True

    @property
    def regreeting_prompts(self) -> tuple[str, ...]:
        return self.greeting if self.regreeting is None else self.regreeting

    def prompts_for(self, kind: str, attempt: int) -> tuple[str, ...]:
        """The ``kind`` prompts ("greeting", "invalid", "no_input") for ``attempt``."""
        later = by_attempt(self.later.get(kind, ()), attempt)
        if later or any(first <= attempt for first, _ in self.later.get(kind, ())):
            return later
        if kind == "greeting":
            return self.greeting if attempt <= 1 else self.regreeting_prompts
        return self.invalid if kind == "invalid" else self.no_input


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """Templates for transcript lines; ``{channel}`` and ``{digit}`` are filled in.

    A template left ``None`` writes nothing for that moment.
    """

    call_started: str | None = None
    digit: str | None = None
    no_match: str | None = None
    no_input: str | None = None
    call_ended: str | None = None


TRANSCRIPT_FIELDS = ("call_started", "digit", "no_match", "no_input", "call_ended")
TRANSCRIPT_PLACEHOLDERS = frozenset({"channel", "digit"})


@dataclass(frozen=True, slots=True, kw_only=True)
class CallData:
    """How a call's data mapping is seeded, and which fields it may hold.

    ``defaults`` first, then the built-in fields (caller id, language), then the channel
    ``variables`` (field -> variable name; an unset variable leaves the field alone),
    then the StasisStart ``args``: the n-th arg sets the n-th name, and an arg
    ``name=value`` sets that field. ``fields`` declares what handlers set, so templates
    may use those names too.
    """

    args: tuple[str, ...] = ()
    variables: Mapping[str, str] = field(default_factory=dict)
    defaults: Mapping[str, DataValue] = field(default_factory=dict)
    fields: tuple[str, ...] = ()

    def known(self) -> frozenset[str]:
        """Every field a call of this tree may have (what templates may name)."""
        return frozenset(
            (*BUILTIN_FIELDS, *self.args, *self.variables, *self.defaults, *self.fields)
        )


DEFAULT_HANDLER_TIMEOUT = 10.0
"""Seconds a handler may run before the call gives up on it (``handler_timeout``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuTree:
    """A validated set of menus and where a call starts. Raises MenuDefinitionError.

    ``on_start`` runs when a call arrives (before the start menu; a handler there may
    route it), ``on_end`` (a handler name) when it has left, whoever ended it.
    ``on_error`` is every menu's default error action (None: the menu comes back).
    """

    menus: Mapping[str, Menu]
    start: str
    transcript: Transcript = Transcript()
    call_data: CallData = CallData()
    on_start: Action | None = None
    on_end: str | None = None
    on_error: Action | None = None
    handler_timeout: float = DEFAULT_HANDLER_TIMEOUT
    filler: Filler | None = None
    # every call-data field a call may have (call_data's, built-ins, collects' `into`)
    fields: frozenset[str] = field(init=False, default=frozenset(), compare=False, repr=False)
    source: str = "<python>"
    # dotted field -> line in ``source``, when the tree came from a file (for later errors)
    field_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "menus", MappingProxyType(dict(self.menus)))
        object.__setattr__(self, "field_lines", MappingProxyType(dict(self.field_lines)))
        flow = (self.on_start, self.on_end, self.on_error, self.handler_timeout, self.filler)
        object.__setattr__(self, "fields", tree_fields(self.menus, self.call_data, flow))
        problems = tree_problems(
            self.menus,
            self.start,
            self.transcript,
            call_data=self.call_data,
            flow=(self.on_start, self.on_end, self.on_error, self.handler_timeout, self.filler),
        )
        if problems:
            raise MenuDefinitionError(
                self.source,
                [MenuProblem(field=f, message=m, source=self.source) for f, m in problems],
            )


def media_problem(media: str) -> str | None:
    """Why ``media`` is not a playable URI, or None if it is."""
    scheme, sep, rest = media.partition(":")
    if not sep or not rest:
        return f"media {media!r} must look like scheme:name (e.g. sound:press-1)"
    if scheme not in MEDIA_SCHEMES:
        return f"unknown media scheme `{scheme}`, expected one of {', '.join(MEDIA_SCHEMES)}"
    try:
        template_fields(media)
    except ValueError as exc:
        return str(exc)
    return None


def media_field_problem(media: str, known: Collection[str]) -> str | None:
    """Why ``media`` is unplayable or names a field no call of the tree has, or None."""
    if why := media_problem(media):
        return why
    for name in template_fields(media):
        if name not in known:
            return (
                f"`{{{name}}}` in {media!r} is not a call-data field (known: "
                f"{', '.join(sorted(known))}); declare a field a handler sets under "
                "call_data.fields"
            )
    return _template_problem(media, known)  # the shared checks (i16's validator)


def template_problem(template: str) -> str | None:
    """Why a transcript template is unusable, or None."""
    return _template_problem(template, TRANSCRIPT_PLACEHOLDERS)


def seconds_problem(value: float) -> str | None:
    """Why ``value`` is not a usable number of seconds, or None."""
    if math.isfinite(value) and 0 < value <= MAX_SECONDS:
        return None
    return f"must be a number of seconds above 0 and at most {MAX_SECONDS:g}, got {value:g}"


def count_problem(value: int, low: int, high: int, extra: str = "") -> str | None:
    """Why ``value`` is outside ``low..high``, or None."""
    if low <= value <= high:
        return None
    shown = value if len(str(value)) <= 20 else f"a number of {len(str(value))} digits"
    return f"must be from {low} to {high}{extra}, got {shown}"


Flow = tuple["Action | None", "str | None", "Action | None", float, "Filler | None"]
"""(on_start, on_end, on_error, handler_timeout, filler) of a tree, for tree_problems."""
_NO_FLOW: Flow = (None, None, None, DEFAULT_HANDLER_TIMEOUT, None)


def tree_fields(menus: Mapping[str, Menu], call_data: CallData, flow: Flow) -> frozenset[str]:
    """Every call-data field a call of the tree may have: what templates may name."""
    fields = set(call_data.known())
    actions: list[Action] = [a for a in (flow[0], flow[2]) if a is not None]
    for menu in menus.values():
        actions.append(menu.on_limit)
        if menu.on_error is not None:
            actions.append(menu.on_error)
        actions.extend(o.action for o in menu.options)
    for action in actions:
        fields |= produced_fields(action)
    return frozenset(fields)


def tree_problems(
    menus: Mapping[str, Menu],
    start: str,
    transcript: Transcript,
    names: Collection[str] | None = None,
    *,
    call_data: CallData = CallData(),
    flow: Flow = _NO_FLOW,
) -> list[tuple[str, str]]:
    """Every problem of a tree as (dotted field, message); empty when valid.

    ``names`` are the menu names that exist (default: ``menus``); the loader passes every
    declared name so that a menu with its own errors is not also reported as unknown.
    """
    # a dict keeps the file's order for messages and answers `in` at once (100k menus)
    known = dict.fromkeys(menus if names is None else names)
    check = Checker(known, tree_fields(menus, call_data, flow))
    problems = check.problems
    if not known:
        problems.append(("menus", "at least one menu is required"))
    elif start not in known:
        problems.append(("start", _unknown_menu(start, known)))
    for fname in TRANSCRIPT_FIELDS:
        template = getattr(transcript, fname)
        if template is not None and (why := template_problem(template)):
            problems.append((f"transcript.{fname}", why))
    check.call_data(call_data)
    on_start, on_end, on_error, handler_timeout, filler = flow
    if on_start is not None:
        check.action(on_start, "on_start")
    if on_end is not None:
        check.handler_name(on_end, "on_end")
    if on_error is not None:
        check.action(on_error, "on_error")
    if why := seconds_problem(handler_timeout):
        problems.append(("handler_timeout", why))
    if filler is not None:
        check.filler(filler, "filler")
    for name, menu in menus.items():
        base = f"menus.{name}"
        if menu.name != name:
            problems.append((f"{base}.name", f"menu is filed as `{name}` but named `{menu.name}`"))
        prompt_lists = {
            "greeting": menu.greeting,
            "regreeting": menu.regreeting or (),
            "invalid": menu.invalid,
            "no_input": menu.no_input,
        }
        for fname, prompts in prompt_lists.items():
            check.media(prompts, f"{base}.{fname}")
        for fname, later in menu.later.items():
            for first, media in later:
                check.media(media, f"{base}.{fname}.{first}")
        for fname in ("timeout", "inter_digit_timeout"):
            if why := seconds_problem(getattr(menu, fname)):
                problems.append((f"{base}.{fname}", why))
        for fname in ("max_no_input", "max_no_match"):
            limit = getattr(menu, fname)
            if limit is not None and (
                why := count_problem(limit, 1, MAX_ATTEMPTS, " (or null for no limit)")
            ):
                problems.append((f"{base}.{fname}", why))
        if menu.language is not None and not _is_language(menu.language):
            problems.append(
                (f"{base}.language", f"language {menu.language!r} must look like en, fr or en_GB")
            )
        check.action(menu.on_limit, f"{base}.on_limit")
        if menu.on_error is not None:
            check.action(menu.on_error, f"{base}.on_error")
        seen: dict[tuple[str, str], int] = {}
        for i, option in enumerate(menu.options):
            where = f"{base}.options.{i}"
            ident = ("pattern" if option.kind == "pattern" else "digits", option.value)
            if ident in seen:
                problems.append(
                    (
                        f"{where}.{option.kind}",
                        f"duplicate entry {option.value!r} (already used by options.{seen[ident]})",
                    )
                )
            else:
                seen[ident] = i
            check.action(option.action, where)
    return problems


def _is_language(code: str) -> bool:
    """Asterisk language codes name a sounds/ folder: letters, digits, _ and -."""
    return bool(code) and all(c.isalnum() or c in "_-" for c in code)


class Checker:
    """Collects (field, message) problems of actions and media against the tree's names."""

    def __init__(self, menus: Collection[str], fields: frozenset[str]) -> None:
        self.menus = menus
        self.fields = fields
        self.problems: list[tuple[str, str]] = []

    def escalating(self, prompts: Escalating, where: str) -> None:
        if len(prompts) == 1 and prompts[0][0] == 1:
            self.media(prompts[0][1], where)
            return
        for first, media in prompts:
            self.media(media, f"{where}.{first}")

    def collect(self, action: CollectAction, where: str) -> None:
        out = self.problems
        if not action.into.isidentifier() or action.into == "digits":
            out.append((f"{where}.into", f"{action.into!r} must be a field name other than digits"))
        low, high = action.min_length, action.max_length
        if why := count_problem(low, 1, MAX_COLLECT_LENGTH):
            out.append((f"{where}.min_length", why))
        if why := count_problem(high, max(low, 1), MAX_COLLECT_LENGTH, " (and min_length or more)"):
            out.append((f"{where}.max_length", why))
        term = action.terminator
        if term is not None and (len(term) != 1 or term not in KEY_CHARS):
            out.append(
                (f"{where}.terminator", f"must be one key of {KEY_CHARS} or null, got {term!r}")
            )
        for fname in ("first_digit_timeout", "inter_digit_timeout"):
            if why := seconds_problem(getattr(action, fname)):
                out.append((f"{where}.{fname}", why))
        if action.pattern is not None:
            try:
                compile_pattern(action.pattern)
            except ValueError as exc:
                out.append((f"{where}.pattern", str(exc)))
        if why := count_problem(action.tries, 1, MAX_ATTEMPTS):
            out.append((f"{where}.tries", why))
        for fname in ("prompt", "no_input", "no_match"):
            self.escalating(getattr(action, fname), f"{where}.{fname}")
        confirm = action.confirm
        if confirm is not None:
            self.media(confirm.prompt, f"{where}.confirm.prompt")
            for fname in ("yes", "no"):
                key = getattr(confirm, fname)
                if len(key) != 1 or key not in KEY_CHARS:
                    out.append((f"{where}.confirm.{fname}", f"must be one key, got {key!r}"))
            if confirm.yes == confirm.no:
                out.append((f"{where}.confirm.no", "must differ from `yes`"))

    def record(self, action: RecordAction, where: str) -> None:
        out = self.problems
        try:
            names = template_fields(action.name)
        except ValueError as exc:
            out.append((f"{where}.name", str(exc)))
            names = ()
        for name in names:
            if name not in self.fields and name != "call_id":
                out.append(
                    (f"{where}.name", f"`{{{name}}}` in {action.name!r} is not a call-data field")
                )
        bare = action.name.replace("{", "").replace("}", "")
        if not bare or any(not (c.isalnum() or c in "-_.") for c in bare):
            out.append(
                (
                    f"{where}.name",
                    f"recording name {action.name!r} may hold only letters, digits, - _ . "
                    "and {fields}",
                )
            )
        if not action.into.isidentifier() or action.into == "digits":
            out.append((f"{where}.into", f"{action.into!r} must be a field name other than digits"))
        if action.format not in ("wav", "gsm", "ulaw", "alaw", "sln", "g722", "wav49"):
            out.append(
                (
                    f"{where}.format",
                    f"unknown format {action.format!r} (wav, gsm, ulaw, alaw, sln, g722)",
                )
            )
        if why := seconds_problem(action.max_duration):
            out.append((f"{where}.max_duration", why))
        if action.max_silence != 0 and (why := seconds_problem(action.max_silence)):
            out.append((f"{where}.max_silence", why + " (or 0: no limit)"))
        term = action.terminate_on
        if term is not None and (len(term) != 1 or term not in KEY_CHARS):
            out.append(
                (f"{where}.terminate_on", f"must be one key of {KEY_CHARS} or null, got {term!r}")
            )
        self.media(action.prompt, f"{where}.prompt")
        review = action.review
        if review is not None:
            self.media(review.prompt, f"{where}.review.prompt")
            keys = (review.listen, review.keep, review.again)
            for fname, key in zip(("listen", "keep", "again"), keys, strict=True):
                if len(key) != 1 or key not in KEY_CHARS:
                    out.append((f"{where}.review.{fname}", f"must be one key, got {key!r}"))
            if len(set(keys)) != 3:
                out.append((f"{where}.review", "listen, keep and again need three different keys"))
            if why := seconds_problem(review.timeout):
                out.append((f"{where}.review.timeout", why))

    def time_rule(self, rule: TimeRule, where: str) -> None:
        out = self.problems
        for i, date in enumerate(rule.dates):
            if why := date_problem(date):
                out.append((f"{where}.dates.{i}", why))
        for i, day in enumerate(rule.days):
            if not 0 <= day <= 6:
                out.append((f"{where}.days.{i}", f"weekday {day} must be 0 (Monday) to 6"))
        for i, (start, end) in enumerate(rule.hours):
            if not (0 <= start < 24 * 60 and 0 <= end <= 24 * 60 and start != end):
                out.append((f"{where}.hours.{i}", "a range needs two different times of day"))

    def media(self, prompts: tuple[str, ...], where: str) -> None:
        for i, media in enumerate(prompts):
            if why := media_field_problem(media, self.fields):
                self.problems.append((f"{where}.{i}", why))

    def call_data(self, spec: CallData) -> None:
        for group, names in (("args", spec.args), ("fields", spec.fields)):
            for i, name in enumerate(names):
                if not name.isidentifier():
                    self.problems.append(
                        (f"call_data.{group}.{i}", f"{name!r} must be a field name (a-z, 0-9, _)")
                    )
        for name, variable in spec.variables.items():
            if not name.isidentifier():
                self.problems.append((f"call_data.variables.{name}", "must be a field name"))
            if not variable:
                self.problems.append((f"call_data.variables.{name}", "needs a variable name"))
        for name in spec.defaults:
            if not name.isidentifier():
                self.problems.append((f"call_data.defaults.{name}", "must be a field name"))
        if why := data_problem(spec.defaults):
            self.problems.append(("call_data.defaults", why))

    def filler(self, filler: Filler, where: str) -> None:
        self.media(filler.media, f"{where}.play")
        if not filler.media and filler.moh is None:
            why = "a filler needs at least one media URI to `play`, or a `moh` class"
            self.problems.append((f"{where}.play", why))
        elif filler.media and filler.moh is not None:
            self.problems.append((f"{where}.play", "give `play` or `moh`, not both"))
        if not filler.after >= 0:
            self.problems.append((f"{where}.after", "must be a number of seconds, 0 or more"))

    def handler_name(self, name: str, where: str) -> None:
        module, sep, func = name.partition(":")
        if not (
            sep
            and module
            and func.isidentifier()
            and all(p.isidentifier() for p in module.split("."))
        ):
            self.problems.append(
                (where, f"handler {name!r} must look like package.module:function")
            )

    def action(self, action: Action, where: str) -> None:
        out = self.problems
        if isinstance(action, GotoAction) and action.menu not in self.menus:
            out.append((f"{where}.goto", _unknown_menu(action.menu, self.menus)))
        elif isinstance(action, PlayAction):
            self.media(action.prompts, f"{where}.play")
        elif isinstance(action, TransferAction):
            self.media(action.failed, f"{where}.transfer.failed")
            if "/" not in action.endpoint:
                out.append(
                    (
                        f"{where}.transfer.endpoint",
                        f"endpoint {action.endpoint!r} must look like "
                        "TECH/resource (e.g. PJSIP/{digits})",
                    )
                )
            else:
                for name in _fields_or_none(action.endpoint):
                    if name not in self.fields:
                        out.append(
                            (
                                f"{where}.transfer.endpoint",
                                f"`{{{name}}}` in {action.endpoint!r} is not a call-data field",
                            )
                        )
            if why := seconds_problem(action.timeout):
                out.append((f"{where}.transfer.timeout", why))
        elif isinstance(action, CollectAction):
            self.collect(action, f"{where}.collect")
        elif isinstance(action, RecordAction):
            self.record(action, f"{where}.record")
        elif isinstance(action, RouteAction):
            for i, rule in enumerate(action.rules):
                self.time_rule(rule, f"{where}.route.rules.{i}")
        elif isinstance(action, HandlerAction):
            self.handler_name(action.name, f"{where}.handler")
            if action.timeout is not None and (why := seconds_problem(action.timeout)):
                out.append((f"{where}.handler.timeout", why))
            if action.filler is not None:
                self.filler(action.filler, f"{where}.handler.filler")
            for i, target in enumerate(action.goes_to):
                if target not in self.menus:
                    out.append((f"{where}.handler.goes_to.{i}", _unknown_menu(target, self.menus)))
        elif (
            isinstance(action, ContinueAction)
            and action.priority is not None
            and (why := count_problem(action.priority, 1, MAX_PRIORITY))
        ):
            out.append((f"{where}.continue.priority", why))
        for inner_where, inner in nested_actions(action, where):
            self.action(inner, inner_where)


def date_problem(date: str) -> str | None:
    """Why ``date`` is not "YYYY-MM-DD" or "MM-DD" (a real day), or None."""
    parts = date.split("-")
    if len(parts) == 2:
        parts = ["2000", *parts]  # a leap year: 02-29 is a day
    if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[0]) == 4:
        year, month, day = (int(p) for p in parts)
        if 1 <= month <= 12 and 1 <= day <= _days_in(year, month):
            return None
    return f"date {date!r} must be YYYY-MM-DD (that day) or MM-DD (every year)"


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def nested_actions(action: Action, where: str) -> list[tuple[str, Action]]:
    """The actions inside ``action`` (a collect's, a route's...), with their fields."""
    if isinstance(action, CollectAction):
        out: list[tuple[str, Action]] = [(f"{where}.collect.then", action.then)]
        if action.on_fail is not None:
            out.append((f"{where}.collect.on_fail", action.on_fail))
        return out
    if isinstance(action, RecordAction):
        out = [(f"{where}.record.then", action.then)]
        if action.on_fail is not None:
            out.append((f"{where}.record.on_fail", action.on_fail))
        return out
    if isinstance(action, RouteAction):
        routed = [(f"{where}.route.rules.{i}", r.action) for i, r in enumerate(action.rules)]
        return [*routed, (f"{where}.route.otherwise", action.otherwise)]
    return []


def produced_fields(action: Action) -> set[str]:
    """Call-data fields ``action`` (or one inside it) writes: a collect's ``into``."""
    out: set[str] = set()
    stack = [action]
    while stack:
        current = stack.pop()
        if isinstance(current, CollectAction | RecordAction):
            out.add(current.into)
        stack.extend(a for _, a in nested_actions(current, ""))
    return out


def _fields_or_none(template: str) -> tuple[str, ...]:
    try:
        return template_fields(template)
    except ValueError:
        return ()


def _unknown_menu(name: str, known: Collection[str]) -> str:
    # at most _NAMES_SHOWN names: one message per bad goto must not list 100k menus each
    shown = [f"`{m}`" for _, m in zip(range(_NAMES_SHOWN), known, strict=False)]
    more = f" and {len(known) - len(shown)} more" if len(known) > len(shown) else ""
    return f"unknown menu `{name}`, expected one of {', '.join(shown)}{more}"


_NAMES_SHOWN = 10
