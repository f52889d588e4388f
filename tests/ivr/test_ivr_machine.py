"""Menu features, scripted: entries, actions, counters, barge-in, type-ahead, failures."""

from __future__ import annotations

import pytest
from ivr_script import ALICE, digit, expired, feed, finished, machine, pb, started, tm

from ivrkit.ivr import (
    Answer,
    CallerHungUp,
    CallMachine,
    CallState,
    CancelTimer,
    CommandFailed,
    ContinueInDialplan,
    HandlerFinished,
    Hangup,
    Log,
    PlayPrompt,
    PromptFailed,
    PromptFinished,
    PromptStarted,
    ReportError,
    RunHandler,
    StartTimer,
    StopPrompt,
    Transfer,
)

MENU = """
transcript:
  digit: "{channel} pressed {digit}"
  no_match: "no match"
  no_input: "no input"
  call_ended: "{channel} left"
menus:
  main:
    greeting: [sound:welcome]
    regreeting: [sound:again]
    invalid: [sound:invalid]
    no_input: [sound:hello]
    timeout: 5
    inter_digit_timeout: 2
    max_no_input: 2
    max_no_match: 3
    on_limit: {continue: {context: operator, extension: "0", priority: 1}}
    options:
      - key: "1"
        play: [sound:one, "digits:{digits}"]
      - key: "2"
        goto: sales
      - digits: "300"
        play: [sound:three-hundred]
      - pattern: "2XX"
        transfer: {endpoint: "PJSIP/{digits}", timeout: 20, failed: [sound:busy]}
      - pattern: "5."
        handler: "shop.handlers:lookup"
      - key: "9"
        hangup: true
      - key: "0"
        continue: true
  sales:
    greeting: [sound:sales-1, sound:sales-2]
    barge_in: false
    type_ahead: false
    options:
      - key: "1"
        back: true
      - key: "2"
        top: true
      - key: "3"
        goto: deep
  deep:
    greeting: []
    options:
      - key: "1"
        back: true
      - key: "*"
        top: true
"""


def play(n: int, media: str) -> PlayPrompt:
    return PlayPrompt(playback_id=pb(n), media=media)


def fresh() -> CallMachine:
    m = machine(MENU)
    assert started(m) == (Answer(), play(1, "sound:welcome"))
    return m


def test_greeting_then_no_input_timer() -> None:
    m = fresh()
    assert m.handle(finished(1), 3.0) == (StartTimer(timer_id=tm(1), seconds=5.0, deadline=8.0),)
    assert m.state is CallState.WAITING


def test_play_then_return_uses_the_regreeting_and_digits() -> None:
    m = fresh()
    out = m.handle(digit("1"), 1)
    assert out == (
        Log(line=f"{ALICE} pressed 1"),
        StopPrompt(playback_id=pb(1)),
        play(2, "sound:one"),
    )
    assert m.handle(finished(2), 2) == (play(3, "digits:1"),)
    assert m.handle(finished(3), 3) == (play(4, "sound:again"),)
    assert m.state is CallState.GREETING


def test_multi_digit_entry_waits_for_more_then_matches() -> None:
    m = fresh()
    out = feed(m, [digit("3"), digit("0")], 1)  # a prefix of "300" only: keep collecting
    assert m.state is CallState.COLLECTING
    assert out[-1] == StartTimer(timer_id=tm(2), seconds=2.0, deadline=3.0)
    assert m.handle(digit("0"), 1.5)[-1] == play(2, "sound:three-hundred")
    m = fresh()
    m.handle(finished(1), 1)
    out = feed(m, [digit("2")], 2)  # "2" matches key 2 but could also start "2XX"
    assert out[-1] == StartTimer(timer_id=tm(2), seconds=2.0, deadline=4.0)
    assert m.state is CallState.COLLECTING
    out = feed(m, [digit("0"), digit("1")], 2.5)
    assert out[-1] == Transfer(endpoint="PJSIP/201", timeout=20.0, caller_id=None)
    assert m.state is CallState.TRANSFERRING


