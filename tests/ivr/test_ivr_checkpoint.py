"""Checkpoint and resume: a call carries on in another machine at its menu's re-greeting."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ivr_script import ALICE, digit, expired, finished, machine, pb, started
from test_ivr_machine import MENU
from test_ivr_properties import KINDS, TREES, Tracker, _check, _event

from ivrkit.ivr import (
    Answer,
    CallerHungUp,
    CallMachine,
    CallResumed,
    CallStarted,
    CallState,
    CheckpointError,
    CommandFailed,
    Event,
    IllegalEventError,
    IvrError,
    PlayPrompt,
    PromptFailed,
    PromptFinished,
    ReportError,
    StartTimer,
    TimerExpired,
    load_menu,
)
from ivrkit.ivr._templates import render, template_fields


def plays(commands: object) -> list[str]:
    return [c.media for c in commands if isinstance(c, PlayPrompt)]  # type: ignore[attr-defined]


def through_json(m: CallMachine) -> dict[str, object]:
    data = json.loads(json.dumps(m.checkpoint()))
    assert isinstance(data, dict)
    return data


def test_resume_re_greets_the_menu_with_counters_and_data_kept() -> None:
    m = machine()
    m.handle(
        CallStarted(channel_name=ALICE, caller_number="6001", caller_name="Alice", language="fr"),
        0,
    )
    m.handle(digit("7"), 1)  # no such option: invalid prompt, no-match count 1
    cp = through_json(m)
    assert (cp["menu"], cp["no_match"], cp["state"]) == ("main", 1, "PLAYING")
    assert cp["data"] == {"caller_number": "6001", "caller_name": "Alice", "lang": "fr"}

    r = CallMachine.resume(m.tree, cp)
    assert (r.state, r.menu) == (CallState.IDLE, "main")
    out = r.handle(CallResumed(), 50)
    assert not any(isinstance(c, Answer) for c in out)
    # the attendant's re-greeting, with playback ids continuing the old numbering
    first = [c for c in out if isinstance(c, PlayPrompt)]
    assert first == [PlayPrompt(playback_id=pb(cp["playbacks"] + 1), media="sound:press-1")]
    assert r.data == m.data
    after = r.checkpoint()
    moved = ("state", "playbacks", "greetings")  # what re-greeting itself changes
    assert {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in cp.items() if k not in moved
    }
    assert after["greetings"] == cp["greetings"] + 1  # type: ignore[operator]


def test_resume_keeps_the_way_back() -> None:
    m = machine(MENU)
    started(m)
    m.handle(digit("2"), 1)
    m.handle(expired(1), 4)  # "2" alone: sales
    assert m.menu == "sales"
    r = CallMachine.resume(load_menu(MENU), through_json(m))
    r.handle(CallResumed(), 10)
    assert r.menu == "sales"
    n = r.checkpoint()["playbacks"]
    # sales' re-greeting is its greeting, two prompts; then "1" goes back to main
    assert plays(r.handle(PromptFinished(playback_id=f"c1-p{n}"), 11)) == ["sound:sales-2"]
    r.handle(PromptFinished(playback_id=f"c1-p{n + 1}"), 12)
    assert plays(r.handle(digit("1"), 13)) == ["sound:welcome"]
    assert r.menu == "main"


def test_a_resumed_machine_takes_only_call_resumed_and_a_fresh_one_never() -> None:
    m = machine()
    with pytest.raises(IllegalEventError, match=r"only a machine built by CallMachine\.resume"):
        m.handle(CallResumed(), 0)
    started(m)
    r = CallMachine.resume(m.tree, m.checkpoint())
    with pytest.raises(IllegalEventError, match="takes CallResumed, not CallStarted"):
        r.handle(CallStarted(channel_name=ALICE), 0)
    r.handle(CallResumed(), 0)
    with pytest.raises(IllegalEventError):
        r.handle(CallResumed(), 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "ivrkit.call/9"}, "format 'ivrkit.call/9'"),
        ({"menu": "gone"}, "names menu `gone`"),
        ({"stack": ["main", "gone"]}, "'stack' names menu `gone`"),
        ({"stack": "main"}, "'stack' must be a list"),
        ({"no_match": -1}, "'no_match' must be an integer >= 0"),
        ({"data": {"x": [1]}}, "only str, int, float, bool and None"),
        ({"call_id": ""}, "'call_id' must be a string"),
        ({"state": "DONE"}, "had ended"),
        ({"wall_offset": "soon"}, "'wall_offset' must be a number"),
    ],
)
def test_bad_checkpoints_are_refused_with_the_field_named(
    change: dict[str, object], message: str
) -> None:
    m = machine()
    started(m)
    cp = {**m.checkpoint(), **change}
    with pytest.raises(CheckpointError, match=message):
        CallMachine.resume(m.tree, cp)


def test_an_ended_call_cannot_be_resumed_and_errors_refuse_checkpoints() -> None:
    m = machine()
    started(m)
    m.handle(CallerHungUp(), 1)
    with pytest.raises(CheckpointError, match="had ended"):
        CallMachine.resume(m.tree, m.checkpoint())
    assert isinstance(CheckpointError("x"), ValueError | IvrError)


def test_wall_clock_offset_is_carried_over() -> None:
    m = machine()
    m.handle(CallStarted(channel_name=ALICE, wall_clock=1_800_000_000.0), 100.0)
    cp = m.checkpoint()
    assert cp["wall_offset"] == 1_800_000_000.0 - 100.0
    r = CallMachine.resume(m.tree, cp)
    r.handle(CallResumed(wall_clock=1_800_000_060.0), 5.0)  # another process, another loop
    assert r.checkpoint()["wall_offset"] == 1_800_000_060.0 - 5.0


def advance(m: CallMachine, t: Tracker, event: Event, now: float) -> None:
    """Feed one event and follow it like the driver would (as the property test does)."""
    before = m.state
    try:
        out = m.handle(event, now)
    except IllegalEventError:
        assert m.state is before
        return
    if isinstance(event, PromptFinished | PromptFailed):
        t.ended(event.playback_id)
    if isinstance(event, CommandFailed) and isinstance(event.command, PlayPrompt):
        t.ended(event.command.playback_id)
    if isinstance(event, TimerExpired):
        t.timers.discard(event.timer_id)
    if isinstance(event, CallerHungUp) and before is not CallState.DONE:
        t.playing.clear()
        t.unended.clear()
    t.apply(out)


@settings(max_examples=int(os.environ.get("IVRKIT_EXAMPLES", "300")), deadline=None)
@given(
    tree_index=st.sampled_from(range(len(TREES))),
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 40), st.sampled_from("0123456789*#")),
        max_size=60,
    ),
    cut=st.integers(0, 60),
)
def test_resume_of_a_checkpoint_behaves_like_the_call_re_greeting(
    tree_index: int, steps: list[tuple[str, int, str]], cut: int
) -> None:
    """At any point of any call: the checkpoint survives JSON; the resumed machine holds
    the same call (menu, way back, counters, data); CallResumed plays the menu's
    re-greeting (or listens, if it has none) with fresh ids; and from there the resumed
    call keeps every invariant of the property test."""
    tree = TREES[tree_index]
    m = CallMachine(tree, "c1")
    t = Tracker()
    now = 0.0
    t.apply(m.handle(CallStarted(channel_name=ALICE), now))
    for kind, pick, key in steps[:cut]:
        now += 0.25
        event = _event(kind, pick, key, m, t)
        advance(m, t, event, now)
    if m.state is CallState.DONE:
        with pytest.raises(CheckpointError):
            CallMachine.resume(tree, through_json(m))
        return
    cp = through_json(m)
    r = CallMachine.resume(tree, cp)
    assert r.checkpoint() == {**cp, "state": "IDLE"}
    now += 30.0
    out = r.handle(CallResumed(), now)
    menu = tree.menus[cp["menu"]]  # type: ignore[index]
    regreeting = menu.prompts_for("greeting", cp["greetings"] + 1)  # type: ignore[operator]
    values = {**cp["data"], "digits": cp["digits"]}  # type: ignore[dict-item]
    if regreeting and any(f not in values for f in template_fields(regreeting[0])):
        # the menu needs a field this call lacks: reported, and the call goes on
        assert any(isinstance(c, ReportError) for c in out)
    elif regreeting:
        assert r.state is CallState.GREETING
        media = render(regreeting[0], values)
        assert out == (PlayPrompt(playback_id=f"c1-p{cp['playbacks'] + 1}", media=media),)
    else:
        assert r.state is CallState.WAITING
        assert out == (
            StartTimer(
                timer_id=f"c1-t{cp['timers'] + 1}",
                seconds=menu.timeout,
                deadline=now + menu.timeout,
            ),
        )
    t2 = Tracker()
    t2.apply(out)
    for kind, pick, key in steps[cut:]:
        now += 0.25
        event = _event(kind, pick, key, r, t2)
        advance(r, t2, event, now)
        _check(r, t2)
    # nothing the resumed machine issued reuses an id of the first machine
    old = {f"c1-p{n}" for n in range(1, cp["playbacks"] + 1)}
    assert not old & set(t2.started)


def test_helpers_are_used() -> None:
    assert finished(1).playback_id == "c1-p1"
