"""Closing a simulator whose outbound websocket keeps being turned away.

A persistent outbound connection whose server accepts each socket and closes it at
once (an app the server does not serve) reconnects without a pause, as Asterisk's
``outbound_session_handler_thread`` does. ``Simulator.close()`` must still end it,
whatever point of that cycle it reaches: it used to hang forever when it cancelled
the connection during the clean-up after a close (the cancellation was swallowed and
the reconnect loop went on), which hung whole test runs on a loaded machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from ivrkit.sim import OutboundWebsocket, Simulator


@asynccontextmanager
async def turning_away() -> AsyncIterator[tuple[int, list[int], asyncio.Condition]]:
    """A websocket server that closes every socket after its first frame."""
    accepted: list[int] = []
    seen = asyncio.Condition()

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async with seen:
            accepted.append(1)
            seen.notify_all()
        await ws.receive()
        await ws.close(code=1008, message=b"unknown application")
        return ws

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield port, accepted, seen
    finally:
        await runner.cleanup()


async def test_close_ends_a_connection_that_is_turned_away_at_any_moment() -> None:
    async with turning_away() as (port, accepted, seen):
        outbound = OutboundWebsocket(uri=f"ws://127.0.0.1:{port}/", apps=("billing",))
        for round_ in range(60):
            sim = Simulator(outbound=outbound)
            await sim.start()
            target = len(accepted) + 1 + round_ % 3
            try:
                async with asyncio.timeout(30), seen:
                    await seen.wait_for(lambda t=target: len(accepted) >= t)  # type: ignore[misc]
                for _ in range(round_ % 7):  # reach close() at another point of the cycle
                    await asyncio.sleep(0)
            finally:
                async with asyncio.timeout(10):
                    await sim.close()
            assert sim.stats()["websockets"] == 0
        assert len(accepted) >= 60
