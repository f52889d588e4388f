"""Recording with review, scripted against the engine alone."""

from __future__ import annotations

import pytest
from ivr_script import ALICE, digit, expired, finished, tm

from ivrkit.ivr import (
    CallMachine,
    CallStarted,
    CallState,
    Command,
    CommandFailed,
    MenuDefinitionError,
    PlayPrompt,
    PromptFinished,
    RecordingFailed,
    RecordingFinished,
    ReportError,
    StartRecording,
    StopRecording,
    TimerExpired,
    load_menu,
)

VOICEMAIL = """
menus:
  main:
    greeting: [sound:vm-intro]
    options:
      - key: "1"
        record:
          name: "vm-{caller_number}-{call_id}"
          into: message
          prompt: [sound:vm-rec-name]
          max_duration: 30
          max_silence: 3
          review:
            prompt: [sound:vm-review]
          then: {play: [sound:vm-msgsaved], }
          on_fail: {goto: sorry}
      - key: "2"
        record: {name: quick, beep: false, terminate_on: null, then: {hangup: true}}
  sorry:
    greeting: [sound:sorry]
    options: [{key: "1", top: true}]
"""


def plays(commands: tuple[Command, ...]) -> list[str]:
    return [c.media for c in commands if isinstance(c, PlayPrompt)]


def started() -> CallMachine:
    m = CallMachine(load_menu(VOICEMAIL), "c1")
    m.handle(CallStarted(channel_name=ALICE, caller_number="6001"), 0)
    return m


def test_record_review_listen_again_and_keep() -> None:
    m = started()
    assert plays(m.handle(digit("1"), 1)) == ["sound:vm-rec-name"]
    out = m.handle(finished(2), 2)
    assert out[0] == StartRecording(
        name="vm-6001-c1",
        format="wav",
        beep=True,
        max_duration=30,
        max_silence=3,
        terminate_on="#",
    )
    assert m.state is CallState.RECORDING
    assert m.running_timer == tm(1)  # max_duration + RECORD_GRACE: it cannot hang
    assert m.handle(digit("#"), 5) == ()  # Asterisk's key (terminate_on), not ours
    out = m.handle(RecordingFinished(name="vm-6001-c1", duration=3), 5)
    assert plays(out) == ["sound:vm-review"]
    assert m.data["message"] == "vm-6001-c1"
    assert plays(m.handle(digit("1"), 6)) == ["recording:vm-6001-c1"]  # listen
    assert plays(m.handle(finished(4), 7)) == ["sound:vm-review"]  # then the review again
    assert plays(m.handle(digit("3"), 8)) == ["sound:vm-rec-name"]  # again
    m.handle(finished(6), 9)
    assert m.state is CallState.RECORDING
    m.handle(RecordingFinished(name="vm-6001-c1", duration=4), 12)
    assert plays(m.handle(digit("2"), 13)) == ["sound:vm-msgsaved"]  # keep: then
    assert m.menu == "main"


def test_silence_at_the_review_keeps_the_message() -> None:
    m = started()
    m.handle(digit("1"), 1)
    m.handle(finished(2), 2)
    m.handle(RecordingFinished(name="vm-6001-c1"), 5)
    now = 5.0
    out: tuple[Command, ...] = ()
    for _ in range(3):  # the review plays, then silence
        current = m.current_playback
        assert current is not None
        now += 1
        m.handle(PromptFinished(playback_id=current), now)
        timer = m.running_timer
        assert timer is not None
        now += 5
        out = m.handle(TimerExpired(timer_id=timer), now)
    assert plays(out) == ["sound:vm-msgsaved"]


def test_a_lost_recording_end_is_stopped_by_the_safety_timer() -> None:
    m = started()
    m.handle(digit("1"), 1)
    m.handle(finished(2), 2)
    out = m.handle(expired(1), 37)
    assert out[0] == StopRecording(name="vm-6001-c1")
    assert plays(out) == ["sound:vm-review"]
    # the late RecordingFinished is stale, and harmless
    assert m.handle(RecordingFinished(name="vm-6001-c1"), 38) == ()


@pytest.mark.parametrize("how", ["event", "refused"])
def test_a_failed_recording_runs_on_fail(how: str) -> None:
    m = started()
    m.handle(digit("1"), 1)
    out = m.handle(finished(2), 2)
    if how == "event":
        out = m.handle(RecordingFailed(name="vm-6001-c1", cause="disk full"), 3)
        reason = "recording vm-6001-c1 failed: disk full"
    else:
        out = m.handle(CommandFailed(command=out[0], reason="409 Conflict"), 3)
        reason = "recording vm-6001-c1 could not start: 409 Conflict"
    assert [c.reason for c in out if isinstance(c, ReportError)] == [
        f"call c1 in menu main: {reason}"
    ]
    assert plays(out) == ["sound:sorry"]


def test_without_prompt_or_review() -> None:
    m = started()
    out = m.handle(digit("2"), 1)
    assert out[-2] == StartRecording(
        name="quick",
        format="wav",
        beep=False,
        max_duration=60,
        max_silence=5,
        terminate_on=None,
    )
    out = m.handle(RecordingFinished(name="quick"), 9)
    assert m.state is CallState.DONE


def test_record_problems_are_named() -> None:
    text = """
menus:
  m:
    options:
      - key: "1"
        record:
          name: "vm/{who}"
          format: mp3
          max_duration: 0
          terminate_on: "##"
          review: {prompt: [sound:r], listen: "1", keep: "1"}
"""
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "v.yaml")
    assert [str(p) for p in info.value.problems] == [
        "v.yaml:7: menus.m.options.0.record.then: missing field `then`",
        "v.yaml:10: menus.m.options.0.record.terminate_on: key must be one character, got '##'",
    ]
    text = text.replace('"##"', '"#"').replace(
        'keep: "1"}', 'keep: "1"}\n          then: {top: true}'
    )
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "v.yaml")
    assert [str(p) for p in info.value.problems] == [
        "v.yaml:7: menus.m.options.0.record.name: `{who}` in 'vm/{who}' is not a call-data field",
        "v.yaml:7: menus.m.options.0.record.name: recording name 'vm/{who}' may hold only "
        "letters, digits, - _ . and {fields}",
        "v.yaml:8: menus.m.options.0.record.format: unknown format 'mp3' (wav, gsm, ulaw, "
        "alaw, sln, g722)",
        "v.yaml:9: menus.m.options.0.record.max_duration: must be a number of seconds above 0 "
        "and at most 3600, got 0",
        "v.yaml:11: menus.m.options.0.record.review: listen, keep and again need three "
        "different keys",
    ]
