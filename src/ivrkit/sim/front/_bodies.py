"""An HTTP request's body as Asterisk 20.20.1 reads it, before anything else is looked at.

``ast_ari_callback`` (``res/res_ari.c``) reads the body first, before the user is
authenticated and before the path is matched, so a bad body is answered 400/413 even
without credentials or on a path that does not exist. It reads it only for two content
types (``main/http.c``: ``get_content_type`` keeps what comes before ``;``, compared
case-insensitively):

* ``application/x-www-form-urlencoded`` (``ast_http_get_post_vars``): the pairs are
  parameters like the query string's, listed before it (``get_params`` is appended to
  ``post_vars``), so the query's value of a repeated name wins;
* ``application/json`` (``ast_http_get_json``): parsed by jansson (``_jansson``);
  refused → 400 "Error parsing request body".

Any other or no content type: the body is not read, so it is ignored. A body over
``MAX_CONTENT_LENGTH`` (40960 bytes, ``main/http.c``) is ``EFBIG``: 413 "Request Entity
Too Large" ``{"message": "Request body too large"}`` and the connection is closed
(``HTTP_FLAG_CLOSE_ON_COMPLETION``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from ivrkit.sim.front._jansson import loads_like_jansson
from ivrkit.sim.front._wire import JSON, compact

_log = logging.getLogger("ivrkit.sim")

#: ``MAX_CONTENT_LENGTH`` in main/http.c (not a LOW_MEMORY build)
MAX_CONTENT_LENGTH = 40960
FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True)
class Body:
    """What a request's body adds: form pairs, or a JSON object (``None``: none)."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    json: dict[str, Any] | None = None


NO_BODY = Body()


def _refusal(status: int, reason: str, message: str, *, close: bool) -> web.Response:
    response = web.Response(
        status=status, reason=reason, body=compact({"message": message}).encode()
    )
    response.content_type = JSON
    if close:
        response.force_close()
    return response


async def read_body(request: web.Request) -> Body | web.Response:
    """The request's :class:`Body`, or Asterisk's answer refusing it (module docstring)."""
    if not request.body_exists:
        return NO_BODY
    kind = request.headers.get("Content-Type", "").partition(";")[0].lower()
    if kind != JSON and kind != FORM:
        return NO_BODY  # not read (aiohttp discards it)
    length = request.content_length
    if length is not None and length > MAX_CONTENT_LENGTH:
        return _refusal(413, "Request Entity Too Large", "Request body too large", close=True)
    try:
        data = await request.content.read(MAX_CONTENT_LENGTH + 1)
    except ConnectionResetError:
        # the client went away before its body was complete: nobody is left to answer
        # (the 400 is only for the log); not a simulator fault
        _log.debug("%s %s: the client closed before its body ended", request.method, request.path)
        return _refusal(400, "Bad Request", "Error parsing request body", close=True)
    if len(data) > MAX_CONTENT_LENGTH:  # chunked, and too long
        return _refusal(413, "Request Entity Too Large", "Request body too large", close=True)
    if not data:
        return NO_BODY
    if kind == FORM:
        text = data.decode("utf-8", "replace")
        return Body(pairs=parse_qsl(text, keep_blank_values=True))
    try:
        parsed = loads_like_jansson(data)
    except (ValueError, UnicodeDecodeError):
        return _refusal(400, "Bad Request", "Error parsing request body", close=False)
    # an array is a body no handler reads a parameter from (ast_json_object_get)
    return Body(json=parsed) if isinstance(parsed, dict) else NO_BODY