def test_inter_digit_timeout_selects_the_complete_entry() -> None:
    m = fresh()
    m.handle(finished(1), 1)
    m.handle(digit("2"), 2)  # complete as key 2, could be 2XX
    out = m.handle(expired(2), 4)
    assert out == (play(2, "sound:sales-1"),)  # goto sales
    assert m.menu == "sales"


def test_inter_digit_timeout_on_an_incomplete_entry_is_no_match() -> None:
    m = fresh()
    m.handle(finished(1), 1)
    feed(m, [digit("2"), digit("0")], 2)
    out = m.handle(expired(3), 4)
    assert out == (Log(line="no match"), play(2, "sound:invalid"))


def test_hash_finishes_an_open_pattern() -> None:
    m = fresh()
    out = feed(m, [digit("5"), digit("4"), digit("3")], 1)
    assert m.state is CallState.COLLECTING
    assert isinstance(out[-1], StartTimer)
    out = m.handle(digit("#"), 1.5)
    assert out[-3:] == (
        CancelTimer(timer_id=tm(3)),
        RunHandler(name="shop.handlers:lookup", digits="543"),
        # the handler's timeout (handler_timeout, 10 s by default)
        StartTimer(timer_id=tm(4), seconds=10.0, deadline=11.5),
    )
    assert m.state is CallState.HANDLER
    assert m.handle(HandlerFinished(name="shop.handlers:lookup"), 3) == (
        CancelTimer(timer_id=tm(4)),
        play(2, "sound:again"),
    )


def test_hash_with_nothing_complete_is_no_match() -> None:
    m = fresh()
    feed(m, [digit("5")], 1)
    out = m.handle(digit("#"), 1.5)
    assert out[-2:] == (Log(line="no match"), play(2, "sound:invalid"))


def test_a_key_no_entry_can_start_is_no_match_at_once() -> None:
    m = fresh()
    out = m.handle(digit("7"), 1)
    assert out[-2:] == (Log(line="no match"), play(2, "sound:invalid"))
    assert m.handle(finished(2), 2) == (play(3, "sound:again"),)


def test_no_match_limit_runs_the_exit_action() -> None:
    m = fresh()
    n = 1
    for _ in range(2):
        m.handle(digit("7"), 1)
        n += 1
        m.handle(finished(n), 1)  # invalid prompt ends, regreeting starts
        n += 1
    out = m.handle(digit("7"), 2)
    assert out == (
        Log(line=f"{ALICE} pressed 7"),
        StopPrompt(playback_id=pb(n)),
        Log(line="no match"),
        ContinueInDialplan(context="operator", extension="0", priority=1),
        Log(line=f"{ALICE} left"),
    )
    assert m.state is CallState.DONE


def test_no_input_limit_and_counters_are_separate() -> None:
    m = fresh()
    m.handle(finished(1), 1)
    assert m.handle(expired(1), 6) == (Log(line="no input"), play(2, "sound:hello"))
    m.handle(finished(2), 7)
    m.handle(finished(3), 8)  # regreeting done, timer 2
    m.handle(digit("7"), 9)  # a no-match does not reset the no-input count
    m.handle(finished(4), 10)
    m.handle(finished(5), 11)  # timer 3
    out = m.handle(expired(3), 16)
    assert out[0] == Log(line="no input")
    assert isinstance(out[1], ContinueInDialplan)


def test_a_valid_entry_resets_the_counters() -> None:
    m = fresh()
    m.handle(finished(1), 1)
    m.handle(expired(1), 6)
    m.handle(finished(2), 7)
    m.handle(digit("1"), 8)  # valid: counters reset
    feed(m, [finished(4), finished(5), finished(6)], 9)
    assert m.running_timer == tm(2)
    assert m.handle(expired(2), 20)[1] == play(7, "sound:hello")  # not the limit


def test_hangup_and_continue_actions_end_the_call() -> None:
    m = fresh()
    assert m.handle(digit("9"), 1)[-2:] == (Hangup(), Log(line=f"{ALICE} left"))
    assert m.state is CallState.DONE
    m = fresh()
    out = m.handle(digit("0"), 1)
    assert ContinueInDialplan() in out
    assert m.live_playbacks == {pb(1)}  # stopped; its end report is still expected
    assert m.handle(finished(1), 1.1) == ()


