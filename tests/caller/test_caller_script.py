"""Caller scripts: every step and key parsed, defaults, and errors that name the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivrkit.caller import CallScript, ScriptError, Step, load_script, parse_script, press_script

FULL = """\
call: {to: "2000", context: ivr, caller_id: "Bob <200>"}
wait_for_app: channel-aa
step_timeout: 20
steps:
  - wait_for: sound:press-1
  - press: "1"
  - press: {digits: "12#", duration_ms: 250, between_ms: 50}
  - heard: digits:1
  - wait_for: any
  - heard: first
  - wait: 1.5
  - silence: 12
  - hangup
  - wait_for_hangup
"""


def test_every_step_and_key() -> None:
    script = parse_script(FULL, "full.yaml")
    assert script == CallScript(
        source="full.yaml",
        exten="2000",
        context="ivr",
        caller_id="Bob <200>",
        step_timeout=20.0,
        steps=(
            Step("wait_for_app", 2, app="channel-aa"),
            Step("wait_for", 5, media="sound:press-1"),
            Step("press", 6, digits="1"),
            Step("press", 7, digits="12#", duration_ms=250, between_ms=50),
            Step("heard", 8, media="digits:1"),
            Step("wait_for", 9, media="any"),
            Step("heard", 10, media="first"),
            Step("wait", 11, seconds=1.5),
            Step("silence", 12, seconds=12.0),
            Step("hangup", 13),
            Step("wait_for_hangup", 14),
        ),
    )
    assert [s.describe() for s in script.steps[:4]] == [
        "wait_for_app channel-aa",
        "wait_for sound:press-1",
        "press 1",
        "press 12#",
    ]


def test_defaults() -> None:
    script = parse_script("steps: [hangup]\n")
    assert (script.exten, script.context, script.caller_id, script.step_timeout) == (
        "1000",
        "default",
        "Alice <100>",
        60.0,
    )
    assert script.source == "<script>"
    assert script.steps == (Step("hangup", 1),)
    assert parse_script("steps:\n  - press: '5'\n").steps[0] == Step(
        "press", 2, digits="5", duration_ms=100, between_ms=100
    )


def test_the_simulators_scripts_are_accepted_as_they_are() -> None:
    """One format (issue 11): a script written for `ivrkit sim --script`, `from:` and all."""
    sim_script = textwrap.dedent(
        """\
        call: {from: PJSIP/bob, to: "1000", context: default, caller_id: "Alice <100>"}
        wait_for_app: channel-aa
        step_timeout: 60
        steps:
          - wait_for: sound:press-1
          - press: "1"
          - heard: sound:digits
          - wait: 12
          - hangup
          - wait_for_hangup
        """
    )
    script = parse_script(sim_script)
    assert (script.phone, script.wait_for_app, len(script.steps)) == ("PJSIP/bob", "channel-aa", 7)


def test_every_problem_is_reported_at_once() -> None:
    """As menu files' problems are (issue 11): not only the first."""
    text = "call: {too: x}\nstep_timout: 5\nsteps:\n  - presss: 1\n  - wait: soon\n  - hangup\n"
    with pytest.raises(ScriptError) as info:
        parse_script(text, "x.yaml")
    assert info.value.problems == (
        "x.yaml:1: unknown call key 'too', expected one of from, to, context, caller_id",
        "x.yaml:2: unknown key 'step_timout', expected one of call, wait_for_app, "
        "step_timeout, steps",
        "x.yaml:4: unknown step 'presss', expected one of wait_for, heard, press, wait, "
        "silence, hangup, wait_for_hangup",
        "x.yaml:5: wait must be a number of seconds, got 'soon'",
    )
    assert str(info.value) == "\n".join(info.value.problems)


BAD = [
    ("steps:\n  - presss: '9'\n", 2, "unknown step 'presss', expected one of wait_for, heard"),
    ("steps:\n  - hangup\n  - wait: soon\n", 3, "wait must be a number of seconds, got 'soon'"),
    ("steps:\n  - wait: -1\n", 2, "wait must be a finite number ≥ 0, got -1"),
    ("steps:\n  - wait_for: press-1\n", 2, "takes a media URI like sound:press-1"),
    ("steps:\n  - press: 1x\n", 2, "press needs DTMF digits (0-9, A-D, * and #), got '1x'"),
    ("steps:\n  - press: {digits: '1', length: 3}\n", 2, "unknown press option 'length'"),
    ("steps:\n  - press: {duration_ms: 3}\n", 2, 'press needs `digits: "..."`'),
    ("steps:\n  - press: {digits: '1', duration_ms: 0.5}\n", 2, "whole milliseconds"),
    ("steps:\n  - hangup: now\n", 2, "step 'hangup' takes no value: write `- hangup`"),
    ("steps:\n  - wait_for\n", 2, "step 'wait_for' needs a value"),
    ("steps:\n  - {wait: 1, press: '2'}\n", 2, "a step is one of"),
    ("call: {from: alice}\nsteps: [hangup]\n", 1, "call.from is TECH/RESOURCE (PJSIP/alice)"),
    ("call: {too: '1000'}\nsteps: [hangup]\n", 1, "unknown call key 'too'"),
    ("call: [1000]\nsteps: [hangup]\n", 1, "call must be a mapping"),
    ("steps: [hangup]\nstep_timout: 5\n", 2, "unknown key 'step_timout', expected one of"),
    ("steps: [hangup]\nstep_timeout: 0\n", 2, "step_timeout must be more than 0"),
    ("steps: [hangup]\nsteps: [hangup]\n", 2, "'steps' is given twice"),
    ("steps: []\n", 1, "steps must be a non-empty list"),
    ("step_timeout: 5\n", 1, "missing `steps:` list"),
    ("- hangup\n", 1, "a caller script is a mapping with a `steps:` list"),
    ("steps:\n  - wait: [1\n", 3, "not valid YAML"),
    ("wait_for_app: ''\nsteps: [hangup]\n", 1, "wait_for_app needs an ARI application name"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(text, "bad.yaml")
    assert str(info.value).startswith(f"bad.yaml:{line}: ")
    assert message in str(info.value)


def test_load_script_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "call.yaml"
    path.write_text("steps:\n  - hangup\n  - presss: '1'\n")
    with pytest.raises(ScriptError, match=rf"^{path}:3: unknown step 'presss'"):
        load_script(path)
    with pytest.raises(ScriptError, match=r"^failed to read .*missing.yaml: No such file"):
        load_script(tmp_path / "missing.yaml")


def test_press_script_is_documented_steps() -> None:
    script = press_script("1,2,8", then_wait=12, then_hangup=True)
    assert script.source == "--press 1,2,8"
    assert [s.describe() for s in script.steps] == [
        "wait_for first",
        "press 1",
        "wait_for first",
        "press 2",
        "wait_for first",
        "press 8",
        "silence 12",
        "hangup",
    ]
    # without --then-hangup the far end is expected to hang up
    assert [s.describe() for s in press_script("12").steps] == [
        "wait_for first",
        "press 12",
        "wait_for_hangup",
    ]
    with pytest.raises(ScriptError, match="each key must be DTMF digits"):
        press_script("1,,2")
    with pytest.raises(ScriptError, match="--then-wait must be a finite number"):
        press_script("1", then_wait=-1)
