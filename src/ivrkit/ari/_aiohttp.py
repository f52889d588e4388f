"""The real transport on aiohttp: the only module of ``ivrkit.ari`` that imports aiohttp.

:func:`map_aiohttp_exceptions` is the single place where aiohttp (and socket) errors
become ``ivrkit.ari`` errors; every await on aiohttp below runs inside it, so nothing
from aiohttp crosses the package's API (a test raises every aiohttp exception class
through it). Messages name the URL, which never carries credentials: those travel only
in the ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp

from ivrkit.ari._config import ConnectionConfig
from ivrkit.ari._exceptions import (
    AriError,
    AuthenticationFailed,
    RequestTimeout,
    TransportError,
    Unreachable,
    error_for_status,
)
from ivrkit.ari._transport import EventStream, Request, Response


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # a half-built exception must not hide the real failure
        text = ""
    return text or type(exc).__name__


@contextmanager
def map_aiohttp_exceptions(method: str, url: str) -> Iterator[None]:
    """Re-raise aiohttp/socket errors as the most specific :class:`AriError`."""
    try:
        yield
    except AriError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise RequestTimeout(f"{method} {url}: no answer from Asterisk in time") from exc
    except aiohttp.ClientResponseError as exc:
        status = getattr(exc, "status", 0) or 0
        path = url.split("/ari", 1)[-1] if "/ari" in url else url
        if status in (401, 403):
            raise AuthenticationFailed(
                status,
                method,
                path,
                f"Asterisk at {url} refused the credentials; check ARI_USER/ARI_PASSWORD",
            ) from exc
        if status:
            message = getattr(exc, "message", "") or ""
            raise error_for_status(status, method, path, str(message)) from exc
        raise TransportError(f"{method} {url}: bad response: {_describe(exc)}") from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise Unreachable(f"cannot reach Asterisk at {url}: {_describe(exc)}") from exc
    except (aiohttp.ClientError, aiohttp.WebSocketError, ValueError) as exc:
        raise TransportError(f"{method} {url}: {_describe(exc)}") from exc
    except Exception as exc:
        if not type(exc).__module__.startswith("aiohttp"):
            raise
        raise TransportError(f"{method} {url}: {_describe(exc)}") from exc


def _ssl_context(config: ConnectionConfig) -> ssl.SSLContext | bool:
    if not config.base_url.startswith("https"):
        return False
    ctx = ssl.create_default_context(cafile=config.ca_file)
    if not config.verify_tls:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class AiohttpEventStream:
    """The event websocket; ``receive()`` returns None once it is closed or broken."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, url: str) -> None:
        self._ws = ws
        self._url = url

    async def receive(self) -> str | None:
        while True:
            with map_aiohttp_exceptions("WS", self._url):
                msg = await self._ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                data: str = msg.data
                return data
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def send(self, text: str) -> None:
        with map_aiohttp_exceptions("WS", self._url):
            await self._ws.send_str(text)

    async def close(self) -> None:
        try:
            with map_aiohttp_exceptions("WS", self._url):
                async with asyncio.timeout(2):
                    await self._ws.close()
        except TransportError:
            pass  # closing a broken socket: nothing left to do


class AiohttpTransport:
    """REST over HTTP(S) and the event websocket, on one aiohttp session."""

    def __init__(self, config: ConnectionConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            cfg = self._config
            self._session = aiohttp.ClientSession(
                headers={"Authorization": cfg.credentials.authorization_header()},
                timeout=aiohttp.ClientTimeout(
                    total=cfg.request_timeout, sock_connect=cfg.connect_timeout
                ),
                connector=aiohttp.TCPConnector(ssl=_ssl_context(cfg)),
            )
        return self._session

    async def request(self, request: Request) -> Response:
        url = self._config.ari_url + request.path
        session = self._get_session()
        with map_aiohttp_exceptions(request.method, url):
            async with session.request(
                request.method, url, params=dict(request.params) or None, json=request.json
            ) as resp:
                raw = await resp.read()
                status = resp.status
                content_type = resp.content_type
        if not raw:
            return Response(status, None)
        text = raw.decode("utf-8", "replace")
        if content_type == "application/json" or text[:1] in "{[":
            try:
                return Response(status, jsonlib.loads(text))
            except ValueError:
                pass
        return Response(status, text)

    async def connect_events(self) -> EventStream:
        cfg = self._config
        url = cfg.events_url
        params = {"app": ",".join(cfg.apps)}
        if cfg.subscribe_all:
            params["subscribeAll"] = "true"
        session = self._get_session()
        with map_aiohttp_exceptions("GET", url):
            async with asyncio.timeout(cfg.connect_timeout + cfg.request_timeout):
                ws = await session.ws_connect(
                    url, params=params, heartbeat=cfg.heartbeat, autoping=True
                )
        return AiohttpEventStream(ws, url)

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()
