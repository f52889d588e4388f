"""One caller-script format, one meaning on the simulator and over ARI (issue 11, 7 and 8).

Every script here runs twice against the same attendant on the embedded Asterisk: as a
simulated phone (``ivrkit.sim.run_script``: ``ivrkit sim/demo --script``) and as the ARI
caller (``ivrkit.caller.place_call``: ``ivrkit call --script``). Both must agree. Before
issue 11 they did not (``wait: 5`` under ``step_timeout: 5``, ``call.from``,
``wait_for_app``), and docs/caller.md's guide.yaml passed against an attendant that
never asked "are you still there?". Virtual time: the 10 s timeouts cost nothing.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from _caller_helpers import attendant, sim_config

from ivrkit.caller import CallReport, parse_script, place_call
from ivrkit.cli import main
from ivrkit.ivr import ATTENDANT_MENU, MenuTree, load_menu
from ivrkit.sim import ScriptError, Simulator, run_script

DOCS = Path(__file__).resolve().parents[2] / "docs"
GUIDE_MENU = Path(ATTENDANT_MENU).read_text(encoding="utf-8")


def doc_block(doc: str, pattern: str) -> str:
    [block] = re.findall(rf"```yaml\n({pattern}.*?)```", (DOCS / doc).read_text(), re.S)
    return block


def guide_yaml() -> str:
    return doc_block("caller.md", "# file: guide.yaml\n")


def broken(change: str) -> MenuTree:
    """The guide's attendant with one fault (see the tests' names)."""
    if change == "never asks":  # the timer fires, but plays no are-you-still-there
        text = GUIDE_MENU.replace("    no_input: [sound:are-you-still-there]\n", "")
    else:  # "no timer": silence after the menu goes on for an hour
        text = GUIDE_MENU.replace("    timeout: 10\n", "    timeout: 3600\n")
    assert text != GUIDE_MENU
    return load_menu(text, f"broken attendant ({change})")


async def on_sim(text: str, menu: MenuTree | None = None) -> str:
    """'' if the script passed as a simulated phone, else the failure."""
    async with Simulator() as sim, attendant(sim, menu=menu):
        try:
            await run_script(sim, parse_script(text, "s.yaml"), log=lambda message: None)
        except ScriptError as exc:
            return str(exc)
    return ""


async def on_ari(text: str, menu: MenuTree | None = None, *, lines: list[str] | None = None) -> str:
    """'' if the script passed as ``ivrkit call`` does, else the failed step's detail."""
    async with Simulator() as sim, attendant(sim, menu=menu):
        report: CallReport = await place_call(
            sim_config(sim, "ivrkit-caller"),
            parse_script(text, "s.yaml"),
            progress=(lines.append if lines is not None else lambda message: None),
        )
    failed = [
        f"s.yaml:{s.line}: {s.step}: {s.detail}" for s in report.steps if s.status == "failed"
    ]
    assert report.passed == (not failed)
    return failed[0] if failed else ""


# ------------------------------------------------------------------ item 7: one meaning


WAIT_AS_LONG_AS_THE_TIMEOUT = """\
wait_for_app: channel-aa
step_timeout: 5
steps:
  - wait_for: sound:press-1
  - wait: 5
  - hangup
"""


async def test_a_wait_as_long_as_the_step_timeout_passes_on_both() -> None:
    assert await on_sim(WAIT_AS_LONG_AS_THE_TIMEOUT) == ""
    assert await on_ari(WAIT_AS_LONG_AS_THE_TIMEOUT) == ""


async def test_call_from_is_the_phone_and_is_accepted_over_ari() -> None:
    text = 'call: {from: PJSIP/bob, to: "1000"}\nsteps:\n  - wait_for: sound:press-1\n  - hangup\n'
    async with Simulator() as sim, attendant(sim):
        caller = await run_script(sim, parse_script(text), log=lambda message: None)
    assert caller.channel_name.startswith("PJSIP/bob-")
    lines: list[str] = []
    assert await on_ari(text, lines=lines) == ""
    assert (
        "call.from PJSIP/bob is the simulated phone of ivrkit sim/demo; over ARI the call "
        "comes from a Local channel of our app"
    ) in lines


async def test_wait_for_app_waits_before_dialling_bounded_by_the_step_timeout() -> None:
    text = "wait_for_app: nobody\nstep_timeout: 2\nsteps:\n  - hangup\n"
    assert await on_sim(text) == (
        "s.yaml:1: wait_for_app nobody: not done within 2 s (heard so far: nothing)"
    )
    assert (
        await on_ari(text)
        == "s.yaml:1: wait_for_app nobody: not done within 2 s (heard so far: nothing)"
    )


async def test_the_simulator_docs_script_runs_on_both() -> None:
    text = doc_block("simulator.md", "call: {from: PJSIP/alice")
    assert await on_sim(text) == ""
    assert await on_ari(text) == ""


# ------------------------------------------------------------------ item 8: wait_for


async def test_the_docs_guide_yaml_passes_against_the_guides_attendant() -> None:
    assert await on_sim(guide_yaml()) == ""
    assert await on_ari(guide_yaml()) == ""


@pytest.mark.parametrize("fault", ["never asks", "no timer"])
async def test_the_docs_guide_yaml_fails_against_an_attendant_that_never_asks(
    fault: str,
) -> None:
    line = next(
        n
        for n, text in enumerate(guide_yaml().splitlines(), 1)
        if "wait_for: sound:are-you-still-there" in text
    )
    expected = f"s.yaml:{line}: wait_for sound:are-you-still-there: not done within 30 s"
    assert (await on_sim(guide_yaml(), broken(fault))).startswith(expected)
    assert (await on_ari(guide_yaml(), broken(fault))).startswith(expected)


#: the old guide.yaml's ending: after the silence, "the menu again" was a press-1 that
#: had started before the silence, so an attendant without a timer passed
SILENCE_THEN_MENU = textwrap.dedent(
    """\
    wait_for_app: channel-aa
    step_timeout: 30
    steps:
      - wait_for: sound:press-1
      - press: "8"
      - heard: sound:option-is-invalid
      - silence: 12
      - wait_for: sound:press-1
      - hangup
    """
)


async def test_wait_for_means_a_playback_that_starts_after_the_previous_step() -> None:
    expected = "s.yaml:8: wait_for sound:press-1: not done within 30 s"
    assert (await on_sim(SILENCE_THEN_MENU, broken("no timer"))).startswith(expected)
    assert (await on_ari(SILENCE_THEN_MENU, broken("no timer"))).startswith(expected)
    # the working attendant starts the menu again after are-you-still-there
    assert await on_sim(SILENCE_THEN_MENU) == ""
    assert await on_ari(SILENCE_THEN_MENU) == ""


# ------------------------------------------------------------------ item 9: every problem


def test_the_docs_error_sample_is_what_ivrkit_call_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (DOCS / "caller.md").read_text(encoding="utf-8")
    [sample] = re.findall(r"```\n(ivrkit failed: invalid caller script\n.*?)```", text, re.S)
    (tmp_path / "call.yaml").write_text(
        "steps:\n  - wait_for: any\n  - presss: '1'\n  - hangup\n"
        "  - wait_for_hangup\n  - wait_for: any\n  - wait: soon\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ARI_USER", "u")
    monkeypatch.setenv("ARI_PASSWORD", "p")
    assert main(["call", "--script", "call.yaml", "1000"]) == 2
    assert capsys.readouterr().err == sample
