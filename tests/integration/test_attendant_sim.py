"""The attendant (ivrkit.ivr.runner over ivrkit.ari) against the embedded Asterisk."""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator, Callable

import pytest

from _sim_client import client_config as config
from ivrkit.ari import AriClient
from ivrkit.ivr import (
    ATTENDANT_MENU,
    CallMachine,
    DigitReceived,
    MachineError,
    load_menu,
    load_menu_file,
)
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Caller, Simulator

GUIDE = [
    "Channel PJSIP/alice-00000001 has entered the application",
    "Channel PJSIP/alice-00000001 entered 1",
    "Channel PJSIP/alice-00000001 entered 2",
    "Channel PJSIP/alice-00000001 entered 8",
    "Channel PJSIP/alice-00000001 entered an invalid option!",
    "Channel PJSIP/alice-00000001 stopped paying attention...",
    "PJSIP/alice-00000001 has left the application",
]


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll a condition that has no event of its own (counts in other components)."""
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")


@contextlib.asynccontextmanager
async def serving(runner: MenuRunner, sim: Simulator) -> AsyncIterator[AriClient]:
    """``runner`` attached to a client of ``sim``, connected for the block."""
    client = AriClient(config(sim))
    runner.attach(client)
    async with client:
        yield client


@contextlib.asynccontextmanager
async def alice_calls(runner: MenuRunner, sim: Simulator) -> AsyncIterator[Caller]:
    """``serving``, and alice's call to 1000 (the attendant's extension) placed."""
    async with serving(runner, sim):
        yield await sim.call("PJSIP/alice", "1000")


async def test_the_guide_scenario_end_to_end() -> None:
    lines: list[str] = []
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lines.append)
    async with Simulator() as sim:
        async with serving(runner, sim) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(120):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("1")
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("2")
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("8")
                await caller.wait_for_playback("sound:press-1")  # after option-is-invalid
                await caller.wait_for_playback("sound:are-you-still-there")
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(1.0)
                await caller.hangup()
                await caller.wait_for_hangup()
                await runner.wait_no_calls()
            heard = [(h.media_uri, h.cut_off) for h in caller.heard]
            assert heard == [
                ("sound:press-1", True),
                ("sound:you-entered", False),
                ("digits:1", False),
                ("sound:press-1", True),
                ("sound:you-entered", False),
                ("digits:2", False),
                ("sound:press-1", True),
                ("sound:option-is-invalid", False),
                ("sound:press-1", False),
                ("sound:or", False),
                ("sound:press-2", False),
                ("sound:are-you-still-there", False),
                ("sound:press-1", True),
            ]
            # the no-input prompt starts 10 s after the menu's last prompt ended
            press2 = caller.heard[10]
            still = caller.heard[11]
            assert abs(still.start - press2.end - 10.0) < 0.05
            await wait_until(lambda: client.statistics().calls == 0)
        assert lines == GUIDE
        stats = runner.statistics()
        assert (stats.live_calls, stats.live_timers, stats.live_tasks) == (0, 0, 0)
        assert stats.call_errors == 0
        assert sim.stats()["channels"] == 0
        assert sim.stats()["playbacks"] == 0


async def test_hang_up_mid_prompt_leaves_nothing_behind() -> None:
    lines: list[str] = []
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lines.append)
    async with Simulator() as sim:
        async with serving(runner, sim) as client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.5)
                await caller.hangup()
                await caller.wait_for_hangup()
                await runner.wait_no_calls()
                await wait_until(lambda: client.statistics().calls == 0)
            await asyncio.sleep(15)  # past any timer that could have been left
            s = client.statistics()
            assert (s.calls, s.timers, s.tasks, s.playbacks) == (0, 0, 0, 0)
        assert lines == [GUIDE[0], GUIDE[-1]]
        assert [h.media_uri for h in caller.heard] == ["sound:press-1"]
        assert runner.statistics().commands_total == 4  # log, answer, play, log
        assert sim.stats() == {**sim.stats(), "channels": 0, "playbacks": 0, "bridges": 0}


CRASHY = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - {key: "1", handler: "crashy:boom"}
          - {key: "2", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "3", handler: "crashy:speak"}
    """
)


async def boom(call: object, digits: str) -> None:
    raise RuntimeError("handler bug")


async def speak(call: object, digits: str) -> None:
    from ivrkit.ari import CallScope
    from ivrkit.ivr import HandlerCall

    # handlers get the call's data and its scope; the scope's API is reachable directly
    assert isinstance(call, HandlerCall)
    assert isinstance(call.scope, CallScope)
    await call.play_and_wait("sound:demo-congrats")


