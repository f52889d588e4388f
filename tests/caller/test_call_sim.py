"""`ivrkit.caller.place_call` against the embedded Asterisk serving the Python attendant.

The caller speaks plain ARI (a Local channel into its own app); the far side is the
guide's attendant run by ivrkit.ivr.runner. Virtual time: a 21 s call takes a moment.
"""

from __future__ import annotations

import asyncio

import pytest
from _caller_helpers import attendant, project_tasks, sim_config, wait_until

from ivrkit.ari import AriClient, CallScope
from ivrkit.caller import CallReport, parse_script, place_call, press_script
from ivrkit.ivr import load_menu
from ivrkit.sim import Simulator

APP = "ivrkit-caller"


def approx(value: float, tolerance: float) -> object:
    return pytest.approx(value, abs=tolerance)


def heard(report: CallReport) -> list[tuple[str, str]]:
    return [(m.media_uri, m.outcome) for m in report.media]


async def test_the_guides_scenario_with_press() -> None:
    """Press 1, 2, 8; stay silent past the 10 s timeout; hang up."""
    async with Simulator() as sim, attendant(sim):
        script = press_script("1,2,8", then_wait=12, then_hangup=True)
        tasks_before = asyncio.all_tasks()
        async with asyncio.timeout(120):
            report = await place_call(sim_config(sim, APP), script)
        # the caller's client, pumps and websocket are gone with the call
        assert project_tasks(asyncio.all_tasks() - tasks_before) == []
        assert sim.stats()["websockets"] == 1  # the attendant's only
        assert sim.stats()["channels"] == 0
        assert sim.stats()["playbacks"] == 0
    assert report.passed
    assert [s.status for s in report.steps] == ["passed"] * 8
    assert heard(report) == [
        ("sound:press-1", "cut_off_key"),
        ("sound:you-entered", "finished"),
        ("digits:1", "finished"),
        ("sound:press-1", "cut_off_key"),
        ("sound:you-entered", "finished"),
        ("digits:2", "finished"),
        ("sound:press-1", "cut_off_key"),
        ("sound:option-is-invalid", "finished"),
        ("sound:press-1", "finished"),
        ("sound:or", "finished"),
        ("sound:press-2", "finished"),
        ("sound:are-you-still-there", "finished"),
        ("sound:press-1", "cut_off_hangup"),
    ]
    media = report.media
    # each key cuts press-1 about 0.2 s in (DTMF duration 100 ms + Asterisk's 100 ms)
    for cut, key in zip((media[0], media[3], media[6]), report.dtmf, strict=True):
        assert key.received_at[0] - key.sent_at == approx(0.2, 0.02)
        assert cut.end is not None
        assert 0 <= cut.end - key.received_at[0] < 0.05
    assert [d.digits for d in report.dtmf] == ["1", "2", "8"]
    # are-you-still-there starts 10 s after the menu's last prompt ended
    press2, still = media[10], media[11]
    assert press2.end is not None
    assert still.start - press2.end == approx(10.0, 0.05)
    # the hang-up comes 12 s after that same moment (--then-wait 12 counts from quiet)
    assert report.hangup.by == "caller"
    assert not report.hangup.after_script
    assert (report.hangup.cause, report.hangup.cause_txt) == (16, "Normal Clearing")
    assert report.hangup.at is not None
    assert report.hangup.at - press2.end == approx(12.0, 0.05)
    assert report.duration is not None
    assert report.duration >= report.hangup.at
    assert report.answered_at is not None
    assert 0 <= report.answered_at <= media[0].start


SCRIPT = """\
wait_for_app: channel-aa
steps:
  - wait_for: sound:press-1
  - press: "1"
  - heard: sound:press-1
  - heard: sound:you-entered
  - heard: digits:1
  - wait_for: sound:press-1
  - heard: sound:press-2
  - hangup
"""


async def test_a_script_reads_the_media_in_order() -> None:
    async with Simulator() as sim, attendant(sim):
        report = await place_call(sim_config(sim, APP), parse_script(SCRIPT, "s.yaml"))
    assert report.passed, report.steps
    details = {s.line: s.detail for s in report.steps}
    assert details[1] == "ARI app 'channel-aa' is connected"
    assert "sound:press-1 ended at" in details[5]
    assert "(cut_off_key)" in details[5]
    assert "digits:1 ended at" in details[7]
    assert "(finished)" in details[7]
    assert heard(report) == [
        ("sound:press-1", "cut_off_key"),
        ("sound:you-entered", "finished"),
        ("digits:1", "finished"),
        ("sound:press-1", "finished"),
        ("sound:or", "finished"),
        ("sound:press-2", "finished"),  # the hang-up came right after it ended
    ]
    assert report.hangup.by == "caller"


async def test_the_far_end_hangs_up() -> None:
    menu = load_menu(
        "menus:\n  main:\n    greeting: [sound:press-1]\n"
        '    options:\n      - {key: "9", hangup: true}\n'
    )
    async with Simulator() as sim, attendant(sim, menu=menu):
        report = await place_call(sim_config(sim, APP), press_script("9"))
        assert sim.stats()["channels"] == 0
    assert report.passed
    assert [s.step for s in report.steps] == ["wait_for first", "press 9", "wait_for_hangup"]
    assert report.hangup.by == "far_end"
    assert report.hangup.cause == 16
    # the attendant hangs up without stopping its prompt: the hang-up cuts it off
    assert heard(report) == [("sound:press-1", "cut_off_hangup")]
    assert report.dtmf[0].received_at


