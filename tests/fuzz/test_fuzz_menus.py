"""Fuzz `ivrkit check`: mutated menu files and typed values never end in a traceback.

Every file either checks (exit 0, its description printed on a strict UTF-8 stdout, and
a call through the engine never breaks) or is refused (exit 2) with each cause naming
``file:line``. Seeds are the shipped menus and every YAML example in docs/menus.md, so
new format features are fuzzed as soon as they are documented.
"""

from __future__ import annotations

import contextlib
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from _fuzzing import COUNTS, TRACEBACKS, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from ivrkit.cli import main
from ivrkit.ivr import (
    ATTENDANT_MENU,
    CallMachine,
    CallStarted,
    CallState,
    DigitReceived,
    IllegalEventError,
    PlayPrompt,
    PromptFinished,
    StartTimer,
    TimerExpired,
    load_menu_file,
)

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [p.read_text() for p in sorted(ATTENDANT_MENU.parent.glob("*.yaml"))] + [
    block
    for block in re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "menus.md").read_text(), re.S)
    if "menus:" in block
]
FIELDS = [
    "menus", "start", "transcript", "greeting", "regreeting", "invalid", "no_input",
    "timeout", "inter_digit_timeout", "max_no_input", "max_no_match", "on_limit",
    "barge_in", "type_ahead", "options", "key", "digits", "pattern", "play", "goto", "back",
    "top", "hangup", "continue", "transfer", "handler", "context", "extension", "priority",
    "endpoint", "caller_id", "failed", "call_started", "digit", "no_match", "call_ended",
]  # fmt: skip
# values that once broke the loader or a call (issue 16) and their neighbours
NASTY = [
    "!!int ten", '!!float ""', '!!int ""', "!!bool maybe", "!!str", "!!binary x", "!!set {a}",
    "!!timestamp 2001-12-14", "!!python/object:os.system x", ".inf", "-.inf", ".nan",
    "1e400", "1.0e+400", "1" + "0" * 400, "9" * 5000, "-1", "0", "0x1F", "0o17", "017",
    "1_000", "3600.0001", "2147483648", '"\\ud800"', '"\\x00"', '"a\\x1bb"', '"\\t"', "~",
    "[]", "{}", "[[[[[[]]]]]]", "&a x", "*a", "*undefined", "? x", "- x", "|\n  x",
    '"{channel:d}"', '"{channel:>1000000000}"', '"{channel!z}"', "'{'", "'{}'",
    '"{channel.__class__}"', '"{digit:^200.3}"', "true", "yes", "no", "on", "null",
    '"sound:{digits}"', '"PJSIP/{digits}"', "a.options.0", "sound:", "x" * 300,
    "json:dumps", "nonexistent_fuzz_module:handler",
]  # fmt: skip
# values a menu author would write, so that mutated files stay valid often enough for
# the engine to be driven through them
PLAUSIBLE = [
    "sound:press-1", "[sound:a, sound:b]", "digits:{digits}", "1", "2", "5", "0.5", "30",
    "true", "false", "main", "null", '"#"', '"*"', '"12"', '"2XX"', '"[1-3]."', "{hangup: true}",
    "{goto: main}", '"{channel} pressed {digit}"', "PJSIP/{digits}", "{context: x}",
]  # fmt: skip
TOKEN = re.compile(r"(?<=: )[^\s#][^\n#]*|(?<=- )[^\s#][^\n#]*")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["sound:press-1", "digits:{digits}", "PJSIP/alice", "main", "1", "2XX."]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
    ),
    max_leaves=30,
)
typed_trees = st.fixed_dictionaries(
    {"menus": st.dictionaries(st.sampled_from(["main", "sales", "a.b", ""]), values, max_size=3)},
    optional={"start": values, "transcript": values},
)


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        lines = text.splitlines(keepends=True) or ["\n"]
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        kind = draw(
            st.sampled_from(["value", "value", "key", "line", "dup", "drop", "chars", "nest"])
        )
        if kind == "value" and TOKEN.search(lines[i]):
            pool = NASTY if draw(st.booleans()) else PLAUSIBLE
            lines[i] = TOKEN.sub(lambda _, p=pool: draw(st.sampled_from(p)), lines[i], count=1)
        elif kind == "key":
            lines[i] = re.sub(r"[a-z_]+(?=:)", draw(st.sampled_from(FIELDS)), lines[i], count=1)
        elif kind == "line":
            indent = " " * draw(st.sampled_from([0, 2, 4, 6, 8]))
            field, value = draw(st.sampled_from(FIELDS)), draw(st.sampled_from(NASTY))
            lines.insert(i, f"{indent}{field}: {value}\n")
        elif kind == "dup":
            lines.insert(i, lines[i])
        elif kind == "drop":
            del lines[i]
        elif kind == "chars":
            at = draw(st.integers(min_value=0, max_value=len(lines[i])))
            junk = draw(st.text(min_size=1, max_size=3))  # any code point, surrogates too
            lines[i] = lines[i][:at] + junk + lines[i][at:]
        else:
            depth = draw(st.integers(min_value=1, max_value=200))
            lines[i] = TOKEN.sub(lambda m, d=depth: "[" * d + m.group() + "]" * d, lines[i], 1)
        text = "".join(lines)
    return text


