"""Helpers for the engine's synchronous script tests (no event loop, no mocks)."""

from __future__ import annotations

from collections.abc import Sequence

from ivrkit.ivr import (
    ATTENDANT_MENU,
    CallMachine,
    CallStarted,
    Command,
    DigitReceived,
    Event,
    MenuTree,
    PromptFinished,
    TimerExpired,
    load_menu,
    load_menu_file,
)

CALL = "c1"
ALICE = "PJSIP/alice-00000001"


def attendant() -> MenuTree:
    return load_menu_file(ATTENDANT_MENU)


def machine(tree: MenuTree | str | None = None) -> CallMachine:
    if tree is None:
        tree = attendant()
    elif isinstance(tree, str):
        tree = load_menu(tree)
    return CallMachine(tree, CALL)


def pb(n: int) -> str:
    return f"{CALL}-p{n}"


def tm(n: int) -> str:
    return f"{CALL}-t{n}"


def started(m: CallMachine, now: float = 0.0) -> tuple[Command, ...]:
    return m.handle(CallStarted(channel_name=ALICE), now)


def digit(d: str) -> DigitReceived:
    return DigitReceived(digit=d)


def finished(n: int) -> PromptFinished:
    return PromptFinished(playback_id=pb(n))


def expired(n: int) -> TimerExpired:
    return TimerExpired(timer_id=tm(n))


def feed(m: CallMachine, events: Sequence[Event], now: float = 0.0) -> list[Command]:
    out: list[Command] = []
    for event in events:
        out.extend(m.handle(event, now))
    return out
