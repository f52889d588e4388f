"""Hypothesis: random event sequences never break the machine's invariants.

Invariants (see _state.py rules):
- at most one playback is current, and it is one the machine started and did not stop;
- at most one timer runs; none runs once the call is DONE;
- whenever nothing should be playing (WAITING, COLLECTING, HANDLER, TRANSFERRING, and DONE
  reached by the machine's own action) every playback started was stopped or has ended;
- only IvrError subclasses are ever raised, and an illegal event leaves the state as it was;
- every call always has a next step: while it is live (not IDLE, DONE or TRANSFERRING) a
  playback is current or a timer runs, so something will always move it on;
- no timer survives the end of a call (nor a playback the machine started).
Handler results are drawn from every kind of step, invalid ones and bad call data too.
"""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st
from ivr_script import ALICE, machine
from test_ivr_collect import BANK, ESCALATING
from test_ivr_flow import FLOW
from test_ivr_machine import MENU
from test_ivr_record import VOICEMAIL

from ivrkit.ivr import (
    Answer,
    CallerHungUp,
    CallMachine,
    CallStarted,
    CallState,
    CancelTimer,
    Command,
    CommandFailed,
    ContinueInDialplan,
    DigitReceived,
    Event,
    HandlerAction,
    HandlerFinished,
    Hangup,
    IllegalEventError,
    IvrError,
    PlayPrompt,
    PromptFailed,
    PromptFinished,
    PromptStarted,
    RecordingFailed,
    RecordingFinished,
    RunHandler,
    StartRecording,
    StartTimer,
    StopPrompt,
    TimerExpired,
    Transfer,
    load_menu,
    steps,
)
from ivrkit.ivr._loader import ATTENDANT_MENU

TREES = [
    load_menu(ATTENDANT_MENU.read_text()),
    load_menu(MENU),
    # barge-in off with type-ahead: keys wait for the greeting to end
    load_menu(MENU.replace("barge_in: false\n    type_ahead: false", "barge_in: false")),
    # hooks, handler timeouts, a filler, templates over call data, on_error
    load_menu(FLOW),
    # collects (fixed length, confirm, pattern, escalation), escalating menu prompts
    load_menu(BANK),
    load_menu(ESCALATING),
    # recording with a prompt, review and on_fail
    load_menu(VOICEMAIL),
]
RESULTS: list[object] = [
    None,
    steps.Goto("main"),
    steps.Goto("fr"),
    steps.Goto("nowhere"),
    steps.Back(),
    steps.Top(),
    steps.Hangup(),
    steps.Continue(),
    steps.Transfer("PJSIP/100"),
    steps.Play("sound:x", "digits:{digits}"),
    steps.Play("sound:{status}"),
    "junk",
]
SILENT = {
    CallState.WAITING,
    CallState.COLLECTING,
    CallState.HANDLER,
    CallState.TRANSFERRING,
    CallState.RECORDING,
}
MOVING = {CallState.GREETING, CallState.PLAYING}  # a prompt plays, whose end moves the call

KINDS = [
    "digit",
    "finish",
    "fail",
    "start",
    "timer",
    "handler",
    "cmdfail",
    "hangup",
    "junk",
    "recorded",
    "recfail",
]


