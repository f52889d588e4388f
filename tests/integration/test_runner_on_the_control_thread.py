"""The runner never leaves a request waiting behind its own prompt.

On Asterisk a variable set runs on the channel's control thread, behind a playing prompt
(docs/simulator.md, "Ordering"): sent while the prompt plays, it is answered only when
the prompt ends, holding one of the client's HTTP connections all that time (at 1,000
calls the pool of 100 ran dry in `make bench`, 2026-12-01: reactions of 0.8 s). The
call's checkpoint (IVRKIT_CALL) is such a variable set, so the runner writes it only
while none of its prompts plays.
"""

from __future__ import annotations

import asyncio

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator


async def test_no_command_waits_behind_the_runners_prompts() -> None:
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    written = asyncio.Event()

    def log(record: dict[str, object]) -> None:
        if str(record["path"]).endswith("/variable") and record["status"] == 204:
            written.set()

    async with Simulator(access_log=log) as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config)
        runner.attach(client)
        async with client:
            await sim.wait_for_app("channel-aa")
            caller = await sim.call("PJSIP/alice", "1000")
            waiting: list[int] = []
            async with asyncio.timeout(60):
                for media in ("sound:press-1", "sound:or", "sound:press-2"):
                    await caller.wait_for_playback(media)
                    waiting.append(len(caller.channel.playbacks.commands))
                await caller.press("1")
                for media in ("sound:you-entered", "digits:1", "sound:press-1"):
                    await caller.wait_for_playback(media)
                    waiting.append(len(caller.channel.playbacks.commands))
                # the checkpoint is written once the greeting has played to its end
                await written.wait()
                assert sim.model.get_channel_var(caller.channel_id, "IVRKIT_CALL")
                await caller.hangup()
            assert waiting == [0] * 6
