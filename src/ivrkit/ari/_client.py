"""AriClient: REST namespaces, the event pump and per-call scopes, behind one object.

Theory of operation
-------------------
The client is policy; the transport is mechanism. ``AriClient`` turns typed calls into
:class:`Request` values, sends them through the REST transport (HTTP via aiohttp, or
RESTRequest frames over the event websocket) and maps error statuses to typed errors.
Events come in through the :class:`Supervisor` (websocket, reconnects, re-sync) and are
routed by the :class:`Dispatcher` to one :class:`CallScope` per call.

Invariants:
1. Lifecycle is UNOPENED → OPENED → CLOSED; a closed client cannot be reopened and
   every call on a client that is not open raises :class:`ClientClosedError`.
2. Ids are chosen by the client (``new_id``) so that a playback, channel or bridge is
   routed to its call *before* the request that creates it is sent: its first event
   can never arrive before the client knows where it belongs (CyCore's stage/execute).
3. ``__aexit__`` leaves nothing behind: every scope's tasks and timers, the pump and
   re-sync tasks, the websocket and the HTTP session are closed and awaited.
4. Credentials are only in the ``Authorization`` header; errors name URLs and paths.
"""

from __future__ import annotations

import enum
import logging
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

from ivrkit.ari._config import ConnectionConfig
from ivrkit.ari._dispatch import CallSetup, Dispatcher
from ivrkit.ari._events import Event
from ivrkit.ari._exceptions import ClientClosedError
from ivrkit.ari._rest import (
    Applications,
    AriRest,
    AsteriskNamespace,
    Bridges,
    Channels,
    ParamValue,
    Playbacks,
    Sounds,
)
from ivrkit.ari._scope import Handler, Subscription
from ivrkit.ari._supervisor import Supervisor
from ivrkit.ari._transport import Request, Response, Transport
from ivrkit.observe import Observer

logger = logging.getLogger("ivrkit.ari")

E = TypeVar("E", bound=Event)

# re-exported for code that imported them from here
__all__ = [
    "Applications",
    "AriClient",
    "AsteriskNamespace",
    "Bridges",
    "Channels",
    "ClientState",
    "ClientStatistics",
    "ParamValue",
    "Playbacks",
    "Sounds",
]


class ClientState(enum.Enum):
    UNOPENED = 1
    OPENED = 2
    CLOSED = 3


@dataclass(frozen=True, slots=True)
class ClientStatistics:
    """Counts for leak checks: all zero (but ``events``) once every call has ended."""

    calls: int
    handlers: int
    tasks: int
    timers: int
    playbacks: int
    routes: int
    queued: int
    events: int
    reconnects: int


