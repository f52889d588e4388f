"""Frozen menu definitions, and the graph checks that need the whole tree.

A ``MenuTree`` is what the machine runs. Build it from YAML with ``load_menu_file`` (errors
name file, line and field) or directly in Python (errors name the dotted field). Both paths
run ``tree_problems`` so the same rules hold either way.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from ivrkit.ivr._exceptions import MenuDefinitionError, MenuProblem
from ivrkit.ivr._template import template_problem as _template_problem

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
class HandlerAction:
    """Run ``async def handler(call, digits)`` named "package.module:function"."""

    name: str


Action = (
    PlayAction
    | GotoAction
    | BackAction
    | TopAction
    | HangupAction
    | ContinueAction
    | TransferAction
    | HandlerAction
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
    barge_in: bool = True
    type_ahead: bool = True

    @property
    def regreeting_prompts(self) -> tuple[str, ...]:
        return self.greeting if self.regreeting is None else self.regreeting


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
class MenuTree:
    """A validated set of menus and where a call starts. Raises MenuDefinitionError."""

    menus: Mapping[str, Menu]
    start: str
    transcript: Transcript = Transcript()
    source: str = "<python>"
    # dotted field -> line in ``source``, when the tree came from a file (for later errors)
    field_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "menus", MappingProxyType(dict(self.menus)))
        object.__setattr__(self, "field_lines", MappingProxyType(dict(self.field_lines)))
        problems = tree_problems(self.menus, self.start, self.transcript)
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
    stripped = rest.replace(DIGITS_PLACEHOLDER, "")
    if "{" in stripped or "}" in stripped:
        return f"media {media!r}: the only placeholder allowed is {DIGITS_PLACEHOLDER}"
    return None


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


def tree_problems(
    menus: Mapping[str, Menu],
    start: str,
    transcript: Transcript,
    names: Collection[str] | None = None,
) -> list[tuple[str, str]]:
    """Every problem of a tree as (dotted field, message); empty when valid.

    ``names`` are the menu names that exist (default: ``menus``); the loader passes every
    declared name so that a menu with its own errors is not also reported as unknown.
    """
    # a dict keeps the file's order for messages and answers `in` at once (100k menus)
    known = dict.fromkeys(menus if names is None else names)
    problems: list[tuple[str, str]] = []
    if not known:
        problems.append(("menus", "at least one menu is required"))
    elif start not in known:
        problems.append(("start", _unknown_menu(start, known)))
    for fname in TRANSCRIPT_FIELDS:
        template = getattr(transcript, fname)
        if template is not None and (why := template_problem(template)):
            problems.append((f"transcript.{fname}", why))
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
            for i, media in enumerate(prompts):
                if why := media_problem(media):
                    problems.append((f"{base}.{fname}.{i}", why))
        for fname in ("timeout", "inter_digit_timeout"):
            if why := seconds_problem(getattr(menu, fname)):
                problems.append((f"{base}.{fname}", why))
        for fname in ("max_no_input", "max_no_match"):
            limit = getattr(menu, fname)
            if limit is not None and (
                why := count_problem(limit, 1, MAX_ATTEMPTS, " (or null for no limit)")
            ):
                problems.append((f"{base}.{fname}", why))
        problems.extend(_action_problems(known, menu.on_limit, f"{base}.on_limit"))
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
            problems.extend(_action_problems(known, option.action, where))
    return problems


def _action_problems(known: Collection[str], action: Action, where: str) -> list[tuple[str, str]]:
    if isinstance(action, GotoAction) and action.menu not in known:
        return [(f"{where}.goto", _unknown_menu(action.menu, known))]
    if isinstance(action, PlayAction):
        return [
            (f"{where}.play.{i}", why)
            for i, media in enumerate(action.prompts)
            if (why := media_problem(media))
        ]
    if isinstance(action, TransferAction):
        out = [
            (f"{where}.transfer.failed.{i}", why)
            for i, media in enumerate(action.failed)
            if (why := media_problem(media))
        ]
        if "/" not in action.endpoint:
            out.append(
                (
                    f"{where}.transfer.endpoint",
                    f"endpoint {action.endpoint!r} must look like "
                    "TECH/resource (e.g. PJSIP/{digits})",
                )
            )
        if why := seconds_problem(action.timeout):
            out.append((f"{where}.transfer.timeout", why))
        return out
    if isinstance(action, HandlerAction):
        module, sep, func = action.name.partition(":")
        if not (
            sep
            and module
            and func.isidentifier()
            and all(p.isidentifier() for p in module.split("."))
        ):
            return [
                (
                    f"{where}.handler",
                    f"handler {action.name!r} must look like package.module:function",
                )
            ]
    if (
        isinstance(action, ContinueAction)
        and action.priority is not None
        and (why := count_problem(action.priority, 1, MAX_PRIORITY))
    ):
        return [(f"{where}.continue.priority", why)]
    return []


def _unknown_menu(name: str, known: Collection[str]) -> str:
    # at most _NAMES_SHOWN names: one message per bad goto must not list 100k menus each
    shown = [f"`{m}`" for _, m in zip(range(_NAMES_SHOWN), known, strict=False)]
    more = f" and {len(known) - len(shown)} more" if len(known) > len(shown) else ""
    return f"unknown menu `{name}`, expected one of {', '.join(shown)}{more}"


_NAMES_SHOWN = 10
