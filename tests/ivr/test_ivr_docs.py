"""The example in docs/menus.md loads and behaves as the text says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ivrkit.cli import main
from ivrkit.ivr import (
    CallMachine,
    CallStarted,
    DigitReceived,
    Log,
    PlayPrompt,
    PromptFinished,
    TimerExpired,
    Transfer,
    load_menu,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "menus.md"


def example() -> str:
    blocks = re.findall(r"```yaml\n(# docs-example\n.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    return str(blocks[0])


def plays(commands: tuple[object, ...]) -> list[str]:
    return [c.media for c in commands if isinstance(c, PlayPrompt)]


def test_docs_example_runs() -> None:
    tree = load_menu(example(), "docs/menus.md")
    m = CallMachine(tree, "c")
    out = m.handle(CallStarted(channel_name="PJSIP/bob-00000001"), 0)
    assert out[0] == Log(line="PJSIP/bob-00000001 called")
    assert plays(out) == ["sound:welcome"]
    # "2" could be the start of 2XXX: wait for the inter-digit timeout, then go to sales
    out = m.handle(DigitReceived(digit="2"), 1)
    assert plays(out) == []
    out = m.handle(TimerExpired(timer_id="c-t1"), 4)
    assert plays(out) == ["sound:sales-menu"]
    # barge-in off in sales: "*" is kept until the prompt ends, then goes back to main
    assert plays(m.handle(DigitReceived(digit="*"), 5)) == []
    out = m.handle(PromptFinished(playback_id="c-p2"), 6)
    assert plays(out) == ["sound:welcome"]
    # a four-digit extension is transferred with the digits in the endpoint
    out = ()
    for d in "2345":
        out = m.handle(DigitReceived(digit=d), 7)
    assert out[-1] == Transfer(endpoint="PJSIP/2345", timeout=20.0)
    assert m.menu == "main"


def test_docs_state_table_is_current() -> None:
    from ivrkit.ivr._state import transition_table

    table = transition_table()
    assert table in DOC.read_text(), "update docs/menus.md ## States with:\n" + table


def test_docs_checkpoint_example_runs() -> None:
    blocks = re.findall(r"```python\n(# docs-checkpoint\n.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/menus.md", "exec"), {})


def test_docs_limits_example_gives_the_documented_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = DOC.read_text()
    (menu,) = re.findall(r"```yaml\n# limits-example\n(.*?)```", text, re.S)
    (expected,) = re.findall(r"```\n(ivrkit failed: [^\n]*\(3 problems\)\n.*?)```", text, re.S)
    (tmp_path / "menu.yaml").write_text(menu)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "menu.yaml"]) == 2
    assert capsys.readouterr().err == expected


def test_docs_flow_example_loads_and_runs() -> None:
    from ivrkit.ivr import CallState, HandlerFinished, RunHandler, SetLanguage

    blocks = re.findall(r"```yaml\n(# docs-flow\n.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    tree = load_menu(blocks[0], "docs/menus.md")
    m = CallMachine(tree, "c")
    out = m.handle(CallStarted(channel_name="PJSIP/bob-1", args=("A17",)), 0)
    assert RunHandler(name="myshop.ivr:identify", digits="") in out
    out = m.handle(HandlerFinished(name="myshop.ivr:identify"), 1)
    assert plays(out) == ["sound:welcome"]
    assert m.data["tier"] == "standard"
    m.handle(PromptFinished(playback_id="c-p1"), 2)
    assert plays(m.handle(PromptFinished(playback_id="c-p2"), 3)) == []  # digits:A17 ended
    out = m.handle(DigitReceived(digit="9"), 4)
    assert SetLanguage(language="fr") in out
    assert plays(out) == ["sound:fr/bienvenue"]
    assert m.state is CallState.GREETING


def test_docs_collect_example_loads_and_runs() -> None:
    from ivrkit.ivr import RunHandler

    blocks = re.findall(r"```yaml\n(# docs-collect\n.*?)```", DOC.read_text(), re.S)
    assert len(blocks) == 1
    m = CallMachine(load_menu(blocks[0], "docs/menus.md"), "c")
    m.handle(CallStarted(channel_name="PJSIP/bob-1"), 0)
    assert plays(m.handle(DigitReceived(digit="1"), 1)) == ["sound:enter-your-order-number"]
    out: tuple[object, ...] = ()
    for d in "123456#":
        out = m.handle(DigitReceived(digit=d), 2)
    assert plays(out) == []  # the "#" after six digits is swallowed
    assert m.data["order_id"] == "123456"
    m.handle(PromptFinished(playback_id="c-p3"), 3)  # you-entered
    m.handle(PromptFinished(playback_id="c-p4"), 3)  # digits:123456
    out = m.handle(DigitReceived(digit="1"), 4)
    assert RunHandler(name="myshop.ivr:order_status", digits="123456") in out
