"""ReactionProbe: the simulator's own timing of an app's reaction to a key press."""

from __future__ import annotations

import asyncio
import base64
import json

import aiohttp
import pytest

from ivrkit.sim import ReactionProbe, Simulator


def test_one_stop_and_one_play_sample_per_press() -> None:
    probe = ReactionProbe()
    probe.dtmf_written("ch-1", 10.0)
    probe.stop_requested("ch-1", 10.002)
    probe.play_requested("ch-1", 10.003)
    probe.play_requested("ch-1", 10.5)  # a later prompt, not a reaction
    probe.stop_requested("ch-1", 10.6)
    assert probe.presses == 1
    assert probe.stop == [pytest.approx(0.002)]
    assert probe.play == [pytest.approx(0.003)]
    assert probe.waiting == 0


def test_requests_before_any_press_are_not_reactions() -> None:
    probe = ReactionProbe()
    probe.play_requested("ch-1", 1.0)
    probe.stop_requested("ch-1", 1.0)
    assert (probe.stop, probe.play, probe.presses) == ([], [], 0)


def test_superseded_and_orphaned_presses_are_counted_unanswered() -> None:
    probe = ReactionProbe()
    probe.dtmf_written("ch-1", 1.0)
    probe.stop_requested("ch-1", 1.001)
    probe.dtmf_written("ch-1", 2.0)  # the play for the first press never came
    probe.dtmf_written("ch-2", 2.0)
    probe.channel_gone("ch-2")  # neither came
    probe.channel_gone("ch-3")  # unknown channel: nothing to settle
    assert (probe.unanswered_stop, probe.unanswered_play) == (1, 2)
    assert probe.waiting == 1  # ch-1's second press


def test_channels_are_timed_independently() -> None:
    probe = ReactionProbe()
    probe.dtmf_written("a", 0.0)
    probe.dtmf_written("b", 1.0)
    probe.play_requested("b", 1.25)
    probe.play_requested("a", 2.0)
    assert probe.play == [0.25, 2.0]


async def _stop_and_play(base_url: str, user: str, password: str) -> None:
    """A minimal app: answer, play press-1; on a key stop it and play you-entered."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"}) as http,
        http.ws_connect(f"{base_url}/ari/events", params={"app": "channel-aa"}) as ws,
    ):
        async for msg in ws:
            event = json.loads(msg.data)
            channel = event.get("channel", {}).get("id")
            if event["type"] == "StasisStart":
                await http.post(f"{base_url}/ari/channels/{channel}/answer")
                url = f"{base_url}/ari/channels/{channel}/play/pb-1"
                await http.post(url, params={"media": "sound:press-1"})
            elif event["type"] == "ChannelDtmfReceived":
                await asyncio.sleep(0.25)  # the app's reaction time, on virtual time
                await http.delete(f"{base_url}/ari/playbacks/pb-1")
                await asyncio.sleep(0.5)
                url = f"{base_url}/ari/channels/{channel}/play"
                await http.post(url, params={"media": "sound:you-entered"})
            elif event["type"] == "StasisEnd":
                return


async def test_simulator_times_the_reaction_from_the_socket_write() -> None:
    probe = ReactionProbe()
    async with Simulator(reaction_probe=probe) as sim, asyncio.TaskGroup() as tg:
        tg.create_task(_stop_and_play(sim.url, sim.username, sim.password))
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        async with asyncio.timeout(30):
            await caller.wait_for_playback("sound:press-1")
            await caller.press("1")
            await caller.wait_for_playback("sound:you-entered")
            await caller.hangup()
    assert probe.presses == 1
    assert probe.stop == [pytest.approx(0.25, abs=0.05)]
    assert probe.play == [pytest.approx(0.75, abs=0.05)]
    assert caller.heard[0].cut_off


async def test_without_a_probe_nothing_is_timed() -> None:
    async with Simulator() as sim:
        assert sim.model.reaction is None
