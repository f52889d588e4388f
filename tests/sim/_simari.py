"""A tiny raw ARI client for the simulator's own tests (plain aiohttp, no ivrkit.ari).

The simulator is tested as an independent peer: these helpers speak HTTP/JSON
directly so an encoding bug cannot be mirrored by the project's client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp

from ivrkit.sim import Simulator


def ivrkit_sim(*args: str) -> list[str]:
    """The command line of ``ivrkit sim ARGS`` in this interpreter (no console script needed)."""
    main = "import sys; from ivrkit.cli import main; sys.exit(main())"
    return [sys.executable, "-c", main, "sim", *args]


#: the environment for an ``ivrkit sim`` child whose output is read line by line
UNBUFFERED = {**os.environ, "PYTHONUNBUFFERED": "1"}


class Events:
    """The events websocket of one or more apps, with waiting helpers."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.received: list[dict[str, Any]] = []
        self._cursor = 0

    async def _read_one(self) -> dict[str, Any]:
        msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket ended: {msg.type} {msg.data!r}")
        data: dict[str, Any] = json.loads(msg.data)
        self.received.append(data)
        return data

    async def next(self, type_: str | None = None, within: float = 60) -> dict[str, Any]:
        """The next not yet consumed event (of ``type_``), skipping others."""
        async with asyncio.timeout(within):
            while True:
                while self._cursor < len(self.received):
                    ev = self.received[self._cursor]
                    self._cursor += 1
                    if type_ is None or ev["type"] == type_:
                        return ev
                await self._read_one()

    async def drain(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Everything that arrives within ``seconds`` of loop time."""
        try:
            async with asyncio.timeout(seconds):
                while True:
                    await self._read_one()
        except TimeoutError:
            pass
        out = self.received[self._cursor :]
        self._cursor = len(self.received)
        return out


class Ari:
    """HTTP side: ``await ari.req("POST", "channels/x/answer")`` → (status, json)."""

    def __init__(self, sim: Simulator, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session

    async def req(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        json_body: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        async with self.session.request(
            method,
            f"{self.sim.url}/ari/{path}",
            params=params,
            json=json_body,
            data=data,
            headers=headers,
        ) as resp:
            text = await resp.text()
            return resp.status, (json.loads(text) if text else None)

    @asynccontextmanager
    async def events(self, app: str) -> AsyncIterator[Events]:
        async with self.session.ws_connect(f"{self.sim.url}/ari/events", params={"app": app}) as ws:
            yield Events(ws)


@asynccontextmanager
async def ari_session(sim: Simulator) -> AsyncIterator[Ari]:
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    headers = {"Authorization": f"Basic {token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield Ari(sim, session)


async def eventually(predicate: Any, within: float = 10) -> None:
    """Await a condition that the server reaches asynchronously (e.g. a socket cleaned up)."""
    # server-side cleanup has no event to await: poll on (virtual) loop time
    for _ in range(int(within / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"condition not reached within {within} s")