async def test_a_failing_step_stops_the_script_and_the_caller_hangs_up() -> None:
    script = parse_script(
        "step_timeout: 5\nsteps:\n  - wait_for: sound:press-1\n  - wait_for: sound:nothing\n"
        "  - press: '1'\n  - hangup\n",
        "f.yaml",
    )
    async with Simulator() as sim, attendant(sim):
        report = await place_call(sim_config(sim, APP), script)
        assert sim.stats()["channels"] == 0
    assert not report.passed
    assert [s.status for s in report.steps] == ["passed", "failed", "not_run", "not_run"]
    failed = report.failed_step
    assert failed is not None
    assert failed.line == 4
    assert failed.detail.startswith("not done within 5 s (heard so far: sound:press-1, sound:or")
    assert report.hangup.by == "caller"
    assert report.hangup.after_script
    assert report.dtmf == ()


async def test_a_missing_extension_ends_the_call_at_once() -> None:
    async with Simulator() as sim, attendant(sim):
        script = parse_script("call: {to: '4711'}\nsteps:\n  - wait_for: any\n", "x.yaml")
        report = await place_call(sim_config(sim, APP), script)
    assert not report.passed
    failed = report.failed_step
    assert failed is not None
    assert failed.detail == "the call ended before any started (heard so far: nothing)"
    assert report.endpoint == "Local/4711@default"
    assert report.answered_at is None
    assert report.hangup.by == "far_end"
    assert report.hangup.cause == 0


async def test_pressing_on_an_unanswered_call_waits_for_the_answer() -> None:
    """DTMF is only sent once ;1 is in our app (Asterisk answers 409 before that)."""
    dialplan = {"default": {"1000": ["NoOp()", "Wait(3)", "Answer()", "Wait(5)", "Hangup()"]}}
    async with Simulator(dialplan=dialplan) as sim:
        script = parse_script("steps:\n  - press: '5'\n  - wait_for_hangup\n")
        report = await place_call(sim_config(sim, APP), script)
    assert report.passed, report.steps
    assert report.answered_at is not None
    assert report.answered_at >= 3.0
    assert report.dtmf[0].sent_at >= report.answered_at
    assert report.hangup.by == "far_end"
    assert report.duration is not None
    assert report.duration >= 8.0


async def test_wait_for_app_fails_without_placing_a_call() -> None:
    script = parse_script(
        "wait_for_app: nobody\nstep_timeout: 2\nsteps:\n  - wait_for: any\n", "w.yaml"
    )
    async with Simulator() as sim:
        report = await place_call(sim_config(sim, APP), script)
        assert sim.stats()["channels"] == 0
    assert [(s.line, s.status) for s in report.steps] == [(1, "failed"), (4, "not_run")]
    assert report.steps[0].detail.startswith("not done within 2 s")
    assert (report.answered_at, report.duration, report.hangup.by) == (None, None, None)
    assert report.media == ()


async def test_cancelling_the_caller_hangs_the_call_up() -> None:
    """Ctrl-C in the middle of a call leaves no channel behind in Asterisk."""
    async with Simulator() as sim, attendant(sim) as runner:
        task = asyncio.ensure_future(place_call(sim_config(sim, APP), press_script("1,2")))
        async with asyncio.timeout(30):
            await wait_until(lambda: sim.stats()["playbacks"] > 0)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await runner.wait_no_calls()
            await wait_until(lambda: sim.stats()["channels"] == 0)
        assert sim.stats()["channels"] == 0


async def test_a_media_list_is_heard_item_by_item() -> None:
    """A plain ARI app plays one playback of three media (PlaybackContinuing between)."""

    async def converse(call: CallScope) -> None:
        await call.answer()
        await call.play_and_wait("sound:press-1,sound:or,sound:press-2")
        await call.hangup_quietly()

    dialplan = {"default": {"1000": ["NoOp()", "Stasis(lister)", "Hangup()"]}}
    async with Simulator(dialplan=dialplan) as sim:
        app = AriClient(
            sim_config(sim, "lister"), on_call=lambda call, _: call.spawn(converse(call))
        )
        async with app:
            script = parse_script("steps:\n  - heard: sound:or\n  - wait_for_hangup\n")
            report = await place_call(sim_config(sim, APP), script)
    assert report.passed, report.steps
    assert heard(report) == [
        ("sound:press-1", "finished"),
        ("sound:or", "finished"),
        ("sound:press-2", "finished"),
    ]
    assert len({m.playback_id for m in report.media}) == 1
    first, second, third = report.media
    assert first.end == second.start
    assert second.end == third.start
    assert third.end is not None
    assert third.end - first.start == approx(1.189 + 0.729 + 1.107, 0.05)
    assert report.hangup.by == "far_end"


async def test_a_second_caller_with_the_same_app_name_is_reported() -> None:
    """Asterisk gives an app name to the newest websocket (ApplicationReplaced)."""
    async with Simulator() as sim, attendant(sim):
        first = asyncio.ensure_future(place_call(sim_config(sim, APP), press_script("1,2")))
        await wait_until(lambda: sim.stats()["playbacks"] > 0)
        second = await place_call(sim_config(sim, APP), press_script("1", then_hangup=True))
        async with asyncio.timeout(30):
            report = await first
        await wait_until(lambda: sim.stats()["channels"] == 0)
    assert second.passed
    assert not report.passed
    failed = report.failed_step
    assert failed is not None
    assert failed.detail.startswith(
        f"another client connected as ARI app {APP!r} and took this call's events; "
        "give each concurrent caller its own --app"
    )
    assert report.hangup.by == "caller"  # it still hung its call up, over HTTP
    assert report.hangup.after_script
