"""What the model answers a request with: a :class:`SimResponse`, or an :class:`AriError`.

Both belong to the model, not the front door, because the model's operations decide
Asterisk's status codes and messages ("Channel not found", 409 "Channel not in Stasis
application"); the front door only writes them out, over HTTP or REST over websocket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    #: set by the dispatcher from :class:`RequestHold`: the answer waits for a command
    #: queued on a channel (``pending``), and comes after the events it caused
    pending: Pending | None = None
    events_first: bool = False

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


class Pending:
    """An answer that exists only once a queued channel command has run.

    Asterisk's ``stasis_app_send_command`` blocks the HTTP thread until the channel's
    control thread has run the command (``command_join`` in ``res/stasis/control.c``).
    The model is synchronous, so it hands the front door this instead: ``settle(None)``
    means "the handler's own answer stands", ``settle(response)`` replaces it (the
    command failed). Pure: callbacks, no event loop.
    """

    __slots__ = ("_callbacks", "outcome", "settled")

    def __init__(self) -> None:
        self.settled = False
        self.outcome: SimResponse | None = None
        self._callbacks: list[Callable[[SimResponse | None], None]] = []

    def settle(self, outcome: SimResponse | None) -> None:
        if self.settled:
            return
        self.settled, self.outcome = True, outcome
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(outcome)

    def then(self, callback: Callable[[SimResponse | None], None]) -> None:
        """Call ``callback(outcome)`` once settled (at once if it already is)."""
        if self.settled:
            callback(self.outcome)
        else:
            self._callbacks.append(callback)


class RequestHold:
    """How the answer to the request being served must wait (one per request).

    ``events_first``: a synchronous channel command ran, and Asterisk delivers the events
    it caused before the HTTP answer (see ``_control_thread``, rule 1). ``pending``: the last
    such command is still queued behind the channel's media (rule 2).
    """

    __slots__ = ("events_first", "pending")

    def __init__(self) -> None:
        self.events_first = False
        self.pending: Pending | None = None
