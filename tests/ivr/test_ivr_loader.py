"""Menu files: every problem named with file, line and dotted field, all in one pass."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from ivrkit.ivr import (
    ATTENDANT_MENU,
    ContinueAction,
    GotoAction,
    HandlerAction,
    HangupAction,
    Menu,
    MenuDefinitionError,
    MenuTree,
    Option,
    PlayAction,
    TransferAction,
    load_menu,
    load_menu_file,
    resolve_handlers,
)
from ivrkit.ivr._loader import _ACTION_FIELDS, _MENU_FIELDS, _TOP_FIELDS

MENU_FIELDS = ", ".join(f"`{f}`" for f in _MENU_FIELDS)
TOP_FIELDS = ", ".join(f"`{f}`" for f in _TOP_FIELDS)
ACTION_FIELDS = ", ".join(f"`{f}`" for f in _ACTION_FIELDS)

BAD = """\
start: mian
transcript:
  call_started: "hi {chanel}"
menus:
  main:
    greeting: [sound:press-1, "bogus"]
    timeout: ten
    barge-in: true
    max_no_match: 0
    options:
      - key: "1"
        goto: sales
      - key: 1
        play: sound:x
      - digits: 0100
        hangup: true
      - pattern: "2X[a]"
        hangup: true
      - key: "3"
      - key: "4"
        hangup: false
      - key: "5"
        transfer: {endpoint: nowhere}
        timeout: 3
  other:
    greeting: []
    greeting: [sound:x]
    options: {}
