"""``ivrkit run`` as a real process: SIGTERM/SIGINT stop cleanly, drain, SIGHUP reloads.

The simulator runs in the test (real time, free port) with a dialplan that keeps a
handed-back caller in ``Wait()``, so "not hung up by us" and "back in the dialplan" can
be read off the channel itself.
"""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import pytest
from _service import ivrkit_run

from ivrkit.sim import Caller, Simulator

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

DIALPLAN = {"default": {"1000": ("Stasis(channel-aa)", "Wait(60)", "Hangup()")}}


class Log:
    """The simulator's access log as (method, path) pairs, in order."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []

    def __call__(self, record: dict[str, Any]) -> None:
        self.requests.append((record["method"], record["path"]))

    def for_channel(self, caller: Caller) -> list[tuple[str, str]]:
        return [r for r in self.requests if f"/channels/{caller.channel_id}" in r[1]]


async def wait_in_dialplan(caller: Caller) -> None:
    """Until the caller's channel runs the dialplan's Wait() after Stasis."""
    for _ in range(500):  # the sim has no event for it: poll, bounded (10 s)
        if caller.channel.app_name == "Wait":
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{caller.channel_id} never reached Wait(): {caller.channel.app_name}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_stop_signal_hands_live_calls_back_and_exits_0(sig: signal.Signals) -> None:
    log = Log()
    async with Simulator(dialplan=DIALPLAN, access_log=log) as sim:
        async with ivrkit_run(sim) as run:
            caller = await sim.call("PJSIP/alice", "1000")
            await caller.wait_for_playback("sound:press-1")
            run.send(sig)
            assert await run.wait_exit() == 0
        assert f"stopped ({sig.name}); 1 call(s) handed back to the dialplan" in "".join(run.err)
        await wait_in_dialplan(caller)  # continued, not hung up
        assert sim.model.get_channel_var(caller.channel_id, "IVRKIT_HANDBACK") == "stop"
        assert caller.heard[0].cut_off  # the prompt was stopped, not left playing
        # the hand-back is the last thing we asked about this call: no prompt after it
        mine = log.for_channel(caller)
        assert mine[-1] == ("POST", f"/ari/channels/{caller.channel_id}/continue")
        plays = [path for _, path in mine if "/play/" in path]
        assert len(plays) == 1  # press-1 only (its id carries the process's token)
        assert plays[0].startswith(f"/ari/channels/{caller.channel_id}/play/{caller.channel_id}-")
        assert not any(method == "DELETE" for method, _ in mine)
        await caller.hangup()


@pytest.mark.parametrize("seed", [3, 8])
async def test_sigterm_at_a_random_moment_hands_every_call_back_with_nothing_after(
    seed: int,
) -> None:
    """Three calls in different states (a feedback prompt, waiting, the greeting); the
    stop lands at a seeded random moment: each call's last request is its continue."""
    log = Log()
    rng = random.Random(seed)
    async with Simulator(dialplan=DIALPLAN, access_log=log) as sim:
        async with ivrkit_run(sim) as run:
            alice = await sim.call("PJSIP/alice", "1000")
            bob = await sim.call("PJSIP/bob", "1000")
            await alice.wait_for_playback("sound:press-1")
            await bob.wait_for_playback("sound:press-1")
            await alice.press("1")
            carol = await sim.call("PJSIP/carol", "1000")
            await asyncio.sleep(rng.uniform(0, 2.5))  # the random moment
            run.send(signal.SIGTERM)
            assert await run.wait_exit() == 0
        assert "3 call(s) handed back to the dialplan" in "".join(run.err)
        for caller in (alice, bob, carol):
            await wait_in_dialplan(caller)
            mine = log.for_channel(caller)
            assert mine[-1] == ("POST", f"/ari/channels/{caller.channel_id}/continue"), mine
            assert not any(method == "DELETE" for method, _ in mine)
            await caller.hangup()


