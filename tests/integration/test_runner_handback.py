"""Errors of ours hand the call back to the dialplan; a hand-back never hangs the stop.

Virtual time, the embedded Asterisk with a dialplan that keeps a handed-back caller in
``Wait()``, so "back in the dialplan, not hung up" is read off the channel.
"""

from __future__ import annotations

import asyncio
import textwrap
from typing import Any

import pytest

from _sim_client import client_config as config
from ivrkit.ari import AriClient
from ivrkit.ivr import ATTENDANT_MENU, StopPrompt, load_menu, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Caller, Simulator

DIALPLAN = {"default": {"1000": ("Stasis(channel-aa)", "Wait(300)", "Hangup()")}}


async def in_dialplan(caller: Caller) -> None:
    for _ in range(1000):  # the sim has no event for "ran the next priority"
        if caller.channel.app_name == "Wait":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never left Stasis: {caller.channel.app_name}")


async def test_a_bug_in_the_runner_hands_that_call_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from ivrkit.ivr import runner as runner_module

    real = runner_module._Call._carry_out

    async def carry_out(self: Any, command: Any) -> str | None:
        if isinstance(command, StopPrompt):
            raise RuntimeError("simulated bug in the runner")
        return await real(self, command)

    monkeypatch.setattr(runner_module._Call, "_carry_out", carry_out)
    requests: list[tuple[str, str]] = []
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    async with Simulator(
        dialplan=DIALPLAN, access_log=lambda r: requests.append((r["method"], r["path"]))
    ) as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")  # barge-in: StopPrompt, which "crashes"
                await in_dialplan(caller)
            assert sim.model.get_channel_var(caller.channel_id, "IVRKIT_HANDBACK") == "error"
            assert not [p for m, p in requests if m == "DELETE" and "/channels/" in p]
            assert runner.statistics().call_errors == 1
            await caller.hangup()


async def test_handing_back_while_asterisk_does_not_answer_ends_in_bounded_time() -> None:
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    async with Simulator(dialplan=DIALPLAN) as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                sim.faults.delay_requests(120, path="channels")  # Asterisk stops answering
                sim.faults.delay_requests(120, path="playbacks")
                loop = asyncio.get_running_loop()
                started = loop.time()
                assert await runner.release_calls() == 1  # returns, never raises
                assert loop.time() - started <= 5.5
            assert runner.statistics().live_calls == 0
            sim.faults.clear()
            await caller.hangup()


HANDLER_MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - {key: "1", handler: "long:instructions"}
    """
)


async def instructions(call: Any, digits: str) -> None:
    await call.play_and_wait("sound:demo-instruct")  # 73 s, with an id of the client's


async def test_a_stop_during_a_handlers_own_long_prompt_hands_the_call_back_at_once() -> None:
    """On Asterisk a variable set and a continue wait behind a playing prompt (the
    channel's control thread): every playback of the call is stopped first, whoever
    started it, so the hand-back is immediate and not 73 s later (or never)."""
    handlers = {"long:instructions": instructions}
    runner = MenuRunner(load_menu(HANDLER_MENU), transcript=lambda line: None, handlers=handlers)
    async with Simulator(dialplan=DIALPLAN) as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")
                await caller.wait_for_playback("sound:demo-instruct")
                loop = asyncio.get_running_loop()
                started = loop.time()
                assert await runner.release_calls() == 1
                await in_dialplan(caller)
                assert loop.time() - started < 1.0
            assert sim.model.get_channel_var(caller.channel_id, "IVRKIT_HANDBACK") == "stop"
            assert caller.heard[-1].cut_off
            await caller.hangup()
