"""The guide's attendant, scripted: exact commands for 1, 2, 8, silence, hang-up."""

from __future__ import annotations

from ivr_script import ALICE, attendant, digit, expired, finished, machine, pb, tm

from ivrkit.ivr import (
    Answer,
    CallerHungUp,
    CallStarted,
    CallState,
    Log,
    PlayPrompt,
    PromptFailed,
    PromptStarted,
    StartTimer,
    StopPrompt,
)

GUIDE_TRANSCRIPT = [
    "Channel PJSIP/alice-00000001 has entered the application",
    "Channel PJSIP/alice-00000001 entered 1",
    "Channel PJSIP/alice-00000001 entered 2",
    "Channel PJSIP/alice-00000001 entered 8",
    "Channel PJSIP/alice-00000001 entered an invalid option!",
    "Channel PJSIP/alice-00000001 stopped paying attention...",
    "PJSIP/alice-00000001 has left the application",
]


def play(n: int, media: str) -> PlayPrompt:
    return PlayPrompt(playback_id=pb(n), media=media)


def test_the_guide_scenario_step_by_step() -> None:
    m = machine()
    ch = f"Channel {ALICE}"
    steps = [
        # (event, now, exact commands)
        (
            CallStarted(channel_name=ALICE),
            0.0,
            (Log(line=f"{ch} has entered the application"), Answer(), play(1, "sound:press-1")),
        ),
        (PromptStarted(playback_id=pb(1)), 0.01, ()),
        # 1 during press-1: stop it, nothing more of the menu, you-entered + digits:1
        (
            digit("1"),
            0.5,
            (
                Log(line=f"{ch} entered 1"),
                StopPrompt(playback_id=pb(1)),
                play(2, "sound:you-entered"),
            ),
        ),
        (finished(1), 0.51, ()),  # the stopped prompt reports its end: ignored
        (finished(2), 1.5, (play(3, "digits:1"),)),
        (finished(3), 2.4, (play(4, "sound:press-1"),)),
        (
            digit("2"),
            2.7,
            (
                Log(line=f"{ch} entered 2"),
                StopPrompt(playback_id=pb(4)),
                play(5, "sound:you-entered"),
            ),
        ),
        (finished(4), 2.71, ()),
        (finished(5), 3.7, (play(6, "digits:2"),)),
        (finished(6), 4.4, (play(7, "sound:press-1"),)),
        (
            digit("8"),
            4.7,
            (
                Log(line=f"{ch} entered 8"),
                StopPrompt(playback_id=pb(7)),
                Log(line=f"{ch} entered an invalid option!"),
                play(8, "sound:option-is-invalid"),
            ),
        ),
        (finished(7), 4.71, ()),
        (finished(8), 6.6, (play(9, "sound:press-1"),)),
        (finished(9), 7.8, (play(10, "sound:or"),)),
        (finished(10), 8.5, (play(11, "sound:press-2"),)),
        # the menu finished: 10 s for a key
        (finished(11), 9.6, (StartTimer(timer_id=tm(1), seconds=10.0, deadline=19.6),)),
        (
            expired(1),
            19.6,
            (Log(line=f"{ch} stopped paying attention..."), play(12, "sound:are-you-still-there")),
        ),
        (finished(12), 21.1, (play(13, "sound:press-1"),)),
        # hang-up 1 s into the restarted press-1: Asterisk ends the playback itself
        (CallerHungUp(), 22.1, (Log(line=f"{ALICE} has left the application"),)),
        (PromptFailed(playback_id=pb(13)), 22.1, ()),  # absorbed by DONE
    ]
    for event, now, expected in steps:
        assert m.handle(event, now) == expected, (event, now)
    assert m.state is CallState.DONE
    assert m.running_timer is None
    assert m.live_playbacks == frozenset()


def test_transcript_is_the_guides_word_for_word() -> None:
    m = machine()
    lines: list[str] = []

    def run(event: object, now: float) -> None:
        lines.extend(c.line for c in m.handle(event, now) if isinstance(c, Log))  # type: ignore[arg-type]

    run(CallStarted(channel_name=ALICE), 0)
    for key, first in (("1", 1), ("2", 4)):
        run(digit(key), 1)
        run(finished(first + 1), 1)
        run(finished(first + 2), 1)
    run(digit("8"), 2)
    for n in (8, 9, 10, 11):
        run(finished(n), 3)
    run(expired(1), 13)
    run(CallerHungUp(), 14)
    assert lines == GUIDE_TRANSCRIPT


def test_a_key_during_or_stops_or_and_press_2_never_plays() -> None:
    """guide-js-press-during-or: 1 during `or` → or stopped, press-2 of that menu never plays."""
    m = machine()
    m.handle(CallStarted(channel_name=ALICE), 0)
    assert m.handle(finished(1), 1) == (play(2, "sound:or"),)
    out = m.handle(digit("1"), 1.1)
    assert StopPrompt(playback_id=pb(2)) in out
    assert [c.media for c in out if isinstance(c, PlayPrompt)] == ["sound:you-entered"]
    assert m.handle(finished(2), 1.2) == ()
    assert m.handle(finished(3), 2) == (play(4, "digits:1"),)
    assert m.handle(finished(4), 3) == (play(5, "sound:press-1"),)


def test_hangup_during_the_first_prompt_leaves_nothing() -> None:
    """guide-js-hangup-during-prompt: no stop request, no timer, no more plays."""
    m = machine()
    m.handle(CallStarted(channel_name=ALICE), 0)
    assert m.handle(CallerHungUp(), 0.5) == (Log(line=f"{ALICE} has left the application"),)
    assert m.handle(finished(1), 0.5) == ()
    assert m.state is CallState.DONE


def test_hangup_while_waiting_cancels_the_timer() -> None:
    m = machine()
    m.handle(CallStarted(channel_name=ALICE), 0)
    for n in (1, 2, 3):
        m.handle(finished(n), n)
    assert m.running_timer == tm(1)
    out = m.handle(CallerHungUp(), 5)
    assert out[0].__class__.__name__ == "CancelTimer"
    assert m.running_timer is None
    assert m.handle(expired(1), 13) == ()  # a late expiry is absorbed


def test_a_key_cancels_the_no_input_timer() -> None:
    m = machine()
    m.handle(CallStarted(channel_name=ALICE), 0)
    for n in (1, 2, 3):
        m.handle(finished(n), n)
    out = m.handle(digit("2"), 5)
    assert out[1].__class__.__name__ == "CancelTimer"
    assert m.running_timer is None
    assert m.handle(expired(1), 13) == ()  # stale: ignored


def test_attendant_menu_is_configuration() -> None:
    tree = attendant()
    menu = tree.menus["main"]
    assert menu.greeting == ("sound:press-1", "sound:or", "sound:press-2")
    assert menu.timeout == 10.0
    assert [o.value for o in menu.options] == ["1", "2"]
