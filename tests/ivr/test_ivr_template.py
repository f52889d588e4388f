"""Templates with named fields: checked once, then filled without surprises."""

from __future__ import annotations

import pytest

from ivrkit.ivr._template import MAX_WIDTH, render_template, template_problem

FIELDS = {"channel", "caller.number"}


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("{channel} called", {"channel": "PJSIP/1"}, "PJSIP/1 called"),
        ("[{channel:<8}]", {"channel": "ab"}, "[ab      ]"),
        ("[{channel:*^7.3}]", {"channel": "abcdef"}, "[**abc**]"),
        ("{{literal}} {caller.number}", {"caller.number": "555"}, "{literal} 555"),
        (f"{{channel:>{MAX_WIDTH}}}", {"channel": "x"}, " " * (MAX_WIDTH - 1) + "x"),
    ],
)
def test_a_checked_template_renders(template: str, values: dict[str, str], expected: str) -> None:
    assert template_problem(template, FIELDS) is None
    assert render_template(template, values) == expected


def test_a_dotted_field_is_a_key_not_attribute_access() -> None:
    assert template_problem("{caller.number}", FIELDS) is None
    assert template_problem("{channel.upper}", FIELDS) == (
        "unknown placeholder {channel.upper} in '{channel.upper}', expected "
        "{caller.number} or {channel}"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{", "bad template '{': Single '{' encountered in format string"),
        ("{channel!s}", "{channel!s} in '{channel!s}': conversions (!r, !s, !a) are not allowed"),
        ("{channel:=5}", "{channel:=5} in '{channel:=5}': the format may only be"),
        ("{channel:.201}", "{channel:.201} in '{channel:.201}': precision 201 is too large"),
        ("{channel:<}", None),
    ],
)
def test_problems_say_what_to_change(template: str, expected: str | None) -> None:
    found = template_problem(template, FIELDS)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(expected)


def test_no_fields_allowed() -> None:
    assert template_problem("{x}", ()) == "unknown placeholder {x} in '{x}', expected no fields"
    assert template_problem("plain", ()) is None
