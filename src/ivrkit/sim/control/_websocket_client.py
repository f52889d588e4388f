"""The simulator as Asterisk's outbound ARI websocket client (Asterisk 20.15+/21.10+/22.5+).

Theory of operation
-------------------
``Simulator(outbound=OutboundWebsocket(uri, apps, connection_type))`` is one
``ari.conf`` ``type=outbound_websocket`` with its ``websocket_client.conf`` connection.
It connects to ``uri`` as ``res_websocket_client`` does (``Sec-WebSocket-Protocol`` from
``protocols``, ``Authorization: Basic`` from ``username``/``password``, no query string),
sends events and answers ``RESTRequest`` frames on that socket (front/_restws.py, the
same code as inbound REST over the websocket).

* ``persistent``: the apps are registered at start-up whether or not the server is up
  (``outbound_session_create``); their events are queued while no socket is open and
  written, in order, once one is (``session_send_or_queue``/``session_update``), so the
  first frame is ``ApplicationRegistered``. It retries every ``reconnect_interval``
  forever; after a reconnect the backlog goes first, then one ``ApplicationRegistered``
  per app (``outbound_session_handler_thread``).
* ``per_call_config``: ``Stasis(app)`` with the app unregistered opens one socket for
  that call (``ast_ari_create_per_call_websocket``: ``reconnect_attempts`` tries,
  ``reconnect_interval`` apart) and registers ``<app>:<channel name>``. If it cannot
  connect, ``STASISSTATUS=FAILED`` and the dialplan goes on. The socket is closed 3 s
  after the channel's ``StasisEnd`` (``STASIS_END_POST_WAIT_US``), which lets the
  ``ChannelDestroyed`` that follows still reach the server. A socket lost mid-call is
  retried the same way; if that fails the channel is continued in the dialplan
  (``stasis_app_control_mark_failed`` + ``continue``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
from aiohttp import WSMsgType

from ivrkit.sim.front import _restws
from ivrkit.sim.model._model import SimModel
from ivrkit.sim.model._objects import Channel, JsonDict

_log = logging.getLogger("ivrkit.sim")

#: ``STASIS_END_POST_WAIT_US`` (res/ari/ari_websockets.c): 3 s from StasisEnd to close
STASIS_END_POST_WAIT = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundWebsocket:
    """One ``ari.conf`` ``outbound_websocket`` and its ``websocket_client.conf`` entry.

    ``username``/``password`` default to the simulator's first ARI user. Times are in
    seconds (Asterisk's are in ms: ``connection_timeout = 500`` is 0.5 here).
    ``reconnect_attempts`` counts per-call connection tries; a persistent connection
    always retries forever, as Asterisk's does.
    """

    uri: str
    apps: tuple[str, ...]
    connection_type: Literal["persistent", "per_call_config"] = "persistent"
    username: str | None = None
    password: str | None = None
    protocols: str = "ari"
    connection_timeout: float = 0.5
    reconnect_interval: float = 0.5
    reconnect_attempts: int = 4
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        if isinstance(self.apps, str):
            object.__setattr__(self, "apps", tuple(a.strip() for a in self.apps.split(",")))
        if not self.apps or not all(self.apps):
            raise ValueError("OutboundWebsocket needs apps, e.g. apps=('channel-aa',)")
        if not self.uri.startswith(("ws://", "wss://")):
            raise ValueError(f"OutboundWebsocket uri {self.uri!r} must start with ws:// or wss://")
        if self.connection_type not in ("persistent", "per_call_config"):
            raise ValueError(
                f"connection_type must be 'persistent' or 'per_call_config', "
                f"not {self.connection_type!r}"
            )
        if self.reconnect_attempts < 1 or self.reconnect_interval <= 0:
            raise ValueError("need reconnect_attempts >= 1 and reconnect_interval > 0")


class _Link:
    """One socket's worth of queue, writer and RESTRequest reader (either type)."""

    def __init__(self, model: SimModel, cfg: OutboundWebsocket, http: aiohttp.ClientSession):
        self.model = model
        self.cfg = cfg
        self.http = http
        self.frames: list[str] = []
        self.wake = asyncio.Event()
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.writer: asyncio.Task[None] | None = None
        self.connects = 0

    def sink(self, application: str, ev: JsonDict) -> None:
        self.frames.append(json.dumps(ev))
        self.wake.set()

    def registered(self, app: str) -> None:
        self.sink(
            app,
            {
                "type": "ApplicationRegistered",
                "timestamp": self.model.timestamp(),
                "application": app,
                "asterisk_id": self.model.asterisk_id,
            },
        )

    async def connect_once(self) -> aiohttp.ClientWebSocketResponse | None:
        cfg = self.cfg
        headers = {}
        if cfg.username is not None:  # res_http_websocket: Authorization: Basic user:pass
            token = base64.b64encode(f"{cfg.username}:{cfg.password or ''}".encode())
            headers["Authorization"] = "Basic " + token.decode("ascii")
        try:
            async with asyncio.timeout(cfg.connection_timeout):
                ws = await self.http.ws_connect(
                    cfg.uri,
                    protocols=tuple(p.strip() for p in cfg.protocols.split(",") if p.strip()),
                    headers=headers,
                    autoping=True,
                    ssl=cfg.ssl_context if cfg.ssl_context is not None else True,
                )
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            _log.debug("outbound websocket to %s failed: %s", cfg.uri, exc)
            return None
        self.connects += 1
        return ws

    async def serve(self, ws: aiohttp.ClientWebSocketResponse, application: str) -> None:
        """Write the queue and answer RESTRequests until the socket closes."""
        self.ws = ws
        self.wake.set()
        writer = self.writer = asyncio.get_running_loop().create_task(self._write(ws))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    # one request at a time, answered in turn (_restws.serve_in_order)
                    await _restws.serve_in_order(
                        msg.data, model=self.model, application=application, send=self._answer
                    )
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.ws = None
            await _stopped(writer)
            await ws.close()

    def _answer(self, reply: dict[str, Any]) -> None:
        self.frames.append(json.dumps(reply))
        self.wake.set()

    async def drain(self) -> None:
        """Write what is queued (a simulator that stops still delivers the last
        StasisEnd, as an Asterisk that keeps running would), then close."""
        ws = self.ws
        if ws is None or ws.closed:
            return
        writer, self.writer = self.writer, None
        if writer is not None:
            await _stopped(writer)
        with contextlib.suppress(TimeoutError, ConnectionError, RuntimeError):
            async with asyncio.timeout(2):
                while self.frames and not ws.closed:
                    await ws.send_str(self.frames.pop(0))
        await ws.close()

    async def _write(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while not ws.closed:
            await self.wake.wait()
            self.wake.clear()
            while self.frames and not ws.closed:
                try:
                    await ws.send_str(self.frames[0])
                except (ConnectionError, RuntimeError):
                    return
                self.frames.pop(0)


class PersistentConnection:
    """``connection_type = persistent``: see the module docstring."""

    def __init__(self, model: SimModel, cfg: OutboundWebsocket, http: aiohttp.ClientSession):
        self.link = _Link(model, cfg, http)
        self._task: asyncio.Task[None] | None = None
        self._closing = False  # ari_websockets.c's session->closing: no reconnect after

    @property
    def connected(self) -> bool:
        return self.link.ws is not None

    def start(self) -> None:
        model = self.link.model
        for app in self.link.cfg.apps:
            model.connect_app(app, self.link.sink)
            self.link.registered(app)  # queued: the first frame once a socket is up
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        link, cfg = self.link, self.link.cfg
        while not self._closing:
            ws = await link.connect_once()
            if ws is None:
                await asyncio.sleep(cfg.reconnect_interval)
                continue
            if link.connects > 1:  # backlog first, then the apps again
                for app in cfg.apps:
                    link.registered(app)
            await link.serve(ws, cfg.apps[0])
            if not self._closing:
                _log.warning("outbound websocket to %s disconnected; reconnecting", cfg.uri)

    async def close(self) -> None:
        self._closing = True
        await self.link.drain()
        if self._task is not None:
            await _stopped(self._task)
        for app in self.link.cfg.apps:
            self.link.model.disconnect_app(app, self.link.sink)


class PerCallConnections:
    """``connection_type = per_call_config``: one socket per ``Stasis()`` call."""

    def __init__(self, model: SimModel, cfg: OutboundWebsocket, http: aiohttp.ClientSession):
        self.model = model
        self.cfg = cfg
        self.http = http
        self._tasks: set[asyncio.Task[None]] = set()
        self._links: set[_Link] = set()
        self.connects = 0

    def start(self) -> None:
        for app in self.cfg.apps:
            self.model.per_call_apps[app] = self.connect

    def connect(self, ch: Channel, app: str, args: list[str], where: tuple[str, str, int]) -> None:
        task = asyncio.get_running_loop().create_task(self._call(ch.id, ch.name, app, args, where))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self, link: _Link) -> aiohttp.ClientWebSocketResponse | None:
        for attempt in range(self.cfg.reconnect_attempts):
            if attempt:
                await asyncio.sleep(self.cfg.reconnect_interval)
            ws = await link.connect_once()
            if ws is not None:
                self.connects += 1
                return ws
        _log.warning(
            "per-call websocket to %s failed after %d tries; the dialplan goes on",
            self.cfg.uri,
            self.cfg.reconnect_attempts,
        )
        return None

    async def _call(
        self, channel_id: str, name: str, app: str, args: list[str], where: tuple[str, str, int]
    ) -> None:
        model = self.model
        link = _Link(model, self.cfg, self.http)
        self._links.add(link)
        app_id = f"{app}:{name}"  # ast_ari_create_per_call_websocket's app id
        ws = await self._connect(link)
        if ws is None:
            model.stasis_failed(channel_id, where)
            return
        ended = asyncio.Event()
        loop = asyncio.get_running_loop()

        def sink(application: str, ev: JsonDict) -> None:
            link.sink(application, ev)
            if ev.get("type") == "StasisEnd" and ev.get("channel", {}).get("id") == channel_id:
                loop.call_later(STASIS_END_POST_WAIT, ended.set)

        model.connect_app(app_id, sink)
        try:
            link.registered(app_id)
            if not model.enter_stasis(channel_id, app_id, args):
                return
            while True:
                serving = loop.create_task(link.serve(ws, app_id))
                done = loop.create_task(ended.wait())
                await asyncio.wait({serving, done}, return_when=asyncio.FIRST_COMPLETED)
                done.cancel()
                if ended.is_set():
                    await _stopped(serving)
                    return
                _log.warning("per-call websocket for %s lost; reconnecting", name)
                reconnected = await self._connect(link)
                if reconnected is None:
                    model.stasis_failed(channel_id, where)
                    return
                ws = reconnected
                link.registered(app_id)  # session_update: after the backlog, as persistent
        finally:
            self._links.discard(link)
            if link.ws is not None:
                await link.ws.close()
            model.disconnect_app(app_id, sink)

    async def close(self) -> None:
        for app in self.cfg.apps:
            self.model.per_call_apps.pop(app, None)
        await asyncio.gather(*(link.drain() for link in list(self._links)))
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


Outbound = PersistentConnection | PerCallConnections


async def _stopped(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has ended.

    Not ``cancel()`` + ``suppress(CancelledError)`` around ``await task``: when the
    caller is itself cancelled during that await (a ``close()`` that reaches a
    connection while it is cleaning up after its socket closed), the suppress swallows
    the caller's own cancellation, and the reconnect loop runs on forever.
    ``asyncio.wait`` raises only for the caller's cancellation, never for the task's.
    """
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled() and (exc := task.exception()) is not None:
        raise exc


def start_outbound(
    model: SimModel,
    configs: Iterable[OutboundWebsocket],
    http: aiohttp.ClientSession,
    default_user: tuple[str, str],
) -> list[Outbound]:
    """Start one client per config (credentials default to ``default_user``)."""
    started: list[Outbound] = []
    for cfg in configs:
        if cfg.username is None:
            user, password = default_user
            cfg = dataclasses.replace(cfg, username=user, password=password)
        conn: Outbound = (
            PersistentConnection(model, cfg, http)
            if cfg.connection_type == "persistent"
            else PerCallConnections(model, cfg, http)
        )
        conn.start()
        started.append(conn)
    return started
