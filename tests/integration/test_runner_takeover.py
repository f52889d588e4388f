"""A call taken over by another runner (a second client, same app) resumes its menu.

In-process and on virtual time: two MenuRunner+AriClient pairs against one simulator
stand for two processes (each runner has its own id token, as each process has).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import textwrap
from collections.abc import AsyncIterator
from typing import Any

import pytest

from _sim_client import client_config as config
from ivrkit.ari import ApplicationReplacedError, AriClient
from ivrkit.ivr import MenuTree, load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator
from ivrkit.sim.model._replies import AriError

MENU = load_menu(
    textwrap.dedent(
        """\
        menus:
          main:
            greeting: [sound:press-1, sound:or, sound:press-2]
            timeout: 5
            options:
              - {key: "2", goto: sales}
          sales:
            greeting: [sound:vm-enter-num-to-call]
            regreeting: [sound:vm-goodbye]
            timeout: 5
            options:
              - {key: "1", play: [sound:you-entered]}
        """
    )
)


def runner_on(
    sim: Simulator, menu: MenuTree = MENU, *, rest_transport: str = "http", **options: Any
) -> tuple[MenuRunner, AriClient]:
    """One of the two "processes": a runner (its transcript dropped) attached to a new
    client of ``sim``, not connected yet."""
    runner = MenuRunner(menu, transcript=lambda line: None, **options)
    client = AriClient(dataclasses.replace(config(sim), rest_transport=rest_transport))
    runner.attach(client)
    return runner, client


@contextlib.asynccontextmanager
async def taking_over(new: AriClient, old: AriClient) -> AsyncIterator[None]:
    """``new`` connects as the same app: ``old`` is replaced, the calls are ``new``'s."""
    async with new:
        with pytest.raises(ApplicationReplacedError):
            await old.wait_stopped()
        yield


def _saved(sim: Simulator, channel_id: str) -> dict[str, Any]:
    """The checkpoint on the channel, {} while none is written."""
    try:
        saved: dict[str, Any] = json.loads(sim.model.get_channel_var(channel_id, "IVRKIT_CALL"))
    except AriError:
        return {}
    return saved


async def test_a_second_runner_takes_the_call_over_and_re_greets_its_menu() -> None:
    requests: list[tuple[str, str]] = []
    variable_set = asyncio.Event()

    def log(record: dict[str, Any]) -> None:
        requests.append((record["method"], record["path"]))
        if record["path"].endswith("/variable"):
            variable_set.set()

    async with Simulator(access_log=log) as sim:
        first, old = runner_on(sim)
        async with old:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("2")
                await caller.wait_for_playback("sound:vm-enter-num-to-call")
                # the checkpoint is a variable set: on Asterisk it runs on the channel's
                # control thread behind a playing prompt (docs/simulator.md, "Ordering"),
                # so the runner writes it once its prompt has ended
                await caller.wait_until_heard("sound:vm-enter-num-to-call")
                while _saved(sim, caller.channel_id).get("menu") != "sales":
                    await variable_set.wait()
                    variable_set.clear()
                second, new = runner_on(sim)
                assert second.token != first.token
                async with taking_over(new, old):
                    # the re-greeting of the menu the caller was in
                    await caller.wait_for_playback("sound:vm-goodbye")
                    await caller.press("1")
                    await caller.wait_for_playback("sound:you-entered")
                    assert second.statistics().call_errors == 0
                    await caller.hangup()
                    await second.wait_no_calls()
        answers = [p for m, p in requests if p.endswith("/answer")]
        assert len(answers) == 1  # a resumed call is not answered again
        assert not [p for m, p in requests if m == "DELETE" and "/channels/" in p]
        media = [h.media_uri for h in caller.heard]
        assert media == [
            "sound:press-1",
            "sound:vm-enter-num-to-call",
            "sound:vm-goodbye",
            "sound:you-entered",
        ]


