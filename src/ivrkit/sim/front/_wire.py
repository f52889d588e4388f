"""What Asterisk's HTTP server puts on the wire besides the body, and how it writes JSON.

Facts from Asterisk 20.20.1 (quoted, not copied):

* JSON is compact: ``ast_ari_json_format()`` defaults to ``AST_JSON_COMPACT`` (jansson's
  ``JSON_COMPACT``: no space after ``,`` and ``:``), for HTTP bodies and websocket
  events alike, and non-ASCII text is written as UTF-8, not ``\\u`` escapes;
* every HTTP answer carries ``Server: Asterisk/<version>`` (``main/http.c``:
  ``"Asterisk/%s"`` with ``ast_get_version()``, unless ``servername`` is set) and,
  for generated content, ``Cache-Control: no-cache, no-store``;
* ``Content-type: application/json`` only when there is a body (``res/res_ari.c``); a
  204 has no content type;
* the websocket handshake never offers an extension: ``ast_websocket_uri_cb``
  (``res/res_http_websocket.c``) prints the 101 itself, ``HTTP/1.1 101 Switching
  Protocols`` then exactly ``Upgrade: <the client's Upgrade value>``, ``Connection:
  Upgrade``, ``Sec-WebSocket-Accept`` and, only when the client named protocols,
  ``Sec-WebSocket-Protocol: <the one chosen>``: no ``Date``, no ``Server``, no
  permessage-deflate, whatever the client asks (:func:`asterisk_101`);
* a text frame over 65,527 bytes closes the socket with 1009 (:data:`MAX_FRAME_PAYLOAD`);
* a client that names protocols of which none is ``ari`` (the one protocol
  ``ari_websockets.c`` registers) gets ``websocket_bad_request``: 400 "Bad Request"
  with ``Sec-WebSocket-Version: 7, 8, 13`` and no body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping

from aiohttp import web

from ivrkit.sim.front._jansson import with_recursion_room
from ivrkit.sim.model._objects import ASTERISK_VERSION

#: jansson ``JSON_COMPACT`` as Asterisk dumps JSON; one encoder reused (``json.dumps``
#: with ``separators`` would build a new encoder per call)
compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def compact_deep(value: object) -> str:
    """``compact`` for a value nested deeper than Python's recursion limit allows (a
    client's JSON echoed back: jansson accepts 2048 levels, ``_jansson``). Call sites
    use ``compact`` and fall back to this on ``RecursionError``, so that the common case
    costs nothing."""
    return with_recursion_room(compact, value)


SERVER = f"Asterisk/{ASTERISK_VERSION}"
CACHE_CONTROL = "no-cache, no-store"
JSON = "application/json"

#: the subprotocol of ARI's websocket (``ast_websocket_sub_protocol_alloc("ari")``)
ARI_PROTOCOL = "ari"
#: the largest text frame payload Asterisk reads from a client: ``ast_websocket_read``
#: closes the session with 1009 when header + payload exceed
#: ``AST_WEBSOCKET_MAX_RX_PAYLOAD_SIZE`` 65535 (include/asterisk/http_websocket.h), and
#: a client's frame of that size has an 8-byte header (2 + 16-bit length + mask)
MAX_FRAME_PAYLOAD = 65535 - 8
#: ``websocket_bad_request``'s one header
BAD_REQUEST_VERSIONS = "7, 8, 13"


def asterisk_101(headers: MutableMapping[str, str], client_upgrade: str) -> None:
    """Make the headers of a 101 those Asterisk prints (module docstring), in its order:
    the server's own headers go, ``Connection`` is spelled ``Upgrade``, and ``Upgrade``
    echoes the client's value (Asterisk prints the header it was sent)."""
    for name in ("Date", "Server", "Cache-Control"):
        headers.pop(name, None)
    headers["Upgrade"] = client_upgrade
    headers["Connection"] = "Upgrade"


def handshake_refusal(headers: Mapping[str, str]) -> web.Response | None:
    """``ast_websocket_uri_cb``'s refusals, in its order, before the application checks:
    not an upgrade to websocket: 426 (an ``ast_http_error`` page); protocols named but
    not ``ari``, or a version other than 7, 8 or 13: ``websocket_bad_request``."""
    upgrade = headers.get("Upgrade")
    if upgrade is None or upgrade.lower() != "websocket":
        page = error_page(426, "Upgrade Required", "")
        return web.Response(status=426, text=page, content_type="text/html")
    protocols = headers.get("Sec-WebSocket-Protocol")
    named = protocols is not None and protocols.strip() != ""
    if named and ARI_PROTOCOL not in (p.strip() for p in (protocols or "").split(",")):
        return _bad_request()
    if headers.get("Sec-WebSocket-Version", "").strip() not in ("7", "8", "13"):
        return _bad_request()
    return None


def _bad_request() -> web.Response:
    return web.Response(status=400, headers={"Sec-WebSocket-Version": BAD_REQUEST_VERSIONS})


def error_page(status: int, title: str, text: str) -> str:
    """``ast_http_create_response``'s HTML page (``ast_http_error``)."""
    return (
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\r\n'
        f"<html><head>\r\n<title>{status} {title}</title>\r\n</head><body>\r\n"
        f"<h1>{title}</h1>\r\n<p>{text}</p>\r\n"
        f"<hr />\r\n<address>{SERVER}</address>\r\n</body></html>\r\n"
    )
