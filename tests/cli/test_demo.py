"""``ivrkit demo``: what the caller heard and did, for any menu (issue 11, item 6).

Before: ``ivrkit demo --menu`` with the README's own example menu printed nothing (the
menu has no transcript lines) and said nothing of how the menu was served; there was
no ``--dialplan``. In-process through ``main()``, on virtual time.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from ivrkit.cli import main
from ivrkit.cli._demo import example_digits
from ivrkit.ivr import Option, PlayAction

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_menu(tmp_path: Path) -> Path:
    text = README.read_text(encoding="utf-8")
    section = text.split("## A menu of your own", 1)[1]
    [menu] = re.findall(r"```yaml\n(.*?)```", section, re.S)[:1]
    path = tmp_path / "my-menu.yaml"
    path.write_text(menu)
    return path


def readme_output() -> list[str]:
    section = README.read_text(encoding="utf-8").split("## A menu of your own", 1)[1]
    block = re.findall(r"```\n(call 1 of 4.*?)```", section, re.S)[0]
    return block.splitlines()


def times(lines: list[str]) -> list[str]:
    """The lines with their times replaced (the virtual clock's last digits vary)."""
    return [re.sub(r"\d+\.\d{3}", "T", line) for line in lines]


def test_the_readme_menu_is_explored_one_call_per_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--menu", str(readme_menu(tmp_path))]) == 0
    out = capsys.readouterr()
    assert "is served as ARI app 'channel-aa', run by extension 1000 (context default)" in out.err
    assert "4 calls from PJSIP/alice" in out.err
    lines = out.out.splitlines()
    assert times(lines[: len(readme_output())]) == times(readme_output())
    titles = [line for line in lines if line.startswith("call ") and " of 4: " in line]
    assert titles == [
        "call 1 of 4: dial 1 (key 1: play sound:you-entered, digits:{digits}, then the menu again)",
        "call 2 of 4: dial 2 (key 2: transfer to PJSIP/sales (30 s))",
        "call 3 of 4: dial 2222 (pattern 2XXX: transfer to PJSIP/{digits} (30 s))",
        "call 4 of 4: dial 0 (key 0: continue in the dialplan at default,100,1)",
    ]
    assert lines.count("result: PASSED (4 of 4 steps passed)") == 4


def test_a_dialplan_of_ones_own(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dialplan = tmp_path / "dialplan.yaml"
    dialplan.write_text('sales:\n  "2000":\n    - Answer()\n    - Stasis(channel-aa)\n')
    script = tmp_path / "call.yaml"
    script.write_text(
        'call: {to: "2000", context: sales}\nsteps:\n  - wait_for: sound:press-1\n  - hangup\n'
    )
    argv = ["demo", "--dialplan", str(dialplan), "--script", str(script)]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert f"run by the dialplan {dialplan} of the embedded Asterisk" in out.err
    assert f"call 2000@sales from PJSIP/alice-00000001, script {script}" in out.out
    assert "result: PASSED (2 of 2 steps passed)" in out.out


def test_a_bad_dialplan_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dialplan = tmp_path / "dialplan.yaml"
    dialplan.write_text("- not a mapping\n")
    assert main(["demo", "--dialplan", str(dialplan)]) == 2
    assert capsys.readouterr().err.startswith("ivrkit failed: invalid dialplan\n")


def test_a_failing_step_is_reported_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "call.yaml"
    script.write_text(
        textwrap.dedent(
            """\
            step_timeout: 5
            steps:
              - wait_for: sound:press-1
              - wait_for: sound:no-such-prompt
              - hangup
            """
        )
    )
    assert main(["demo", "--script", str(script)]) == 1
    out = capsys.readouterr().out
    assert f"  {script}:3: wait_for sound:press-1: passed at " in out
    assert f"  {script}:4: wait_for sound:no-such-prompt: not done within 5 s (" in out
    assert f"  {script}:5: hangup: not run" in out
    assert "result: FAILED (1 of 3 steps passed)" in out
    assert "hang-up: by the caller (after the script)" in out


@pytest.mark.parametrize(
    ("kind", "value", "digits"),
    [("key", "5", "5"), ("digits", "123", "123"), ("pattern", "2XXX", "2222"),
     ("pattern", "1[3-5]N.", "1321"), ("pattern", "9!", "9")],
)  # fmt: skip
def test_the_default_caller_dials_something_each_option_accepts(
    kind: str, value: str, digits: str
) -> None:
    option = Option(kind=kind, value=value, action=PlayAction(prompts=("sound:beep",)))  # type: ignore[arg-type]
    assert example_digits(option) == digits