def typed_yaml(tree: dict[str, Any]) -> str:
    return yaml.safe_dump(tree, allow_unicode=True, sort_keys=False)


def check(text: str) -> None:
    """Run `ivrkit check` on ``text`` as a file: exit 0 or a clean refusal with lines."""
    before = TRACEBACKS.seen
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "menu.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
        err = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["check", str(path)])
            out.flush()
        COUNTS["menu files checked"] += 1
        assert TRACEBACKS.seen == before, TRACEBACKS.last
        if status == 0:
            COUNTS["menu files accepted"] += 1
            drive(path)
            return
        assert status == 2, (status, err.getvalue())
        COUNTS["menu files refused"] += 1
        lines = err.getvalue().splitlines()
        assert lines[0].startswith("ivrkit failed: "), lines
        causes = lines[1:]
        assert causes, lines
        for cause in causes:
            assert cause.startswith(f"  Cause: {path}:"), cause
            where = cause.removeprefix(f"  Cause: {path}:")
            if "larger than 1024 KiB" not in where:
                assert re.match(r"\d+: ", where), cause  # every problem has its line


def drive(path: Path) -> None:
    """A call through a checked tree: greeting, keys, silences; the engine never breaks."""
    tree = load_menu_file(path)
    m = CallMachine(tree, "c")
    pending = list(m.handle(CallStarted(channel_name="PJSIP/fuzz-1"), 0.0))
    now = 0.0
    keys = iter("12#9*03")
    for _ in range(40):
        if m.state in (CallState.DONE, CallState.TRANSFERRING, CallState.HANDLER):
            break
        now += 1.0
        plays = [c for c in pending if isinstance(c, PlayPrompt)]
        timers = [c for c in pending if isinstance(c, StartTimer)]
        if plays:
            event: Any = PromptFinished(playback_id=plays[-1].playback_id)
        elif timers and now % 3:
            event = TimerExpired(timer_id=timers[-1].timer_id)
        else:
            event = DigitReceived(digit=next(keys, "5"))
        try:
            pending = list(m.handle(event, now))
        except IllegalEventError:
            pending = []  # our driver's guess was wrong (a stale id): not a machine bug
        assert m.state is not CallState.ERROR


@fuzz_settings(examples=150)
@given(mutated_yaml())
def test_mutated_menu_files(text: str) -> None:
    check(text)


@fuzz_settings(examples=100)
@given(typed_trees)
def test_typed_values(tree: dict[str, Any]) -> None:
    check(typed_yaml(tree))
