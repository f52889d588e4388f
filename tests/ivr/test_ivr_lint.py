"""`ivrkit check` warnings: menus no call can reach, and menus that spin."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrkit.cli import main
from ivrkit.ivr import ATTENDANT_MENU, load_menu, load_menu_file, tree_warnings

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# the workaround of issue 13: a start menu that waits 0.01 s, then runs a handler
SPINNING = """
start: poll
menus:
  poll:
    timeout: 0.01
    max_no_input: 1
    on_limit: {handler: "shop.ivr:check_hours"}
    options: []
  main:
    greeting: [sound:welcome]
    options: [{key: "1", goto: orphan}]
  orphan:
    greeting: [sound:x]
    options: [{key: "1", top: true}]
  lonely:
    greeting: [sound:y]
    options: [{key: "1", top: true}]
"""


def test_the_zero_timeout_loop_and_unreachable_menus_are_warned_about() -> None:
    warnings = tree_warnings(load_menu(SPINNING))
    assert warnings == [
        (
            "menus.main",
            "no call can reach menu `main`: nothing goes to it (if a handler returns Goto "
            "to it, name it in that handler's `goes_to`)",
        ),
        (
            "menus.orphan",
            "no call can reach menu `orphan`: nothing goes to it (if a handler returns "
            "Goto to it, name it in that handler's `goes_to`)",
        ),
        (
            "menus.lonely",
            "no call can reach menu `lonely`: nothing goes to it (if a handler returns "
            "Goto to it, name it in that handler's `goes_to`)",
        ),
        (
            "menus.poll.timeout",
            "menu `poll` plays nothing and waits only 0.01 s for a key, then goes round "
            "again: a call here spins (about 100 rounds a second) and never ends; give it a "
            "greeting, a no_input prompt or a timeout of 1 s or more",
        ),
    ]


def test_goes_to_declares_where_a_handler_routes() -> None:
    text = SPINNING.replace(
        'on_limit: {handler: "shop.ivr:check_hours"}',
        'on_limit: {handler: {name: "shop.ivr:check_hours", goes_to: [main]}}',
    )
    fields = [f for f, _ in tree_warnings(load_menu(text))]
    assert fields == ["menus.lonely", "menus.poll.timeout"]  # main and orphan: reachable


@pytest.mark.parametrize(
    ("change", "spins"),
    [
        ("timeout: 0.01", True),
        ("timeout: 2", False),  # waits for a key long enough
        ("timeout: 0.01\n    greeting: [sound:please-hold]", False),  # plays something
        ("timeout: 0.01\n    no_input: [tone:ring]", False),
    ],
)
def test_what_counts_as_spinning(change: str, spins: bool) -> None:
    text = SPINNING.replace("timeout: 0.01", change)
    assert any(f == "menus.poll.timeout" for f, _ in tree_warnings(load_menu(text))) is spins


def test_a_silent_menu_whose_limit_ends_the_call_does_not_spin() -> None:
    text = SPINNING.replace(
        'on_limit: {handler: "shop.ivr:check_hours"}', "on_limit: {hangup: true}"
    )
    assert not any(f == "menus.poll.timeout" for f, _ in tree_warnings(load_menu(text)))


@pytest.mark.parametrize(
    "path",
    [
        ATTENDANT_MENU,
        EXAMPLES / "bank/bank.yaml",
        EXAMPLES / "business/business.yaml",
        EXAMPLES / "voicemail/voicemail.yaml",
    ],
)
def test_the_shipped_menus_have_no_warnings(path: Path) -> None:
    assert tree_warnings(load_menu_file(path)) == []


def test_check_prints_the_warnings_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "spin.yaml").write_text(
        SPINNING.replace('{handler: "shop.ivr:check_hours"}', "{top: true}")
    )
    assert main(["check", str(tmp_path / "spin.yaml")]) == 0  # warnings do not fail
    out = capsys.readouterr().out
    assert f"warning: {tmp_path / 'spin.yaml'}:5: menus.poll.timeout: menu `poll` plays" in out
    assert f"warning: {tmp_path / 'spin.yaml'}:10: menus.main: no call can reach" in out
