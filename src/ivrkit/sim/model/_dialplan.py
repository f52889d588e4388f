"""The simulator's dialplan: ``context -> exten -> [ "App(data)", ... ]`` (priority 1..n).

A step may carry a label, written before the application as in extensions.conf's
``n(label),App(data)``: ``"(menu) Playback(press-1)"``. The applications in
:data:`APPLICATIONS` are executed (``model/_apps.py``, ``SimModel._exec``); any other is
refused when the dialplan is loaded, naming it and where it is: the simulator never
skips a step silently. Arguments go through ``${...}`` and ``$[...]`` substitution when
the step runs (``model/_expr.py``). An extension that does not exist hangs the channel
up at once (cause 0, "Unknown"), like Asterisk's Local channel to a missing context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

DialplanSpec = Mapping[str, Mapping[str, Sequence[str]]]

#: The guide's dialplan (as in the recorded lab: priority 1 is a NoOp).
DEFAULT_DIALPLAN: DialplanSpec = {
    "default": {"1000": ("NoOp()", "Stasis(channel-aa)", "Hangup()")},
}

#: The lab dialplan of shared/asterisk-traces (protocol-catalog), for trace replays. Each
#: step is where the recording shows it (e.g. 2000's Echo at priority 2; checked by
#: tests/sim/test_lab_dialplan.py).
# the lab's ``Set(AFTER_BROADCAST=${STASISSTATUS})`` as the trace shows it run (expanded)
_AFTER_BROADCAST = "Set(AFTER_BROADCAST=TIMEOUT)"

LAB_DIALPLAN: DialplanSpec = {
    "default": {
        "1000": ("NoOp()", "Stasis(channel-aa)", "Hangup()"),
        "1002": ("NoOp()", "Stasis(catalog,foo,bar)", "Hangup()"),
        "1003": ("NoOp()", "Stasis(nobody-connected)", "Set(AFTER_STASIS=FAILED)", "Hangup()"),
        "1004": ("NoOp()", "StasisBroadcast(3000,^catalog,x:y,yes)", _AFTER_BROADCAST, "Hangup()"),
        "1005": ("NoOp()", "Stasis(catalog,,two words)", "Hangup()"),
        "1006": ("NoOp(continued into dialplan)", "Set(CONTINUED=yes)", "Wait(1)", "Hangup()"),
        "1007": ("NoOp()", "StasisBroadcast(,^nomatch$)", _AFTER_BROADCAST, "Hangup()"),
        "2000": ("Answer()", "Echo()"),
    },
}

_STEP = re.compile(r"\s*(?:\((\w+)\)\s*)?(\w+)\s*(?:\((.*)\))?\s*\Z", re.DOTALL)

#: the applications the simulator runs (``pbx_findapp`` compares names case-insensitively)
APPLICATIONS = (
    "Answer",
    "Busy",
    "Congestion",
    "Dial",
    "Echo",
    "Goto",
    "GotoIf",
    "GotoIfTime",
    "Hangup",
    "NoOp",
    "Playback",
    "Progress",
    "Ringing",
    "Set",
    "Stasis",
    "StasisBroadcast",
    "Verbose",
    "Wait",
)
_KNOWN = {name.lower() for name in APPLICATIONS}


class DialplanError(ValueError):
    """A dialplan step could not be parsed; the message names context, exten, priority."""


@dataclass(frozen=True, slots=True)
class Step:
    """One priority: application name and its raw argument string."""

    app: str
    data: str
    label: str | None = None


class Dialplan:
    """Parsed, immutable dialplan."""

    def __init__(self, spec: DialplanSpec) -> None:
        self._steps: dict[tuple[str, str], tuple[Step, ...]] = {}
        for context, extens in spec.items():
            for exten, steps in extens.items():
                parsed = []
                for priority, text in enumerate(steps, start=1):
                    m = _STEP.match(str(text))
                    if m is None:
                        raise DialplanError(
                            f"can't parse dialplan step {text!r} at {context},{exten},{priority}: "
                            "write it as App(arguments), e.g. Stasis(channel-aa), with an "
                            "optional label first: (menu) Playback(press-1)"
                        )
                    label, app, data = m.group(1), m.group(2), m.group(3) or ""
                    if app.lower() not in _KNOWN:
                        raise DialplanError(
                            f"unknown dialplan application {app!r} at {context},{exten},"
                            f"{priority}: the simulator runs {', '.join(APPLICATIONS)} "
                            "(use NoOp() for a step it should pass over)"
                        )
                    parsed.append(Step(app, data, label))
                self._steps[(str(context), str(exten))] = tuple(parsed)

    def step(self, context: str, exten: str, priority: int) -> Step | None:
        """The step at a location, ``None`` past the end or for an unknown extension."""
        steps = self._steps.get((context, exten))
        if steps is None or priority < 1 or priority > len(steps):
            return None
        return steps[priority - 1]

    def find_label(self, context: str, exten: str, label: str) -> int | None:
        """The priority labelled ``label`` (``ast_findlabel_extension``), or None."""
        for priority, step in enumerate(self._steps.get((context, exten), ()), start=1):
            if step.label == label:
                return priority
        return None

    def exists(self, context: str, exten: str) -> bool:
        """Whether the extension exists in the context."""
        return (context, exten) in self._steps


def load_dialplan(path: str | Path) -> DialplanSpec:
    """Read a YAML dialplan file (``context: {exten: [App(args), ...]}``).

    Raises :class:`DialplanError` naming the file and what is wrong.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DialplanError(f"failed to read {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise DialplanError(f"failed to parse {path}: {exc}") from exc
    except (RecursionError, ValueError, ArithmeticError, LookupError) as exc:
        # a tag that refuses its text (!!int ten, !!float ""), or nesting ~1,000 deep
        what = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise DialplanError(f"failed to parse {path}: {what}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise DialplanError(
            f"{path}: a dialplan maps contexts to extensions to step lists, e.g. "
            "default: {'1000': ['Stasis(channel-aa)', 'Hangup()']}"
        )
    spec: dict[str, dict[str, list[str]]] = {}
    for context, extens in data.items():
        for exten, steps in extens.items():
            if not isinstance(steps, list) or not steps:
                raise DialplanError(f"{path}: {context},{exten} must be a non-empty list of steps")
            spec.setdefault(str(context), {})[str(exten)] = [str(step) for step in steps]
    try:
        Dialplan(spec)
    except DialplanError as exc:
        raise DialplanError(f"{path}: {exc}") from exc
    return spec
