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
3. Errors of the envelope itself: a frame jansson cannot parse → 400 "Failed to parse
   request message JSON" with empty ids and no body; then ``parse_rest_request_msg``
   (``res/ari/ari_websocket_requests.c``) in its order, each 400 "Bad request" with a
   ``message``: "No 'type' property.", "Unknown request type.", "Empty or missing 'uri'
   property.", "Unknown or missing 'method' property." (spelled exactly), "Unable to
   parse 'query_strings' array.", "No 'content_type' for 'message_body'.", "Unknown
   content type.", "Unable to parse 'message_body' as 'application/json'."; a
   ``/ari/``-prefixed uri → 405 "Invalid method"; ``GET events`` → "Can't upgrade to
   websocket from a websocket" (``ast_ari_invoke``).
4. A file answer (getStoredFile) is 406 "Not Acceptable.  Use HTTP GET", no body
   (``send_rest_response`` closes ``response->fd``).

Everything else goes through the same dispatcher as HTTP (``_dispatch.dispatch``), so
both doors answer alike. The simulator is also the benchmark's load generator, so the
per-frame work is one ``json.loads``, one dispatch and one ``json.dumps``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from ivrkit.sim.front import _apidocs
from ivrkit.sim.front._dispatch import dispatch
from ivrkit.sim.front._jansson import loads_like_jansson
from ivrkit.sim.front._wire import compact, compact_deep
from ivrkit.sim.model._replies import SimResponse

_log = logging.getLogger("ivrkit.sim")

#: Methods Asterisk's HTTP layer knows (``ast_get_http_method_from_string``); any other
#: spelling is the "Unknown or missing 'method' property." error.
_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"})

_JSON = "application/json"
#: Compact JSON as Asterisk writes ``message_body`` (``_wire``).
_COMPACT = compact
_FORM = "application/x-www-form-urlencoded"
#: ``send_rest_response``'s reason for a file answer (sic: two spaces)
_NO_FILES = "Not Acceptable.  Use HTTP GET"


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
        try:
            out["message_body"] = _COMPACT(body)
        except RecursionError:  # a client's deep JSON echoed back
            out["message_body"] = compact_deep(body)
    out["application"] = application
    out["timestamp"] = model.timestamp()
    out["asterisk_id"] = model.asterisk_id
    return out


async def serve_in_order(
    text: str,
    *,
    model: Any,
    application: str,
    send: Callable[[dict[str, Any]], None],
    base_path: str | None = None,
    fail: FrameFailure | None = None,
) -> None:
    """Serve one frame and return once it has been answered.

    Asterisk reads a websocket's frames on one thread and handles each before reading
    the next (res/ari/ari_websockets.c: ``while ((msg = session_read(session)))
    ari_websocket_process_request(...)``). A synchronous channel command queued behind
    the channel's media (``_control_thread`` rule 2) keeps that thread in
    ``command_join``, so every later request on the same socket, of any call, waits
    for it too. The session's read loop awaits this before it takes the next frame.
    """
    answered: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def later(answer: dict[str, Any]) -> None:
        send(answer)
        if not answered.done():
            answered.set_result(None)

    reply = handle_frame(
        text, model=model, application=application, base_path=base_path, later=later, fail=fail
    )
    if reply is not None:
        send(reply)
        return
    await answered