def test_barge_in_off_plays_on_and_drops_keys_without_type_ahead() -> None:
    m = fresh()
    m.handle(digit("2"), 1)
    m.handle(expired(1), 3)  # 2 → sales after the inter-digit timeout
    assert m.menu == "sales"
    assert m.handle(digit("1"), 4) == (Log(line=f"{ALICE} pressed 1"),)  # no stop, dropped
    assert m.handle(finished(2), 5) == (play(3, "sound:sales-2"),)
    assert isinstance(m.handle(finished(3), 6)[0], StartTimer)
    m.handle(digit("3"), 7)  # goto deep: empty greeting → waits at once
    assert m.menu == "deep"
    assert m.state is CallState.WAITING
    out = m.handle(digit("1"), 8)  # back to sales
    assert m.menu == "sales"
    assert out[-1] == play(4, "sound:sales-1")
    m.handle(finished(4), 9)
    m.handle(finished(5), 10)
    out = m.handle(digit("1"), 11)  # back to main
    assert m.menu == "main"
    assert out[-1] == play(6, "sound:welcome")


def test_top_forgets_the_way_back_and_back_at_the_top_stays() -> None:
    m = fresh()
    m.handle(digit("2"), 1)
    m.handle(expired(1), 3)
    feed(m, [finished(2), finished(3)], 4)
    m.handle(digit("3"), 5)
    assert m.menu == "deep"
    m.handle(digit("*"), 6)
    assert m.menu == "main"
    m2 = machine(MENU.replace("goto: sales", "back: true", 1))
    started(m2)
    m2.handle(finished(1), 1)
    m2.handle(digit("2"), 2)
    out = m2.handle(expired(2), 4)
    assert m2.menu == "main"
    assert out == (play(2, "sound:welcome"),)


def test_type_ahead_keys_during_a_prompt_are_handled_when_the_menu_returns() -> None:
    m = fresh()
    m.handle(digit("1"), 1)  # plays sound:one (p2)
    assert m.handle(digit("7"), 1.2) == (Log(line=f"{ALICE} pressed 7"),)  # kept
    m.handle(finished(2), 2)
    out = m.handle(finished(3), 3)  # menu returns: the kept 7 is handled, no regreeting
    assert out == (Log(line="no match"), play(4, "sound:invalid"))


def test_type_ahead_carries_across_menus() -> None:
    m = fresh()
    m.handle(digit("1"), 1)
    feed(m, [digit("9")], 1.5)  # typed during "one": hang up when the menu listens
    m.handle(finished(2), 2)
    out = m.handle(finished(3), 3)
    assert Hangup() in out
    assert m.state is CallState.DONE


def test_type_ahead_multi_digit_entry_keeps_collecting() -> None:
    m = fresh()
    m.handle(digit("1"), 1)
    feed(m, [digit("2"), digit("0")], 1.5)
    m.handle(finished(2), 2)
    out = m.handle(finished(3), 3)
    assert m.state is CallState.COLLECTING
    assert isinstance(out[-1], StartTimer)


def test_keys_while_handler_runs_are_kept_and_while_transferring_dropped() -> None:
    m = fresh()
    feed(m, [digit("5"), digit("5"), digit("#")], 1)
    assert m.state is CallState.HANDLER
    m.handle(digit("9"), 2)
    assert Hangup() in m.handle(HandlerFinished(name="shop.handlers:lookup"), 3)
    m = fresh()
    feed(m, [digit("2"), digit("0"), digit("1")], 1)
    assert m.state is CallState.TRANSFERRING
    assert m.handle(digit("9"), 2) == (Log(line=f"{ALICE} pressed 9"),)
    assert m.handle(CallerHungUp(), 3) == (Log(line=f"{ALICE} left"),)


def test_transfer_failure_plays_the_failed_prompts_then_the_menu() -> None:
    m = fresh()
    out = feed(m, [digit("2"), digit("0"), digit("1")], 1)
    transfer = out[-1]
    assert isinstance(transfer, Transfer)
    assert m.handle(CommandFailed(command=transfer, reason="busy"), 2) == (play(2, "sound:busy"),)
    assert m.handle(finished(2), 3) == (play(3, "sound:again"),)


