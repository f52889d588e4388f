"""The guide's attendant flow, end to end over HTTP + websocket (raw ARI)."""

from __future__ import annotations

import asyncio

from _simari import ari_session

from ivrkit.sim import Simulator


async def test_call_enters_stasis_plays_and_takes_dtmf() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        start = await ev.next("StasisStart")
        assert start["channel"]["name"] == "PJSIP/alice-00000001"
        assert start["channel"]["state"] == "Ring"
        assert start["channel"]["caller"] == {"name": "Alice", "number": "100"}
        assert start["channel"]["dialplan"]["app_name"] == "Stasis"
        assert start["args"] == []
        cid = caller.channel_id
        assert (await ari.req("POST", f"channels/{cid}/answer"))[0] == 204
        assert (await ev.next("ChannelStateChange"))["channel"]["state"] == "Up"
        status, pb = await ari.req(
            "POST", f"channels/{cid}/play", {"media": "sound:press-1", "playbackId": "pb1"}
        )
        assert status == 201
        assert pb == {
            "id": "pb1",
            "media_uri": "sound:press-1",
            "target_uri": f"channel:{cid}",
            "language": "en",
            "state": "queued",
        }
        started = await ev.next("PlaybackStarted")
        assert started["playback"]["state"] == "playing"
        heard = await caller.wait_for_playback("sound:press-1")
        t0 = asyncio.get_running_loop().time()
        finished = await ev.next("PlaybackFinished")
        assert finished["playback"]["state"] == "done"
        assert abs(asyncio.get_running_loop().time() - t0 - 1.189) < 0.05
        assert heard.end is not None
        assert not heard.cut_off
        await caller.press("1")
        dtmf = await ev.next("ChannelDtmfReceived")
        assert (dtmf["digit"], dtmf["duration_ms"]) == ("1", 100)
        await ari.req("POST", f"channels/{cid}/play", {"media": "sound:or", "playbackId": "pb2"})
        await caller.wait_for_playback("sound:or")
        await caller.hangup()
        types = [(await ev.next())["type"] for _ in range(4)]
        assert types == ["PlaybackStarted", "ChannelHangupRequest", "PlaybackFinished", "StasisEnd"]
        await caller.wait_for_hangup()
        assert caller.heard[-1].cut_off
        assert sim.stats() == {
            "channels": 0,
            "playbacks": 0,
            "bridges": 0,
            "timers": 0,
            "websockets": 1,
        }


async def test_missing_sound_fails_like_asterisk() -> None:
    async with (
        Simulator(missing_sounds=["press-1"]) as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as ev,
    ):
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        await ev.next("StasisStart")
        status, _ = await ari.req(
            "POST", f"channels/{caller.channel_id}/play", {"media": "sound:press-1"}
        )
        assert status == 201
        assert (await ev.next("PlaybackStarted"))["playback"]["state"] == "playing"
        assert (await ev.next("PlaybackFinished"))["playback"]["state"] == "failed"


async def test_caller_misuse_is_reported() -> None:
    import pytest

    from ivrkit.sim import SimulatorError

    async with Simulator() as sim:
        caller = await sim.call("PJSIP/alice", "1000")  # nobody connected: the call fails
        await caller.wait_for_hangup()
        with pytest.raises(SimulatorError, match="has ended"):
            await caller.press("1")
        with pytest.raises(SimulatorError, match="ended before sound:press-1"):
            await caller.wait_for_playback("sound:press-1")
        with pytest.raises(ValueError, match="must look like PJSIP/alice"):
            await sim.call("alice", "1000")
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        await ev.next("StasisStart")
        with pytest.raises(ValueError, match="'x' is not a DTMF digit"):
            await caller.press("1x")
        assert await ev.drain(1) == []  # nothing was sent for the valid prefix either


async def test_dtmf_from_the_app_reaches_the_phone() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        await sim.wait_for_app("channel-aa")
        caller = await sim.call("PJSIP/alice", "1000")
        await ev.next("StasisStart")
        assert (await ari.req("POST", f"channels/{caller.channel_id}/dtmf", {"dtmf": "12#"}))[
            0
        ] == 204
        await asyncio.sleep(1)
        assert caller.digits_heard == ["1", "2", "#"]
        assert await ev.drain(0.1) == []  # no ChannelDtmfReceived for DTMF we sent
