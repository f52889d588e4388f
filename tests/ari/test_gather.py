"""A call's keys are never lost between waits; ``gather`` collects them (issue 11, item 5).

``call.expect(ChannelDtmfReceived)`` in a loop dropped every key pressed while the code
between two waits ran. ``CallScope.digits`` keeps them in order from the call's start;
``next_digit()`` and ``gather()`` read from it. Against the embedded Asterisk, on
virtual time: the prompts' real lengths cost nothing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ivrkit.ari import (
    AriClient,
    CallEnded,
    CallScope,
    ChannelDtmfReceived,
    ConnectionConfig,
    Credentials,
    Gathered,
)
from ivrkit.sim import Simulator

APP = "gather-test"
DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
Flow = Callable[[CallScope], Coroutine[Any, Any, Any]]


class Results(list[Any]):
    """What each call's flow returned or raised; ``done`` is set at the first."""

    def __init__(self) -> None:
        super().__init__()
        self.done = asyncio.Event()

    def add(self, item: Any) -> None:
        self.append(item)
        self.done.set()

    async def wait(self) -> None:
        async with asyncio.timeout(60):
            await self.done.wait()


@asynccontextmanager
async def serving(flow: Flow) -> AsyncIterator[tuple[Simulator, Results]]:
    """A simulator whose extension 1000 runs ``flow(call)``; its results (or errors) listed."""
    results = Results()

    async def run(call: CallScope) -> None:
        try:
            await call.answer()
            results.add(await flow(call))
        except BaseException as exc:  # the test looks at it (a hang-up cancels the task)
            results.add(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise

    dialplan = {"default": {"1000": ["Stasis(gather-test)", "Hangup()"]}}
    async with Simulator(dialplan=dialplan) as sim:
        creds = Credentials(sim.username, sim.password)
        config = ConnectionConfig(base_url=sim.url, apps=(APP,), credentials=creds)
        client = AriClient(config, on_call=lambda call, _: call.spawn(run(call)))
        async with client:
            yield sim, results


# ------------------------------------------------------------------ the buffer


async def test_keys_pressed_between_waits_are_all_read_in_order() -> None:
    async def slow_reader(call: CallScope) -> str:
        got = ""
        for _ in range(4):
            got += await call.next_digit()
            await asyncio.sleep(1.0)  # work between two reads: keys keep coming meanwhile
        return got

    async with serving(slow_reader) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.press("1234", between_ms=100)
        await results.wait()
        await caller.hangup()
    assert results == ["1234"]


async def test_expect_in_a_loop_still_sees_only_later_keys() -> None:
    """The documented contrast: ``expect`` is armed, not buffered (why ``digits`` exists)."""

    async def expect_loop(call: CallScope) -> str:
        got = ""
        for _ in range(2):
            got += (await call.expect(ChannelDtmfReceived)).digit
            await asyncio.sleep(1.0)
        return got + "|" + call.digits.pending

    async with serving(expect_loop) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.press("1234", between_ms=100)
        await asyncio.sleep(1.5)
        await caller.press("5")
        await results.wait()
        await caller.hangup()
    assert results == ["15|12345"]  # expect lost 2, 3, 4; the buffer kept every key


async def test_waiting_for_a_key_when_the_call_ends_raises_call_ended() -> None:
    async def grab(call: CallScope) -> CallScope:
        return call

    async with serving(grab) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await results.wait()
        [call] = results
        waiting = asyncio.create_task(call.next_digit())  # a reader outside the call's tasks
        await asyncio.sleep(1)
        await caller.hangup()
        with pytest.raises(CallEnded, match=r"PJSIP/alice-\d+\) ended"):
            async with asyncio.timeout(30):
                await waiting


# ------------------------------------------------------------------ gather


async def test_a_key_interrupts_the_prompt_and_the_terminator_ends_the_input() -> None:
    async def pin(call: CallScope) -> Gathered:
        return await call.gather(4, "#", prompt="sound:agent-pass")

    async with serving(pin) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:agent-pass")
        await asyncio.sleep(0.5)
        await caller.press("12#")
        await results.wait()
        await caller.hangup()
    assert results == [Gathered("12", "terminator")]
    assert [(h.media_uri, h.cut_off) for h in caller.heard] == [("sound:agent-pass", True)]
    assert caller.heard[0].end is not None
    assert caller.heard[0].end - caller.heard[0].start < 1.0  # cut, not its 3.3 s


async def test_max_digits_leaves_the_rest_for_the_next_gather_which_skips_its_prompt() -> None:
    async def two(call: CallScope) -> tuple[Gathered, Gathered]:
        first = await call.gather(3, prompt="sound:agent-pass")
        await asyncio.sleep(1)  # the caller types on meanwhile
        second = await call.gather(2, "", first_timeout=2, prompt="sound:vm-password")
        return first, second

    async with serving(two) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:agent-pass")
        await caller.press("12345", between_ms=50)
        await results.wait()
        await caller.hangup()
    assert results == [(Gathered("123", "max_digits"), Gathered("45", "max_digits"))]
    assert [h.media_uri for h in caller.heard] == ["sound:agent-pass"]  # 45 typed ahead


async def test_timers_start_when_the_prompts_end() -> None:
    loop_times: list[float] = []

    async def timed(call: CallScope) -> Gathered:
        got = await call.gather(
            4, first_timeout=5, prompt=["sound:vm-password", "sound:agent-pass"]
        )
        loop_times.append(asyncio.get_running_loop().time())
        return got

    async with serving(timed) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await results.wait()
        await caller.hangup()
    assert results == [Gathered("", "timeout")]
    assert [(h.media_uri, h.cut_off) for h in caller.heard] == [
        ("sound:vm-password", False),
        ("sound:agent-pass", False),
    ]
    prompts_end = caller.heard[-1].end
    assert prompts_end is not None
    assert loop_times[0] - prompts_end == pytest.approx(5.0, abs=0.05)


async def test_inter_digit_timeout_ends_the_input_after_the_last_key() -> None:
    async def collect(call: CallScope) -> Gathered:
        return await call.gather(10, inter_timeout=3)

    async with serving(collect) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.press("42")
        await results.wait()
        await caller.hangup()
    assert results == [Gathered("42", "timeout")]


async def test_without_interrupt_the_prompt_plays_out_and_its_keys_still_count() -> None:
    async def collect(call: CallScope) -> Gathered:
        return await call.gather(2, prompt="sound:agent-pass", interrupt=False)

    async with serving(collect) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:agent-pass")
        await caller.press("77")
        await results.wait()
        await caller.hangup()
    assert results == [Gathered("77", "max_digits")]
    assert [(h.media_uri, h.cut_off) for h in caller.heard] == [("sound:agent-pass", False)]


async def test_a_hang_up_during_gather_raises_call_ended() -> None:
    async def collect(call: CallScope) -> Gathered:
        return await call.gather(4, prompt="sound:agent-pass")

    async with serving(collect) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:agent-pass")
        await caller.hangup()
        await results.wait()
    # the call's task is cancelled as its scope closes; a reader elsewhere gets CallEnded
    assert isinstance(results[0], CallEnded | asyncio.CancelledError), results


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_digits": 0}, "max_digits must be at least 1, not 0"),
        ({"max_digits": 4, "terminator": "x"}, "terminator 'x' is not made of DTMF keys"),
        ({"max_digits": 4, "first_timeout": -1}, "timeouts must not be negative"),
    ],
)
async def test_bad_arguments_are_refused_before_anything_plays(
    kwargs: dict[str, Any], message: str
) -> None:
    async with serving(lambda call: call.gather(**kwargs)) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await results.wait()
        await caller.hangup()
    assert isinstance(results[0], ValueError)
    assert message in str(results[0])
    assert caller.heard == []