def test_handler_failure_returns_to_the_menu() -> None:
    m = fresh()
    out = feed(m, [digit("5"), digit("1"), digit("#")], 1)
    run = next(c for c in out if isinstance(c, RunHandler))
    assert m.handle(CommandFailed(command=run, reason="boom"), 2) == (
        CancelTimer(timer_id=tm(3)),  # the handler's timeout
        ReportError(reason="call c1 in menu main: handler shop.handlers:lookup failed: boom"),
        play(2, "sound:again"),
    )


def test_play_failures_move_on_to_the_next_prompt() -> None:
    m = fresh()
    m.handle(digit("1"), 1)
    assert m.handle(PromptFailed(playback_id=pb(2)), 1.1) == (play(3, "digits:1"),)
    cmd = play(3, "digits:1")
    assert m.handle(CommandFailed(command=cmd, reason="404"), 1.2) == (play(4, "sound:again"),)
    # a failure report for a playback that is not current only forgets it
    assert m.handle(CommandFailed(command=play(1, "sound:welcome"), reason="x"), 1.3) == ()
    assert pb(1) not in m.live_playbacks


def test_answer_failure_hangs_up() -> None:
    m = fresh()
    out = m.handle(CommandFailed(command=Answer(), reason="gone"), 0.1)
    assert out == (StopPrompt(playback_id=pb(1)), Hangup(), Log(line=f"{ALICE} left"))


def test_failures_of_fire_and_forget_commands_change_nothing() -> None:
    m = fresh()
    assert m.handle(CommandFailed(command=StopPrompt(playback_id=pb(1)), reason="404"), 1) == ()
    assert m.state is CallState.GREETING


def test_prompt_started_is_informative() -> None:
    m = fresh()
    assert m.handle(PromptStarted(playback_id=pb(1)), 0.1) == ()


def test_caller_gone_before_the_call_started() -> None:
    m = machine(MENU)
    assert m.handle(CallerHungUp(), 0) == ()
    assert m.state is CallState.DONE


def test_identifiers_are_deterministic() -> None:
    a, b = machine(MENU), machine(MENU)
    script = [digit("2"), expired(1), digit("3")]
    outs = []
    for m in (a, b):
        started(m)
        outs.append(feed(m, script, 1))
    assert outs[0] == outs[1]


def test_read_only_view() -> None:
    m = fresh()
    assert m.call_id == "c1"
    assert m.current_playback == pb(1)
    assert m.running_timer is None


def test_call_id_must_not_be_empty() -> None:
    with pytest.raises(ValueError, match="call_id"):
        CallMachine(machine(MENU)._tree, "")


def test_barge_in_off_with_type_ahead_acts_when_the_greeting_ends() -> None:
    m = machine(MENU.replace("barge_in: false\n    type_ahead: false", "barge_in: false"))
    started(m)
    m.handle(digit("2"), 1)
    m.handle(expired(1), 3)  # to sales: sales-1 (p2) plays, barge-in off
    assert m.handle(digit("1"), 4) == (Log(line=f"{ALICE} pressed 1"),)  # kept, no stop
    assert m.handle(finished(2), 5) == (play(3, "sound:sales-2"),)
    out = m.handle(finished(3), 6)  # greeting over: the kept 1 means "back"
    assert m.menu == "main"
    assert out == (play(4, "sound:welcome"),)


def test_done_absorbs_late_events_even_with_ids_it_never_issued() -> None:
    """Issue 16 finding 6: a late PromptFinished in DONE raised IllegalEventError."""
    m = machine()
    started(m)
    m.handle(CallerHungUp(), 1)
    assert m.state is CallState.DONE
    assert m.handle(finished(1), 2) == ()
    assert m.handle(finished(99), 2) == ()
    assert m.handle(PromptFinished(playback_id="someone-else-p1"), 2) == ()
    assert m.handle(expired(42), 2) == ()
    assert m.state is CallState.DONE
