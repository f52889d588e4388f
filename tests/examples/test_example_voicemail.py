"""examples/voicemail: record, review (listen, keep, record again), save."""

from __future__ import annotations

import asyncio
import sys

import pytest
from example_call import EXAMPLES, heard, press_after, serving


@pytest.fixture
def mailbox() -> list[dict[str, str]]:
    sys.path.insert(0, str(EXAMPLES / "voicemail"))
    import voicemail

    voicemail.MAILBOX.clear()
    return voicemail.MAILBOX


async def test_record_listen_keep(mailbox: list[dict[str, str]]) -> None:
    from ivrkit.observe import Recorder, Step

    recorder = Recorder()
    async with serving("voicemail/voicemail.yaml", observer=recorder) as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await alice.wait_until_heard("sound:vm-intro")
            await alice.speak(3)
            await alice.press("#")
            await press_after(alice, "sound:vm-review", "2")  # listen
            await press_after(alice, "sound:vm-review", "1")  # keep
            await alice.wait_for_playback("sound:vm-goodbye")
            await alice.wait_for_hangup()
    (message,) = mailbox
    assert message["from"] == "6001"
    assert message["recording"].startswith("vm-6001-")
    steps = [(r.step, r.outcome) for r in recorder.records if isinstance(r, Step)]
    assert ("record_started", None) in steps
    assert ("record_finished", "ok") in steps
    listened = [m for m in heard(alice) if m.startswith("recording:")]
    assert listened == [f"recording:{message['recording']}"]


async def test_record_again_then_silence_keeps_it(mailbox: list[dict[str, str]]) -> None:
    async with serving("voicemail/voicemail.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await alice.wait_until_heard("sound:vm-intro")
            await alice.press("#")
            await press_after(alice, "sound:vm-review", "3")  # record again
            await alice.wait_until_heard("sound:vm-intro")
            await alice.speak(2)  # then 10 s of silence end it (max_silence)
            for _ in range(3):  # the review, and silence, three times: kept
                await alice.wait_for_playback("sound:vm-review")
            await alice.wait_for_playback("sound:vm-msgsaved")
            await alice.wait_for_hangup()
    assert heard(alice).count("sound:vm-intro") == 2


async def test_hanging_up_while_recording_still_saves(mailbox: list[dict[str, str]]) -> None:
    async with serving("voicemail/voicemail.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await alice.wait_until_heard("sound:vm-intro")
            await alice.speak(2)
            await alice.hangup()
    assert mailbox[0]["recording"].startswith("vm-6001-")


async def test_a_refused_recording_goes_to_the_sorry_menu(mailbox: list[dict[str, str]]) -> None:
    async with serving("voicemail/voicemail.yaml") as line:
        eve = await line.call()
        line.sim.faults.fail_requests(
            status=500, path=f"channels/{eve.channel_id}/record", message="disk full"
        )
        async with asyncio.timeout(60):
            await eve.wait_for_playback("sound:vm-sorry")
            await eve.wait_for_hangup()  # continue: the dialplan hangs up
    (error,) = line.errors
    assert "could not start" in error
    assert eve.channel_id in error
    assert mailbox == []
