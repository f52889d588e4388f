"""The listener for Asterisk's outbound ARI websockets (Asterisk 20.15+, 21.10+, 22.5+).

Theory of operation
-------------------
With ``ari.conf`` ``type=outbound_websocket`` Asterisk connects to *us*: its
``res_websocket_client`` sends ``GET /<path of the configured uri>`` with the
``Sec-WebSocket-Protocol`` of ``websocket_client.conf`` ``protocols`` (``ari``) and, if
``username``/``password`` are set, ``Authorization: Basic``. It adds no query string
(``res/ari/ari_websockets.c`` never sets ``uri_params``). Everything then flows over
that one socket: events out, REST in as ``RESTRequest`` frames answered by
``RESTResponse`` frames (authorised as ``local_ari_user``), so there is no HTTP at all.

Asterisk registers the apps before the socket exists and queues the events meanwhile
(``session_send_or_queue``), so the first frame on a new socket is the queued
``ApplicationRegistered``; its ``application`` tells the two connection types apart:

* ``persistent``: one socket for every call of ``apps``, opened at start-up and retried
  forever every ``reconnect_interval`` ms. While it is down the apps stay registered:
  calls still enter ``Stasis()`` and their events are queued, then written on reconnect,
  followed by one ``ApplicationRegistered`` per app. Here, one :class:`AriClient` lives
  per (Asterisk entity id, app): a new socket of the same pair is its "reconnect", so its
  supervisor re-syncs and its calls carry on.
* ``per_call_config``: ``Stasis(app)`` opens one socket per call (``reconnect_attempts``
  tries; if all fail, ``STASISSTATUS=FAILED`` and the dialplan goes on) and registers the
  app as ``<app>:<channel name>`` (``ast_ari_create_per_call_websocket``); Asterisk
  closes it 3 s after that channel's ``StasisEnd`` (``STASIS_END_POST_WAIT_US``). Here,
  one client per socket, closed with it.

Invariants:
1. Nothing is served before the upgrade request's credentials match (401 otherwise,
   compared in constant time); credentials come from the environment or a file.
2. A socket for an app we do not serve is closed with 1008 and a line saying which app
   it asked for and which we serve: a misconfigured ``apps=`` is visible at once.
3. A client's REST never waits for a socket that is gone: it fails with ``Unreachable``
   (as the HTTP client does while Asterisk is away).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ivrkit import speedups
from ivrkit.ari._client import AriClient
from ivrkit.ari._config import ConnectionConfig, Credentials
from ivrkit.ari._exceptions import AriError, Unreachable
from ivrkit.ari._transport import EventStream, Request, Response

if TYPE_CHECKING:
    from ivrkit.ari._aiohttp import AiohttpWebsocketServer

logger = logging.getLogger("ivrkit.ari.outbound")

ConnectionType = Literal["persistent", "per_call_config"]

#: how long a new socket may take to say which application it is for
FIRST_FRAME_TIMEOUT = 10.0
#: how long a closed per-call socket's last events may take to be served
SETTLE_TIMEOUT = 10.0
_REALM = 'Basic realm="ivrkit outbound ARI"'
#: Asterisk reconnects at once after a refused socket (outbound_session_handler_thread
#: loops straight back to connect): one warning per kind and host in this many seconds
REFUSAL_LOG_INTERVAL = 60.0
_POLICY_VIOLATION = 1008  # RFC 6455: the socket breaks our policy (an app we do not serve)


class ServerSocket(Protocol):
    """One accepted websocket (``_aiohttp.AiohttpServerSocket`` is the real one)."""

    peer: str

    @property
    def closed(self) -> bool: ...

    async def receive(self) -> str | None:
        """The next text frame; None once the socket is closed or broken."""
        ...

    async def send(self, text: str) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class OutboundSession:
    """Who connected: the Asterisk (entity id, address), the app it registered, the type."""

    application: str
    asterisk_id: str
    peer: str
    connection_type: ConnectionType

    @property
    def label(self) -> str:
        return f"{self.application!r} from Asterisk {self.asterisk_id or '?'} at {self.peer}"


class _Refusals:
    """Warnings about refused sockets, at most one per (kind, Asterisk host, app) per
    ``interval``; the next one says how many were not logged. Without it a misconfigured
    section writes a line per reconnect, hundreds a second."""

    def __init__(
        self, interval: float = REFUSAL_LOG_INTERVAL, clock: Callable[[], float] | None = None
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._seen: dict[tuple[str, ...], tuple[float, int]] = {}  # key -> (logged at, since)

    def warn(self, key: tuple[str, ...], message: str, *args: object) -> None:
        now = self._clock() if self._clock is not None else asyncio.get_running_loop().time()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval:
            self._seen[key] = (seen[0], seen[1] + 1)
            return
        if len(self._seen) >= 1024:  # many hosts or apps: forget the old ones
            self._seen.clear()
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            message += " (%d more like it in the last %.0f s)"
            args = (*args, seen[1], now - seen[0])
        logger.warning(message, *args)


def _host(peer: str) -> str:
    return peer.rpartition(":")[0] or peer


class _ServerStream:
    """One accepted socket as the client's :class:`EventStream`; its frames are fed by
    the listener, which reads the socket from the start (to learn who connected)."""

    def __init__(self, sock: ServerSocket) -> None:
        self.sock = sock
        self._frames: asyncio.Queue[str | None] = asyncio.Queue()
        #: per_call_config: no socket follows this one (see ``receive``)
        self.last = False
        self.drained = asyncio.Event()
        self.saw_end = False  # a StasisEnd went through: the call (or a leg) ended

    def feed(self, text: str | None) -> None:
        self._frames.put_nowait(text)

    async def receive(self) -> str | None:
        text = await self._frames.get()
        if text is None:
            if self.last:
                # a per-call socket's end: its frames are all delivered; the client is
                # closed by the listener, not reconnected by its supervisor
                self.drained.set()
                await asyncio.get_running_loop().create_future()
            self._frames.put_nowait(None)  # stays closed for any later reader
        return text

    async def send(self, text: str) -> None:
        await self.sock.send(text)

    async def close(self) -> None:
        self.feed(None)
        await self.sock.close()


class _SocketTransport:
    """The client's transport: each "connect" is the next socket Asterisk opened for it."""

    def __init__(self, first: _ServerStream) -> None:
        self._sockets: asyncio.Queue[_ServerStream] = asyncio.Queue()
        self._sockets.put_nowait(first)
        self.current: _ServerStream | None = None

    def offer(self, stream: _ServerStream) -> None:
        self._sockets.put_nowait(stream)

    async def request(self, request: Request) -> Response:
        # REST only travels over the socket (the supervisor sends it there while it is up)
        raise Unreachable(
            f"{request.method} {request.path}: Asterisk's outbound websocket is down "
            "(Asterisk reconnects every reconnect_interval ms)"
        )

    async def connect_events(self) -> EventStream:
        # Blocks until Asterisk connects again: it is the one who retries (a per-call
        # client is closed with its socket, so it never gets here a second time).
        self.current = await self._sockets.get()
        return self.current

    async def aclose(self) -> None:
        if self.current is not None:
            await self.current.close()
        while not self._sockets.empty():
            await self._sockets.get_nowait().close()


