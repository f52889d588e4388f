"""REST over the events websocket (Asterisk 20.13+/22.3+): ``RESTRequest`` → ``RESTResponse``.

A client may send ARI requests as text frames on its ``/ari/events`` socket instead of
opening HTTP connections. The answers follow what Asterisk 20.20.1 sent in
``shared/asterisk-traces/protocol-catalog.jsonl`` (step 61/62):

1. ``uri`` is relative to ``/ari`` and may carry a query string; ``query_strings``
   (``[{name, value}]``) adds parameters; a body comes as ``content_type`` +
   ``message_body`` (a string). The answer echoes ``uri`` without its query string.
2. The answer's keys, in order: ``type, transaction_id, request_id, status_code,
   reason_phrase, uri, content_type, message_body, application, timestamp,
   asterisk_id``; ``content_type``/``message_body`` are absent when there is no body
   (204); ``message_body`` is the compact JSON text of the body.
3. Errors of the envelope itself: a frame that is not a JSON object → 400 "Failed to
   parse request message JSON" with empty ids and no body; no ``type`` → 400 "Bad
   request" ``{"message": "No 'type' property."}``; another type → "Unknown request
   type."; unknown/missing ``method`` → "Unknown or missing 'method' property."; a
   ``/ari/``-prefixed uri → 405 "Invalid method".

Everything else goes through the same dispatcher as HTTP (``_dispatch.dispatch``), so
both doors answer alike. The simulator is also the benchmark's load generator, so the
per-frame work is one ``json.loads``, one dispatch and one ``json.dumps``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from ivrkit.sim.front import _apidocs
from ivrkit.sim.front._dispatch import dispatch, loads_like_jansson
from ivrkit.sim.front._wire import compact
from ivrkit.sim.model._replies import SimResponse

_log = logging.getLogger("ivrkit.sim")

#: Methods Asterisk's HTTP layer knows (``ast_get_http_method_from_string``); any other
#: spelling is the "Unknown or missing 'method' property." error.
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"})

_JSON = "application/json"
#: Compact JSON as Asterisk writes ``message_body`` (``_wire``).
_COMPACT = compact
_FORM = "application/x-www-form-urlencoded"


def _answer(
    model: Any,
    application: str,
    transaction_id: str,
    request_id: str,
    status: int,
    reason: str,
    uri: str,
    body: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "RESTResponse",
        "transaction_id": transaction_id,
        "request_id": request_id,
        "status_code": status,
        "reason_phrase": reason,
        "uri": uri,
    }
    if body is not None:
        out["content_type"] = _JSON
        out["message_body"] = _COMPACT(body)
    out["application"] = application
    out["timestamp"] = model.timestamp()
    out["asterisk_id"] = model.asterisk_id
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def handle_frame(
    text: str,
    *,
    model: Any,
    application: str,
    base_path: str | None = None,
    later: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    """Serve one websocket text frame; the ``RESTResponse`` message to send back.

    ``base_path`` (``http://<Host of the upgrade request>/ari``) is used for api-docs
    requests (without it their ``basePath`` is empty). Never raises: a simulator bug
    becomes a 500 answer. A request queued on a channel's control thread (behind its
    media, ``model/_control_thread.py``) returns ``None`` and is answered through ``later``
    once it has run (recorded: protocol-catalog step 62, t5).
    """
    try:
        request = loads_like_jansson(text)
    except (ValueError, RecursionError):
        # Asterisk (res/ari/ari_websockets.c, session read): a text frame that
        # ast_json_load_buf cannot parse gets this 400 RESTResponse and the socket stays
        # open. Its jansson stops at a nesting depth of 2048; Python's parser hits its
        # recursion limit somewhat earlier, at about 1,000 levels: both are a 400 here.
        request = None
    if not isinstance(request, dict):
        return _answer(
            model, application, "", "", 400, "Failed to parse request message JSON", "", None
        )
    tid = _text(request.get("transaction_id"))
    rid = _text(request.get("request_id"))
    try:
        return _serve(request, model, application, tid, rid, base_path, later)
    except Exception:  # a simulator bug: answer, keep the socket, say so in the log
        _log.exception("simulator bug while serving a RESTRequest")
        return _answer(
            model,
            application,
            tid,
            rid,
            500,
            "Internal Server Error",
            "",
            {"message": "Internal simulator error"},
        )


def _serve(
    request: dict[str, Any],
    model: Any,
    application: str,
    tid: str,
    rid: str,
    base_path: str | None,
    later: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any] | None:
    kind = request.get("type")
    if kind is None:
        return _answer(
            model, application, tid, rid, 400, "Bad request", "", {"message": "No 'type' property."}
        )
    if kind != "RESTRequest":
        return _answer(
            model,
            application,
            tid,
            rid,
            400,
            "Bad request",
            "",
            {"message": "Unknown request type."},
        )
    path, _, query_text = _text(request.get("uri")).partition("?")
    method = request.get("method")
    if not isinstance(method, str) or method.upper() not in _METHODS:
        body = {"message": "Unknown or missing 'method' property."}
        return _answer(model, application, tid, rid, 400, "Bad request", path, body)
    if path.startswith("/ari/"):
        body = {"message": "Invalid method"}
        return _answer(model, application, tid, rid, 405, "Method Not Allowed", path, body)
    query = parse_qsl(query_text, keep_blank_values=True) if query_text else []
    extra = request.get("query_strings")
    if isinstance(extra, list):
        for item in extra:
            if isinstance(item, dict) and "name" in item:
                query.append((str(item["name"]), str(item.get("value", ""))))
    content_type = request.get("content_type")
    message_body = request.get("message_body")
    raw_body: bytes | None = None
    if isinstance(message_body, str) and message_body:
        if isinstance(content_type, str) and content_type.lower().startswith(_FORM):
            query.extend(parse_qsl(message_body, keep_blank_values=True))
        else:
            raw_body = message_body.encode()
    if path.startswith("api-docs/") and path.endswith(".json") and method.upper() == "GET":
        doc = _apidocs.render(path[len("api-docs/") : -len(".json")], base_path or "")
        if doc is not None:
            return _answer(model, application, tid, rid, 200, "OK", path, doc)
    result = dispatch(
        model,
        method.upper(),
        path,
        query,
        raw_body,
        content_type if isinstance(content_type, str) else None,
    )
    if result.pending is not None and later is not None:
        answer = result

        def settled(outcome: SimResponse | None) -> None:
            final = outcome or answer
            later(
                _answer(model, application, tid, rid, final.status, final.reason, path, final.body)
            )

        result.pending.then(settled)
        return None
    return _answer(model, application, tid, rid, result.status, result.reason, path, result.body)
