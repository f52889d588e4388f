"""The one request dispatcher behind both front doors (HTTP and REST over websocket).

``dispatch(model, method, path, query, body, content_type)`` does what Asterisk's
``ast_ari_invoke`` does, in the same order, so both doors answer alike:

1. match ``path`` (relative to ``/ari``) against the route table: no template matches →
   404 ``{"message": "Resource not found"}``; a template matches but not for this method →
   405 ``{"message": "Invalid method"}``;
2. with a non-empty ``application/json`` body, parse it: malformed → 400
   ``{"message": "Error parsing request body"}``;
3. merge parameters: query first, then the JSON object's keys (body wins, as Asterisk's
   generated ``*_parse_body`` functions overwrite the query values);
4. convert by declared ``data_type`` the way Asterisk's generated code does: ``int``/
   ``long`` take the leading digits and a value with none is ignored (the default is used:
   ``timeout=abc`` → 200, ``duration=abc`` → 204 in the traces); ``boolean`` is
   ``ast_true``; ``allowMultiple`` values are split on commas;
5. call the handler. Handlers raise :class:`AriError`; anything else escaping a handler
   is a simulator bug and is reported as 500 rather than crashing the server.

Required parameters are *not* enforced here: Asterisk checks them in each handler with
handler-specific messages ("Endpoint must be specified", "DTMF is required").
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ivrkit.sim.front._jansson import loads_like_jansson
from ivrkit.sim.front._routetable import Operation, Param, all_operations
from ivrkit.sim.model._replies import AriError, SimResponse

_log = logging.getLogger("ivrkit.sim")


@dataclass(frozen=True, slots=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    by_method: dict[str, Operation]


#: routes indexed by (first path segment, number of segments): matching stays cheap
#: under load (the simulator is also the benchmark's load generator)
_ROUTES: dict[tuple[str, int], list[_Route]] | None = None


#: joins the decoded segments of a request path: a decoded ``%2F`` stays inside its
#: segment, as in Asterisk, which splits the raw path on "/" and then decodes each
#: segment (``res/res_ari.c`` ``ast_ari_invoke``: ``strsep`` then ``ast_uri_decode``)
_SEP = "\x00"


def _compile(template: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    names: list[str] = []
    parts: list[str] = []
    for segment in template.strip("/").split("/"):
        m = re.fullmatch(r"\{(\w+)\}", segment)
        if m:
            names.append(m.group(1))
            parts.append("([^\x00]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile(_SEP.join(parts)), tuple(names)


def _routes() -> dict[tuple[str, int], list[_Route]]:
    global _ROUTES
    if _ROUTES is None:
        table: dict[str, _Route] = {}
        for op in all_operations():
            route = table.get(op.api_path)
            if route is None:
                pattern, names = _compile(op.api_path)
                route = _Route(op.api_path, pattern, names, {})
                table[op.api_path] = route
            route.by_method[op.http_method] = op
        index: dict[tuple[str, int], list[_Route]] = {}
        # literal segments beat placeholders (/channels/create before /channels/{id})
        for route in sorted(table.values(), key=lambda r: (r.template.count("{"), r.template)):
            segments = route.template.strip("/").split("/")
            index.setdefault((segments[0], len(segments)), []).append(route)
        _ROUTES = index
    return _ROUTES


def match(method: str, path: str) -> tuple[Operation, dict[str, str]]:
    """Find the operation for ``method path`` or raise the 404/405 :class:`AriError`."""
    segments = path.strip("/").split("/")
    if "%" in path:
        segments = [unquote(segment) for segment in segments]
    clean = _SEP.join(segments)
    path_known = False
    for route in _routes().get((segments[0], len(segments)), ()):
        m = route.pattern.fullmatch(clean)
        if m is None:
            continue
        path_known = True
        op = route.by_method.get(method.upper())
        if op is not None:
            return op, dict(zip(route.names, m.groups(), strict=True))
    if path_known:
        raise AriError(405, "Invalid method")
    raise AriError(404, "Resource not found")


_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_LEADING_INT = re.compile(r"\s*([+-]?)0*(\d+)")
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


def _c_int(value: int) -> int:
    """``value`` converted to a 32-bit C int as gcc does it (modulo 2**32)."""
    return (value + 2**31) % 2**32 - 2**31


def _strtol(text: str) -> int | None:
    """The leading integer of ``text`` as C's strtol reads it, None if there is none.

    Asterisk reads integer query parameters with atoi() (res/res_ari_channels.c:
    ``args.timeout = atoi(i->value);``), that is strtol, which saturates at the range of
    a long: a number of 5,000 digits is LONG_MAX, not an error (and never int() on
    5,000 digits, which Python refuses).
    """
    m = _LEADING_INT.match(text)
    if m is None:
        return None
    sign, digits = m.groups()
    if len(digits) > 19:
        return _LONG_MIN if sign == "-" else _LONG_MAX
    value = -int(digits) if sign == "-" else int(digits)
    return max(_LONG_MIN, min(_LONG_MAX, value))


def _convert_one(param: Param, raw: Any) -> Any:
    """Convert one value; ``None`` means "ignored" (junk where a number belongs)."""
    dt = param.data_type
    if dt in ("int", "long"):
        if isinstance(raw, bool):
            return int(raw)
        if isinstance(raw, float):
            raw = int(raw)  # finite: loads_like_jansson refuses the rest
        value = raw if isinstance(raw, int) else _strtol(str(raw))
        # an "int" parameter is a C int: atoi() is (int)strtol() and a JSON integer
        # (json_int_t) is assigned to an int field; gcc keeps the low 32 bits
        return value if value is None or dt == "long" else _c_int(value)
    if dt == "boolean":
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in _TRUE
    if dt in ("containers", "object"):
        return raw if isinstance(raw, dict) else None
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return str(raw)
    return None


def _convert(param: Param, raw: Any) -> Any:
    if param.allow_multiple:
        items: list[Any]
        if isinstance(raw, list):
            items = []
            for item in raw:
                items.extend(str(item).split(",") if isinstance(item, str) else [item])
        else:
            items = str(raw).split(",")
        converted = [_convert_one(param, item) for item in items]
        return [c for c in converted if c is not None]
    if isinstance(raw, list):
        raw = raw[-1] if raw else ""
    return _convert_one(param, raw)


def build_args(
    op: Operation,
    path_args: Mapping[str, str],
    query: Iterable[tuple[str, str]],
    body_obj: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """Merge path, query and JSON body into converted handler arguments."""
    raw: dict[str, Any] = {}
    for key, item in query:
        raw[key] = item
    if body_obj is not None:
        raw.update(body_obj)
    args: dict[str, Any] = {}
    for param in op.params:
        if param.param_type == "path":
            args[param.name] = path_args[param.name]
            continue
        if param.param_type == "body" and param.data_type == "object":
            # the whole body is the argument (applications/eventFilter's ``filter``);
            # a ``containers`` body parameter is the body's key of that name
            if body_obj is not None:
                args[param.name] = dict(body_obj)
            continue
        value: Any = None
        if param.name in raw and raw[param.name] is not None:
            value = _convert(param, raw[param.name])
        if value is None and param.default is not None:
            value = param.default
        if value is not None:
            args[param.name] = value
    return args


def parse_body(body: bytes | None, content_type: str | None) -> dict[str, Any] | None:
    """The JSON object of a request body, ``None`` when there is none to parse."""
    if not body or not body.strip():
        return None
    if content_type is not None and "json" not in content_type.lower():
        return None
    # res/res_ari.c: a body ast_http_get_json cannot parse (errno EIO) is 400 "Error
    # parsing request body": what jansson refuses (_jansson: nesting beyond 2048 levels,
    # integers beyond 64 bits, a top level that is no object or array...)
    try:
        parsed = loads_like_jansson(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AriError(400, "Error parsing request body") from exc
    if isinstance(parsed, dict):
        return parsed
    return None


def dispatch(
    model: Any,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    body: bytes | None,
    content_type: str | None,
    *,
    parsed_body: dict[str, Any] | None = None,
) -> SimResponse:
    """Serve one ARI request against ``model``; never raises. ``parsed_body``: a body
    already parsed (REST over the websocket), instead of ``body``.

    The answer says how it must wait (``pending``, ``events_first``): the model's
    channel commands run on the channel's control thread (``model/_control_thread.py``).
    """
    model.begin_request()
    try:
        op, path_args = match(method, path)
        if op.handler is None:
            raise AriError(404, "Resource not found")
        body_obj = parse_body(body, content_type) if parsed_body is None else parsed_body
        args = build_args(op, path_args, query, body_obj)
        result = op.handler(model, args)
    except AriError as exc:
        result = exc.response()
    except Exception:  # a simulator bug: answer 500, keep serving, say so in the log
        _log.exception("simulator bug while serving %s %s", method, path)
        result = SimResponse(500, {"message": "Internal simulator error"})
    finally:
        hold = model.end_request()
    if not isinstance(result, SimResponse):
        raise TypeError(f"handler {op.nickname} returned {type(result).__name__}")
    if hold is not None:
        result.pending = hold.pending
        result.events_first = hold.events_first
    return result
