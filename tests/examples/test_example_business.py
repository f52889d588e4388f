"""examples/business: hours, holidays, sub-menus, transfers and the operator, on an
injected clock against the simulator."""

from __future__ import annotations

import asyncio
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from example_call import heard, press_after, serving

NEW_YORK = ZoneInfo("America/New_York")
DESKS = {
    "PJSIP/sales": {"answer_after": 1},
    "PJSIP/support": "busy",
    "PJSIP/operator": {"answer_after": 2},
    "PJSIP/250": {"answer_after": 1},
}


def at(local: str) -> float:
    return datetime.fromisoformat(local).replace(tzinfo=NEW_YORK).timestamp()


OPEN = at("2026-12-01 10:00")  # a Tuesday


@pytest.mark.parametrize(
    ("when", "first"),
    [
        ("2026-12-01 10:00", "sound:hello"),  # open
        ("2026-12-05 12:59", "sound:hello"),  # Saturday morning
        ("2026-12-05 13:00", "sound:please-try-call-later"),  # Saturday afternoon
        ("2026-12-01 18:00", "sound:please-try-call-later"),  # after hours
        ("2026-12-25 10:00", "sound:please-try-call-later"),  # Christmas (a holiday)
        ("2026-11-26 10:00", "sound:please-try-call-later"),  # Thanksgiving 2026
    ],
)
async def test_hours_and_holidays_decide_the_first_menu(when: str, first: str) -> None:
    async with serving("business/business.yaml", wall_clock=lambda: at(when)) as line:
        alice = await line.call()
        async with asyncio.timeout(60):
            await alice.wait_for_playback(first)
            await alice.wait_for_hangup() if first != "sound:hello" else await alice.hangup()
    if first != "sound:hello":
        assert heard(alice) == ["sound:please-try-call-later", "sound:vm-goodbye"]


async def test_holiday_and_closed_differ_only_in_the_way_out() -> None:
    # closed: "0" still reaches the operator; a holiday: it does not
    async with serving(
        "business/business.yaml", wall_clock=lambda: at("2026-12-01 20:00"), endpoints=DESKS
    ) as line:
        alice = await line.call()
        async with asyncio.timeout(60):
            await press_after(alice, "sound:please-try-call-later", "0")
            await alice.wait_for_playback("sound:pls-hold-while-try")
            await line.sim.wait_for_call("PJSIP/operator", "answered")
            await alice.hangup()


async def test_sales_desk_and_a_sales_extension_answer() -> None:
    async with serving("business/business.yaml", wall_clock=lambda: OPEN, endpoints=DESKS) as line:
        alice = await line.call()
        async with asyncio.timeout(60):
            await press_after(alice, "sound:hello", "1")
            await press_after(alice, "sound:press-1", "1")
            await line.sim.wait_for_call("PJSIP/sales", "answered")
            await alice.hangup()
        bob = await line.call()
        async with asyncio.timeout(60):
            await press_after(bob, "sound:hello", "1")
            await press_after(bob, "sound:press-1", "250")
            await line.sim.wait_for_call("PJSIP/250", "answered")
            await bob.hangup()


async def test_support_busy_back_top_and_invalid() -> None:
    async with serving("business/business.yaml", wall_clock=lambda: OPEN, endpoints=DESKS) as line:
        alice = await line.call()
        async with asyncio.timeout(60):
            await press_after(alice, "sound:hello", "2")
            await press_after(alice, "sound:press-1", "1")
            await alice.wait_for_playback("sound:tt-allbusy")  # support is busy
            await press_after(alice, "sound:press-1", "*")  # back to main
            await press_after(alice, "sound:press-1", "7")  # no such option
            await alice.wait_for_playback("sound:option-is-invalid")
            await press_after(alice, "sound:press-1", "1")  # sales
            await press_after(alice, "sound:press-1", "#")  # top
            await alice.wait_for_playback("sound:hello")
            await alice.hangup()
    assert "PJSIP/alice-00000001: no such option" in line.transcript


async def test_silence_escalates_then_the_operator_answers() -> None:
    async with serving("business/business.yaml", wall_clock=lambda: OPEN, endpoints=DESKS) as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await alice.wait_for_playback("sound:are-you-still-there")
            await alice.wait_for_playback("sound:please-try-again")
            await alice.wait_for_playback("sound:pls-hold-while-try")  # third: operator
            await line.sim.wait_for_call("PJSIP/operator", "answered")
            await alice.hangup()
    # three in main, then the operator menu's own second of silence transfers the call
    assert line.transcript.count("PJSIP/alice-00000001: silence") == 4