@dataclass(eq=False)
class _Served:
    session: OutboundSession
    client: AriClient
    transport: _SocketTransport
    task: asyncio.Task[None] | None = None
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class OutboundListener:
    """Accepts Asterisk's outbound ARI websockets and serves each through an AriClient.

    ``on_client(client, session)`` runs before each new client opens (attach a
    ``MenuRunner`` there); ``on_closed(client, session)`` after it closed. When a
    per-call socket closes, ``await on_ended(client, session)`` runs once its last events
    are delivered, before the client closes (wait there for the runner to finish the
    call: ``runner.wait_no_calls()``). ``apps`` are
    the ``ari.conf`` ``apps`` we serve; ``credentials`` what ``websocket_client.conf``
    ``username``/``password`` hold. ``ssl_context`` makes it ``wss://``.
    """

    def __init__(
        self,
        *,
        apps: tuple[str, ...],
        credentials: Credentials,
        on_client: Callable[[AriClient, OutboundSession], None],
        on_closed: Callable[[AriClient, OutboundSession], object] | None = None,
        on_ended: Callable[[AriClient, OutboundSession], Awaitable[None]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        request_timeout: float = 10.0,
        heartbeat: float = 10.0,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        if not apps or not all(apps):
            raise ValueError("apps must name at least one Stasis application")
        self.apps = apps
        self.host = host
        self.port = port
        self._credentials = credentials
        self._expected = credentials.authorization_header().encode()
        self._on_client = on_client
        self._on_closed = on_closed
        self._on_ended = on_ended
        self._ssl = ssl_context
        self._request_timeout = request_timeout
        self._heartbeat = heartbeat
        self._client_options = dict(client_options or {})
        self._persistent: dict[tuple[str, str], _Served] = {}
        self._served: set[_Served] = set()
        self._server: AiohttpWebsocketServer | None = None
        self._closing = False
        self.refused = 0  # sockets turned away (credentials, unknown app)
        self._refusals = _Refusals()

    @property
    def scheme(self) -> str:
        return "wss" if self._ssl is not None else "ws"

    @property
    def clients(self) -> list[AriClient]:
        return [s.client for s in self._served]

    async def start(self) -> None:
        from ivrkit.ari._aiohttp import AiohttpWebsocketServer

        self._server = AiohttpWebsocketServer(
            self.host, self.port, self._ssl, self._vet, self._accept, self._heartbeat, _REALM
        )
        self.port = await self._server.start()

    async def aclose(self) -> None:
        """Close every client (their sockets with them) and stop listening; idempotent."""
        self._closing = True
        served = list(self._served)
        await asyncio.gather(*(s.client.aclose() for s in served), return_exceptions=True)
        tasks = [s.task for s in served if s.task is not None]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        server, self._server = self._server, None
        if server is not None:
            await server.aclose()

    async def __aenter__(self) -> OutboundListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- accepting ---------------------------------------------------------------------

    def _vet(self, headers: Mapping[str, str], peer: str) -> int | None:
        """Before the upgrade: None to accept, else the HTTP status (invariant 1)."""
        if self._closing:
            return 503
        given = headers.get("Authorization", "").encode()
        if hmac.compare_digest(given, self._expected):
            return None
        self.refused += 1
        kind = "wrong" if "Authorization" in headers else "no"
        self._refusals.warn(
            ("credentials", kind, _host(peer)),
            "outbound ARI websocket from %s refused: %s credentials (websocket_client.conf "
            "username/password must be the ARI_USER/ARI_PASSWORD given to ivrkit)",
            peer,
            kind,
        )
        return 401

    async def _accept(self, sock: ServerSocket) -> None:
        stream = _ServerStream(sock)
        session = await self._identify(sock, stream)
        if session is None:
            return
        served = self._place(session, stream)
        try:
            while (text := await sock.receive()) is not None:
                if '"StasisEnd"' in text:
                    stream.saw_end = True
                stream.feed(text)
        finally:
            if session.connection_type == "per_call_config":
                # the call is over (Asterisk closes 3 s after its StasisEnd): the client
                # goes with its socket instead of waiting for a reconnect that never comes,
                # once the last frames (StasisEnd...) are delivered and served
                # (lost before any StasisEnd: the call goes on in Asterisk, which opens a
                # new socket for it, and the new client adopts it; close this one now)
                stream.last = True
                stream.feed(None)
                if stream.saw_end:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(SETTLE_TIMEOUT):
                            await stream.drained.wait()
                            # drained: every frame read and dispatched, not yet handled
                            # (a call may still answer a PlaybackFinished that came
                            # before its StasisEnd); closing the client then failed that
                            # request and dropped the StasisEnd. Asterisk closes a
                            # per-call socket 3 s after StasisEnd (a stopping one, at
                            # once), so the calls' own ends are awaited, bounded above
                            await served.client.wait_no_calls()
                            if self._on_ended is not None:
                                await self._on_ended(served.client, session)
                await served.client.aclose()
            stream.feed(None)

    async def _identify(self, sock: ServerSocket, stream: _ServerStream) -> OutboundSession | None:
        """Read up to the first frame naming an application; None if the socket is refused."""
        frame: Any = None
        try:
            async with asyncio.timeout(FIRST_FRAME_TIMEOUT):
                while True:
                    text = await sock.receive()
                    if text is None:
                        return None
                    stream.feed(text)
                    with contextlib.suppress(ValueError, RecursionError):
                        frame = speedups.loads(text)
                    if isinstance(frame, dict) and isinstance(frame.get("application"), str):
                        break
        except TimeoutError:
            logger.warning(
                "outbound ARI websocket from %s named no application in %.0f s; closing",
                sock.peer,
                FIRST_FRAME_TIMEOUT,
            )
            await sock.close(_POLICY_VIOLATION, "no application")
            return None
        application: str = frame["application"]
        asterisk_id = str(frame.get("asterisk_id") or "")
        kind: ConnectionType
        if application in self.apps:
            kind = "persistent"
        elif application.partition(":")[0] in self.apps and ":" in application:
            kind = "per_call_config"  # "<app>:<channel name>"
        else:
            self.refused += 1
            self._refusals.warn(
                ("application", application.partition(":")[0], _host(sock.peer)),
                "outbound ARI websocket from %s is for application %r, but this listener "
                "serves %s; closing (check ari.conf apps=)",
                sock.peer,
                application,
                ", ".join(map(repr, self.apps)),
            )
            await sock.close(_POLICY_VIOLATION, "unknown application")
            return None
        return OutboundSession(application, asterisk_id, sock.peer, kind)

    def _place(self, session: OutboundSession, stream: _ServerStream) -> _Served:
        key = (session.asterisk_id, session.application)
        if session.connection_type == "persistent":
            known = self._persistent.get(key)
            if known is not None and not known.ended.is_set():
                logger.info("outbound ARI websocket back: %s", session.label)
                if known.transport.current is not None:
                    known.transport.current.feed(None)  # a socket we missed losing
                known.transport.offer(stream)
                return known
        transport = _SocketTransport(stream)
        config = ConnectionConfig(
            # Asterisk's address, for log lines: nothing is ever sent to it over HTTP
            base_url=f"http://{session.peer}",
            apps=(session.application,),
            credentials=self._credentials,
            rest_transport="websocket",
            request_timeout=self._request_timeout,
        )
        client = AriClient(config, transport=transport, **self._client_options)
        served = _Served(session, client, transport)
        self._on_client(client, session)
        self._served.add(served)
        if session.connection_type == "persistent":
            self._persistent[key] = served
        logger.info(
            "outbound ARI websocket connected: %s (%s)", session.label, session.connection_type
        )
        served.task = asyncio.get_running_loop().create_task(self._serve(served))
        return served

    async def _serve(self, served: _Served) -> None:
        session, client = served.session, served.client
        try:
            async with client:
                await client.wait_stopped()
        except AriError as exc:
            logger.error("outbound ARI websocket %s: %s", session.label, exc)
        except Exception:
            logger.exception("outbound ARI websocket %s failed", session.label)
        finally:
            served.ended.set()
            self._served.discard(served)
            key = (session.asterisk_id, session.application)
            if self._persistent.get(key) is served:
                del self._persistent[key]
            await client.aclose()
            if self._on_closed is not None:
                result = self._on_closed(client, session)
                if isinstance(result, Awaitable):
                    await result