class AriClient(AriRest):
    """An asyncio ARI client for one Asterisk; use ``async with AriClient(config) as c``.

    Register ``on_call`` setups before entering (or pass ``on_call=``) so that no
    StasisStart arrives before its handler is in place. ``observer`` (``ivrkit.observe``)
    is told of every REST request: its route, status and latency.
    """

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        transport: Transport | None = None,
        on_call: CallSetup | None = None,
        random: Callable[[], float] = random_module.random,
        observer: Observer | None = None,
    ) -> None:
        super().__init__(config)
        self.observer = observer
        self._transport = transport
        self._random = random
        self._state = ClientState.UNOPENED
        self._dispatch = Dispatcher(self)
        self._supervisor: Supervisor | None = None
        if on_call is not None:
            self.on_call(on_call)

    def __repr__(self) -> str:
        apps = ",".join(self.config.apps)
        return f"<AriClient {self.config.ari_url} apps={apps} {self._state.name}>"

    # -- lifecycle -------------------------------------------------------------------

    @property
    def state(self) -> ClientState:
        return self._state

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            raise ClientClosedError("the client has no transport before it is opened")
        return self._transport

    async def __aenter__(self) -> Self:
        if self._state is ClientState.OPENED:
            raise RuntimeError("this AriClient is already open")
        if self._state is ClientState.CLOSED:
            raise ClientClosedError("a closed AriClient cannot be reopened; create a new one")
        if self._transport is None:
            from ivrkit.ari._aiohttp import AiohttpTransport

            self._transport = AiohttpTransport(self.config)
        self._state = ClientState.OPENED
        self._dispatch.start()
        self._supervisor = Supervisor(
            self.config, self.transport, self, self._dispatch, self._random
        )
        try:
            await self._supervisor.start()
        except BaseException:
            await self.aclose()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close everything (invariant 3); idempotent."""
        if self._state is ClientState.CLOSED:
            return
        self._state = ClientState.CLOSED
        try:
            if self._supervisor is not None:
                await self._supervisor.aclose()
            await self._dispatch.aclose()
        finally:
            if self._transport is not None:
                await self._transport.aclose()

    # -- readiness -------------------------------------------------------------------

    @property
    def rest_transport(self) -> str:
        """``"websocket"`` or ``"http"``: how REST requests travel right now."""
        sup = self._supervisor
        return "websocket" if sup is not None and sup.ws_rest and sup.connected else "http"

    @property
    def disconnected_at(self) -> float | None:
        """Loop time the event websocket was last lost (None: never).

        An event synthesised by the re-sync (``synthetic=True``) happened at some moment
        between this and its delivery: a driver that times something from it (a
        no-input timer after a prompt) starts the clock here, so an outage never makes
        anyone wait longer than they would have.
        """
        return None if self._supervisor is None else self._supervisor.lost_at

    @property
    def ready(self) -> bool:
        """True while the websocket is up and the state is in sync with Asterisk."""
        return self._supervisor is not None and self._supervisor.ready

    async def wait_ready(self) -> None:
        """Wait until ``ready``; raises the reason if the client stopped instead."""
        self._check_open()
        assert self._supervisor is not None
        await self._supervisor.wait_ready()

    async def wait_stopped(self) -> None:
        """Wait until the client stops: returns after close, raises ApplicationReplacedError."""
        if self._supervisor is None:
            raise ClientClosedError("the client was never opened")
        await self._supervisor.wait_stopped()

    # -- events ----------------------------------------------------------------------

    def on_call(self, setup: CallSetup) -> None:
        """Run ``setup(scope, stasis_start)`` for each new call, before its other events.

        ``setup`` runs inside the call's own consumer task: register handlers with
        ``scope.on(...)``, timers with ``scope.call_later(...)``, tasks with
        ``scope.spawn(...)``; they all end with the call.
        """
        self._dispatch.call_setups.append(setup)

    def on(self, types: type[E] | tuple[type[E], ...], handler: Handler[E]) -> Subscription:
        """Handle events that belong to no call (and Disconnected/Reconnected) in order."""
        return self._dispatch.app.on(types, handler)

    async def wait_no_calls(self) -> None:
        """Return once no call is up: every call's scope has handled its last event and
        closed (``statistics().calls == 0``); at once if there is none. Bound it with
        ``asyncio.timeout``: a call ends only when Asterisk says so."""
        await self._dispatch.wait_no_calls()

    def statistics(self) -> ClientStatistics:
        s = self._dispatch.statistics()
        return ClientStatistics(
            calls=s["calls"],
            handlers=s["handlers"],
            tasks=s["tasks"],
            timers=s["timers"],
            playbacks=s["playbacks"],
            routes=s["routes"],
            queued=s["queued"],
            events=self._dispatch.events_seen,
            reconnects=0 if self._supervisor is None else self._supervisor.reconnects,
        )

    # -- REST ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._state is not ClientState.OPENED:
            raise ClientClosedError(
                f"AriClient is {self._state.name.lower()}: "
                "use it inside 'async with AriClient(...)'"
            )

    async def _send(self, req: Request) -> Response:
        supervisor = self._supervisor
        if supervisor is not None and supervisor.ws_rest and supervisor.connected:
            return await supervisor.ws_request(req)
        # HTTP: the configured transport, or the fallback while the websocket is down
        return await self.transport.request(req)

    async def _send_apart(self, req: Request) -> Response:
        # never on the shared websocket (AriRest.request, may_be_held)
        return await self.transport.request(req)

    def _track_playback(self, target_uri: str, playback_id: str, media: str) -> None:
        self._dispatch.track_playback(target_uri, playback_id, media)

    def _untrack_playback(self, playback_id: str) -> None:
        self._dispatch.untrack_playback(playback_id)