#: a test's fault hook: (method, path) → the (status, message) to answer instead, or None
FrameFailure = Callable[[str, str], tuple[int, str] | None]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def handle_frame(
    text: str,
    *,
    model: Any,
    application: str,
    later: Callable[[dict[str, Any]], None],
    base_path: str | None = None,
    fail: FrameFailure | None = None,
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
    except ValueError:
        # Asterisk (res/ari/ari_websockets.c, session_read): a text frame that
        # ast_json_load_buf cannot parse (_jansson) gets this 400 RESTResponse and the
        # socket stays open
        return _answer(
            model, application, "", "", 400, "Failed to parse request message JSON", "", None
        )
    if isinstance(request, list):
        request = {}  # an array has no properties: "No 'type' property."
    tid = _text(request.get("transaction_id"))
    rid = _text(request.get("request_id"))
    try:
        return _serve(request, model, application, tid, rid, base_path, later, fail)
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


def _bad(
    model: Any, application: str, tid: str, rid: str, uri: str, message: str
) -> dict[str, Any]:
    """``SET_RESPONSE_AND_EXIT(400, "Bad request", message)``."""
    return _answer(model, application, tid, rid, 400, "Bad request", uri, {"message": message})


def _serve(
    request: dict[str, Any],
    model: Any,
    application: str,
    tid: str,
    rid: str,
    base_path: str | None,
    later: Callable[[dict[str, Any]], None],
    fail: FrameFailure | None = None,
) -> dict[str, Any] | None:
    # parse_rest_request_msg (res/ari/ari_websocket_requests.c), its checks in its order;
    # a property that is not a string reads as absent (ast_json_string_get → NULL)
    kind = _text(request.get("type"))
    if not kind:
        return _bad(model, application, tid, rid, "", "No 'type' property.")
    if kind != "RESTRequest":
        return _bad(model, application, tid, rid, "", "Unknown request type.")
    uri = _text(request.get("uri"))
    if not uri:
        return _bad(model, application, tid, rid, "", "Empty or missing 'uri' property.")
    path, _, query_text = uri.partition("?")
    method = _text(request.get("method"))
    if method not in _METHODS:  # ast_get_http_method_from_string: exact spelling
        return _bad(model, application, tid, rid, path, "Unknown or missing 'method' property.")
    query = parse_qsl(query_text, keep_blank_values=True) if query_text else []
    pairs = _name_value_pairs(request.get("query_strings"))
    if pairs is None:
        return _bad(model, application, tid, rid, path, "Unable to parse 'query_strings' array.")
    query.extend(pairs)
    message_body = _text(request.get("message_body"))
    body: dict[str, Any] | None = None
    if message_body:
        content_type = _text(request.get("content_type"))
        if not content_type:
            return _bad(model, application, tid, rid, path, "No 'content_type' for 'message_body'.")
        if content_type == _FORM:
            query.extend(parse_qsl(message_body, keep_blank_values=True))
        elif content_type == _JSON:
            try:
                parsed = loads_like_jansson(message_body)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict | list):  # jansson: an object or an array
                why = "Unable to parse 'message_body' as 'application/json'."
                return _bad(model, application, tid, rid, path, why)
            if isinstance(parsed, dict):  # an array reaches no handler's parameters
                body = parsed
        else:
            return _bad(model, application, tid, rid, path, "Unknown content type.")
    if path.startswith("/ari/"):
        invalid = {"message": "Invalid method"}
        return _answer(model, application, tid, rid, 405, "Method Not Allowed", path, invalid)
    if method == "GET" and path.strip("/") == "events":
        # ast_ari_invoke: the events handler is a websocket one, source is a websocket
        why = "Can't upgrade to websocket from a websocket"
        return _bad(model, application, tid, rid, path, why)
    if path.startswith("api-docs/") and path.endswith(".json") and method == "GET":
        doc = _apidocs.render(path[len("api-docs/") : -len(".json")], base_path or "")
        if doc is not None:
            return _answer(model, application, tid, rid, 200, "OK", path, doc)
    failure = None if fail is None else fail(method, path)
    if failure is not None:  # a test's fault rule (control/_faults.py)
        failed = SimResponse(failure[0], {"message": failure[1]})
        return _respond(model, application, tid, rid, path, failed)
    result = dispatch(model, method, path, query, None, None, parsed_body=body)
    if result.pending is not None:
        answer = result

        def settled(outcome: SimResponse | None) -> None:
            final = outcome or answer
            later(_respond(model, application, tid, rid, path, final))

        result.pending.then(settled)
        return None
    return _respond(model, application, tid, rid, path, result)


def _respond(
    model: Any, application: str, tid: str, rid: str, path: str, result: SimResponse
) -> dict[str, Any]:
    """``send_rest_response``: an answer that is a file (``response->fd``, only
    ``GET /recordings/stored/{name}/file``) cannot go over the websocket: Asterisk closes
    it and answers 406 "Not Acceptable.  Use HTTP GET" (two spaces) with no body."""
    if isinstance(result.body, bytes):
        return _answer(model, application, tid, rid, 406, _NO_FILES, path, None)
    return _answer(model, application, tid, rid, result.status, result.reason, path, result.body)


def _name_value_pairs(value: Any) -> list[tuple[str, str]] | None:
    """``ast_json_nvp_array_to_ast_variables``: an empty or absent array (anything that
    is not an array has size 0) adds nothing; each item must be an object with string
    ``name`` and ``value``, else the whole array is refused (``None``)."""
    if not isinstance(value, list):
        return []
    pairs = []
    for item in value:
        if not isinstance(item, dict):
            return None
        name, val = item.get("name"), item.get("value")
        if not isinstance(name, str) or not isinstance(val, str):
            return None
        pairs.append((name, val))
    return pairs
