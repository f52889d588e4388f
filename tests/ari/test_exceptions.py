"""Status codes map to typed errors, and no aiohttp exception leaks through the mapper."""

import inspect

import aiohttp
import pytest

from ivrkit.ari import (
    AriError,
    AriHTTPError,
    AuthenticationFailed,
    BadRequest,
    Conflict,
    NotFound,
    PreconditionFailed,
    RequestTimeout,
    ServerError,
    TransportError,
    Unprocessable,
    Unreachable,
)
from ivrkit.ari._aiohttp import map_aiohttp_exceptions
from ivrkit.ari._exceptions import error_for_status


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequest),
        (401, AuthenticationFailed),
        (403, AuthenticationFailed),
        (404, NotFound),
        (409, Conflict),
        (412, PreconditionFailed),
        (422, Unprocessable),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[AriHTTPError]) -> None:
    err = error_for_status(status, "DELETE", "/playbacks/pb-1", {"message": "Playback not found"})
    assert type(err) is cls
    assert (err.status, err.method, err.path) == (status, "DELETE", "/playbacks/pb-1")
    assert err.message == "Playback not found"
    assert "DELETE /playbacks/pb-1 -> " in str(err)


def test_other_status_is_base_class_and_error_key_is_read() -> None:
    err = error_for_status(405, "PUT", "/channels", {"message": "Invalid method"})
    assert type(err) is AriHTTPError
    # Asterisk's originate 500 uses "error", not "message" (protocol-catalog trace)
    assert error_for_status(500, "POST", "/channels", {"error": "Allocation failed"}).message == (
        "Allocation failed"
    )


def _aiohttp_exception_classes() -> list[type[BaseException]]:
    found = set()
    for name in dir(aiohttp):
        obj = getattr(aiohttp, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            found.add(obj)
    return sorted(found, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _aiohttp_exception_classes(), ids=lambda c: c.__name__)
def test_no_aiohttp_exception_leaks(cls: type[BaseException]) -> None:
    exc = cls.__new__(cls)
    if not issubclass(cls, Exception):
        pytest.skip("BaseException subclasses (none expected) are not errors to map")
    with pytest.raises(AriError) as info, map_aiohttp_exceptions("GET", "http://h:1/ari/x"):
        raise exc
    assert info.value.__cause__ is exc


def test_specific_mappings() -> None:
    url = "http://127.0.0.1:9/ari/asterisk/info"
    with pytest.raises(RequestTimeout), map_aiohttp_exceptions("GET", url):
        raise TimeoutError()
    with pytest.raises(Unreachable, match=r"127\.0\.0\.1:9"), map_aiohttp_exceptions("GET", url):
        raise ConnectionRefusedError(111, "Connection refused")
    with pytest.raises(AuthenticationFailed), map_aiohttp_exceptions("GET", url):
        raise aiohttp.WSServerHandshakeError(None, (), status=401, message="Unauthorized")  # type: ignore[arg-type]
    with pytest.raises(TransportError), map_aiohttp_exceptions("WS", url):
        raise aiohttp.WebSocketError(1002, "protocol error")
