"""``Simulator``: the embedded Asterisk as an async context manager.

``async with Simulator() as sim`` binds 127.0.0.1 on an ephemeral port on the running
loop (so tests run on virtual time), serves ARI at ``sim.url + "/ari"`` and gives tests
simulated phones: ``caller = await sim.call("PJSIP/alice", "1000")``. A :class:`Caller`
records what it heard (``caller.heard``) and can wait for prompts, press keys and hang
up. Nothing here starts a thread; timers are the loop's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from ivrkit.sim.control._callers import Caller, SimulatorError
from ivrkit.sim.control._faults import Faults
from ivrkit.sim.control._reaction import ReactionProbe
from ivrkit.sim.control._websocket_client import Outbound, OutboundWebsocket, start_outbound
from ivrkit.sim.front._app import SimState, create_app
from ivrkit.sim.front._wirelog import OneLineBadRequests
from ivrkit.sim.model._dialplan import Dialplan, DialplanSpec
from ivrkit.sim.model._endpoints import Endpoint, behaviour_from, split_endpoint
from ivrkit.sim.model._model import SimModel
from ivrkit.sim.model._sounds import SoundLibrary

DEFAULT_USERS: Mapping[str, str] = {"asterisk": "asterisk"}


class Simulator:
    """The embedded Asterisk (see docs/simulator.md)."""

    __test__ = False

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        users: Mapping[str, str] | None = None,
        sounds_dir: str | Path | None = None,
        missing_sounds: Iterable[str] = (),
        sounds: Mapping[str, float | None] | Iterable[str] = (),
        dialplan: DialplanSpec | None = None,
        endpoints: Mapping[str, object] | None = None,
        durations_file: str | Path | None = None,
        reaction_probe: ReactionProbe | None = None,
        access_log: Callable[[dict[str, Any]], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        asterisk_id: str | None = None,
        outbound: OutboundWebsocket | Iterable[OutboundWebsocket] = (),
    ) -> None:
        self.host = host
        #: the entity id (``asterisk_id`` in events, ``/asterisk/info``): give several
        #: simulated Asterisks in one process distinct ones, as real ones have
        self.asterisk_id = asterisk_id
        #: serve https/wss (Asterisk's ``tlsenable`` in http.conf); None = plain http
        self.ssl_context = ssl_context
        self.port = port
        self.users = dict(DEFAULT_USERS if users is None else users)
        if not self.users:
            raise ValueError("Simulator needs at least one ARI user (users={'name': 'password'})")
        self._sounds_dir = Path(sounds_dir) if sounds_dir is not None else None
        self._missing_sounds = tuple(missing_sounds)
        if isinstance(sounds, str):
            raise TypeError(f"sounds= takes names or a name -> seconds mapping, not {sounds!r}")
        self._declared_sounds = dict(sounds) if isinstance(sounds, Mapping) else list(sounds)
        SoundLibrary.check_declared(self._declared_sounds)  # fail at the caller's line
        self._durations_file = Path(durations_file) if durations_file is not None else None
        if dialplan is not None:
            Dialplan(dialplan)  # fail here, at the caller's line, on a malformed step
        self._dialplan = dialplan
        # fail here, at the caller's line, on a malformed endpoint
        self._endpoints = {
            name: behaviour_from(value, name) for name, value in (endpoints or {}).items()
        }
        for name in self._endpoints:
            split_endpoint(name)
        #: times the app's reaction to each key press (benchmarks); see ReactionProbe
        self.reaction_probe = reaction_probe
        #: receives one dict per answered request (method, path, query keys, auth, status)
        self.access_log = access_log
        self.faults = Faults()
        #: ``ari.conf`` outbound websockets: the simulator connects out to these servers
        #: as Asterisk 20.15+ does (sim/control/_websocket_client.py; docs/cluster.md)
        self.outbound = (outbound,) if isinstance(outbound, OutboundWebsocket) else tuple(outbound)
        self._outbound: list[Outbound] = []
        self._outbound_http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self._model: SimModel | None = None
        self._state: SimState | None = None

    # -- lifecycle
    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve; returns once the port is listening."""
        if self._runner is not None:
            raise SimulatorError("simulator already started")
        loop = asyncio.get_running_loop()
        sounds = SoundLibrary(
            self._sounds_dir, self._durations_file, self._missing_sounds, self._declared_sounds
        )
        self._model = SimModel(loop, dialplan=self._dialplan, sounds=sounds)
        self._model.reaction = self.reaction_probe
        if self.asterisk_id is not None:
            self._model.asterisk_id = self.asterisk_id
        for name, behaviour in self._endpoints.items():
            self._model.set_endpoint(name, behaviour)
        self._state = SimState(self._model, self.users, self.faults, access_log=self.access_log)
        self.faults.bind(self._state)
        runner = web.AppRunner(
            create_app(self._state),
            handle_signals=False,
            access_log=None,
            logger=OneLineBadRequests(),  # a client's bad HTTP is one line, not a traceback
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break
        if self.outbound:
            self._outbound_http = aiohttp.ClientSession()
            first = next(iter(self.users.items()))
            self._outbound = start_outbound(self._model, self.outbound, self._outbound_http, first)

    async def close(self) -> None:
        """Stop serving; idempotent. Remaining calls are hung up first."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        model = self._model
        if model is not None:
            model.hangup_all()
        for conn in self._outbound:
            await conn.close()
        self._outbound = []
        if self._outbound_http is not None:
            await self._outbound_http.close()
            self._outbound_http = None
        await runner.cleanup()

    # -- addresses
    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, or ``https://`` with TLS (ARI is under ``/ari``)."""
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://{self.host}:{self.port}"

    @property
    def ari_url(self) -> str:
        return self.url + "/ari"

    @property
    def username(self) -> str:
        return next(iter(self.users))

    @property
    def password(self) -> str:
        return self.users[self.username]

    @property
    def model(self) -> SimModel:
        """The in-memory Asterisk (for advanced tests)."""
        if self._model is None:
            raise SimulatorError("simulator not started: use `async with Simulator() as sim`")
        return self._model

    # -- tests' controls
    async def call(
        self,
        tech_resource: str,
        exten: str,
        context: str = "default",
        caller_id: str | None = "Alice <100>",
    ) -> Caller:
        """A phone dials ``exten``: the channel runs the dialplan (into Stasis)."""
        caller = Caller(self.model)
        caller._channel = self.model.incoming_call(
            tech_resource, exten, context=context, caller_id=caller_id, observer=caller
        )
        return caller

    async def wait_for_app(self, name: str) -> None:
        """Until an events websocket for application ``name`` is connected."""
        model = self.model
        if model.app_connected(name):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def listener(connected: str) -> None:
            if connected == name and not fut.done():
                fut.set_result(None)

        model.app_listeners.append(listener)
        try:
            await fut
        finally:
            model.app_listeners.remove(listener)

    def endpoint(self, name: str, behaviour: object | None = None) -> Endpoint:
        """The simulated endpoint ``name`` (``PJSIP/bob``), configured anew when
        ``behaviour`` is given (``"busy"``, ``{"answer_after": 2}``...). Its ``calls``
        list what happened to each call it got, ``messages`` what was sent to it."""
        model = self.model
        if behaviour is not None or name not in model.endpoints:
            return model.set_endpoint(name, "answer" if behaviour is None else behaviour)
        return model.endpoints[name]

    def send_text(
        self,
        endpoint: str,
        body: str,
        *,
        sender: str | None = None,
        to: str = "sip:asterisk@127.0.0.1",
        variables: Mapping[str, str] | None = None,
    ) -> None:
        """``endpoint`` (``PJSIP/bob``) sends an out-of-call message: the applications
        subscribed to it (``endpoint:PJSIP/bob``) get ``TextMessageReceived``."""
        self.model.endpoint_sends_text(endpoint, body, sender=sender, to=to, variables=variables)

    async def wait_for_call(self, endpoint: str, outcome: str | None = None) -> list[str]:
        """Until ``endpoint`` has a call that reached ``outcome`` (``ringing``,
        ``answered``, ``busy``, ``congestion``, ``noanswer``, ``hungup``; None: any);
        returns ``[channel name, outcome]``."""
        ep = self.endpoint(endpoint)
        for call in ep.calls:
            if outcome is None or call[1] == outcome:
                return list(call)
        fut: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()

        def listener(name: str, reached: str) -> None:
            if (outcome is None or reached == outcome) and not fut.done():
                fut.set_result([name, reached])

        ep.listeners.append(listener)
        try:
            return await fut
        finally:
            ep.listeners.remove(listener)

    def stats(self) -> dict[str, int]:
        """Live channels / playbacks / bridges / timers / websockets (leak checks)."""
        out = self.model.stats()
        out["websockets"] = len(self._state.sockets) if self._state is not None else 0
        return out
