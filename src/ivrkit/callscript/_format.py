"""The caller-script format: the YAML a user writes, checked line by line before any call.

One format, one parser, one meaning for ``ivrkit sim --script``, ``ivrkit demo --script``
and ``ivrkit call --script`` (docs/caller.md "The script format" is its reference).
Until issue 11 the simulator and the ARI caller each had a parser, and the same file
meant different things (``wait: 5`` under ``step_timeout: 5``, ``call.from``,
``wait_for_app``). Every problem names the file and the line (``call.yaml:7: unknown
step ...``), and all of them are reported at once, as menu files' are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

STEP_KINDS: tuple[str, ...] = (
    "wait_for",
    "heard",
    "press",
    "wait",
    "silence",
    "hangup",
    "wait_for_hangup",
)
_TOP_KEYS = ("call", "wait_for_app", "step_timeout", "steps")
_CALL_KEYS = ("from", "to", "context", "caller_id")
_PRESS_KEYS = ("digits", "duration_ms", "between_ms")
#: the characters Asterisk turns into DTMF; anything else is silently dropped by it
DTMF_CHARS = frozenset("0123456789ABCDabcd*#")
#: ``wait_for``/``heard`` values that are not media URIs
ANY_MEDIA = "any"
FIRST_MEDIA = "first"

DEFAULT_STEP_TIMEOUT = 60.0
DEFAULT_DURATION_MS = 100
DEFAULT_BETWEEN_MS = 100
DEFAULT_PHONE = "PJSIP/alice"


class ScriptError(ValueError):
    """A caller script is malformed or a step failed.

    ``problems`` lists every problem found (``FILE:LINE: what, how to fix``); the
    message is those lines joined.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a script. Only the fields of its ``kind`` are meaningful.

    ``media`` for wait_for/heard (a URI, ``any`` or ``first``), ``app`` for
    wait_for_app, ``digits``/``duration_ms``/``between_ms`` for press, ``seconds`` for
    wait/silence. ``line`` is where it was written (0 for steps built from options).
    """

    kind: str
    line: int = 0
    media: str = ""
    app: str = ""
    digits: str = ""
    duration_ms: int = DEFAULT_DURATION_MS
    between_ms: int = DEFAULT_BETWEEN_MS
    seconds: float = 0.0

    def describe(self) -> str:
        """The step as it would be written in a script (``press 1``, ``wait_for any``)."""
        if self.kind in ("wait_for", "heard"):
            return f"{self.kind} {self.media}"
        if self.kind == "wait_for_app":
            return f"wait_for_app {self.app}"
        if self.kind == "press":
            return f"press {self.digits}"
        if self.kind in ("wait", "silence"):
            return f"{self.kind} {self.seconds:g}"
        return self.kind


@dataclass(frozen=True, slots=True)
class CallScript:
    """A parsed script: who calls where and what they do. ``source`` names it in messages.

    ``phone`` (``call.from``) is the simulated phone's tech/resource; over ARI
    (``ivrkit call``) the call comes from a Local channel and ``phone`` only names the
    caller in the progress output. ``steps`` start with ``wait_for_app`` when given.
    """

    source: str
    phone: str = DEFAULT_PHONE
    exten: str = "1000"
    context: str = "default"
    caller_id: str = "Alice <100>"
    step_timeout: float = DEFAULT_STEP_TIMEOUT
    steps: tuple[Step, ...] = field(default_factory=tuple)

    @property
    def wait_for_app(self) -> str | None:
        """The app awaited before dialling, if the script names one."""
        return next((s.app for s in self.steps if s.kind == "wait_for_app"), None)


# ---------------------------------------------------------------- YAML helpers


class _Problem(Exception):
    """One problem at one place; collected by :func:`parse_script`."""


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _fail(source: str, node: yaml.Node, message: str) -> _Problem:
    return _Problem(f"{source}:{_line(node)}: {message}")


def _scalar(source: str, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _fail(source, node, f"{what} must be a single value, not a list or mapping")
    return str(node.value)


def _seconds(source: str, node: yaml.Node, what: str) -> float:
    text = _scalar(source, node, what)
    try:
        value = float(text)
    except ValueError:
        raise _fail(source, node, f"{what} must be a number of seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise _fail(source, node, f"{what} must be a finite number ≥ 0, got {text}")
    return value


def _millis(source: str, node: yaml.Node, what: str) -> int:
    text = _scalar(source, node, what)
    try:
        value = int(text)
    except ValueError:
        raise _fail(source, node, f"{what} must be whole milliseconds, got {text!r}") from None
    if value < 0:
        raise _fail(source, node, f"{what} must not be negative, got {value}")
    return value


def _digits(source: str, node: yaml.Node) -> str:
    digits = _scalar(source, node, "digits")
    bad = sorted({c for c in digits if c not in DTMF_CHARS})
    if not digits or bad:
        raise _fail(
            source,
            node,
            f"press needs DTMF digits (0-9, A-D, * and #), got {digits!r}"
            + (f"; {''.join(bad)!r} would be dropped by Asterisk" if bad else "")
            + ' (quote them: press: "1")',
        )
    return digits


def _media(source: str, node: yaml.Node, kind: str) -> str:
    media = _scalar(source, node, kind)
    if media in (ANY_MEDIA, FIRST_MEDIA) or (":" in media and not media.startswith(":")):
        return media
    raise _fail(
        source,
        node,
        f"{kind} takes a media URI like sound:press-1, or `any`, or `first`; got {media!r}",
    )


def _press(source: str, node: yaml.Node, line: int) -> Step:
    if isinstance(node, yaml.ScalarNode):
        return Step("press", line, digits=_digits(source, node))
    if not isinstance(node, yaml.MappingNode):
        raise _fail(source, node, 'press takes digits ("1") or {digits, duration_ms, between_ms}')
    digits = ""
    duration, between = DEFAULT_DURATION_MS, DEFAULT_BETWEEN_MS
    for key_node, value_node in node.value:
        key = _scalar(source, key_node, "a key")
        if key == "digits":
            digits = _digits(source, value_node)
        elif key == "duration_ms":
            duration = _millis(source, value_node, key)
        elif key == "between_ms":
            between = _millis(source, value_node, key)
        else:
            raise _fail(
                source,
                key_node,
                f"unknown press option {key!r}, expected one of {', '.join(_PRESS_KEYS)}",
            )
    if not digits:
        raise _fail(source, node, 'press needs `digits: "..."`')
    return Step("press", line, digits=digits, duration_ms=duration, between_ms=between)


def _step(source: str, node: yaml.Node) -> Step:
    line = _line(node)
    arg: yaml.Node | None
    if isinstance(node, yaml.ScalarNode):
        kind, arg = str(node.value), None
    elif isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key_node, arg = node.value[0]
        kind = _scalar(source, key_node, "a step name")
    else:
        raise _fail(source, node, f"a step is one of {', '.join(STEP_KINDS)} (one per list item)")
    if kind not in STEP_KINDS:
        raise _fail(source, node, f"unknown step {kind!r}, expected one of {', '.join(STEP_KINDS)}")
    takes_value = kind not in ("hangup", "wait_for_hangup")
    if takes_value and arg is None:
        raise _fail(source, node, f"step {kind!r} needs a value, e.g. `- {kind}: ...`")
    if not takes_value:
        if arg is not None:
            raise _fail(source, node, f"step {kind!r} takes no value: write `- {kind}`")
        return Step(kind, line)
    assert arg is not None
    if kind in ("wait_for", "heard"):
        return Step(kind, line, media=_media(source, arg, kind))
    if kind == "press":
        return _press(source, arg, line)
    return Step(kind, line, seconds=_seconds(source, arg, kind))


def _call(source: str, node: yaml.Node, problems: list[str]) -> dict[str, str]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(source, node, "call must be a mapping of from, to, context, caller_id")
    values: dict[str, str] = {}
    for key_node, value_node in node.value:
        try:
            key = _scalar(source, key_node, "a key")
            if key not in _CALL_KEYS:
                raise _fail(
                    source,
                    key_node,
                    f"unknown call key {key!r}, expected one of {', '.join(_CALL_KEYS)}",
                )
            value = _scalar(source, value_node, f"call.{key}")
            if not value:
                raise _fail(source, value_node, f"call.{key} must not be empty")
            if key == "from" and "/" not in value:
                raise _fail(
                    source, value_node, f"call.from is TECH/RESOURCE (PJSIP/alice), got {value!r}"
                )
            values[key] = value
        except _Problem as exc:
            problems.append(str(exc))
    return values


# ---------------------------------------------------------------- entry points


def parse_script(text: str, source: str = "<script>") -> CallScript:
    """Parse a caller script; raises :class:`ScriptError` listing every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        # PyYAML's composer recurses once per level: a file nested ~1,000 deep
        raise ScriptError(f"{source}: not valid YAML (nested too deeply)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        raise ScriptError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(root, yaml.MappingNode):
        raise ScriptError(f"{source}:1: a caller script is a mapping with a `steps:` list")
    problems: list[str] = []
    call: dict[str, str] = {}
    step_timeout = DEFAULT_STEP_TIMEOUT
    prelude: list[Step] = []
    steps: list[Step] | None = None
    seen: set[str] = set()
    for key_node, value in root.value:
        try:
            key = _scalar(source, key_node, "a key")
            if key not in _TOP_KEYS:
                raise _fail(
                    source, key_node, f"unknown key {key!r}, expected one of {', '.join(_TOP_KEYS)}"
                )
            if key in seen:
                raise _fail(source, key_node, f"{key!r} is given twice")
            seen.add(key)
            if key == "steps":
                if not isinstance(value, yaml.SequenceNode) or not value.value:
                    raise _fail(source, value, "steps must be a non-empty list (`- wait_for: any`)")
                steps = []
                for item in value.value:
                    try:
                        steps.append(_step(source, item))
                    except _Problem as exc:
                        problems.append(str(exc))
            elif key == "call":
                call = _call(source, value, problems)
            elif key == "wait_for_app":
                app = _scalar(source, value, key)
                if not app:
                    raise _fail(source, value, "wait_for_app needs an ARI application name")
                prelude.append(Step("wait_for_app", _line(key_node), app=app))
            else:
                step_timeout = _seconds(source, value, key)
                if step_timeout == 0:
                    raise _fail(source, value, "step_timeout must be more than 0 seconds")
        except _Problem as exc:
            problems.append(str(exc))
    if steps is None and "steps" not in seen:
        problems.append(f"{source}:1: missing `steps:` list")
    if problems:
        raise ScriptError(*sorted(problems, key=_problem_line))
    return CallScript(
        source=source,
        phone=call.get("from", DEFAULT_PHONE),
        exten=call.get("to", "1000"),
        context=call.get("context", "default"),
        caller_id=call.get("caller_id", "Alice <100>"),
        step_timeout=step_timeout,
        steps=(*prelude, *(steps or ())),
    )


def _problem_line(problem: str) -> int:
    """Problems in file order (``FILE:LINE: ...``; a file name may hold colons)."""
    head = problem.split(": ", 1)[0]
    number = head.rsplit(":", 1)[-1]
    return int(number) if number.isdigit() else 0


def load_script(path: str | Path) -> CallScript:
    """Read and parse a script file; errors name the file (and the line)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"failed to read {path}: {exc.strerror or exc}") from exc
    return parse_script(text, str(path))


def press_script(
    keys: str | list[str],
    *,
    then_wait: float | None = None,
    then_hangup: bool = False,
    exten: str = "1000",
    context: str = "default",
    caller_id: str = "Alice <100>",
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
) -> CallScript:
    """The script that ``ivrkit call --press K1,K2 [--then-wait S] [--then-hangup]`` runs.

    For each key: ``wait_for: first`` (the first prompt of the call; later, that same
    prompt starting again), then ``press: K``. Then ``silence: S`` if ``then_wait`` is
    given, and ``hangup`` if ``then_hangup``, else ``wait_for_hangup``.
    """
    items = keys.split(",") if isinstance(keys, str) else list(keys)
    source = "--press " + ",".join(items)
    steps: list[Step] = []
    for key in items:
        key = key.strip()
        bad = [c for c in key if c not in DTMF_CHARS]
        if not key or bad:
            raise ScriptError(
                f"{source}: each key must be DTMF digits (0-9, A-D, * or #), got {key!r}"
            )
        steps.append(Step("wait_for", media=FIRST_MEDIA))
        steps.append(Step("press", digits=key))
    if then_wait is not None:
        if not then_wait >= 0 or then_wait == float("inf"):
            raise ScriptError(f"--then-wait must be a finite number ≥ 0, got {then_wait}")
        steps.append(Step("silence", seconds=then_wait))
    steps.append(Step("hangup") if then_hangup else Step("wait_for_hangup"))
    return CallScript(
        source=source,
        exten=exten,
        context=context,
        caller_id=caller_id,
        step_timeout=step_timeout,
        steps=tuple(steps),
    )
