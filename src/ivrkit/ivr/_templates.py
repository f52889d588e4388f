"""Media templates: ``digits:{order_id}``, ``number:{balance}``, ``sound:{lang}/welcome``.

A template names call-data fields in braces (``{{`` and ``}}`` are literal braces). The
loader checks every name against the fields a call can have (so a typo fails at load
time, with file and line); the machine fills them in when it plays, and a field the call
lacks at that moment (a handler did not set it) is an error it reports and recovers
from (``on_error``), never silence.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

_FORMATTER = string.Formatter()

# Every call has these (seeded at CallStarted; "digits" is the last entry).
BUILTIN_FIELDS = ("digits", "caller_number", "caller_name", "lang")


def template_fields(template: str) -> tuple[str, ...]:
    """The field names ``template`` uses, in order. Raises ValueError with the reason
    (a stray brace, an attribute, index or format spec: only plain names are allowed)."""
    names: list[str] = []
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise ValueError(f"bad template {template!r}: {exc} (write {{{{ for a brace)") from exc
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(
                f"bad placeholder {{{name}{'!' + conversion if conversion else ''}"
                f"{':' + spec if spec else ''}}} in {template!r}: use a plain field name"
            )
        names.append(name)
    return tuple(names)


def render(template: str, data: Mapping[str, object]) -> str:
    """``template`` with its fields filled from ``data``; KeyError names a missing one."""
    if "{" not in template and "}" not in template:
        return template
    out: list[str] = []
    for literal, name, _, _ in _FORMATTER.parse(template):
        out.append(literal)
        if name is not None:
            value = data[name]  # KeyError: the caller reports the missing field
            out.append(_text(value))
    return "".join(out)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


__all__ = ["BUILTIN_FIELDS", "render", "template_fields"]