async def test_one_calls_handler_crash_does_not_touch_another_call() -> None:
    lines: list[str] = []
    handlers = {"crashy:boom": boom, "crashy:speak": speak}
    runner = MenuRunner(load_menu(CRASHY), transcript=lines.append, handlers=handlers)
    async with Simulator() as sim:
        async with serving(runner, sim):
            alice = await sim.call("PJSIP/alice", "1000")
            bob = await sim.call("PJSIP/bob", "1000")
            async with asyncio.timeout(60):
                await alice.wait_for_playback("sound:press-1")
                await bob.wait_for_playback("sound:press-1")
                await alice.press("1")  # crashes: alice gets the menu again
                await bob.press("2")
                await alice.wait_for_playback("sound:press-1")
                await bob.wait_for_playback("sound:press-1")
                await alice.press("3")  # a working handler plays on the call
                await alice.wait_for_playback("sound:demo-congrats")
                await alice.wait_for_playback("sound:press-1")
                await alice.hangup()
                await bob.hangup()
                await runner.wait_no_calls()
        assert [h.media_uri for h in bob.heard][:4] == [
            "sound:press-1",
            "sound:you-entered",
            "digits:2",
            "sound:press-1",
        ]
        assert [h.media_uri for h in alice.heard] == [
            "sound:press-1",
            "sound:press-1",
            "sound:demo-congrats",
            "sound:press-1",
        ]
        stats = runner.statistics()
        assert stats.call_errors == 0
        assert stats.command_failures == 1  # the crashing handler, reported to its machine
        assert stats.calls_total == 2
        assert sim.stats()["channels"] == 0


async def test_release_hands_live_calls_back_to_the_dialplan() -> None:
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    async with Simulator() as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                assert await runner.release_calls() == 1
                await caller.wait_for_hangup()  # the dialplan's next step is Hangup()
        assert runner.statistics().live_calls == 0
        assert caller.heard[0].cut_off


TRANSFER = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - key: "3"
            transfer: {endpoint: "Local/2000@default", timeout: 5, failed: [sound:busy]}
          - key: "4"
            transfer: {endpoint: "Local/2999@default", timeout: 5, failed: [sound:busy]}
    """
)
DIALPLAN = {
    "default": {
        "1000": ["NoOp()", "Stasis(channel-aa)", "Hangup()"],
        "2000": ["Answer()", "Echo()"],
    }
}


async def test_transfer_bridges_the_caller_and_cleans_up() -> None:
    runner = MenuRunner(load_menu(TRANSFER), transcript=lambda line: None)
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("3")
                await wait_until(lambda: sim.stats()["bridges"] == 1)
                await wait_until(lambda: sim.stats()["channels"] == 3)  # alice + Local pair
                await wait_until(lambda: _bridged(sim) == 2)  # alice + the Local leg
                await caller.hangup()
                await caller.wait_for_hangup()
                await wait_until(lambda: sim.stats()["channels"] == 0)
                await wait_until(lambda: sim.stats()["bridges"] == 0)
                await runner.wait_no_calls()
        assert runner.statistics().command_failures == 0


def _bridged(sim: Simulator) -> int:
    return sum(len(bridge.channels) for bridge in sim.model.bridges.values())


async def test_a_caller_who_hangs_up_while_the_callee_answers_is_no_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The callee's leg is up and the bridge request is on its way when the caller hangs
    up: Asterisk answers addChannel with an error (below). That is the call's
    ordinary end: no command failure, no warning, nothing left behind."""
    requests: list[dict[str, object]] = []
    runner = MenuRunner(load_menu(TRANSFER), transcript=lambda line: None)
    async with (
        Simulator(dialplan=DIALPLAN, access_log=requests.append) as sim,
        alice_calls(runner, sim) as caller,
    ):
        async with asyncio.timeout(30):
            await caller.wait_for_playback("sound:press-1")
            # bridges/create and addChannel are each held 1 s: room for the hang-up
            sim.faults.delay_requests(1.0, path="bridges", method="POST")
            await caller.press("3")
            await wait_until(lambda: sim.stats()["channels"] == 3)  # alice + Local pair
            # the callee's leg enters our app: the runner's addChannel is now held
            await wait_until(lambda: _callee_in_stasis(sim))
            assert not any(_is_add(r) for r in requests)  # not answered yet
            await caller.hangup()
            await wait_until(lambda: sim.stats()["channels"] == 0)
            await wait_until(lambda: sim.stats()["bridges"] == 0)
            await runner.wait_no_calls()
    # 400 "Channel not found" (the caller's channel is gone) or 404 "Bridge not found"
    # (the call's cleanup destroyed the bridge first): both are the hang-up race
    assert [r["status"] for r in requests if _is_add(r)] in ([400], [404])
    assert runner.statistics().command_failures == 0
    assert not [r for r in caplog.records if "transfer" in r.getMessage()], caplog.text