# ------------------------------------------------------------------ docs/client.md


def docs_example() -> dict[str, Any]:
    [source] = re.findall(r"```python\n(# docs-gather\n.*?)```", DOC.read_text(), re.S)
    namespace: dict[str, Any] = {"__name__": "client_doc_gather"}
    exec(compile(source, str(DOC), "exec"), namespace)
    return namespace


async def test_docs_example_reads_a_pin_typed_over_the_prompt() -> None:
    ask_pin = docs_example()["ask_pin"]
    async with serving(ask_pin) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:agent-pass")
        await asyncio.sleep(1)
        await caller.press("12")
        await asyncio.sleep(1)  # slower than the app: nothing is lost meanwhile
        await caller.press("34#")
        await results.wait()
        await caller.hangup()
    assert results == ["1234"]
    assert [(h.media_uri, h.cut_off) for h in caller.heard] == [("sound:agent-pass", True)]


async def test_docs_example_asks_again_after_silence_and_gives_up() -> None:
    ask_pin = docs_example()["ask_pin"]
    async with serving(ask_pin) as (sim, results):
        caller = await sim.call("PJSIP/alice", "1000")
        await results.wait()
        await caller.hangup()
    assert results == [None]
    assert [h.media_uri for h in caller.heard] == ["sound:agent-pass"] * 3
