"""JSON read as Asterisk's jansson reads it, and written back however deep it is.

Asterisk 20.20.1 bundles jansson 2.15.0 (``third-party/versions.mak``:
``JANSSON_VERSION=2.15.0``) and loads every request body and websocket frame with
``ast_json_load_buf`` (``main/json.c``: ``json_loadb(buffer, buflen, 0, ...)``, flags 0).
What that refuses, and so the simulator refuses too (``ValueError``):

* nesting beyond ``JSON_PARSER_MAX_DEPTH`` 2048 (``jansson_config.h``): ``parse_value``
  (``src/load.c``) counts every value, a scalar too, so ``[[1]]`` is three levels and
  2048 arrays around ``1`` are one too many, while 2048 around nothing are not;
* a top level that is not an object or an array (no ``JSON_DECODE_ANY``: "'[' or '{'
  expected"), so ``5`` or ``"x"`` is no body;
* integers beyond 64 bits (``json_int_t``), reals that overflow a double, ``NaN`` and
  ``Infinity``.

Python's parser and encoder recurse in C and stop at the interpreter's recursion limit
(about 1,000 levels), so a depth jansson accepts is parsed (and written back) with that
limit raised for the call; the common case, shallow JSON, costs nothing extra.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: ``JSON_PARSER_MAX_DEPTH`` of jansson 2.15.0
JANSSON_MAX_DEPTH = 2048
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
#: headroom over the current recursion limit while parsing or encoding deep JSON
_HEADROOM = JANSSON_MAX_DEPTH + 200


def _json_int(text: str) -> int:
    """A JSON integer as jansson reads it: beyond 64 bits it is a parse error."""
    value = int(text) if len(text) <= 20 else _LONG_MAX + 1
    if not _LONG_MIN <= value <= _LONG_MAX:
        raise ValueError(f"too big integer: {text[:20]}")
    return value


def _json_real(text: str) -> float:
    """A JSON real as jansson reads it: one that overflows a double is a parse error."""
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"real number overflow: {text[:20]}")
    return value


def _json_constant(name: str) -> Any:
    raise ValueError(f"invalid token {name}")  # NaN and Infinity are not JSON


def _parse(text: str | bytes) -> Any:
    return json.loads(
        text, parse_int=_json_int, parse_float=_json_real, parse_constant=_json_constant
    )


def loads_like_jansson(text: str | bytes) -> Any:
    """Parse JSON as ``ast_json_load_buf`` would accept it; ``ValueError`` (never a
    ``RecursionError``) when it would not (module docstring)."""
    try:
        value = _parse(text)
    except RecursionError:
        value = _parse_deep(text)
    else:
        # only a long text can be deeper than jansson allows, and only a raised
        # recursion limit lets Python's parser get that deep
        if len(text) > JANSSON_MAX_DEPTH and sys.getrecursionlimit() > JANSSON_MAX_DEPTH:
            _check_depth(text)
    if not isinstance(value, dict | list):
        raise ValueError("'[' or '{' expected near the start")
    return value


def _parse_deep(text: str | bytes) -> Any:
    """Python's parser gave up: the text is jansson's if it is no deeper than 2048."""
    _check_depth(text)
    return with_recursion_room(_parse, text)


def _check_depth(text: str | bytes) -> None:
    if json_depth(text) > JANSSON_MAX_DEPTH:
        raise ValueError("maximum parsing depth reached")


def json_depth(text: str | bytes) -> int:
    """The deepest value of ``text`` as jansson counts (module docstring): each
    container is one level inside its parent, and so is each scalar (strings outside
    a string count as scalars: an object's key stands next to its value, one level
    down). Malformed text gets some number; the parser refuses it anyway."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = top = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == "[" or ch == "{":
            depth += 1
            if depth > top:
                top = depth
        elif ch == "]" or ch == "}":
            depth -= 1
        elif ch not in " \t\r\n,:":
            in_string = ch == '"'
            if depth + 1 > top:
                top = depth + 1
    return top


def with_recursion_room(call: Callable[_P, _R], *args: _P.args, **kw: _P.kwargs) -> _R:
    """``call(*args)`` with room for jansson's depth on top of the current stack."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _HEADROOM)
    try:
        return call(*args, **kw)
    finally:
        sys.setrecursionlimit(limit)