async def test_a_playback_the_machine_did_not_start_is_ignored_with_a_debug_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with Simulator() as sim:
        runner, client = runner_on(sim)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                # an id another process's machine would have used for this channel
                foreign = f"{caller.channel_id}-p2"
                with caplog.at_level(logging.DEBUG, logger="ivrkit.ivr.runner"):
                    await client.channels.play(caller.channel_id, "sound:beep", playback_id=foreign)
                    await caller.wait_for_playback("sound:beep")
                    await caller.press("2")
                    await caller.wait_for_playback("sound:vm-enter-num-to-call")
                    assert runner.statistics().call_errors == 0
                    assert not caller.hung_up
                    await caller.hangup()
                    await runner.wait_no_calls()
    ignored = [r.getMessage() for r in caplog.records if "did not start" in r.getMessage()]
    for kind in ("PlaybackStarted", "PlaybackFinished"):
        assert any(f"{kind} of playback {foreign}" in line for line in ignored), ignored


@pytest.mark.parametrize("value", ["not json", '{"format": "ivrkit.call/99"}'])
async def test_an_unreadable_checkpoint_starts_the_call_from_the_top(value: str) -> None:
    async with Simulator() as sim:
        async with AriClient(config(sim)):  # a process that dies before serving the call
            caller = await sim.call("PJSIP/alice", "1000")
        sim.model.set_channel_var(caller.channel_id, "IVRKIT_CALL", value)
        runner, client = runner_on(sim)
        async with client:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")  # the greeting, from the top
                await caller.hangup()
                await runner.wait_no_calls()
        assert runner.statistics().call_errors == 0


BIG_MENU = load_menu(
    textwrap.dedent(
        """\
        menus:
          main:
            greeting: [sound:press-1]
            timeout: 5
            options:
              - {key: "1", handler: "big:remember"}
        """
    )
)
NOTE = "order 12345, " * 400  # ~5 KB: more than an Asterisk request line holds (4096)


async def remember(call: Any, digits: str) -> None:
    call.data["note"] = NOTE


async def test_a_checkpoint_larger_than_a_request_line_travels_in_the_body() -> None:
    records: list[dict[str, Any]] = []
    async with Simulator(access_log=records.append) as sim:
        _, old = runner_on(sim, BIG_MENU, handlers={"big:remember": remember})
        async with old:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")
                for _ in range(1000):  # a variable set has no event of its own here
                    if "note" in sim.model.channels[caller.channel_id].variables.get(
                        "IVRKIT_CALL", ""
                    ):
                        break
                    await asyncio.sleep(0.05)
        writes = [r for r in records if r["path"].endswith("/variable") and r["method"] == "POST"]
        assert writes
        assert all(r.get("body") and "value" not in r["query"] for r in writes)
        second, new = runner_on(sim, BIG_MENU, handlers={"big:remember": remember})
        async with new:
            async with asyncio.timeout(30):
                for _ in range(1000):  # until the new runner has adopted the call
                    if second._calls:
                        break
                    await asyncio.sleep(0.01)
                (call,) = second._calls.values()
                assert call.machine.data["note"] == NOTE  # resumed with its 5 KB of data
                await caller.hangup()


async def test_a_call_that_only_plays_on_still_has_its_old_prompt_stopped() -> None:
    """Options that only play change nothing a resume uses, so no checkpoint is due; the
    writer still writes once the prompt count has run half a window past the written one
    (ivr/_handover.py rule 5), so the adopter's window still holds the playing prompt."""
    stops: list[tuple[str, int]] = []

    def log(record: dict[str, Any]) -> None:
        if record["method"] == "DELETE" and record["path"].startswith("/ari/playbacks/"):
            stops.append((record["path"].removeprefix("/ari/playbacks/"), record["status"]))

    async with Simulator(access_log=log) as sim:
        first, old = runner_on(sim)
        async with old:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("2")
                await caller.wait_until_heard("sound:vm-enter-num-to-call")
                for _ in range(5):  # 10 prompts, and nothing a resume uses changes
                    await caller.press("1")
                    await caller.wait_for_playback("sound:you-entered")
                    goodbye = await caller.wait_for_playback("sound:vm-goodbye")
                    await caller.wait_until(lambda h=goodbye: h.end is not None)
                    await asyncio.sleep(0.5)  # the writer's moment: nothing plays
                await caller.press("1")
                playing = await caller.wait_for_playback("sound:you-entered")
                del stops[:]  # the first runner's own (barge-in) stops
                second, new = runner_on(sim)
                async with taking_over(new, old):
                    regreeting = await caller.wait_for_playback("sound:vm-goodbye")
                    assert playing.cut_off
                    assert playing.end is not None
                    assert regreeting.start - playing.end < 0.1  # at once, not at its end
                    await caller.hangup()
                    await second.wait_no_calls()
    issued = 2 + 5 * 2 + 1  # the greetings of main and sales, 5 x 2, and the one playing
    playing_id = f"{caller.channel_id}-{first.token}-p{issued}"
    assert (playing_id, 204) in stops
    assert all(status == 404 for p, status in stops if p != playing_id), stops


