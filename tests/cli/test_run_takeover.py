"""Restarts that keep calls: real ``ivrkit run`` processes take live calls over in turn.

Two callers stay on one call each while the serving process is replaced at seeded random
moments (during a prompt, between prompts, while waiting for a key), in three ways:

* ``kill9``: the process dies (kill -9); a new one starts and finds the calls in Stasis;
* ``replace``: a new process starts while the old one serves (Asterisk sends the old one
  ApplicationReplaced) and stops by itself, exit 0;
* ``drain``: the old one (``--on-stop drain``) gets SIGTERM and drains; a new one starts
  and takes the calls over from the draining one.

Nobody may hang a caller up or hand them back, every takeover must resume the menu the
caller was in (with the re-greeting), and no caller may hear silence longer than the
no-input timeout plus 2 s.
"""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import pytest
from _service import RunProcess, start_run

from ivrkit.sim import Caller, Heard, Simulator

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

TIMEOUT = 3  # the menus' no-input timeout
MENU = f"""\
menus:
  main:
    greeting: [sound:press-1, sound:or, sound:press-2]
    no_input: [sound:are-you-still-there]
    timeout: {TIMEOUT}
    options:
      - key: "1"
        play: [sound:you-entered]
      - key: "2"
        goto: sales
  sales:
    greeting: [sound:vm-enter-num-to-call]
    no_input: [sound:are-you-still-there]
    timeout: {TIMEOUT}
    options:
      - key: "1"
        play: [sound:vm-goodbye]
"""


def longest_silence(heard: list[Heard], since: float, until: float) -> float:
    """The longest stretch between ``since`` and ``until`` with nothing playing."""
    longest, covered = 0.0, since
    for h in sorted(heard, key=lambda h: h.start):
        longest = max(longest, h.start - covered)
        covered = max(covered, h.end if h.end is not None else until)
    return max(longest, until - covered)


async def handover(kind: str, old: RunProcess, sim: Simulator, menu: Path) -> RunProcess:
    if kind == "kill9":
        await old.kill()
        return await start_run(sim, "--on-stop", "drain", menu=menu)
    if kind == "drain":
        old.send(signal.SIGTERM)
        await old.wait_err(r"draining 2 live call")
    new = await start_run(sim, "--on-stop", "drain", menu=menu)
    await old.wait_err(r"another process took over the application and its 2 live call")
    assert await old.wait_exit() == 0  # replaced: it stops on its own, calls untouched
    return new


@pytest.mark.parametrize("seed", [12])
async def test_calls_survive_processes_replaced_at_random_moments(
    seed: int, tmp_path: Path
) -> None:
    rng = random.Random(seed)
    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU)
    requests: list[tuple[str, str]] = []

    def log(record: dict[str, Any]) -> None:
        requests.append((record["method"], record["path"]))

    async with Simulator(access_log=log) as sim:
        run = await start_run(sim, "--on-stop", "drain", menu=menu)
        try:
            alice = await sim.call("PJSIP/alice", "1000")  # stays in main
            bob = await sim.call("PJSIP/bob", "1000")  # goes to sales
            await alice.wait_for_playback("sound:press-1")
            await bob.wait_for_playback("sound:press-1")
            loop = asyncio.get_running_loop()
            began = loop.time()
            await bob.press("2")
            await bob.wait_for_playback("sound:vm-enter-num-to-call")
            in_sales = len(bob.heard)
            kinds = ["kill9", "replace", "drain", "kill9"]
            for kind in kinds:
                # a random moment: in a greeting, between prompts, in the no-input wait,
                # in the no-input prompt (the greetings last 2-3 s, the wait 3 s)
                await asyncio.sleep(rng.uniform(0.2, 2 * TIMEOUT))
                before = (len(alice.heard), len(bob.heard))
                run = await handover(kind, run, sim, menu)
                # each takeover re-greets the menu the caller was in
                async with asyncio.timeout(TIMEOUT + 5):
                    await wait_heard_after(alice, before[0], "sound:press-1")
                    await wait_heard_after(bob, before[1], "sound:vm-enter-num-to-call")
            # the last process serves both menus
            await alice.press("1")
            await alice.wait_for_playback("sound:you-entered")
            await bob.press("1")
            await bob.wait_for_playback("sound:vm-goodbye")
            ended = loop.time()
            assert not alice.hung_up
            assert not bob.hung_up
            await alice.hangup()
            await bob.hangup()
            run.send(signal.SIGTERM)
            assert await run.wait_exit() == 0
        finally:
            await run.kill()
    for caller in (alice, bob):
        gap = longest_silence(caller.heard, began, ended)
        assert gap <= TIMEOUT + 2, f"{caller.channel_name}: {gap:.2f} s of silence"
        mine = [(m, p) for m, p in requests if p.startswith(f"/ari/channels/{caller.channel_id}")]
        assert not [r for r in mine if r[0] == "DELETE" or r[1].endswith("/continue")], mine
    # once in sales, bob never heard main's menu again
    assert "sound:press-1" not in [h.media_uri for h in bob.heard[in_sales:]]


async def wait_heard_after(caller: Caller, index: int, media: str) -> None:
    """Until ``media`` starts playing to ``caller`` after its ``index``-th prompt."""
    while not any(h.media_uri == media for h in caller.heard[index:]):
        await caller.wait_for_playback(media)