"""


def problems(text: str, source: str = "m.yaml") -> list[str]:
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(textwrap.dedent(text), source)
    assert info.value.source == source
    return [str(p) for p in info.value.problems]


def test_every_problem_in_one_pass_with_file_line_and_field() -> None:
    assert problems(BAD) == [
        "m.yaml:1: start: unknown menu `mian`, expected one of `main`, `other`",
        "m.yaml:3: transcript.call_started: unknown placeholder {chanel} in 'hi {chanel}', "
        "expected {channel} or {digit}",
        "m.yaml:6: menus.main.greeting.1: media 'bogus' must look like scheme:name "
        "(e.g. sound:press-1)",
        "m.yaml:7: menus.main.timeout: expected a number of seconds, got a string ('ten')",
        f"m.yaml:8: menus.main.barge-in: unknown field `barge-in`, expected one of {MENU_FIELDS}",
        "m.yaml:9: menus.main.max_no_match: must be from 1 to 100 (or null for no limit), got 0",
        "m.yaml:12: menus.main.options.0.goto: unknown menu `sales`, expected one of `main`, "
        "`other`",
        "m.yaml:13: menus.main.options.1.key: duplicate entry '1' (already used by options.0)",
        "m.yaml:15: menus.main.options.2.digits: expected a quoted string, got an integer "
        "('0100') (quote it: \"0123\" keeps its leading zero)",
        "m.yaml:17: menus.main.options.3.pattern: unexpected character 'a' in [a]",
        f"m.yaml:19: menus.main.options.4: expected exactly one action of {ACTION_FIELDS}, "
        "got none",
        "m.yaml:21: menus.main.options.5.hangup: `hangup` takes `true`; leave it out instead "
        "of false",
        "m.yaml:23: menus.main.options.6.transfer.endpoint: endpoint 'nowhere' must look like "
        "TECH/resource (e.g. PJSIP/{digits})",
        "m.yaml:24: menus.main.options.6.timeout: unknown field `timeout`, expected one of "
        f"`key`, `digits`, `pattern`, {ACTION_FIELDS}",
        "m.yaml:27: menus.other.greeting: duplicate field `greeting` (first given on line 26)",
        "m.yaml:28: menus.other.options: expected a list of options, got a mapping",
    ]


def test_the_headline_counts_problems() -> None:
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(BAD, "m.yaml")
    assert info.value.headline == "invalid menu definition m.yaml (16 problems)"
    assert str(info.value).splitlines()[1] == f"  {info.value.problems[0]}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["m.yaml:1: the file is empty; expected a `menus:` mapping"]),
        ("[1, 2]", [f"m.yaml:1: expected a mapping with fields {TOP_FIELDS}"]),
        ("start: a\n", ["m.yaml:1: menus: missing field `menus`"]),
        ("menus: {}\n", ["m.yaml:1: menus: at least one menu is required"]),
        (
            "menus:\n  a: 3\n",
            [f"m.yaml:2: menus.a: expected a mapping with fields {MENU_FIELDS}"],
        ),
        ("menus:\n  a: {greeting: []}\n", ["m.yaml:2: menus.a.options: missing field `options`"]),
        (
            "menus: {a: {options: [], bad: 1}}\nmenus: {}\n",
            [
                f"m.yaml:1: menus.a.bad: unknown field `bad`, expected one of {MENU_FIELDS}",
                "m.yaml:2: menus: duplicate field `menus` (first given on line 1)",
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', digits: '12', hangup: true}]}}",
            [
                "m.yaml:1: menus.a.options.0: an option needs exactly one of `key`, `digits` or "
                "`pattern`, got `key` and `digits`"
            ],
        ),
        (
            "menus: {a: {options: [{hangup: true}]}}",
            [
                "m.yaml:1: menus.a.options.0: an option needs exactly one of `key`, `digits` or "
                "`pattern`, got none"
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', hangup: true, top: true}]}}",
            [
                f"m.yaml:1: menus.a.options.0: expected exactly one action of {ACTION_FIELDS}, "
                "got `top` and `hangup`"
            ],
        ),
        (
            "menus: {a: {options: [{key: '12', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.key: key must be one character, got '12'"],
        ),
        (
            "menus: {a: {options: [{key: 12, hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.key: expected a quoted string, got an integer ('12')"],
        ),
        (
            "menus: {a: {options: [{digits: '1#', hangup: true}]}}",
            [
                "m.yaml:1: menus.a.options.0.digits: digits may not contain `#` (it finishes an "
                "entry)"
            ],
        ),
        (
            "menus: {a: {options: [{digits: '1x', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.digits: digits must be made of 0-9 * # A-D, got '1x'"],
        ),
        (
            "menus: {a: {options: [{pattern: '1.2', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.pattern: `.` may only end a pattern"],
        ),
        (
            "menus: {a: {options: [{pattern: '[12', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.pattern: `[` without a closing `]`"],
        ),
        (
            "menus: {a: {options: [{pattern: '[9-1]', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.pattern: bad range 9-1 in [9-1]"],
        ),
        (
            "menus: {a: {options: [{pattern: '[]', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.pattern: empty set []"],
        ),
        (
            "menus: {a: {options: [{pattern: '!', hangup: true}]}}",
            ["m.yaml:1: menus.a.options.0.pattern: a pattern needs at least one digit position"],
        ),
        (
            "menus: {a: {options: [{pattern: '1#', hangup: true}]}}",
            [
                "m.yaml:1: menus.a.options.0.pattern: unexpected character "
                "'#' (use 0-9 * A-D X Z N "
                "[..] . !)"
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', play: [3]}]}}",
            ["m.yaml:1: menus.a.options.0.play.0: expected a string, got an integer ('3')"],
        ),
        (
            "menus: {a: {options: [{key: '1', play: {x: 1}}]}}",
            ["m.yaml:1: menus.a.options.0.play: expected a list of media URIs, got a mapping"],
        ),
        (
            "menus: {a: {options: [{key: '1', play: ['']}]}}",
            ["m.yaml:1: menus.a.options.0.play.0: must not be empty"],
        ),
        (
            "menus: {a: {options: [{key: '1', play: ['tune:x', 'sound:{x}']}]}}",
            [
                "m.yaml:1: menus.a.options.0.play.0: unknown media scheme `tune`, expected one of "
                "characters, digits, number, recording, sound, tone",
                "m.yaml:1: menus.a.options.0.play.1: `{x}` in 'sound:{x}' is not a call-data "
                "field (known: caller_name, caller_number, digits, lang); declare a field a "
                "handler sets under call_data.fields",
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', goto: 3}]}}",
            ["m.yaml:1: menus.a.options.0.goto: expected a string, got an integer ('3')"],
        ),
        (
            "menus: {a: {options: [{key: '1', back: 1}]}}",
            ["m.yaml:1: menus.a.options.0.back: expected true or false, got an integer ('1')"],
        ),
        (
            "menus: {a: {options: [{key: '1', handler: 'not a name'}]}}",
            [
                "m.yaml:1: menus.a.options.0.handler: handler 'not a name' must look like "
                "package.module:function"
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', continue: {priority: 0}}]}}",
            ["m.yaml:1: menus.a.options.0.continue.priority: must be from 1 to 2147483647, got 0"],
        ),
        (
            "menus: {a: {options: [{key: '1', continue: {priority: x, where: 1}}]}}",
            [
                "m.yaml:1: menus.a.options.0.continue.priority: expected an integer, got a string "
                "('x')",
                "m.yaml:1: menus.a.options.0.continue.where: unknown field "
                "`where`, expected one of "
                "`context`, `extension`, `priority`",
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', transfer: {timeout: 3}}]}}",
            ["m.yaml:1: menus.a.options.0.transfer.endpoint: missing field `endpoint`"],
        ),
        (
            "menus: {a: {options: [{key: '1', transfer: {endpoint: P/1, "
            "timeout: 0, failed: [x]}}]}}",
            [
                "m.yaml:1: menus.a.options.0.transfer.failed.0: media 'x' "
                "must look like scheme:name "
                "(e.g. sound:press-1)",
                "m.yaml:1: menus.a.options.0.transfer.timeout: must be a number of seconds above 0 "
                "and at most 3600, got 0",
            ],
        ),
        (
            "menus: {a: {options: [{key: '1', transfer: {endpoint: 3, caller_id: 4}}]}}",
            [
                "m.yaml:1: menus.a.options.0.transfer.caller_id: expected a string, got an integer "
                "('4')",
                "m.yaml:1: menus.a.options.0.transfer.endpoint: expected a string, got an integer "
                "('3')",
            ],
        ),
        (
            "menus: {a: {options: [], on_limit: {goto: b}}}",
            ["m.yaml:1: menus.a.on_limit.goto: unknown menu `b`, expected one of `a`"],
        ),
        (
            "menus: {a: {options: [], on_limit: 3}}",
            [f"m.yaml:1: menus.a.on_limit: expected a mapping with fields {ACTION_FIELDS}"],
        ),
        (
            "menus: {a: {options: [], timeout: 0, barge_in: 1, max_no_input: x}}",
            [
                "m.yaml:1: menus.a.barge_in: expected true or false, got an integer ('1')",
                "m.yaml:1: menus.a.max_no_input: expected an integer, got a string ('x')",
                "m.yaml:1: menus.a.timeout: must be a number of seconds above 0 and at most 3600, "
                "got 0",
            ],
        ),
        (
            "menus: {a: {options: []}}\ntranscript: {digit: 3, when: x}\n",
            [
                "m.yaml:2: transcript.digit: expected a string or null, got an integer ('3')",
                "m.yaml:2: transcript.when: unknown field `when`, expected one of `call_started`, "
                "`digit`, `no_match`, `no_input`, `call_ended`",
            ],
        ),
        (
            "menus: {a: {options: []}}\ntranscript: {digit: '{'}\n",
            [
                "m.yaml:2: transcript.digit: bad template '{': Single '{' encountered in format "
                "string"
            ],
        ),
        (
            "menus: {a: {options: [], greeting: null}}",
            ["m.yaml:1: menus.a.greeting: expected a list of media URIs, got null"],
        ),
        (
            "menus: {a: {options: []}}\nstart: [x]\n",
            ["m.yaml:2: start: expected a string, got a list"],
        ),
        (
            "menus: {'': {options: []}}",
            ["m.yaml:1: menus.: unknown field ``, expected one of a menu name"],
        ),
    ],
)
def test_each_problem_is_named_precisely(text: str, expected: list[str]) -> None:
    assert problems(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "menus: {a: {options: []}}\ntranscript: 3\n",
            "m.yaml:2: transcript: expected a mapping with fields `call_started`, `digit`, "
            "`no_match`, `no_input`, `call_ended`",
        ),
        ("menus: {a: {options: [3]}}", "m.yaml:1: menus.a.options.0: expected a mapping"),
        (
            "menus: {a: {options: [{key: '1', continue: [1]}]}}",
            "m.yaml:1: menus.a.options.0.continue: expected a mapping with fields `context`",
        ),
        (
            "menus: {a: {options: [{key: '1', transfer: [1]}]}}",
            "m.yaml:1: menus.a.options.0.transfer: expected a mapping with fields `endpoint`",
        ),
        (
            "menus: {a: {options: [{pattern: '[1#]', hangup: true}]}}",
            "m.yaml:1: menus.a.options.0.pattern: unexpected character '#' in [1#]",
        ),
        (
            "menus: {a: {options: []}}\n\x07",
            "m.yaml:2: not valid YAML: unacceptable character #x0007",
        ),
    ],
)
def test_more_shapes_are_refused(text: str, expected: str) -> None:
    assert problems(text)[0].startswith(expected)


def test_null_transcript_lines_and_ranges_are_fine() -> None:
    tree = load_menu(
        "transcript: {digit: null}\nmenus: {a: {options: [{pattern: '[1-3]X', hangup: true}]}}"
    )
    assert tree.transcript.digit is None
    option = tree.menus["a"].options[0]
    assert option.matches("25")
    assert not option.matches("45")


def test_python_built_trees_report_handler_problems_without_a_line() -> None:
    menu = Menu(
        name="a",
        options=(
            Option(kind="key", value="0", action=HangupAction()),
            Option(kind="key", value="1", action=HandlerAction(name="json:x")),
        ),
    )
    with pytest.raises(MenuDefinitionError) as info:
        resolve_handlers(MenuTree(menus={"a": menu}, start="a"))
    assert [str(p) for p in info.value.problems] == [
        "<python>: menus.a.options.1.handler: module `json` has no `x`"
    ]


def test_yaml_syntax_errors_name_the_line() -> None:
    assert problems("menus:\n  a: [1\n  b: 2\n") == [
        "m.yaml:3: not valid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(MenuDefinitionError) as info:
        load_menu_file(missing)
    assert str(info.value.problems[0]) == f"{missing}: failed to read: No such file or directory"
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(MenuDefinitionError, match="failed to read"):
        load_menu_file(binary)


def test_a_full_menu_loads_into_the_right_values() -> None:
    tree = load_menu(
        textwrap.dedent(
            """\
            start: b
            menus:
              a:
                options:
                  - {pattern: "2[0-3]X.", transfer: "PJSIP/{digits}"}
              b:
                greeting: sound:hi
                regreeting: [sound:again]
                inter_digit_timeout: 1.5
                max_no_input: null
                max_no_match: 2
                on_limit: {continue: {context: ops, extension: 100}}
                barge_in: false
                type_ahead: false
                options:
                  - {key: 0, continue: true}
                  - {key: "1", goto: a}
                  - {digits: "*9", handler: "pkg.mod:func"}
                  - {key: "#", transfer: {endpoint: "PJSIP/op", timeout: 5, caller_id: x}}
            """
        )
    )
    b = tree.menus["b"]
    assert tree.start == "b"
    assert b.greeting == ("sound:hi",)
    assert b.regreeting_prompts == ("sound:again",)
    assert (b.inter_digit_timeout, b.max_no_input, b.max_no_match) == (1.5, None, 2)
    assert b.on_limit == ContinueAction(context="ops", extension="100")
    assert (b.barge_in, b.type_ahead) == (False, False)
    assert [o.action for o in b.options] == [
        ContinueAction(),
        GotoAction(menu="a"),
        HandlerAction(name="pkg.mod:func"),
        TransferAction(endpoint="PJSIP/op", timeout=5.0, caller_id="x"),
    ]
    pattern = tree.menus["a"].options[0]
    assert pattern.action == TransferAction(endpoint="PJSIP/{digits}")
    assert pattern.matches("2150")
    assert pattern.matches("21509")
    assert not pattern.matches("215")
    assert not pattern.matches("2450")
    assert pattern.could_extend("21")
    assert not pattern.could_extend("24")


def test_snake_case_is_the_only_spelling() -> None:
    assert "unknown field `no-input`" in problems("menus: {a: {options: [], no-input: []}}")[0]


def test_the_shipped_attendant_loads() -> None:
    tree = load_menu_file(ATTENDANT_MENU)
    assert tree.source == str(ATTENDANT_MENU)
    assert list(tree.menus) == ["main"]
    assert tree.field_lines["menus.main.options.0.play"] > 1


def test_python_built_trees_are_checked_too() -> None:
    menu = Menu(name="a", options=(Option(kind="key", value="1", action=GotoAction(menu="z")),))
    with pytest.raises(MenuDefinitionError) as info:
        MenuTree(menus={"a": menu, "b": Menu(name="x", options=())}, start="a")
    assert [str(p) for p in info.value.problems] == [
        "<python>: menus.a.options.0.goto: unknown menu `z`, expected one of `a`, `b`",
        "<python>: menus.b.name: menu is filed as `b` but named `x`",
    ]
    with pytest.raises(MenuDefinitionError, match="at least one menu"):
        MenuTree(menus={}, start="a")
    with pytest.raises(ValueError, match="must be made of"):
        Option(kind="digits", value="", action=HangupAction())
    assert PlayAction(prompts=()).prompts == ()


HANDLERS = """
async def good(call, digits):
    return None

