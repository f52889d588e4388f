"""The real transport on aiohttp: the only module of ``ivrkit.ari`` that imports aiohttp.

:func:`map_aiohttp_exceptions` is the single place where aiohttp (and socket) errors
become ``ivrkit.ari`` errors; every await on aiohttp below runs inside it, so nothing
from aiohttp crosses the package's API (a test raises every aiohttp exception class
through it). Messages name the URL, which never carries credentials: those travel only
in the ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import aiohttp.web

from ivrkit import speedups
from ivrkit.ari._coalesce import READ_SIZE, CoalescingTransport
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


def _connect_failure(exc: BaseException) -> str:
    """Why a connection failed, in the user's terms, without aiohttp's ``ssl:default``.

    aiohttp's text ("Cannot connect to host h:p ssl:default [Connect call failed ...]")
    names its own connector settings; the user needs the reason and what to check.
    """
    try:
        return _reason(exc)
    except Exception:  # a half-built exception must not hide the real failure
        return _describe(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cert_error = exc.certificate_error
        detail = getattr(cert_error, "verify_message", "") or _describe(cert_error)
        return (
            f"the TLS certificate of {exc.host}:{exc.port} is not trusted ({detail}); "
            "pass the CA that signed it (--ca-file / ConnectionConfig.ca_file)"
        )
    if isinstance(exc, aiohttp.ClientConnectorError):
        host, where, cause = exc.host, f"{exc.host}:{exc.port}", exc.os_error
    elif isinstance(exc, OSError):
        host, where, cause = "", "", exc
    else:
        return _describe(exc)
    if isinstance(cause, socket.gaierror):
        name = f" {host!r}" if host else ""
        return f"the host name{name} could not be resolved ({cause.strerror or cause})"
    if isinstance(cause, ssl.SSLError):
        return f"TLS handshake with {where or 'the server'} failed: {cause.reason or cause}"
    code = cause.errno
    at = f" at {where}" if where else ""
    if code == errno.ECONNREFUSED:
        return (
            f"connection refused{at}: nothing listens there (is Asterisk running, and do "
            "the URL's host and port match http.conf's bindaddr and bindport?)"
        )
    if code in (errno.ETIMEDOUT, errno.EHOSTUNREACH, errno.ENETUNREACH):
        return f"{os.strerror(code).lower()}{at} (a firewall, or the wrong address?)"
    if code:
        return f"{os.strerror(code).lower()}{at}"
    return _describe(cause)


@contextmanager
def map_aiohttp_exceptions(method: str, url: str, credentials_source: str = "") -> Iterator[None]:
    """Re-raise aiohttp/socket errors as the most specific :class:`AriError`.

    ``credentials_source`` (``Credentials.source``) is named when Asterisk refuses the
    credentials, so the message points at where they came from.
    """
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
            source = credentials_source or "ConnectionConfig.credentials"
            raise AuthenticationFailed(
                status,
                method,
                path,
                f"Asterisk at {url} refused the credentials from {source}; check that "
                "they match a user and password in ari.conf",
            ) from exc
        if status:
            message = getattr(exc, "message", "") or ""
            raise error_for_status(status, method, path, str(message)) from exc
        raise TransportError(f"{method} {url}: bad response: {_describe(exc)}") from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise Unreachable(f"cannot reach Asterisk at {url}: {_connect_failure(exc)}") from exc
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


def coalesce_writes(ws: aiohttp.ClientWebSocketResponse | aiohttp.web.WebSocketResponse) -> bool:
    """Put a :class:`CoalescingTransport` under ``ws``'s frame writer and shrink its socket
    reads to ``READ_SIZE`` (ari/_coalesce.py says why); True if it could.

    aiohttp has no public hook for either: its ``WebSocketWriter`` keeps the transport in
    ``.transport`` (aiohttp 3.9-3.14, pinned in constraints.txt). If that changes, the
    websocket works as before, only with one send per frame (the write-count test in
    tests/ari/test_coalesce.py fails then, so a new aiohttp cannot slip it past us).
    """
    writer: Any = getattr(ws, "_writer", None)
    transport = getattr(writer, "transport", None)
    if transport is None or isinstance(transport, CoalescingTransport):
        return False
    if getattr(transport, "max_size", 0) > READ_SIZE:
        transport.max_size = READ_SIZE
    writer.transport = CoalescingTransport(transport, asyncio.get_running_loop())
    return True


class AiohttpEventStream:
    """The event websocket; ``receive()`` returns None once it is closed or broken."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, url: str) -> None:
        self._ws = ws
        self._url = url

    async def receive(self) -> str | None:
        # hot path: the error mapper is entered only when there is an error to map
        while True:
            try:
                msg = await self._ws.receive()
            except Exception:
                with map_aiohttp_exceptions("WS", self._url):
                    raise
            if msg.type is aiohttp.WSMsgType.TEXT:
                data: str = msg.data
                return data
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
        except Exception:
            with map_aiohttp_exceptions("WS", self._url):
                raise

    async def close(self) -> None:
        try:
            with map_aiohttp_exceptions("WS", self._url):
                async with asyncio.timeout(2):
                    await self._ws.close()
        except TransportError:
            pass  # closing a broken socket: nothing left to do


