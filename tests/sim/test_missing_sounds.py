"""Issue 14 item 2: a sound Asterisk does not have fails as on Asterisk, in every mode.

Recorded (shared/asterisk-traces/protocol-catalog, step 40): ``POST .../play
media=sound:no-such-sound`` → 201 ``queued``; ``PlaybackStarted`` (``playing``) 0.1 ms
later; ``PlaybackFinished`` ``failed`` 0.1 ms after that. Asterisk's
``res/res_stasis_playback.c`` (``play_on_channel``/``playback_final_update``) makes an
item that fails before the last one ``continuing`` instead and goes on to the next.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _simari import Ari, Events, ari_session

from ivrkit.sim import Simulator


async def _play(ari: Ari, ev: Events, sim: Simulator, media: str) -> list[dict[str, Any]]:
    await sim.wait_for_app("channel-aa")
    caller = await sim.call("PJSIP/alice", "1000")
    await ev.next("StasisStart")
    status, body = await ari.req("POST", f"channels/{caller.channel_id}/play", {"media": media})
    assert (status, body["state"]) == (201, "queued")
    loop = asyncio.get_running_loop()
    out = []
    while True:
        got = await ev.next()
        if got["type"].startswith("Playback"):
            out.append({**got, "at": loop.time()})
        if got["type"] == "PlaybackFinished":
            return out


async def test_an_unknown_sound_fails_at_once_without_a_sounds_dir() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        events = await _play(ari, ev, sim, "sound:no-such-sound")
        assert [(e["type"], e["playback"]["state"]) for e in events] == [
            ("PlaybackStarted", "playing"),
            ("PlaybackFinished", "failed"),
        ]
        assert events[1]["at"] - events[0]["at"] < 0.001
        assert await ari.req("GET", "sounds/no-such-sound") == (404, {"message": "Sound not found"})
        ids = {s["id"] for s in (await ari.req("GET", "sounds"))[1]}
        assert "no-such-sound" not in ids
        # the core prompts (shared/asterisk-sounds) and the guide's prompts exist
        assert {"hello-world", "you-entered", "digits/1", "press-1", "or"} <= ids


async def test_a_failed_item_of_a_media_list_continues_with_the_next() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        events = await _play(ari, ev, sim, "sound:no-such-sound,sound:or")
        assert [
            (e["type"], e["playback"]["state"], e["playback"]["media_uri"]) for e in events
        ] == [
            ("PlaybackStarted", "playing", "sound:no-such-sound"),
            ("PlaybackContinuing", "continuing", "sound:no-such-sound"),
            ("PlaybackStarted", "playing", "sound:or"),
            ("PlaybackFinished", "done", "sound:or"),
        ]
        assert events[3]["at"] - events[2]["at"] == pytest.approx(0.729, abs=0.01)


async def test_declared_sounds_play_for_their_length_and_are_listed() -> None:
    async with (
        Simulator(sounds={"welcome": 2.5, "sales-menu": None}) as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as ev,
    ):
        events = await _play(ari, ev, sim, "sound:welcome")
        assert events[-1]["playback"]["state"] == "done"
        assert events[-1]["at"] - events[0]["at"] == pytest.approx(2.5, abs=0.01)
        status, sound = await ari.req("GET", "sounds/sales-menu")
        assert status == 200
        assert sound["id"] == "sales-menu"


def test_bad_sound_declarations_fail_at_the_callers_line() -> None:
    with pytest.raises(TypeError, match="not 'welcome'"):
        Simulator(sounds="welcome")
    with pytest.raises(ValueError, match="without 'sound:'"):
        Simulator(sounds=["sound:welcome"])
    with pytest.raises(ValueError, match="must be a number >= 0"):
        Simulator(sounds={"welcome": -2})