def sync(call, digits):
    return None
"""


def test_resolve_handlers_imports_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ivr_test_handlers.py").write_text(HANDLERS)
    monkeypatch.syspath_prepend(str(tmp_path))
    text = textwrap.dedent(
        """\
        menus:
          a:
            on_limit: {handler: "ivr_test_handlers:good"}
            options:
              - {key: "1", handler: "ivr_test_handlers:good"}
              - {key: "2", handler: "ivr_test_handlers:sync"}
              - {key: "3", handler: "ivr_test_handlers:missing"}
              - {key: "4", handler: "no_such_module_xyz:f"}
        """
    )
    tree = load_menu(text, "h.yaml")
    with pytest.raises(MenuDefinitionError) as info:
        resolve_handlers(tree)
    assert [str(p) for p in info.value.problems] == [
        "h.yaml:6: menus.a.options.1.handler: `ivr_test_handlers:sync` must be an "
        "`async def handler(call, digits)`",
        "h.yaml:7: menus.a.options.2.handler: module `ivr_test_handlers` has no `missing`",
        "h.yaml:8: menus.a.options.3.handler: cannot import `no_such_module_xyz`: "
        f"No module named 'no_such_module_xyz' (looked in the installed packages, then "
        f"{Path.cwd().resolve()}; put no_such_module_xyz.py or a no_such_module_xyz/ package "
        "beside the menu file)",
    ]
    good = load_menu(text.split('      - {key: "2"')[0], "h.yaml")
    assert set(resolve_handlers(good)) == {"ivr_test_handlers:good"}
    sys.modules.pop("ivr_test_handlers", None)