async def test_a_bridge_error_while_the_caller_is_still_there_is_a_failed_transfer() -> None:
    """The other side of the hang-up check: addChannel refused (400 "Channel not found")
    while the caller's channel is still up is a failed transfer, as before: the failed
    prompt, then the menu again."""
    runner = MenuRunner(load_menu(TRANSFER), transcript=lambda line: None)
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                # the first POST under bridges/ is the create (served), the next addChannel
                sim.faults.delay_requests(0.0, count=1, path="bridges", method="POST")
                sim.faults.fail_requests(
                    400, count=1, path="bridges", method="POST", message="Channel not found"
                )
                await caller.press("3")
                await caller.wait_for_playback("sound:busy")
                await caller.wait_for_playback("sound:press-1")
                await caller.hangup()
                await runner.wait_no_calls()
            assert sim.stats()["bridges"] == 0
        assert runner.statistics().command_failures == 1


def _callee_in_stasis(sim: Simulator) -> bool:
    return any(
        ch.name.startswith("Local/2000@") and ch.stasis_app is not None
        for ch in sim.model.channels.values()
    )


def _is_add(record: dict[str, object]) -> bool:
    return str(record.get("path", "")).endswith("/addChannel")


async def test_a_failed_transfer_plays_its_prompt_and_returns_to_the_menu() -> None:
    runner = MenuRunner(load_menu(TRANSFER), transcript=lambda line: None)
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("4")  # no such extension: the Local leg dies at once
                await caller.wait_for_playback("sound:busy")
                await caller.wait_for_playback("sound:press-1")
                await caller.hangup()
                await runner.wait_no_calls()
            assert sim.stats()["bridges"] == 0
        assert runner.statistics().command_failures == 1


