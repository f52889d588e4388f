"""A taken-over call hears its re-greeting at once, not after the old process's prompt.

Real ``ivrkit run`` processes against the simulator (the pattern of test_run_takeover.py):
the caller is 2 s into a 30 s prompt when the serving process is replaced (``kill -9``
and a restart, or a second process taking the application over). The process that
adopts the call from its ``IVRKIT_CALL`` checkpoint stops the old process's prompt
(``DELETE /playbacks/{channel}-{old token}-p{n}``; a 404 is normal), so the re-greeting
starts within a round trip of the adoption instead of 26 s later. It never stops a
playback of its own, nor one of another channel.
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from _service import RunProcess, start_run

from ivrkit.sim import Caller, Heard, Simulator

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

LONG = "sound:demo-congrats"  # 30.3 s in Asterisk's core sound set
MENU = f"""\
menus:
  main:
    greeting: [sound:hello-world]
    timeout: 60
    options:
      - key: "2"
        goto: info
  info:
    greeting: [sound:queue-thankyou]
    timeout: 60
    options:
      - key: "1"
        play: [{LONG}]
"""
PLAY = re.compile(r"^/ari/channels/([^/]+)/play/(.+)$")


async def heard_after(caller: Caller, index: int, media: str) -> Heard:
    """The first time ``media`` starts playing to ``caller`` after its ``index``-th prompt."""
    while True:
        for heard in caller.heard[index:]:
            if heard.media_uri == media:
                return heard
        await caller.wait_for_playback(media)


@pytest.mark.parametrize("kind", ["kill9", "replace"])
async def test_the_old_prompt_stops_when_the_call_is_taken_over(kind: str, tmp_path: Path) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU)
    loop = asyncio.get_running_loop()
    log: list[tuple[float, str, str, int]] = []

    def record(entry: dict[str, Any]) -> None:
        log.append((loop.time(), entry["method"], entry["path"], entry["status"]))

    async with Simulator(access_log=record) as sim:
        old: RunProcess = await start_run(sim, menu=menu)
        new: RunProcess | None = None
        try:
            alice = await sim.call("PJSIP/alice", "1000")  # the call taken over
            bob = await sim.call("PJSIP/bob", "1000")  # another call, in another menu
            async with asyncio.timeout(60):  # the old prompt, if it played on, lasts 30 s
                await alice.wait_for_playback("sound:hello-world")
                await alice.press("2")
                await alice.wait_for_playback("sound:queue-thankyou")
                # the checkpoint (menu info) is written once the greeting has ended
                await alice.wait_until(lambda: alice.heard[-1].end is not None)
                await alice.press("1")
                long_prompt = await alice.wait_for_playback(LONG)
                await bob.wait_for_playback("sound:hello-world")
                await asyncio.sleep(2)  # well into the 30 s prompt
                before = len(alice.heard)
                handover_at = loop.time()
                if kind == "kill9":
                    await old.kill()
                new = await start_run(sim, menu=menu)
                regreeting = await heard_after(alice, before, "sound:queue-thankyou")
                if kind == "replace":
                    await old.wait_err(r"another process took over the application")
                    assert await old.wait_exit() == 0
                await alice.wait_until(lambda: regreeting.end is not None)
            adopted_at = next(
                t
                for t, method, path, _ in log
                if t >= handover_at
                and method == "GET"
                and path == f"/ari/channels/{alice.channel_id}/variable"
            )
            # the re-greeting starts within a round trip of the adoption (the old prompt
            # had 27 s left); measured as the simulator's clock sees it
            wait = regreeting.start - adopted_at
            print(f"{kind}: re-greeting {wait * 1000:.0f} ms after the adoption")  # for -s
            assert wait < 1.0, f"re-greeting {wait:.2f} s after the adoption"
            assert long_prompt.cut_off, "the old prompt played on"
            assert long_prompt.end is not None
            assert long_prompt.end - adopted_at < 1.0
            assert not regreeting.cut_off  # the new process's own prompt was never stopped
            assert not alice.hung_up
            assert not bob.hung_up
        finally:
            await old.kill()
            if new is not None:
                new.send(signal.SIGTERM)
                await new.wait_exit()
    # every stop names a prompt of the old process on that channel, never a new one's
    tokens: dict[str, list[str]] = {}  # channel -> the tokens of its prompts, in order
    for _, method, path, _ in log:
        if method == "POST" and (m := PLAY.match(path)):
            channel, playback = m.groups()
            token = playback.removeprefix(f"{channel}-").rsplit("-p", 1)[0]
            if token not in tokens.setdefault(channel, []):
                tokens[channel].append(token)
    stopped = [
        (path.removeprefix("/ari/playbacks/"), status)
        for t, method, path, status in log
        if method == "DELETE" and path.startswith("/ari/playbacks/") and t >= handover_at
    ]
    assert stopped
    old_token = tokens[alice.channel_id][0]
    for playback, status in stopped:
        channel = alice.channel_id if playback.startswith(alice.channel_id) else bob.channel_id
        first_token = tokens[channel][0]
        assert playback.startswith(f"{channel}-{first_token}-p"), playback
        assert status in (204, 404), (playback, status)
    assert (f"{alice.channel_id}-{old_token}-p3", 204) in stopped  # the long prompt
