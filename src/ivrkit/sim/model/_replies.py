"""What the model answers a request with: a :class:`SimResponse`, or an :class:`AriError`.

Both belong to the model, not the front door, because the model's operations decide
Asterisk's status codes and messages ("Channel not found", 409 "Channel not in Stasis
application"); the front door only writes them out, over HTTP or REST over websocket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

REASONS: Mapping[int, str] = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


@dataclass(slots=True)
class SimResponse:
    """What a handler answers: status, JSON body (``None`` → empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Asterisk's own reason phrase where it is not the standard one ("Invalid Reason")
    phrase: str | None = None

    @property
    def reason(self) -> str:
        return self.phrase or REASONS.get(self.status, "Unknown")


class AriError(Exception):
    """An ARI error answer: ``status`` with body ``{key: message}``.

    ``key`` is ``"message"`` everywhere except the one place Asterisk answers
    ``{"error": "Allocation failed"}`` (originate to an unknown technology).
    """

    def __init__(
        self, status: int, message: str, *, key: str = "message", phrase: str | None = None
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.key = key
        self.phrase = phrase

    def response(self) -> SimResponse:
        return SimResponse(self.status, {self.key: self.message}, phrase=self.phrase)


def ok(body: Any = None, status: int = 200) -> SimResponse:
    """200 with a JSON body (or the given status)."""
    return SimResponse(status, body)


def no_content() -> SimResponse:
    """204, the answer of every ``void`` operation."""
    return SimResponse(204)
