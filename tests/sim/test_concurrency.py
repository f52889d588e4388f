"""Many calls at once over one events websocket: nothing lost, nothing leaked."""

from __future__ import annotations

import asyncio
import time

from _simari import ari_session

from ivrkit.sim import Simulator

CALLS = 200


async def test_concurrent_calls_all_complete_and_leave_nothing_behind() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        await sim.wait_for_app("channel-aa")
        started = time.perf_counter()

        async def attendant() -> None:
            handled = 0
            while handled < CALLS:
                e = await ev.next()
                cid = e.get("channel", {}).get("id")
                if e["type"] == "StasisStart":
                    await ari.req("POST", f"channels/{cid}/answer")
                    await ari.req("POST", f"channels/{cid}/play", {"media": "sound:press-1"})
                elif e["type"] == "ChannelDtmfReceived":
                    await ari.req("DELETE", f"channels/{cid}")
                    handled += 1

        async def one_call(i: int) -> list[str]:
            caller = await sim.call(f"PJSIP/c{i}", "1000")
            await caller.wait_for_playback("sound:press-1")
            await caller.press(str(i % 10))
            await caller.wait_for_hangup()
            return [h.media_uri for h in caller.heard]

        async with asyncio.timeout(60):
            results = await asyncio.gather(attendant(), *(one_call(i) for i in range(CALLS)))
        assert all(heard == ["sound:press-1"] for heard in results[1:])
        elapsed = time.perf_counter() - started
        assert elapsed < 30, f"{CALLS} calls took {elapsed:.1f} s of wall time"
        assert sim.stats() == {
            "channels": 0,
            "playbacks": 0,
            "bridges": 0,
            "timers": 0,
            "websockets": 1,
        }
        names = {e["channel"]["name"] for e in ev.received if e["type"] == "StasisStart"}
        assert len(names) == CALLS
