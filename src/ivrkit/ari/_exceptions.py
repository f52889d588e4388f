"""The errors ``ivrkit.ari`` raises, grouped by what the caller can do about them.

::

    AriError
    ├── TransportError            the request may or may not have reached Asterisk
    │   ├── Unreachable           no connection (refused, DNS, TLS, reset); retry later
    │   └── RequestTimeout        no answer in time; the operation's outcome is unknown
    ├── AriHTTPError              Asterisk answered with an error status
    │   ├── BadRequest            400: a parameter is wrong; fix the call
    │   ├── AuthenticationFailed  401/403: wrong user or password; fix the credentials
    │   ├── NotFound              404: the resource is gone (often a hang-up race)
    │   ├── Conflict              409: wrong state (e.g. channel not in Stasis)
    │   ├── PreconditionFailed    412: a precondition failed (e.g. channel not answered)
    │   ├── Unprocessable         422: the request is valid but cannot be applied
    │   └── ServerError           5xx: Asterisk failed; the message says why
    └── ApplicationReplacedError  another client took over our application name
    ClientClosedError (RuntimeError)  misuse: the client is not open

Lower-layer (aiohttp) exceptions never cross this package's API: ``ivrkit.ari._aiohttp``
holds the single context manager that maps them to the classes above, chained with
``from``.
"""

from __future__ import annotations

from typing import Any


class AriError(Exception):
    """Base class of every error this package raises on purpose."""


class TransportError(AriError):
    """The request or the event stream failed below HTTP; its outcome is unknown."""


class Unreachable(TransportError):
    """No connection to Asterisk: check the URL, that Asterisk runs and that TLS matches."""


class RequestTimeout(TransportError):
    """Asterisk did not answer in time; the operation may or may not have happened."""


class AriHTTPError(AriError):
    """Asterisk answered ``status`` to ``method path``; ``message`` is Asterisk's own text."""

    def __init__(self, status: int, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        super().__init__(f"{method} {path} -> {status}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.status, self.method, self.path, self.message))


class BadRequest(AriHTTPError):
    """400: a parameter is missing or invalid; fix the call."""


class AuthenticationFailed(AriHTTPError):
    """401/403: Asterisk refused the credentials; set ARI_USER/ARI_PASSWORD correctly."""


class NotFound(AriHTTPError):
    """404: the channel, playback or bridge does not exist (any more)."""


class Conflict(AriHTTPError):
    """409: the resource is in the wrong state, e.g. the channel is not in Stasis."""


class PreconditionFailed(AriHTTPError):
    """412: a precondition failed, e.g. the channel is not answered yet."""


class Unprocessable(AriHTTPError):
    """422: well-formed but not applicable, e.g. channel not in this bridge."""


class ServerError(AriHTTPError):
    """5xx: Asterisk failed to carry the request out; its message says why."""


class ApplicationReplacedError(AriError):
    """Another client connected with our application name; we stopped instead of fighting.

    Start only one process per application name, or use distinct names.
    """


class ClientClosedError(RuntimeError):
    """The client is not open (never opened, or already closed): open it with ``async with``."""


_STATUS_CLASSES: dict[int, type[AriHTTPError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: AuthenticationFailed,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: Unprocessable,
}


def error_for_status(status: int, method: str, path: str, body: object) -> AriHTTPError:
    """The most specific :class:`AriHTTPError` for an error response.

    Asterisk puts its text under ``message`` and, for some 500s, under ``error``
    (``{"error": "Allocation failed"}`` on originate; see the protocol-catalog trace).
    """
    message = ""
    if isinstance(body, dict):
        text = body.get("message", body.get("error", ""))
        message = text if isinstance(text, str) else str(text)
    elif isinstance(body, str):
        message = body.strip()[:200]
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else AriHTTPError
    return cls(status, method, path, message or "(no message)")
