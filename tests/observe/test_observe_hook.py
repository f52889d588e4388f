"""The observer hook: what the runner and the client report, against the embedded Asterisk."""

from __future__ import annotations

import asyncio
import textwrap

from _sim_client import client_config as config
from ivrkit.ari import AriClient
from ivrkit.ivr import ATTENDANT_MENU, CallMachine, CallStarted, Note, load_menu, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.observe import AriRequest, Observers, Recorder, Step
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1, sound:or]
        invalid: [sound:option-is-invalid]
        timeout: 5
        max_no_input: 2
        on_limit: {goto: sales}
        options:
          - {key: "1", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "3", transfer: {endpoint: "Local/2999@default", timeout: 5, failed: [sound:busy]}}
          - {key: "5", handler: "t:boom"}
          - {key: "6", handler: "t:fine"}
      sales:
        greeting: [sound:sales]
        options:
          - {key: "9", hangup: true}
    """
)
DIALPLAN = {"default": {"1000": ["Stasis(channel-aa)", "Hangup()"]}}


async def boom(call: object, digits: str) -> None:
    raise RuntimeError("handler bug")


async def fine(call: object, digits: str) -> None:
    await asyncio.sleep(0.25)


def steps(recorder: Recorder) -> list[Step]:
    return [r for r in recorder.records if isinstance(r, Step)]


def test_a_machine_emits_notes_only_when_asked() -> None:
    tree = load_menu_file(ATTENDANT_MENU)
    quiet = CallMachine(tree, "c1").handle(CallStarted(channel_name="PJSIP/a-1"), 0.0)
    noted = CallMachine(tree, "c1", notes=True).handle(CallStarted(channel_name="PJSIP/a-1"), 0.0)
    assert not any(isinstance(c, Note) for c in quiet)
    assert [c for c in noted if isinstance(c, Note)] == [Note(kind="menu_entered", menu="main")]
    assert [c for c in noted if not isinstance(c, Note)] == list(quiet)


async def test_one_call_reported_end_to_end() -> None:
    recorder = Recorder()
    handlers = {"t:boom": boom, "t:fine": fine}
    runner = MenuRunner(
        load_menu(MENU), transcript=lambda line: None, handlers=handlers, observer=recorder
    )
    async with Simulator(dialplan=DIALPLAN) as sim:
        client = AriClient(config(sim), observer=recorder)
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.2)
                await caller.press("1")  # barge-in: press-1 cut off by the key
                await caller.wait_for_playback("digits:1")
                await caller.wait_for_playback("sound:press-1")
                await caller.press("7")  # no match
                await caller.wait_for_playback("sound:option-is-invalid")
                await caller.press("3")  # transfer to an extension that does not exist
                await caller.wait_for_playback("sound:busy")
                await caller.press("5")  # handler raises
                await caller.wait_for_playback("sound:press-1")
                await caller.press("6")  # handler runs 0.25 s
                await caller.wait_for_playback("sound:press-1")
                await caller.wait_for_playback("sound:sales")  # two no-inputs: limit, goto
                await caller.press("9")  # hang-up by the menu
                await caller.wait_for_hangup()
                await runner.wait_no_calls()
    got = steps(recorder)
    assert {s.call for s in got} == {got[0].call}
    call = got[0].call
    assert call.call_id == caller.channel_id
    assert call.channel == caller.channel_name
    assert call.asterisk_id  # the simulator's entity id, from StasisStart
    kinds = [s.step for s in got]
    assert kinds[0] == "call_started"
    assert kinds[-1] == "call_ended"
    assert got[-1].outcome == "hangup"
    by = {k: [s for s in got if s.step == k] for k in set(kinds)}
    assert [s.menu for s in by["menu_entered"]] == ["main", "sales"]
    assert [s.key for s in by["key"]] == ["1", "7", "3", "5", "6", "9"]
    selected = [(s.option, s.entry, s.action, s.target) for s in by["option_selected"]]
    assert selected == [
        ("1", "1", "play", None),
        ("3", "3", "transfer", "Local/2999@default"),
        ("5", "5", "handler", "t:boom"),
        ("6", "6", "handler", "t:fine"),
        ("9", "9", "hangup", None),
    ]
    assert [s.entry for s in by["no_match"]] == ["7"]
    assert len(by["no_input"]) == 2
    (limit,) = by["limit"]
    assert (limit.menu, limit.cause, limit.action, limit.target) == (
        "main",
        "no_input",
        "goto",
        "sales",
    )
    cut = by["prompt_cut_off"][0]
    assert (cut.prompt, cut.cause) == ("sound:press-1", "key")
    assert cut.seconds is not None
    assert 0 <= cut.seconds < 0.5
    assert "sound:you-entered" in [s.prompt for s in by["prompt_finished"]]
    assert all(s.prompt for s in by["prompt_started"])
    (transfer,) = by["transfer_finished"]
    assert transfer.outcome == "failed"
    assert transfer.target == "Local/2999@default"
    assert transfer.cause
    assert "without answering" in transfer.cause
    failed, ok = by["handler_finished"]
    assert (failed.target, failed.outcome) == ("t:boom", "error")
    assert failed.error is not None
    assert "handler bug" in failed.error
    assert (ok.target, ok.outcome) == ("t:fine", "ok")
    assert ok.seconds is not None
    assert 0.25 <= ok.seconds < 0.5
    requests = [r for r in recorder.records if isinstance(r, AriRequest)]
    ops = {(r.operation, r.status) for r in requests}
    assert ("POST /channels/{channelId}/play/{playbackId}", "201") in ops
    assert ("POST /channels/{channelId}/answer", "204") in ops
    assert all(caller.channel_id not in r.operation for r in requests)


async def test_a_call_released_at_shutdown_is_reported_as_released() -> None:
    recorder = Recorder()
    runner = MenuRunner(
        load_menu_file(ATTENDANT_MENU), transcript=lambda line: None, observer=recorder
    )
    async with Simulator() as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                assert await runner.release_calls() == 1
                await caller.wait_for_hangup()
    ended = [s for s in steps(recorder) if s.step == "call_ended"]
    assert [s.outcome for s in ended] == ["released"]


class Broken:
    def observe(self, record: object) -> None:
        raise ValueError("observer bug")


async def test_a_broken_observer_never_touches_the_call() -> None:
    recorder = Recorder()
    observers = Observers(Broken(), recorder)
    runner = MenuRunner(
        load_menu_file(ATTENDANT_MENU), transcript=lambda line: None, observer=observers
    )
    async with Simulator() as sim:
        client = AriClient(config(sim), observer=observers)
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")
                await caller.wait_for_playback("digits:1")
                await caller.hangup()
                await runner.wait_no_calls()
    assert runner.statistics().call_errors == 0
    assert [s.step for s in steps(recorder)][-1] == "call_ended"