class Tracker:
    """Follows the commands like a driver would, to check what the machine promises."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.playing: set[str] = set()  # started, not stopped, not ended
        self.unended: set[str] = set()  # started, not ended (stopped included)
        self.timers: set[str] = set()
        self.issued: list[Command] = []
        self.ended_by_us = False

    def apply(self, commands: tuple[Command, ...]) -> None:
        for c in commands:
            self.issued.append(c)
            if isinstance(c, PlayPrompt):
                assert not self.playing, f"second prompt {c} while {self.playing} plays"
                self.started.append(c.playback_id)
                self.playing.add(c.playback_id)
                self.unended.add(c.playback_id)
            elif isinstance(c, StopPrompt):
                assert c.playback_id in self.playing
                self.playing.discard(c.playback_id)
            elif isinstance(c, StartTimer):
                assert not self.timers, "second timer"
                self.timers.add(c.timer_id)
            elif isinstance(c, CancelTimer):
                assert c.timer_id in self.timers
                self.timers.discard(c.timer_id)
            elif isinstance(c, Hangup | ContinueInDialplan):
                self.ended_by_us = True

    def ended(self, playback_id: str) -> None:
        self.playing.discard(playback_id)
        self.unended.discard(playback_id)


@settings(max_examples=int(os.environ.get("IVRKIT_EXAMPLES", "300")), deadline=None)
@given(
    tree_index=st.sampled_from(range(len(TREES))),
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 40), st.sampled_from("0123456789*#")),
        max_size=60,
    ),
)
def test_random_event_sequences_keep_the_invariants(
    tree_index: int, steps: list[tuple[str, int, str]]
) -> None:
    m = CallMachine(TREES[tree_index], "c1")
    t = Tracker()
    now = 0.0
    t.apply(m.handle(CallStarted(channel_name=ALICE), now))
    for kind, pick, key in steps:
        now += 0.25
        event = _event(kind, pick, key, m, t)
        before = m.state
        try:
            out = m.handle(event, now)
        except IllegalEventError:
            assert m.state is before
            continue
        except IvrError:  # pragma: no cover - would be a bug; still the only allowed type
            raise
        if isinstance(event, PromptFinished | PromptFailed):
            t.ended(event.playback_id)
        if isinstance(event, CommandFailed) and isinstance(event.command, PlayPrompt):
            t.ended(event.command.playback_id)  # never played
        if isinstance(event, TimerExpired):
            t.timers.discard(event.timer_id)
        if isinstance(event, CallerHungUp) and before is not CallState.DONE:
            # rule 5: the caller's hang-up ends the channel's playbacks
            t.playing.clear()
            t.unended.clear()
        t.apply(out)
        _check(m, t)


def _check(m: CallMachine, t: Tracker) -> None:
    state = m.state
    # invariant: every live call has a next step
    if state in MOVING:
        assert m.current_playback is not None, f"{state.name} with nothing playing"
    elif state in (CallState.WAITING, CallState.COLLECTING, CallState.HANDLER, CallState.RECORDING):
        assert m.running_timer is not None, f"{state.name} with no timer running"
    assert len(t.timers) <= 1
    assert (m.running_timer is None) == (not t.timers)
    assert len(t.playing) <= 1
    if m.current_playback is not None:
        assert t.playing == {m.current_playback}
    if m.state is CallState.DONE:
        assert not t.timers, "timer left running after the call ended"
        assert not t.playing, "playback left playing after the call ended"
    if m.state in SILENT and not (m.state is CallState.HANDLER and _filler(m)):
        assert not t.playing
    assert m.live_playbacks <= t.unended | set()


def _event(kind: str, pick: int, key: str, m: CallMachine, t: Tracker) -> Event:
    started = t.started or ["c1-p1"]
    pbid = started[pick % len(started)]
    if kind == "digit":
        return DigitReceived(digit=key)
    if kind == "finish":
        return PromptFinished(playback_id=pbid)
    if kind == "fail":
        return PromptFailed(playback_id=pbid)
    if kind == "start":
        return PromptStarted(playback_id=pbid)
    if kind == "timer":
        # mostly the running timer, sometimes a stale or unknown one
        if m.running_timer is not None and pick % 4:
            return TimerExpired(timer_id=m.running_timer)
        return TimerExpired(timer_id=f"c1-t{pick % 5}")
    if kind == "handler":
        result = RESULTS[pick % len(RESULTS)]
        data: dict[str, object] | None = None
        if pick % 5 == 1:
            data = {**m.data, "status": "late", "lang": "fr"}
        elif pick % 7 == 2:
            data = {"bad": object()}
        return HandlerFinished(name="shop.handlers:lookup", result=result, data=data)
    if kind == "cmdfail":
        failing = [
            c
            for c in t.issued
            if isinstance(c, PlayPrompt | Answer | Transfer | RunHandler | StartRecording)
        ]
        command = failing[pick % len(failing)] if failing else Answer()
        return CommandFailed(command=command, reason="refused")
    if kind == "hangup":
        return CallerHungUp()
    if kind in ("recorded", "recfail"):
        name = m.recording if m.recording is not None and pick % 3 else f"old-{pick}"
        if kind == "recorded":
            return RecordingFinished(name=name, duration=pick)
        return RecordingFailed(name=name, cause="disk full")
    return PromptFinished(playback_id=f"zz-{pick}")


def test_machine_helper_is_used() -> None:
    assert machine().state is CallState.IDLE


def _filler(m: CallMachine) -> bool:
    """The running handler has a filler (only then may something play in HANDLER)."""
    return any(
        isinstance(o.action, HandlerAction) and o.action.filler is not None
        for menu in m.tree.menus.values()
        for o in menu.options
    )
