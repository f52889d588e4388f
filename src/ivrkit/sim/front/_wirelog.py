"""The HTTP server's own log: a malformed request is one line, not a traceback.

aiohttp answers a request line or header over its 8190-byte limit (and any other HTTP it
cannot parse) with 400 by itself, then logs ``Error handling request`` with the parser's
full traceback at ERROR. A client's bad bytes are not a simulator fault, and a fuzzer or
a scanner would fill the log with tracebacks, so such records become one WARNING line
naming the status and the parser's reason. Every other record (a real bug) keeps its
traceback. Asterisk's own HTTP server likewise answers and moves on.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

_DETAIL_LIMIT = 160


class OneLineBadRequests(logging.LoggerAdapter):  # type: ignore[type-arg]
    """``aiohttp.server``'s logger, with parse errors shortened to one line."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__(logger or logging.getLogger("aiohttp.server"), {})

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):
            detail = " ".join(str(exc.message).split())
            if len(detail) > _DETAIL_LIMIT:
                detail = detail[:_DETAIL_LIMIT] + "…"
            kwargs["exc_info"] = None
            level = logging.WARNING
            msg = f"{msg} (answered {exc.code}): {detail.replace('%', '%%')}"
        super().log(level, msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs
