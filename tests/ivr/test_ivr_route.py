"""Time-of-day routing with an injected clock and IANA zones (the engine reads neither)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ivrkit.ivr import CallMachine, CallStarted, MenuDefinitionError, PlayPrompt, load_menu

HOURS = """
time_zone: Europe/London
on_start:
  route:
    rules:
      - {dates: ["12-25", "2026-12-28"], goto: holiday}
      - {days: [mon-fri], hours: ["09:00-12:30", "13:30-17:30"], goto: open}
      - {days: [sat], hours: "10:00-14:00", goto: open}
      - {days: [sun], hours: "22:00-02:00", goto: night}
    otherwise: {goto: closed}
menus:
  open: {greeting: [sound:open], options: [{key: "1", hangup: true}]}
  closed: {greeting: [sound:closed], options: [{key: "1", hangup: true}]}
  holiday: {greeting: [sound:holiday], options: [{key: "1", hangup: true}]}
  night:
    greeting: [sound:night]
    options:
      - key: "1"
        route:
          zone: America/New_York
          rules: [{hours: "09:00-17:00", goto: open}]
          otherwise: {goto: closed}
"""
TREE = load_menu(HOURS)
LONDON = ZoneInfo("Europe/London")


def greeting_at(when: datetime) -> str:
    m = CallMachine(TREE, "c1")
    out = m.handle(CallStarted(channel_name="PJSIP/a-1", wall_clock=when.timestamp()), 100.0)
    (play,) = [c for c in out if isinstance(c, PlayPrompt)]
    return play.media


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-12-01 09:00", "sound:open"),  # a Tuesday, opening minute
        ("2026-12-01 08:59", "sound:closed"),
        ("2026-12-01 12:30", "sound:closed"),  # lunch: ranges end before their end minute
        ("2026-12-01 13:30", "sound:open"),
        ("2026-12-01 17:29", "sound:open"),
        ("2026-12-05 13:59", "sound:open"),  # Saturday
        ("2026-12-05 14:00", "sound:closed"),
        ("2026-12-25 10:00", "sound:holiday"),  # every year's 12-25, a Friday
        ("2027-12-25 10:00", "sound:holiday"),
        ("2026-12-28 10:00", "sound:holiday"),  # that one Monday only
        ("2027-12-28 10:00", "sound:open"),
        ("2026-12-06 23:00", "sound:night"),  # Sunday, a range past midnight
        ("2026-12-06 01:00", "sound:night"),  # (the same Sunday's early hours)
        ("2026-07-01 09:30", "sound:open"),  # summer time: 08:30 UTC is 09:30 in London
    ],
)
def test_business_hours_holidays_and_zones(local: str, expected: str) -> None:
    when = datetime.fromisoformat(local).replace(tzinfo=LONDON)
    assert greeting_at(when) == expected


def test_the_clock_moves_with_the_call_and_each_route_has_its_own_zone() -> None:
    # Sunday 23:00 in London is 18:00 in New York: night, then "1" routes New York's way
    m = CallMachine(TREE, "c1")
    start = datetime(2026, 12, 6, 23, 0, tzinfo=LONDON).timestamp()
    m.handle(CallStarted(channel_name="PJSIP/a-1", wall_clock=start), 100.0)
    assert m.menu == "night"
    from ivrkit.ivr import DigitReceived

    m.handle(DigitReceived(digit="1"), 100.0 + 3600)  # an hour on: 19:00 in New York
    assert m.menu == "closed"
    m2 = CallMachine(TREE, "c2")
    m2.handle(CallStarted(channel_name="PJSIP/a-2", wall_clock=start - 10 * 3600), 0.0)
    assert m2.menu == "closed"  # Sunday 13:00 London


def test_without_a_wall_clock_the_route_takes_otherwise() -> None:
    m = CallMachine(TREE, "c1")
    m.handle(CallStarted(channel_name="PJSIP/a-1"), 0.0)
    assert m.menu == "closed"


def test_route_problems_are_all_named() -> None:
    text = """
menus:
  m:
    options:
      - key: "1"
        route:
          zone: Mars/Olympus
          rules:
            - {days: [mon, funday], hours: ["9-17", "08:00-25:00"], goto: m}
            - {dates: ["2026-02-30", "13-01"], hangup: true}
            - {days: [tue]}
      - key: "2"
        route: {rules: [], otherwise: {top: true}}
"""
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "r.yaml")
    assert [str(p) for p in info.value.problems] == [
        "r.yaml:7: menus.m.options.0.route.otherwise: missing field `otherwise` (an action)",
        "r.yaml:7: menus.m.options.0.route.zone: unknown time zone 'Mars/Olympus': use an "
        "IANA name such as Europe/London or America/New_York (zone files: "
        "/usr/share/zoneinfo, or pip install tzdata)",
        "r.yaml:9: menus.m.options.0.route.rules.0.days.1: unknown weekday 'funday', "
        "expected one of mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri",
        "r.yaml:9: menus.m.options.0.route.rules.0.hours.0: time range '9-17' must look like "
        "09:00-17:30 (24-hour clock; 22:00-06:00 wraps past midnight)",
        "r.yaml:9: menus.m.options.0.route.rules.0.hours.1: time range '08:00-25:00' must "
        "look like 09:00-17:30 (24-hour clock; 22:00-06:00 wraps past midnight)",
        "r.yaml:10: menus.m.options.0.route.rules.1.dates.0: date '2026-02-30' must be "
        "YYYY-MM-DD (that day) or MM-DD (every year)",
        "r.yaml:10: menus.m.options.0.route.rules.1.dates.1: date '13-01' must be YYYY-MM-DD "
        "(that day) or MM-DD (every year)",
        "r.yaml:11: menus.m.options.0.route.rules.2: expected exactly one action of `play`, "
        "`goto`, `back`, `top`, `hangup`, `continue`, `transfer`, `handler`, `collect`, "
        "`route`, `record`, got none",
        "r.yaml:13: menus.m.options.1.route.zone: missing field `zone` (or set `time_zone` at "
        "the top)",
    ]
