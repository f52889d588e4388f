"""A websocket that goes silent (no pong) is detected by the heartbeat and replaced.

The server here is a minimal aiohttp app whose events websocket never answers pings:
the simulator always answers them, so it cannot show a half-dead connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Disconnected, Reconnected


async def test_missing_pong_triggers_reconnect() -> None:
    sockets: list[web.WebSocketResponse] = []

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        sockets.append(ws)
        if len(sockets) == 1:
            await asyncio.sleep(3600)  # silent: never reads, so never pongs
        else:
            async for _ in ws:
                pass
        return ws

    async def application(request: web.Request) -> web.Response:
        return web.json_response({"name": request.match_info["app"], "channel_ids": []})

    app = web.Application()
    app.router.add_get("/ari/events", events)
    app.router.add_get("/ari/applications/{app}", application)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    signals: list[Any] = []
    try:
        config = ConnectionConfig(
            base_url=f"http://127.0.0.1:{port}",
            apps=("a",),
            credentials=Credentials("u", "p"),
            heartbeat=2.0,
            backoff_initial=1.0,
        )
        async with AriClient(config, random=lambda: 0.0) as client:
            client.on((Disconnected, Reconnected), signals.append)
            started = asyncio.get_running_loop().time()
            async with asyncio.timeout(30):
                while len(signals) < 2:  # noqa: ASYNC110 - signals arrive in order
                    await asyncio.sleep(0.1)
            detected = asyncio.get_running_loop().time() - started
            assert isinstance(signals[0], Disconnected)
            assert isinstance(signals[1], Reconnected)
            assert detected < 10.0
            assert len(sockets) == 2
            assert client.ready
    finally:
        for ws in sockets:
            await ws.close()
        await runner.cleanup()