class AiohttpTransport:
    """REST over HTTP(S) on a pooled session; the event websocket on a session of its own.

    The websocket gets its own session so that each connection attempt is exactly one
    new TCP connection: on the REST pool, a handshake could go out on a keep-alive
    connection that Asterisk has already dropped (after a restart), and aiohttp would
    then repeat it on a new one. aiohttp repeats any GET once after ``Server
    disconnected`` (``ClientSession._retry_connection``, always on in 3.12+); for REST
    that retry is welcome, for the handshake it would be a second, hidden attempt
    outside the client's backoff, so it is turned off on this session.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        self._config = config
        self._session: aiohttp.ClientSession | None = None
        self._events_session: aiohttp.ClientSession | None = None

    def _new_session(self, connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
        cfg = self._config
        return aiohttp.ClientSession(
            headers={"Authorization": cfg.credentials.authorization_header()},
            timeout=aiohttp.ClientTimeout(
                total=cfg.request_timeout, sock_connect=cfg.connect_timeout
            ),
            connector=connector,
        )

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = self._new_session(aiohttp.TCPConnector(ssl=_ssl_context(self._config)))
        return self._session

    def _get_events_session(self) -> aiohttp.ClientSession:
        if self._events_session is None:
            connector = aiohttp.TCPConnector(ssl=_ssl_context(self._config), force_close=True)
            self._events_session = self._new_session(connector)
            if hasattr(self._events_session, "_retry_connection"):
                self._events_session._retry_connection = False  # one attempt = one try
        return self._events_session

    async def request(self, request: Request) -> Response:
        url = self._config.ari_url + request.path
        session = self._get_session()
        with map_aiohttp_exceptions(request.method, url, self._config.credentials.source):
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
                return Response(status, speedups.loads(text))
            except (ValueError, RecursionError):  # RecursionError: nested too deep
                pass
        return Response(status, text)

    async def connect_events(self) -> EventStream:
        cfg = self._config
        url = cfg.events_url
        params = {"app": ",".join(cfg.apps)}
        if cfg.subscribe_all:
            params["subscribeAll"] = "true"
        session = self._get_events_session()
        with map_aiohttp_exceptions("GET", url, cfg.credentials.source):
            async with asyncio.timeout(cfg.connect_timeout + cfg.request_timeout):
                ws = await session.ws_connect(
                    url, params=params, heartbeat=cfg.heartbeat, autoping=True
                )
        coalesce_writes(ws)
        return AiohttpEventStream(ws, url)

    async def aclose(self) -> None:
        for session in (self._session, self._events_session):
            if session is not None:
                await session.close()
        self._session = self._events_session = None


# -- the server side: Asterisk's outbound websockets connect to us (ari/_listener.py) ----


class AiohttpServerSocket:
    """One accepted websocket, as ``_listener.ServerSocket``."""

    def __init__(self, ws: aiohttp.web.WebSocketResponse, peer: str) -> None:
        self._ws = ws
        self.peer = peer

    @property
    def closed(self) -> bool:
        return self._ws.closed

    async def receive(self) -> str | None:
        while True:
            try:
                msg = await self._ws.receive()
            except (TimeoutError, ConnectionError, RuntimeError):
                return None
            if msg.type is aiohttp.WSMsgType.TEXT:
                data: str = msg.data
                return data
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode("utf-8", "replace")
            if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            return None  # CLOSE, CLOSING, CLOSED, ERROR

    async def send(self, text: str) -> None:
        if self._ws.closed:
            raise Unreachable(f"the websocket from {self.peer} is closed")
        try:
            await self._ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            raise Unreachable(f"the websocket from {self.peer} failed: {exc}") from exc

    async def close(self, code: int = 1000, reason: str = "") -> None:
        if self._ws.closed:
            return
        try:
            async with asyncio.timeout(2):
                await self._ws.close(code=code, message=reason.encode())
        except (ConnectionError, RuntimeError, TimeoutError):
            pass  # closing a broken socket: nothing left to do


class AiohttpWebsocketServer:
    """Accepts websocket upgrades on any path; see ``_listener.OutboundListener``.

    ``vet(headers, peer)`` decides before the upgrade: None accepts, a status refuses
    (401 gets a ``WWW-Authenticate`` challenge). ``serve(socket)`` owns each accepted
    socket until it returns. The subprotocol ``ari`` is chosen when offered.
    """

    def __init__(
        self,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None,
        vet: Callable[[Mapping[str, str], str], int | None],
        serve: Callable[[AiohttpServerSocket], Awaitable[None]],
        heartbeat: float,
        realm: str,
    ) -> None:
        self.host, self.port, self._ssl = host, port, ssl_context
        self._vet, self._serve, self._heartbeat, self._realm = vet, serve, heartbeat, realm
        self._runner: aiohttp.web.AppRunner | None = None

    async def start(self) -> int:
        from aiohttp import web

        app = web.Application()
        app.router.add_get("/{tail:.*}", self._accept)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port, ssl_context=self._ssl).start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        return self.port

    async def _accept(self, request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        from aiohttp import web

        peer = request.remote or "?"
        status = self._vet(request.headers, peer)
        if status is not None:
            headers = {"WWW-Authenticate": self._realm} if status == 401 else None
            return web.Response(status=status, headers=headers)
        ws = web.WebSocketResponse(protocols=("ari",), heartbeat=self._heartbeat)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="expected a websocket upgrade\n")
        await ws.prepare(request)
        coalesce_writes(ws)
        await self._serve(AiohttpServerSocket(ws, peer))
        return ws

    async def aclose(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
