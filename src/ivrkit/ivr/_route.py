"""Time-of-day routing: which rule of a route holds at a given Unix time.

Pure: the time is passed in (the driver's wall clock, carried by the machine as an
offset from loop time) and the zone is a tzinfo made by the loader, so tests inject any
instant and any zone, and the engine never reads a clock or a zone file.
"""

from __future__ import annotations

from datetime import datetime

from ivrkit.ivr._menu import Action, RouteAction, TimeRule


def route_action(route: RouteAction, wall_clock: float | None) -> tuple[Action, int | None]:
    """The action to run and the index of the rule that chose it (None: ``otherwise``).

    Without a wall clock no rule can hold: ``otherwise`` runs.
    """
    if wall_clock is None:
        return route.otherwise, None
    local = datetime.fromtimestamp(wall_clock, route.zone)
    for index, rule in enumerate(route.rules):
        if rule_holds(rule, local):
            return rule.action, index
    return route.otherwise, None


def rule_holds(rule: TimeRule, local: datetime) -> bool:
    """True if every condition of ``rule`` holds at ``local`` (an aware datetime)."""
    if rule.dates:
        day = local.date().isoformat()
        if not any(d == day or d == day[5:] for d in rule.dates):
            return False
    if rule.days and local.weekday() not in rule.days:
        return False
    if rule.hours:
        minute = local.hour * 60 + local.minute
        if not any(_in_range(minute, start, end) for start, end in rule.hours):
            return False
    return True


def _in_range(minute: int, start: int, end: int) -> bool:
    if start <= end:
        return start <= minute < end
    return minute >= start or minute < end  # wraps past midnight


__all__ = ["route_action", "rule_holds"]