LONG_GREETING = load_menu(
    textwrap.dedent(
        """\
        menus:
          main:
            greeting: [sound:press-1]
            timeout: 5
            options:
              - {key: "2", goto: sales}
          sales:
            greeting: [sound:demo-congrats]
            regreeting: [sound:vm-goodbye]
            timeout: 5
            options:
              - {key: "1", play: [sound:you-entered]}
        """
    )
)


async def test_over_the_websocket_a_menus_checkpoint_goes_over_http() -> None:
    """Entering a menu writes its checkpoint right after stopping the prompt, while the
    channel's thread may still be busy with it (a stop ends the prompt 0.87-4.7 ms after
    its answer on Asterisk 20.20.1). A variable set waits there; sent as a RESTRequest
    frame it would hold the websocket's only reader, and with it every other call's
    requests (res/ari/ari_websockets.c handles a socket's frames one at a time). So that
    write goes over HTTP; before, it went on the websocket with everything else."""
    records: list[dict[str, Any]] = []
    async with Simulator(access_log=records.append) as sim:
        runner, client = runner_on(sim, LONG_GREETING, rest_transport="websocket")
        async with client:
            assert client.rest_transport == "websocket"
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("2")  # during press-1: stop, checkpoint, greeting
                await caller.wait_for_playback("sound:demo-congrats")
                assert _saved(sim, caller.channel_id).get("menu") == "sales"
                await caller.hangup()
                await runner.wait_no_calls()
    variable = f"/ari/channels/{caller.channel_id}/variable"
    over_http = [r for r in records if r["method"] == "POST" and r["path"] == variable]
    assert len(over_http) == 1  # that one write; the others stay on the websocket
    assert over_http[0]["status"] == 204
    assert [h.media_uri for h in caller.heard] == ["sound:press-1", "sound:demo-congrats"]


async def test_a_takeover_during_a_new_menus_long_greeting_resumes_that_menu() -> None:
    """The checkpoint of a menu entered goes out before its greeting (ivr/_handover.py
    rule 6): before, it waited for the 30 s greeting to end, and a takeover 3 s in
    resumed from the top, after the rest of the greeting."""
    async with Simulator() as sim:
        _, old = runner_on(sim, LONG_GREETING)
        async with old:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("2")  # during press-1: stop, checkpoint, greeting
                greeting = await caller.wait_for_playback("sound:demo-congrats")
                assert _saved(sim, caller.channel_id).get("menu") == "sales"
                await asyncio.sleep(3)
                second, new = runner_on(sim, LONG_GREETING)
                async with taking_over(new, old):
                    regreeting = await caller.wait_for_playback("sound:vm-goodbye")
                    assert greeting.cut_off
                    assert greeting.end is not None
                    assert regreeting.start - greeting.end < 0.1
                    await caller.press("1")
                    await caller.wait_for_playback("sound:you-entered")  # sales' option
                    await caller.hangup()
                    await second.wait_no_calls()
    assert [h.media_uri for h in caller.heard] == [
        "sound:press-1",
        "sound:demo-congrats",
        "sound:vm-goodbye",
        "sound:you-entered",
    ]
