"""docs/operations.md's IVRKIT_HANDBACK dialplan, run in the simulator: a call handed back
by a stop (or sent back by a drain) is routed to the fallback, a caller is never dropped.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.cli._lifecycle import ServiceControl, StopPolicy
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def doc_dialplan() -> dict[str, dict[str, tuple[str, ...]]]:
    """The documented extensions.conf block, as the simulator's dialplan mapping."""
    (block,) = re.findall(r"```text\n; docs-handback-dialplan\n(.*?)```", DOC.read_text(), re.S)
    plan: dict[str, dict[str, list[str]]] = {}
    context = exten = ""
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            context = line[1:-1]
            plan[context] = {}
        elif line.startswith("exten =>"):
            exten, priority, app = line.removeprefix("exten =>").strip().split(",", 2)
            assert priority == "1"
            plan[context][exten] = [app]
        elif line.startswith("same =>"):
            priority, app = line.removeprefix("same =>").strip().split(",", 1)
            assert priority == "n"
            plan[context][exten].append(app)
    return {c: {e: tuple(steps) for e, steps in exts.items()} for c, exts in plan.items()}


async def test_handed_back_and_drained_calls_reach_the_documented_fallback() -> None:
    async with Simulator(dialplan=doc_dialplan()) as sim:
        runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
        client = AriClient(
            ConnectionConfig(
                base_url=sim.url,
                apps=("channel-aa",),
                credentials=Credentials(sim.username, sim.password),
            )
        )
        runner.attach(client)
        said: list[str] = []
        control = ServiceControl(runner, StopPolicy("drain", 30), say=said.append)
        async with client:
            alice = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await alice.wait_for_playback("sound:press-1")
                control.request_stop("SIGTERM")
                stopping = asyncio.ensure_future(control.stop(client.wait_stopped))
                while not said:  # noqa: ASYNC110 - the "draining" line has no event
                    await asyncio.sleep(0.01)
                bob = await sim.call("PJSIP/bob", "1000")  # arrives during the drain
                await bob.wait_for_playback("sound:vm-goodbye")  # routed to the fallback
                control.request_stop("SIGTERM")  # a second request ends the drain
                report = await stopping
                await alice.wait_for_playback("sound:vm-goodbye")
                await alice.wait_for_hangup()  # the fallback's Hangup(), after its prompt
                await bob.wait_for_hangup()
    assert (report.handed_back, report.refused) == (1, 1)
    assert [h.media_uri for h in bob.heard] == ["sound:vm-goodbye"]
