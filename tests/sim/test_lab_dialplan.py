"""``LAB_DIALPLAN`` agrees with every dialplan position the recorded Asterisk reported.

Each channel snapshot in ``shared/asterisk-traces`` carries ``dialplan`` (context, exten,
priority, app_name, app_data). Where a channel runs the lab's dialplan, that is a fact
about the lab's extensions.conf, so the simulator's copy must have the same application
with the same data at that priority. Not dialplan steps, and skipped: the ``;1`` half of
an originate (``AppDial2``, or ``Stasis`` of the app given to originate) and an empty
``app_name`` (between steps). Extensions the simulator does not model are listed with
the reason.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

from _simari import ari_session
from _trace import TRACES

from ivrkit.sim import LAB_DIALPLAN, Simulator
from ivrkit.sim.model._dialplan import Dialplan

#: Recorded extensions the lab dialplan leaves out on purpose.
NOT_MODELLED = {
    ("default", "1004"): "StasisBroadcast is not simulated",
    ("default", "1007"): "StasisBroadcast is not simulated",
    ("nosuchcontext", "9999"): "the missing-context case: it must not exist",
}

Position = tuple[str, str, int, str, str]


def _snapshots(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if isinstance(value.get("dialplan"), dict) and "name" in value:
            yield value
        for item in value.values():
            yield from _snapshots(item)
    elif isinstance(value, list):
        for item in value:
            yield from _snapshots(item)


def recorded_positions() -> set[Position]:
    """Every dialplan step a recorded channel was seen executing."""
    out: set[Position] = set()
    for path in sorted(TRACES.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            for snap in _snapshots(json.loads(line)):
                d = snap["dialplan"]
                app = d.get("app_name")
                if not app or app == "AppDial2":
                    continue
                if app == "Stasis" and snap["name"].endswith(";1"):
                    continue  # the app given to originate, not a dialplan step
                out.add((d["context"], d["exten"], d["priority"], app, d["app_data"]))
    return out


def test_every_recorded_step_is_in_the_lab_dialplan_at_its_priority() -> None:
    plan = Dialplan(LAB_DIALPLAN)
    positions = recorded_positions()
    assert ("default", "2000", 2, "Echo", "") in positions  # the check sees the Echo pair
    problems = []
    checked = 0
    for context, exten, priority, app, data in sorted(positions):
        if (context, exten) in NOT_MODELLED:
            continue
        step = plan.step(context, exten, priority)
        checked += 1
        if step is None or (step.app, step.data) != (app, data):
            problems.append(
                f"{context},{exten},{priority}: recorded {app}({data}), lab dialplan has "
                f"{'nothing' if step is None else f'{step.app}({step.data})'}"
            )
    assert checked >= 10
    assert not problems, "\n".join(problems)
    for context, exten in NOT_MODELLED:
        if context == "nosuchcontext":
            assert not plan.exists(context, exten)


async def test_echo_pair_shows_echo_at_priority_2_like_the_recording() -> None:
    """Recorded (protocol-catalog step 31): both halves of the Echo pair at 2000, 2, Echo."""
    async with Simulator(dialplan=LAB_DIALPLAN) as sim, ari_session(sim) as ari:
        status, _ = await ari.req(
            "POST",
            "channels",
            {
                "endpoint": "Local/2000@default",
                "extension": "2000",
                "context": "default",
                "channelId": "echo-1",
                "otherChannelId": "echo-2",
            },
        )
        assert status == 200
        snaps: list[dict[str, Any]] = []
        async with asyncio.timeout(5):  # the pair answers and reaches Echo on its own
            while not snaps or any(s["dialplan"]["app_name"] != "Echo" for s in snaps):
                await asyncio.sleep(0.05)
                snaps = [(await ari.req("GET", f"channels/{c}"))[1] for c in ("echo-1", "echo-2")]
        for snap in snaps:
            assert snap["state"] == "Up"
            assert (snap["dialplan"]["exten"], snap["dialplan"]["priority"]) == ("2000", 2)
