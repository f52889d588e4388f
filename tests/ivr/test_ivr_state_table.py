"""The transition table alone, and illegal input against the machine."""

from __future__ import annotations

import pytest
from ivr_script import ALICE, digit, expired, finished, machine, pb, started

from ivrkit.ivr import (
    CallerHungUp,
    CallStarted,
    CallState,
    CommandFailed,
    HandlerFinished,
    IllegalEventError,
    IvrError,
    MachineError,
    PromptStarted,
    StopPrompt,
    TimerExpired,
)
from ivrkit.ivr._state import AFTER_ACTION, TRANSITIONS


def test_every_state_has_a_row_and_targets_are_states() -> None:
    assert set(TRANSITIONS) == set(CallState)
    for row in TRANSITIONS.values():
        for targets in row.values():
            assert targets
            assert targets <= set(CallState)


def test_error_accepts_nothing_and_done_absorbs_all_but_call_started() -> None:
    assert dict(TRANSITIONS[CallState.ERROR]) == {}
    done = TRANSITIONS[CallState.DONE]
    assert CallStarted not in done
    assert all(targets == {CallState.DONE} for targets in done.values())


def test_nothing_leaves_done_or_enters_idle() -> None:
    for state, row in TRANSITIONS.items():
        for targets in row.values():
            assert CallState.IDLE not in targets
            assert CallState.ERROR not in targets
            if state is CallState.DONE:
                assert targets == {CallState.DONE}


@pytest.mark.parametrize("state", [s for s in CallState if s not in (CallState.ERROR,)])
def test_caller_hang_up_is_legal_everywhere_alive_and_ends_the_call(state: CallState) -> None:
    assert TRANSITIONS[state][CallerHungUp] == {CallState.DONE}


def test_only_the_handler_state_accepts_handler_finished() -> None:
    accepting = {s for s, row in TRANSITIONS.items() if HandlerFinished in row}
    assert accepting == {CallState.HANDLER, CallState.DONE}
    assert TRANSITIONS[CallState.HANDLER][HandlerFinished] == AFTER_ACTION


@pytest.mark.parametrize(
    "event",
    [
        digit("1"),
        finished(1),
        expired(1),
        HandlerFinished(name="x:y"),
        PromptStarted(playback_id="c1-p1"),
    ],
)
def test_events_before_the_call_started_are_illegal(event: object) -> None:
    m = machine()
    with pytest.raises(IllegalEventError) as info:
        m.handle(event, 0)  # type: ignore[arg-type]
    assert "state=IDLE (call c1)" in str(info.value)
    assert type(event).__name__ in str(info.value)
    assert m.state is CallState.IDLE


def test_second_call_started_is_illegal_and_state_is_kept() -> None:
    m = machine()
    started(m)
    with pytest.raises(IllegalEventError, match=r"CallStarted in state=GREETING \(call c1\)"):
        m.handle(CallStarted(channel_name=ALICE), 1)
    assert m.state is CallState.GREETING
    m.handle(CallerHungUp(), 2)
    with pytest.raises(IllegalEventError, match="state=DONE"):
        m.handle(CallStarted(channel_name=ALICE), 3)


@pytest.mark.parametrize("bad", ["c1-p2", "c1-p0", "c1-p01", "c2-p1", "c1-px", "p1", "c1-t1"])
def test_playback_ids_never_issued_are_illegal(bad: str) -> None:
    m = machine()
    started(m)
    with pytest.raises(IllegalEventError, match="never started by this call"):
        m.handle(PromptStarted(playback_id=bad), 1)
    assert m.state is CallState.GREETING
    assert m.current_playback == pb(1)


def test_timer_ids_never_issued_are_illegal_stale_ones_ignored() -> None:
    m = machine()
    started(m)
    with pytest.raises(IllegalEventError, match="timer 'c1-t1' was never started"):
        m.handle(TimerExpired(timer_id="c1-t1"), 1)
    for n in (1, 2, 3):
        m.handle(finished(n), n)
    m.handle(digit("5"), 4)
    assert m.handle(expired(1), 14) == ()  # issued, cancelled: stale


def test_handler_finished_outside_a_handler_is_illegal() -> None:
    m = machine()
    started(m)
    with pytest.raises(IllegalEventError, match="HandlerFinished in state=GREETING"):
        m.handle(HandlerFinished(name="a:b"), 1)


def test_time_going_backwards_is_illegal() -> None:
    m = machine()
    started(m, now=5.0)
    with pytest.raises(IllegalEventError, match="time went backwards"):
        m.handle(finished(1), 4.0)
    assert m.state is CallState.GREETING


def test_error_state_refuses_everything() -> None:
    m = machine()
    started(m)
    m._state = CallState.ERROR  # only reachable through a bug; simulate one
    with pytest.raises(IllegalEventError, match="state=ERROR"):
        m.handle(CallerHungUp(), 1)


def test_an_internal_bug_moves_to_error_as_machine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    m = machine()
    started(m)

    def broken(self: object, digit: str) -> None:
        raise KeyError("boom")

    monkeypatch.setattr(type(m), "_on_digit", broken)
    with pytest.raises(MachineError, match="internal error handling DigitReceived") as info:
        m.handle(digit("1"), 1)
    assert isinstance(info.value.__cause__, KeyError)
    assert m.state is CallState.ERROR
    with pytest.raises(IllegalEventError):
        m.handle(CallerHungUp(), 2)


def test_an_ivr_error_inside_moves_to_error_too(monkeypatch: pytest.MonkeyPatch) -> None:
    m = machine()
    started(m)

    def broken(self: object, digit: str) -> None:
        raise MachineError("inner")

    monkeypatch.setattr(type(m), "_on_digit", broken)
    with pytest.raises(MachineError, match="inner"):
        m.handle(digit("1"), 1)
    assert m.state is CallState.ERROR


def test_a_transition_outside_the_table_is_a_machine_error(monkeypatch: pytest.MonkeyPatch) -> None:
    m = machine()
    started(m)

    def sneaky(self: object, command: object) -> None:
        m._state = CallState.IDLE

    monkeypatch.setattr(type(m), "_on_command_failed", sneaky)
    with pytest.raises(MachineError, match="from GREETING to IDLE"):
        m.handle(CommandFailed(command=StopPrompt(playback_id=pb(1)), reason="x"), 1)
    assert m.state is CallState.ERROR


def test_ivr_error_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        IvrError("x")


def test_bad_digits_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="0-9"):
        digit("x")
