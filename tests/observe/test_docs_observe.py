"""docs/operations.md's own observer works: it sees a real failed transfer."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.metrics import MetricsObserver
from ivrkit.observe import Observers
from ivrkit.sim import Simulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - {key: "0", transfer: {endpoint: "Local/2999@default", timeout: 5, failed: [sound:busy]}}
    """
)


def example() -> type[Any]:
    section = DOC.read_text(encoding="utf-8").split("## Your own observer, from Python")[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "docs/operations.md lost its observer example"
    namespace: dict[str, Any] = {"__name__": "observer_doc_example"}
    exec(compile(match.group(1), str(DOC), "exec"), namespace)
    cls: type[Any] = namespace["FailedTransfers"]
    return cls


async def test_the_documented_observer_sees_a_failed_transfer() -> None:
    watcher = example()()
    observers = Observers(watcher, MetricsObserver())
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None, observer=observers)
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config, observer=observers)
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("0")
                await caller.wait_for_playback("sound:busy")
                await caller.hangup()
                await runner.wait_no_calls()
    ((channel, target, cause),) = watcher.failed
    assert channel == caller.channel_name
    assert target == "Local/2999@default"
    assert cause is not None
    assert "without answering" in cause
