"""Text templates with named fields (``"{channel} pressed {digit}"``), checked before use.

A template comes from a menu file, so it is input: a template that ``str.format`` would
accept can still raise at call time (``{channel:d}`` on a string) or write a gigabyte per
call (``{channel:>1000000000}``). ``template_problem`` is run when the file is loaded, so
such a template is a load error with its line, never a call that breaks. The syntax is
``str.format``'s, narrowed to what a text line needs:

- only the fields the caller of ``template_problem`` names (no positional ``{}``, no
  attribute or index access: ``{channel.upper}`` is simply an unknown field);
- no conversions (``!r``, ``!s``, ``!a``);
- a format spec of at most ``[[fill]align][width][.precision]`` (align one of ``<>^``),
  with width and precision up to ``MAX_WIDTH``; no nested ``{}`` inside a spec.

``render_template`` fills a template that passed the check. It looks each field up by its
whole name, so a dotted name such as ``caller.number`` is a plain key, not attribute access.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Iterator, Mapping

MAX_WIDTH = 200
"""The largest width or precision a template field may ask for (characters)."""

_SPEC = re.compile(r"(?:(?P<fill>.)?[<>^])?(?P<width>[0-9]+)?(?:\.(?P<precision>[0-9]+))?", re.S)


def template_problem(template: str, fields: Collection[str]) -> str | None:
    """Why ``template`` cannot be used with ``fields``, or None if it can.

    The message names the template (repr, so escapes stay visible) and what to change.
    """
    try:
        parts = list(_parse(template))
    except ValueError as exc:
        return f"bad template {template!r}: {exc}"
    allowed = " or ".join(f"{{{f}}}" for f in sorted(fields)) or "no fields"
    for name, conversion, spec in parts:
        if name not in fields:
            what = "a positional {}" if name == "" else f"unknown placeholder {{{name}}}"
            return f"{what} in {template!r}, expected {allowed}"
        if conversion is not None:
            return (
                f"{{{name}!{conversion}}} in {template!r}: conversions (!r, !s, !a) are not "
                f"allowed; write {{{name}}}"
            )
        if why := _spec_problem(spec):
            return f"{{{name}:{spec}}} in {template!r}: {why}"
    return None


def render_template(template: str, values: Mapping[str, str]) -> str:
    """``template`` filled from ``values``; the template must have passed the check."""
    out: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(format(values[name], spec or ""))
    return "".join(out)


def _parse(template: str) -> Iterator[tuple[str, str | None, str]]:
    """(field name, conversion, spec) of each replacement field; ValueError if malformed."""
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            yield name, conversion, spec or ""


def _spec_problem(spec: str) -> str | None:
    if not spec:
        return None
    match = _SPEC.fullmatch(spec)
    if match is None or "{" in spec or "}" in spec:
        return "the format may only be [[fill]align][width][.precision], align one of < > ^"
    for part in ("width", "precision"):
        digits = match.group(part)
        if digits is not None and (len(digits) > 4 or int(digits) > MAX_WIDTH):
            return f"{part} {digits} is too large (at most {MAX_WIDTH})"
    try:
        format("", spec)
    except ValueError as exc:  # whatever the pattern let through that str refuses
        return str(exc)
    return None


__all__ = ["MAX_WIDTH", "render_template", "template_problem"]
