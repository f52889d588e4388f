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
* the websocket handshake never offers an extension (``res/res_http_websocket.c``
  writes ``Upgrade``, ``Connection``, ``Sec-WebSocket-Accept`` and
  ``Sec-WebSocket-Protocol`` only): no permessage-deflate, whatever the client asks.
"""

from __future__ import annotations

import json

from ivrkit.sim.model._objects import ASTERISK_VERSION

#: jansson ``JSON_COMPACT`` as Asterisk dumps JSON; one encoder reused (``json.dumps``
#: with ``separators`` would build a new encoder per call)
compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

SERVER = f"Asterisk/{ASTERISK_VERSION}"
CACHE_CONTROL = "no-cache, no-store"
JSON = "application/json"
