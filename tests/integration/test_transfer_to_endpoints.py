"""The attendant's transfer to PJSIP endpoints, on both branches (issue 14, item 4).

The far ends are the simulator's endpoints: ``PJSIP/bob`` answers after 1 s, ``PJSIP/carol``
is busy (486: cause 17, ``res/res_pjsip.c`` ``ast_sip_hangup_sip2cause``) and
``PJSIP/dave`` never answers. Before, every originate to ``PJSIP/...`` answered 500
"Allocation failed", so only the failure branch could ever be tested.
"""

from __future__ import annotations

import asyncio
import textwrap

from _sim_client import client_config as _config
from ivrkit.ari import AriClient
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - {key: "1", transfer: {endpoint: "PJSIP/bob", timeout: 5, failed: [sound:busy]}}
          - {key: "2", transfer: {endpoint: "PJSIP/carol", timeout: 5, failed: [sound:busy]}}
          - {key: "3", transfer: {endpoint: "PJSIP/dave", timeout: 2, failed: [sound:busy]}}
    """
)
ENDPOINTS = {"PJSIP/bob": {"answer_after": 1}, "PJSIP/carol": "busy", "PJSIP/dave": "noanswer"}


async def _wait(predicate: object) -> None:
    for _ in range(10_000):
        if predicate():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


async def test_an_answering_endpoint_is_bridged_with_the_caller() -> None:
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None)
    async with Simulator(endpoints=ENDPOINTS) as sim:
        client = AriClient(_config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")
                await _wait(lambda: sim.endpoint("PJSIP/bob").calls[-1:] != [])
                await _wait(lambda: sim.stats()["bridges"] == 1)
                bridge = next(iter(sim.model.bridges.values()))
                await _wait(lambda: len(bridge.channels) == 2)
                assert sorted(ch.name.split("-")[0] for ch in bridge.channels) == [
                    "PJSIP/alice",
                    "PJSIP/bob",
                ]
                assert sim.endpoint("PJSIP/bob").calls[0][1] == "answered"
                await caller.hangup()
                await runner.wait_no_calls()
                await _wait(lambda: sim.stats()["channels"] == 0)
        assert runner.statistics().command_failures == 0


async def test_busy_and_unanswered_endpoints_take_the_failed_branch() -> None:
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None)
    async with Simulator(endpoints=ENDPOINTS) as sim:
        client = AriClient(_config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("2")
                await caller.wait_for_playback("sound:busy")
                assert [c[1] for c in sim.endpoint("PJSIP/carol").calls] == ["busy"]
                await caller.wait_for_playback("sound:press-1")
                await caller.press("3")
                await caller.wait_for_playback("sound:busy")
                assert len(sim.endpoint("PJSIP/dave").calls) == 1
                await caller.wait_for_playback("sound:press-1")  # back in the menu
                await caller.hangup()
                await runner.wait_no_calls()
            assert sim.stats()["bridges"] == 0
        assert runner.statistics().command_failures == 2