FEATURES = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1, sound:or, sound:press-2]
        options:
          - {key: "1", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "0", continue: true}
          - {key: "3", transfer: {endpoint: "Local/2000@default", timeout: 5}}
          - {key: "5", handler: "nowhere:missing"}
          - {key: "7", play: [recording:nothing, sound:or]}
    """
)


async def test_failed_and_refused_plays_move_on_to_the_next_prompt() -> None:
    runner = MenuRunner(load_menu(FEATURES), transcript=lambda line: None, handlers={})
    async with Simulator() as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                # the next play request is refused, the stop request fails: both survive
                play = f"channels/{caller.channel_id}/play"  # not the checkpoint's POST
                sim.faults.fail_requests(500, 1, path=play, method="POST")
                sim.faults.fail_requests(500, 1, path="playbacks", method="DELETE")
                await caller.press("1")
                await caller.wait_for_playback("digits:1")  # you-entered was refused
                await caller.wait_for_playback("sound:press-1")
                await caller.press("7")  # recording: fails at once (PlaybackFinished failed)
                await caller.wait_for_playback("sound:or")
                await caller.hangup()
                await runner.wait_no_calls()
        media = [h.media_uri for h in caller.heard]
        assert media[:3] == ["sound:press-1", "digits:1", "sound:press-1"]
        assert "sound:you-entered" not in media
        assert runner.statistics().command_failures == 1


async def test_continue_leaves_the_call_to_the_dialplan() -> None:
    runner = MenuRunner(load_menu(FEATURES), transcript=lambda line: None, handlers={})
    async with Simulator() as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("0")
                await caller.wait_for_hangup()  # Stasis returned; the dialplan hangs up
                await runner.wait_no_calls()
        assert [h.media_uri for h in caller.heard] == ["sound:press-1"]


async def test_an_unresolved_handler_is_a_failure_of_that_call_only() -> None:
    runner = MenuRunner(load_menu(FEATURES), transcript=lambda line: None, handlers={})
    async with Simulator() as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("5")
                await caller.wait_for_playback("sound:press-1")  # the menu again
                await caller.hangup()
                await runner.wait_no_calls()
        assert runner.statistics().command_failures == 1


async def test_the_transferred_party_hanging_up_ends_the_call() -> None:
    runner = MenuRunner(load_menu(FEATURES), transcript=lambda line: None, handlers={})
    async with Simulator(dialplan=DIALPLAN) as sim, serving(runner, sim) as client:
        caller = await sim.call("PJSIP/alice", "1000")
        async with asyncio.timeout(30):
            await caller.wait_for_playback("sound:press-1")
            await caller.press("3")
            await wait_until(lambda: sim.stats()["bridges"] == 1)
            await wait_until(lambda: sim.stats()["channels"] == 3)
            peer = next(c for c in await client.channels.list() if c.id != caller.channel_id)
            await client.channels.hangup(peer.id)
            await caller.wait_for_hangup()
            await runner.wait_no_calls()
            await wait_until(lambda: sim.stats()["channels"] == 0)
            await wait_until(lambda: sim.stats()["bridges"] == 0)


async def test_an_engine_error_hands_that_call_back_to_the_dialplan_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = CallMachine.handle

    def handle(self: CallMachine, event: object, now: float) -> object:
        if isinstance(event, DigitReceived) and event.digit == "4":
            raise MachineError("simulated engine bug")
        return real(self, event, now)  # type: ignore[arg-type]

    monkeypatch.setattr(CallMachine, "handle", handle)
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    requests: list[tuple[str, str]] = []
    dialplan = {"default": {"1000": ("Stasis(channel-aa)", "Wait(30)", "Hangup()")}}
    async with Simulator(
        dialplan=dialplan, access_log=lambda r: requests.append((r["method"], r["path"]))
    ) as sim:
        async with serving(runner, sim):
            alice = await sim.call("PJSIP/alice", "1000")
            bob = await sim.call("PJSIP/bob", "1000")
            async with asyncio.timeout(30):
                await alice.wait_for_playback("sound:press-1")
                await bob.wait_for_playback("sound:press-1")
                await alice.wait_until_heard("sound:press-2")  # alice's no-input timer runs
                await alice.press("4")
                await wait_until(lambda: alice.channel.app_name == "Wait")
                # back in the dialplan, told why, and not hung up by us
                assert sim.model.get_channel_var(alice.channel_id, "IVRKIT_HANDBACK") == "error"
                assert ("DELETE", f"/ari/channels/{alice.channel_id}") not in requests
                assert ("POST", f"/ari/channels/{alice.channel_id}/continue") in requests
                await bob.press("1")
                await bob.wait_for_playback("sound:you-entered")
                await bob.hangup()
                await alice.hangup()
                await runner.wait_no_calls()
        assert runner.statistics().call_errors == 1
        assert sim.stats()["channels"] == 0


async def test_release_while_waiting_cancels_the_timer() -> None:
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    async with Simulator() as sim:
        async with alice_calls(runner, sim) as caller:
            async with asyncio.timeout(30):
                await caller.wait_until_heard("sound:press-2")
                await wait_until(lambda: runner.statistics().live_timers == 1)
                assert await runner.release_calls() == 1
                await caller.wait_for_hangup()
        assert runner.statistics().live_timers == 0
        assert [h.media_uri for h in caller.heard] == ["sound:press-1", "sound:or", "sound:press-2"]


async def test_many_concurrent_calls_leave_nothing_behind() -> None:
    """100 callers at once, each: key during press-1, hear the answer, hang up."""
    lines: list[str] = []
    runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lines.append)

    async def one(sim: Simulator, n: int) -> list[str]:
        caller = await sim.call(f"PJSIP/caller{n}", "1000")
        await caller.wait_for_playback("sound:press-1")
        await caller.press(str(n % 3))  # 1 and 2 are options, 0 is invalid
        await caller.wait_for_playback("sound:press-1")
        await caller.hangup()
        await caller.wait_for_hangup()
        return [h.media_uri for h in caller.heard]

    async with Simulator() as sim:
        async with serving(runner, sim) as client:
            async with asyncio.timeout(120), asyncio.TaskGroup() as tg:
                tasks = [tg.create_task(one(sim, n)) for n in range(100)]
            await runner.wait_no_calls()
            await wait_until(lambda: client.statistics().calls == 0)
        for n, task in enumerate(tasks):
            answer = (
                ["sound:option-is-invalid"]
                if n % 3 == 0
                else ["sound:you-entered", f"digits:{n % 3}"]
            )
            assert task.result() == ["sound:press-1", *answer, "sound:press-1"]
        stats = runner.statistics()
        assert (stats.live_calls, stats.live_timers, stats.live_tasks) == (0, 0, 0)
        assert stats.calls_total == 100
        assert stats.call_errors == 0
        assert len(lines) == 100 * 3 + 34  # entered, key, left; +invalid for n % 3 == 0
        assert sim.stats()["channels"] == 0