async def test_drain_takes_no_new_calls_and_lets_live_ones_finish() -> None:
    log = Log()
    async with Simulator(dialplan=DIALPLAN, access_log=log) as sim:
        async with ivrkit_run(sim, "--on-stop", "drain", "--drain-timeout", "60") as run:
            alice = await sim.call("PJSIP/alice", "1000")
            await alice.wait_for_playback("sound:press-1")
            run.send(signal.SIGTERM)
            await run.wait_err(r"SIGTERM: draining 1 live call\(s\) for up to 60 s")
            bob = await sim.call("PJSIP/bob", "1000")
            await wait_in_dialplan(bob)  # straight back, unanswered, never served
            assert sim.model.get_channel_var(bob.channel_id, "IVRKIT_HANDBACK") == "drain"
            assert bob.heard == []
            assert not any("/answer" in path for _, path in log.for_channel(bob))
            # alice is still served during the drain
            await alice.press("1")
            await alice.wait_for_playback("sound:you-entered")
            await alice.hangup()
            assert await run.wait_exit() == 0
        assert (
            "stopped (SIGTERM); 1 call(s) ended during the drain, 0 call(s) handed back "
            "to the dialplan, 1 new call(s) sent to the dialplan"
        ) in "".join(run.err)
        await bob.hangup()


async def test_drain_timeout_hands_the_rest_back_and_a_second_signal_cuts_it_short() -> None:
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with ivrkit_run(sim, "--on-stop", "drain", "--drain-timeout", "0.5") as run:
            alice = await sim.call("PJSIP/alice", "1000")
            await alice.wait_for_playback("sound:press-1")
            run.send(signal.SIGTERM)
            assert await run.wait_exit() == 0
        assert "0 call(s) ended during the drain, 1 call(s) handed back" in "".join(run.err)
        await wait_in_dialplan(alice)
        await alice.hangup()

        async with ivrkit_run(sim, "--on-stop", "drain", "--drain-timeout", "600") as run:
            bob = await sim.call("PJSIP/bob", "1000")
            await bob.wait_for_playback("sound:press-1")
            run.send(signal.SIGTERM)
            await run.wait_err(r"draining 1 live call")
            run.send(signal.SIGINT)
            assert await run.wait_exit() == 0
        err = "".join(run.err)
        assert "second stop request: ending the drain now" in err
        assert "1 call(s) handed back" in err
        await wait_in_dialplan(bob)
        await bob.hangup()


MENU = """\
menus:
  main:
    greeting: [{greeting}]
    timeout: 10
    options:
      - key: "1"
        play: [sound:you-entered]
"""


async def test_sighup_reloads_a_valid_menu_for_new_calls_and_rejects_a_bad_one(
    tmp_path: Path,
) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU.format(greeting="sound:press-1"))
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with ivrkit_run(sim, menu=menu) as run:
            alice = await sim.call("PJSIP/alice", "1000")
            await alice.wait_for_playback("sound:press-1")

            menu.write_text(MENU.format(greeting="sound:press-1") + "    bogus: 3\n")
            run.send(signal.SIGHUP)
            await run.wait_err(r"reload rejected: .*the previous menu stays in force")
            cause = await run.wait_err(r"Cause: .*menu\.yaml:\d+")
            assert "bogus" in cause
            bob = await sim.call("PJSIP/bob", "1000")
            await bob.wait_for_playback("sound:press-1")  # the old menu, still in force

            menu.write_text(MENU.format(greeting="sound:vm-goodbye"))
            run.send(signal.SIGHUP)
            await run.wait_err(r"reloaded .*menu\.yaml \(1 menu, start `main`\)")
            carol = await sim.call("PJSIP/carol", "1000")
            await carol.wait_for_playback("sound:vm-goodbye")  # new calls get the new one
            await alice.press("1")  # a live call keeps its menu
            await alice.wait_for_playback("sound:you-entered")
            for caller in (alice, bob, carol):
                await caller.hangup()
            run.send(signal.SIGTERM)
            assert await run.wait_exit() == 0
        assert "ivrkit run: stopped (SIGTERM)" in "".join(run.err)
