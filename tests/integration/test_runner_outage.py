"""An outage of the event websocket never makes a caller wait past the menu's timeout.

The prompt that ends while the socket is down is reported only by the re-sync (a
synthetic PlaybackFinished, seconds later); the no-input timer it starts must run from
when the socket was lost, not from the re-sync. Virtual time, the simulator's faults.
"""

from __future__ import annotations

import asyncio

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Reconnected
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator

TIMEOUT = 10.0  # the attendant's no-input timeout


async def test_a_prompt_ending_during_an_outage_keeps_the_no_input_deadline() -> None:
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        # retries at +0.05, +0.55, +1.55, +3.55, +7.55 s (random 1.0: no jitter)
        client = AriClient(config, random=lambda: 1.0)
        runner.attach(client)
        back: list[Reconnected] = []
        async with client:
            client.on(Reconnected, back.append)
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                press2 = await caller.wait_for_playback("sound:press-2")  # the last prompt
                sim.faults.refuse_requests(4, path="events")  # a 7.5 s outage
                dropped = asyncio.get_running_loop().time()
                sim.faults.drop_websockets("channel-aa")
                still = await caller.wait_for_playback("sound:are-you-still-there")
                assert back, "the client never reconnected"
                assert back[0].gap > 7
                assert back[0].playbacks_finished  # press-2 ended in the gap
                await caller.hangup()
                await runner.wait_no_calls()
    assert press2.end is not None
    assert press2.end < dropped + back[0].gap  # it did end during the outage
    # the caller waited at most the timeout after the prompt ended (the wait is counted
    # from the drop, the earliest the end could have been), never timeout + outage
    assert still.start - press2.end <= TIMEOUT + 0.05
    assert still.start - dropped >= TIMEOUT - 0.05
