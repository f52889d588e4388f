"""Dialplan substitution (``${...}``, ``$[...]``), conditions and time specs, as Asterisk
20.20.1 evaluates them. Pure functions: values come from a ``lookup(name)`` callback.

- ``${NAME}``, ``${NAME:offset[:length]}`` and ``${FUNC(args)}`` (``main/pbx_variables.c``
  ``pbx_substitute_variables_helper_full``; a negative offset counts from the end, a
  negative length leaves that many characters off the end); nested ``${}`` inside a
  name or argument are substituted first;
- ``$[expression]`` (``main/ast_expr2.y``): ``|``, ``&``, ``= == != < > <= >=``,
  ``+ - * / %``, unary ``!`` and ``-``, ``:`` (anchored regex) and ``=~``, ``? ::``
  and parentheses, with the grammar's precedence; comparisons are numeric when both
  sides are numbers, else string comparisons; results are ``1``/``0``; a syntax error
  gives "" (Asterisk logs it and substitutes nothing);
- :func:`check_condition` is ``pbx_checkcondition``: "" is false, a leading integer is
  its value, any other text is true;
- :func:`timing_matches` is ``ast_build_timing`` + ``ast_check_timing2``
  (``main/pbx_timing.c``): ``times,weekdays,monthdays,months[,timezone]``, minute
  resolution with the end minute included, cyclic ranges, ``&`` lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Lookup = Callable[[str], str]


def substitute(text: str, lookup: Lookup) -> str:
    """Expand every ``${...}`` and ``$[...]`` in ``text``."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("${", i) or text.startswith("$[", i):
            opener, closer = text[i + 1], "}" if text[i + 1] == "{" else "]"
            end = _matching(text, i + 2, opener, closer)
            if end < 0:  # unbalanced: Asterisk copies the rest as it is
                out.append(text[i:])
                break
            inner = substitute(text[i + 2 : end], lookup)
            out.append(_variable(inner, lookup) if opener == "{" else evaluate(inner))
            i = end + 1
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _matching(text: str, start: int, opener: str, closer: str) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("$" + opener, i):
            depth += 1
            i += 2
            continue
        if text[i] == opener and opener == "[":
            depth += 1
        elif text[i] == closer:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _variable(inner: str, lookup: Lookup) -> str:
    """``NAME``, ``NAME:offset:length`` or ``FUNC(args)[:offset:length]``."""
    name, offset, length = inner, None, None
    close = inner.rfind(")")
    colon = inner.find(":", close + 1 if close >= 0 else 0)
    if colon >= 0:
        name = inner[:colon]
        parts = inner[colon + 1 :].split(":")
        offset = _leading_int(parts[0])
        length = _leading_int(parts[1]) if len(parts) > 1 else None
    value = lookup(name)
    if offset is None and length is None:
        return value
    return _substring(value, offset or 0, length)


def _substring(value: str, offset: int, length: int | None) -> str:
    """``ast_str_substring``."""
    if offset < 0:
        offset = max(0, len(value) + offset)
    value = value[offset:]
    if length is None:
        return value
    if length < 0:
        return value[: max(0, len(value) + length)]
    return value[:length]


def _leading_int(text: str) -> int | None:
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else None


def check_condition(condition: str) -> bool:
    """``pbx_checkcondition``."""
    if not condition:
        return False
    value = _leading_int(condition)
    if value is not None:
        return value != 0
    return True


# -- $[...] ------------------------------------------------------------------------------

_TOKEN = re.compile(
    r'\s*(?:("(?:[^"\\]|\\.)*")|(=~|==|!=|<=|>=|::|[|&=<>+\-*/%!:?()])|([^\s|&=<>+\-*/%!:?()"]+))'
)


class _ExprError(ValueError):
    pass


def evaluate(expression: str) -> str:
    """The value of a ``$[...]`` expression; "" on a syntax error."""
    tokens = _tokens(expression)
    if not tokens:
        return ""
    parser = _Parser(tokens)
    try:
        value = parser.ternary()
        if parser.pos != len(tokens):
            raise _ExprError("trailing tokens")
    except (_ExprError, re.error, ZeroDivisionError):
        return ""
    return value


def _tokens(expression: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(expression):
        m = _TOKEN.match(expression, pos)
        if m is None or m.end() == pos:
            if expression[pos:].strip() == "":
                break
            return []
        pos = m.end()
        if m.group(1) is not None:
            out.append(("str", m.group(1)[1:-1].replace('\\"', '"')))
        elif m.group(2) is not None:
            out.append(("op", m.group(2)))
        elif m.group(3) is not None:
            out.append(("str", m.group(3)))
    return out


def _number(value: str) -> float | None:
    try:
        return float(value.strip())
    except ValueError:
        return None


def _fmt(value: float) -> str:
    if value == int(value) and abs(value) < 1e18:
        return str(int(value))
    return f"{value:.15g}"


def _null(value: str) -> bool:
    """``is_zero_or_null``."""
    if value == "":
        return True
    number = _number(value)
    return number == 0 if number is not None else False


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op":
            return self.tokens[self.pos][1]
        return None

    def _take(self, op: str) -> bool:
        if self._peek() == op:
            self.pos += 1
            return True
        return False

    def ternary(self) -> str:
        cond = self.or_()
        if self._take("?"):
            then = self.or_()
            if not self._take("::"):
                raise _ExprError("? without ::")
            other = self.or_()
            return other if _null(cond) else then
        return cond

    def or_(self) -> str:
        left = self.and_()
        while self._take("|"):
            right = self.and_()
            left = right if _null(left) else left
        return left

    def and_(self) -> str:
        left = self.compare()
        while self._take("&"):
            right = self.compare()
            left = "0" if _null(left) or _null(right) else left
        return left

    def compare(self) -> str:
        left = self.additive()
        while (op := self._peek()) in ("=", "==", "!=", "<", ">", "<=", ">="):
            self.pos += 1
            right = self.additive()
            a, b = _number(left), _number(right)
            if a is not None and b is not None:
                result = {
                    "=": a == b,
                    "==": a == b,
                    "!=": a != b,
                    "<": a < b,
                    ">": a > b,
                    "<=": a <= b,
                    ">=": a >= b,
                }[op]
            else:
                result = {
                    "=": left == right,
                    "==": left == right,
                    "!=": left != right,
                    "<": left < right,
                    ">": left > right,
                    "<=": left <= right,
                    ">=": left >= right,
                }[op]
            left = "1" if result else "0"
        return left

    def additive(self) -> str:
        left = self.multiplicative()
        while (op := self._peek()) in ("+", "-"):
            self.pos += 1
            right = self.multiplicative()
            a, b = _number(left) or 0.0, _number(right) or 0.0
            left = _fmt(a + b if op == "+" else a - b)
        return left

    def multiplicative(self) -> str:
        left = self.unary()
        while (op := self._peek()) in ("*", "/", "%"):
            self.pos += 1
            right = self.unary()
            a, b = _number(left) or 0.0, _number(right) or 0.0
            if op == "*":
                left = _fmt(a * b)
            elif op == "/":
                left = _fmt(a / b)
            else:
                left = _fmt(a % b)
        return left

    def unary(self) -> str:
        if self._take("!"):
            return "1" if _null(self.unary()) else "0"
        if self._take("-"):
            value = _number(self.unary())
            return _fmt(-(value or 0.0))
        return self.regex()

    def regex(self) -> str:
        left = self.primary()
        while (op := self._peek()) in (":", "=~"):
            self.pos += 1
            pattern = self.primary()
            m = re.match(pattern, left) if op == ":" else re.search(pattern, left)
            if m is None:
                left = "" if re.compile(pattern).groups else "0"
            elif m.groups():
                left = m.group(1) or ""
            else:
                left = str(m.end() - m.start())
        return left

    def primary(self) -> str:
        if self._take("("):
            value = self.ternary()
            if not self._take(")"):
                raise _ExprError("missing )")
            return value
        if self.pos >= len(self.tokens):
            raise _ExprError("operand expected")
        kind, value = self.tokens[self.pos]
        if kind != "str":
            raise _ExprError(f"unexpected {value}")
        self.pos += 1
        return value


# -- GotoIfTime --------------------------------------------------------------------------

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _lookup_name(text: str, names: tuple[str, ...] | None, size: int) -> int | None:
    text = text.strip()
    if names and text[:1] > "9":
        lowered = text.lower()
        if lowered in names:
            return names.index(lowered)
    value = _leading_int(text)
    if value is not None and 1 <= value <= size:
        return value - 1
    return None


def _range(spec: str, size: int, names: tuple[str, ...] | None) -> set[int]:
    if not spec.strip() or spec.strip() == "*":
        return set(range(size))
    out: set[int] = set()
    for part in spec.split("&"):
        start_text, _, end_text = part.partition("-")
        start = _lookup_name(start_text, names, size)
        if start is None:
            continue
        end = _lookup_name(end_text, names, size) if end_text else start
        if end is None:
            continue
        out.add(end)
        while start != end:
            out.add(start)
            start = (start + 1) % size
    return out


def _minutes(spec: str) -> set[int]:
    if not spec.strip() or spec.strip() == "*":
        return set(range(24 * 60))
    out: set[int] = set()
    for part in spec.split("&"):
        start_text, sep, end_text = part.partition("-")
        start = _clock(start_text)
        if start is None:
            continue
        if not sep:
            out.add(start)
            continue
        end = _clock(end_text.lstrip(" "))
        if end is None:
            continue
        minute = start
        while minute != end:
            out.add(minute)
            minute = (minute + 1) % (24 * 60)
        out.add(end)
    return out


def _clock(text: str) -> int | None:
    m = re.match(r"\s*(\d{1,2}):(\d{1,2})", text)
    if m is None:
        return None
    hours, minutes = int(m.group(1)), int(m.group(2))
    if hours > 23 or minutes > 59:
        return None
    return hours * 60 + minutes


def timing_matches(spec: str, epoch: float, local_zone: str | None = None) -> bool:
    """Whether ``epoch`` falls inside ``times,weekdays,mdays,months[,timezone]``."""
    if not spec.strip():
        return False
    fields = re.split(r"[|,]", spec)
    zone_name = fields[4].strip() if len(fields) == 5 else local_zone
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    when = datetime.fromtimestamp(epoch, zone or UTC) if zone else datetime.fromtimestamp(epoch)
    weekday = (when.weekday() + 1) % 7  # tm_wday: Sunday is 0
    if len(fields) > 3 and when.month - 1 not in _range(fields[3], 12, _MONTHS):
        return False
    if len(fields) > 2 and when.day - 1 not in _range(fields[2], 31, None):
        return False
    if len(fields) > 1 and weekday not in _range(fields[1], 7, _DAYS):
        return False
    return when.hour * 60 + when.minute in _minutes(fields[0])
