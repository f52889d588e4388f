"""``Simulator``: the embedded Asterisk as an async context manager, and its callers.

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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from ivrkit.sim._app import SimState, create_app
from ivrkit.sim._dialplan import Dialplan, DialplanSpec
from ivrkit.sim._faults import Faults
from ivrkit.sim._model import Channel, SimModel
from ivrkit.sim._reaction import ReactionProbe
from ivrkit.sim._sounds import SoundLibrary

DEFAULT_USERS: Mapping[str, str] = {"asterisk": "asterisk"}


class SimulatorError(RuntimeError):
    """Misuse of the simulator API (not started, closed, unknown caller...)."""


@dataclass(slots=True)
class Heard:
    """One media item the caller heard: loop-clock start/end, cut off or not."""

    media_uri: str
    start: float
    end: float | None = None
    cut_off: bool = False


class Caller:
    """A simulated phone on one channel (made by :meth:`Simulator.call`)."""

    __test__ = False

    def __init__(self, model: SimModel) -> None:
        self._model = model
        self._channel: Channel | None = None
        self.heard: list[Heard] = []
        #: DTMF digits the application sent to this phone (``POST /channels/{id}/dtmf``)
        self.digits_heard: list[str] = []
        self._consumed: dict[str, int] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._destroyed = False
        self._timers: list[asyncio.TimerHandle] = []

    # -- identity
    @property
    def channel(self) -> Channel:
        if self._channel is None:
            raise SimulatorError("caller has no channel yet")
        return self._channel

    @property
    def channel_id(self) -> str:
        return self.channel.id

    @property
    def channel_name(self) -> str:
        return self.channel.name

    @property
    def hung_up(self) -> bool:
        """True once the channel has been destroyed (by either side)."""
        return self._destroyed

    # -- observer hooks (called by the model, synchronously)
    def media_started(self, uri: str, now: float) -> None:
        self.heard.append(Heard(uri, now))
        self._check()

    def media_ended(self, uri: str, now: float, cut_off: bool) -> None:
        for item in reversed(self.heard):
            if item.media_uri == uri and item.end is None:
                item.end = now
                item.cut_off = cut_off
                break
        self._check()

    def dtmf_heard(self, digit: str, now: float) -> None:
        self.digits_heard.append(digit)
        self._check()

    def destroyed(self, now: float) -> None:
        self._destroyed = True
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        self._check()

    def _check(self) -> None:
        still: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                still.append((predicate, fut))
        self._waiters = still

    async def _wait(self, predicate: Callable[[], bool]) -> None:
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        await fut

    # -- actions
    async def wait_for_playback(self, media: str) -> Heard:
        """Until a playback of ``media`` starts on this channel (each start is used once).

        Raises :class:`SimulatorError` if the call ends first.
        """

        def started() -> bool:
            seen = sum(1 for h in self.heard if h.media_uri == media)
            return seen > self._consumed.get(media, 0) or self._destroyed

        await self._wait(started)
        index = self._consumed.get(media, 0)
        matches = [h for h in self.heard if h.media_uri == media]
        if len(matches) <= index:
            raise SimulatorError(
                f"call {self._channel.id if self._channel else '?'} ended before {media} "
                f"was played (heard: {[h.media_uri for h in self.heard]})"
            )
        self._consumed[media] = index + 1
        return matches[index]

    async def press(self, digits: str, duration_ms: int = 100, between_ms: int = 100) -> None:
        """Press keys; returns when the last ``ChannelDtmfReceived`` has been sent."""
        if self._destroyed:
            raise SimulatorError(f"can't press {digits!r}: call {self.channel_id} has ended")
        done_at = self._model.caller_presses(self.channel, digits, duration_ms, between_ms)
        delay = done_at - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def hangup(self) -> None:
        """The caller hangs up (ChannelHangupRequest cause 16, StasisEnd...)."""
        self._model.caller_hangs_up(self.channel)

    def hangup_nowait(self, after: float = 0.0) -> None:
        """Hang up now or ``after`` seconds later (used by ``sim.faults.hang_up``)."""
        if after <= 0:
            self._model.caller_hangs_up(self.channel)
            return
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(after, self._model.caller_hangs_up, self.channel))

    async def wait_for_hangup(self) -> None:
        """Until the channel is destroyed (whoever hung up)."""
        await self._wait(lambda: self._destroyed)

    async def wait_until_heard(self, media: str) -> Heard:
        """Until a playback of ``media`` has *finished* (naturally or cut off)."""
        await self._wait(
            lambda: (
                self._destroyed
                or any(h.media_uri == media and h.end is not None for h in self.heard)
            )
        )
        for h in self.heard:
            if h.media_uri == media and h.end is not None:
                return h
        raise SimulatorError(f"call ended before {media} was heard to its end")


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
        dialplan: DialplanSpec | None = None,
        durations_file: str | Path | None = None,
        reaction_probe: ReactionProbe | None = None,
        access_log: Callable[[dict[str, Any]], None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        #: serve https/wss (Asterisk's ``tlsenable`` in http.conf); None = plain http
        self.ssl_context = ssl_context
        self.port = port
        self.users = dict(DEFAULT_USERS if users is None else users)
        if not self.users:
            raise ValueError("Simulator needs at least one ARI user (users={'name': 'password'})")
        self._sounds_dir = Path(sounds_dir) if sounds_dir is not None else None
        self._missing_sounds = tuple(missing_sounds)
        self._durations_file = Path(durations_file) if durations_file is not None else None
        if dialplan is not None:
            Dialplan(dialplan)  # fail here, at the caller's line, on a malformed step
        self._dialplan = dialplan
        #: times the app's reaction to each key press (benchmarks); see ReactionProbe
        self.reaction_probe = reaction_probe
        #: receives one dict per answered request (method, path, query keys, auth, status)
        self.access_log = access_log
        self.faults = Faults()
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
        sounds = SoundLibrary(self._sounds_dir, self._durations_file, self._missing_sounds)
        self._model = SimModel(loop, dialplan=self._dialplan, sounds=sounds)
        self._model.reaction = self.reaction_probe
        self._state = SimState(self._model, self.users, self.faults, access_log=self.access_log)
        self.faults.bind(self._state)
        runner = web.AppRunner(create_app(self._state), handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.port = int(address[1])
                break

    async def close(self) -> None:
        """Stop serving; idempotent. Remaining calls are hung up first."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        model = self._model
        if model is not None:
            model.hangup_all()
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

    def stats(self) -> dict[str, int]:
        """Live channels / playbacks / bridges / timers / websockets (leak checks)."""
        out = self.model.stats()
        out["websockets"] = len(self._state.sockets) if self._state is not None else 0
        return out
