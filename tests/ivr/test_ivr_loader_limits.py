"""Bad menu input found by fuzzing (issue 16): each is one clean problem with file:line.

Every case here once ended in a traceback (ValueError, IndexError, KeyError, OverflowError,
RecursionError, UnicodeEncodeError), or was accepted and broke at call time, or took
minutes. Now each names its file, line and field, and says what is allowed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrkit.cli import main
from ivrkit.ivr import MenuDefinitionError, MenuTree, Transcript, load_menu, load_menu_file
from ivrkit.ivr._loader import MAX_VALUES
from ivrkit.ivr._yamlsource import MAX_DEPTH, MAX_FILE_BYTES

MENU = """\
menus:
  main:
    timeout: {timeout}
    options:
      - key: {key}
        hangup: true
"""


def problems(text: str) -> list[str]:
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "m.yaml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [
        ("!!int ten", "m.yaml:3: menus.main.timeout: 'ten' is tagged !!int but is not an integer"),
        (
            "!!float ten",
            "m.yaml:3: menus.main.timeout: 'ten' is tagged !!float but is not a number",
        ),
        ('!!float ""', "m.yaml:3: menus.main.timeout: '' is tagged !!float but is not a number"),
        ('!!int ""', "m.yaml:3: menus.main.timeout: '' is tagged !!int but is not an integer"),
        (
            "1" + "0" * 400,
            "m.yaml:3: menus.main.timeout: a number of 401 digits (100000000000…) is out of "
            "range; expected seconds above 0 and at most 3600",
        ),
        (
            "7" * 5000,
            "m.yaml:3: menus.main.timeout: a number of 5000 digits (777777777777…) is out of "
            "range; expected seconds above 0 and at most 3600",
        ),
        (
            ".inf",
            "m.yaml:3: menus.main.timeout: must be a number of seconds above 0 and at most "
            "3600, got inf",
        ),
        (
            ".nan",
            "m.yaml:3: menus.main.timeout: must be a number of seconds above 0 and at most "
            "3600, got nan",
        ),
        (
            "1.0e+300",
            "m.yaml:3: menus.main.timeout: must be a number of seconds above 0 and at most "
            "3600, got 1e+300",
        ),
    ],
)
def test_numbers_that_do_not_convert_or_are_out_of_range(timeout: str, expected: str) -> None:
    assert problems(MENU.format(timeout=timeout, key=1)) == [expected]


def test_a_boolean_that_is_not_one() -> None:
    text = MENU.format(timeout=1, key=1).replace(
        "    options:", "    barge_in: !!bool maybe\n    options:"
    )
    assert problems(text) == [
        "m.yaml:4: menus.main.barge_in: 'maybe' is tagged !!bool but is not true or false"
    ]


def test_a_key_of_5000_digits() -> None:
    assert problems(MENU.format(timeout=1, key="1" * 5000)) == [
        "m.yaml:5: menus.main.options.0.key: expected a quoted string, got an integer "
        "('1111111111111111111111111111111111111111…')"
    ]


def test_limits_and_priorities_have_ranges() -> None:
    text = (
        "menus:\n  a:\n    max_no_input: " + "9" * 5000 + "\n    max_no_match: 101\n"
        "    options:\n      - key: 1\n        continue: {priority: 2147483648}\n"
    )
    assert problems(text) == [
        "m.yaml:3: menus.a.max_no_input: a number of 5000 digits (999999999999…) is out of "
        "range; expected 1 to 100 (or null for no limit)",
        "m.yaml:4: menus.a.max_no_match: must be from 1 to 100 (or null for no limit), got 101",
        "m.yaml:7: menus.a.options.0.continue.priority: must be from 1 to 2147483647, "
        "got 2147483648",
    ]


def test_nesting_1000_lists_deep() -> None:
    assert problems("menus: " + "[" * 1000 + "]" * 1000 + "\n") == [
        f"m.yaml:1: nested more than {MAX_DEPTH} levels deep (menu files are limited to "
        f"{MAX_DEPTH})"
    ]


def test_nesting_reports_the_line_where_it_goes_too_deep() -> None:
    text = "menus:\n" + "".join("  " * i + "- \n" for i in range(1, 100))
    (problem,) = problems(text)
    assert problem.startswith(f"m.yaml:{MAX_DEPTH + 1}: nested more than")


def test_a_menu_named_with_a_dot() -> None:
    text = "menus:\n  a.options.0:\n    options:\n      - key: 1\n        goto: nowhere\n"
    assert problems(text) == ["m.yaml:2: menus: a menu name must not contain `.`: 'a.options.0'"]


def test_a_lone_surrogate_in_a_media_string() -> None:
    text = MENU.format(timeout=1, key=1).replace("hangup: true", 'play: "sound:\\ud800"')
    assert problems(text) == [
        "m.yaml:6: menus.main.options.0.play: 'sound:\\ud800' holds a lone surrogate "
        "'\\ud800' at offset 6, which is not a Unicode character"
    ]


def test_a_control_character_in_a_name_or_media() -> None:
    text = (
        'menus:\n  "a\\x00b":\n    options: []\n'
        '  b:\n    options: []\n    greeting: "sound:a\\x1b[2J"\n'
    )
    assert problems(text) == [
        "m.yaml:2: menus: 'a\\x00b' holds the control character '\\x00' at offset 1",
        "m.yaml:6: menus.b.greeting: 'sound:a\\x1b[2J' holds the control character '\\x1b' "
        "at offset 7",
    ]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{channel:d}",
            "{channel:d} in '{channel:d}': the format may only be "
            "[[fill]align][width][.precision], align one of < > ^",
        ),
        (
            "{channel:>1000000000}",
            "{channel:>1000000000} in '{channel:>1000000000}': width 1000000000 is too large "
            "(at most 200)",
        ),
        (
            "{channel!z}",
            "{channel!z} in '{channel!z}': conversions (!r, !s, !a) are not allowed; "
            "write {channel}",
        ),
        ("{channel!r}", "{channel!r} in '{channel!r}': conversions (!r, !s, !a) are not allowed"),
        ("{}", "a positional {} in '{}', expected {channel} or {digit}"),
        (
            "{channel.__class__}",
            "unknown placeholder {channel.__class__} in '{channel.__class__}'",
        ),
        ("{channel:{digit}}", "{channel:{digit}} in '{channel:{digit}}': the format may only"),
    ],
)
def test_transcript_templates_are_checked_at_load(template: str, expected: str) -> None:
    text = f"transcript:\n  call_started: {template!r}\n" + MENU.format(timeout=1, key=1)
    (problem,) = problems(text)
    assert problem.startswith(f"m.yaml:2: transcript.call_started: {expected}")


def test_python_built_trees_get_the_same_template_check() -> None:
    tree = load_menu(MENU.format(timeout=1, key=1))
    with pytest.raises(MenuDefinitionError, match=r"width 1000000000 is too large"):
        MenuTree(
            menus=tree.menus,
            start="main",
            transcript=Transcript(call_started="{channel:>1000000000}"),
        )


def test_an_alias_bomb_is_refused() -> None:
    """Three levels of 300 aliases stand for 27 million values in 14 KB (50 s to walk)."""
    n = 300
    items = ", ".join(["sound:x"] * n)
    options = ", ".join(f"{{digits: '{i}', play: *C}}" for i in range(n))
    text = f"menus:\n  base: &M\n    greeting: &C [{items}]\n    options: &O [{options}]\n"
    text += "".join(f"  m{i}: *M\n" for i in range(n))
    (problem,) = problems(text)
    assert problem.startswith(f"m.yaml:3: the file stands for more than {MAX_VALUES:,} values")


def test_an_unknown_goto_names_at_most_ten_menus() -> None:
    """With 100k menus, listing every name in every message was quadratic (minutes)."""
    text = "menus:\n" + "".join(
        f"  m{i}:\n    options: [{{key: 1, goto: x{i}}}]\n" for i in range(30)
    )
    found = problems(text)
    assert len(found) == 30
    assert found[0] == (
        "m.yaml:3: menus.m0.options.0.goto: unknown menu `x0`, expected one of `m0`, `m1`, "
        "`m2`, `m3`, `m4`, `m5`, `m6`, `m7`, `m8`, `m9` and 20 more"
    )


def test_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * MAX_FILE_BYTES + "\n")
    with pytest.raises(MenuDefinitionError) as info:
        load_menu_file(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}: the file is larger than 1024 KiB, the limit for menu files"
    ]
    with pytest.raises(MenuDefinitionError, match="larger than 1024 KiB"):
        load_menu(path.read_text())


def test_a_bad_utf8_byte_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"menus:\n  main:\n    greeting: sound:caf\xe9\n")
    with pytest.raises(MenuDefinitionError) as info:
        load_menu_file(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:3: failed to read: not UTF-8 text (byte 0xe9; save as UTF-8)"
    ]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("menus:\n  a: {options: []}\n\x07", 3),
        ("menus:\r  a: {options: []}\r\x07", 3),
        ("menus:\r\n  a: {options: []}\r\n  b: \x00\n", 3),
        ("\x07", 1),
    ],
)
def test_unacceptable_characters_name_their_line(text: str, line: int) -> None:
    (problem,) = problems(text)
    assert problem.startswith(f"m.yaml:{line}: not valid YAML: unacceptable character #x00")


@pytest.mark.parametrize(
    "text",
    [
        MENU.format(timeout="!!int ten", key=1),
        MENU.format(timeout=1, key=1).replace("hangup: true", 'play: "sound:\\ud800"'),
        "menus: " + "[" * 1000 + "]" * 1000 + "\n",
        "menus:\n  a.options.0:\n    options:\n      - key: 1\n        goto: nowhere\n",
        "transcript: {call_started: '{channel:d}'}\n" + MENU.format(timeout=1, key=1),
    ],
)
def test_check_exits_2_with_a_cause_carrying_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ivrkit failed: invalid menu definition {path} (1 problem)\n")
    assert f"  Cause: {path}:" in err
    assert "Traceback" not in err


def test_an_unknown_field_with_a_line_break_in_its_name_stays_on_one_line() -> None:
    """Fuzz finding: a key of "\\r" split its Cause over two lines (no file:line on one)."""
    text = 'menus:\n  main:\n    "\\r": 1\n    "x\\u2028y": 2\n    options: []\n'
    found = problems(text)
    assert [p.partition(", expected")[0] for p in found] == [
        "m.yaml:3: menus.main.\\r: unknown field `\\r`",
        "m.yaml:4: menus.main.x\\u2028y: unknown field `x\\u2028y`",
    ]
    assert all(len(p.splitlines()) == 1 for p in found)
