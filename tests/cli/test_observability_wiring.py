"""``Observability.serving``: the wiring of ``ivrkit run --metrics`` to a real client."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Disconnected, Reconnected
from ivrkit.cli._observability import Observability
from ivrkit.sim import Simulator


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


def values(text: str) -> dict[str, float]:
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.labels
    }


async def test_websocket_state_reconnects_and_readiness_follow_the_client() -> None:
    watch = Observability(("127.0.0.1", 0), None)
    stopping = False
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config, observer=watch.observer)
        async with watch.serving(client, {"accepting calls": lambda: not stopping}):
            url = watch.server.url
            assert await get(url + "/readyz") == (503, "not ready: ari\n")  # not connected yet
            async with client:
                assert await get(url + "/readyz") == (200, "ready\n")
                assert values((await get(url + "/metrics"))[1])["ivrkit_ari_websocket_up"] == 1
                # handlers run in order on the client's app queue: ours after serving's
                lost, back = asyncio.Event(), asyncio.Event()
                client.on(Disconnected, lambda event: lost.set())
                client.on(Reconnected, lambda event: back.set())
                assert sim.faults.drop_websockets() == 1
                async with asyncio.timeout(30):
                    await lost.wait()
                    down = values((await get(url + "/metrics"))[1])
                    await back.wait()
                up = values((await get(url + "/metrics"))[1])
                stopping = True
                assert await get(url + "/readyz") == (503, "not ready: accepting calls\n")
    assert down["ivrkit_ari_websocket_up"] == 0
    assert down["ivrkit_ari_websocket_disconnects_total"] == 1
    assert up["ivrkit_ari_websocket_up"] == 1
    assert up["ivrkit_ari_websocket_reconnects_total"] == 1
