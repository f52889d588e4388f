"""Calls handed back the moment they arrive (a drain, a failed start) are seen by operators.

They never enter the engine, so they have no call_started/call_ended: each gets one
journey line ``call_turned_away`` with the ``IVRKIT_HANDBACK`` reason, and the counter
``ivrkit_calls_turned_away_total{reason}``. Virtual time, the embedded Asterisk with a
dialplan that keeps a handed-back caller in ``Wait()``.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import jsonschema
import pytest

from _sim_client import client_config as config
from ivrkit.ari import AriClient
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.journey import JOURNEY_SCHEMA, JourneyWriter
from ivrkit.metrics import MetricsObserver
from ivrkit.observe import Observers
from ivrkit.sim import Caller, Simulator

DIALPLAN = {"default": {"1000": ("Stasis(channel-aa)", "Wait(300)", "Hangup()")}}


async def in_dialplan(caller: Caller) -> None:
    for _ in range(1000):  # the sim has no event for "ran the next priority"
        if caller.channel.app_name == "Wait":
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never left Stasis: {caller.channel.app_name}")


def sample(metrics: MetricsObserver, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


async def turn_away_one_call(runner: MenuRunner, sim: Simulator) -> tuple[Caller, str]:
    """One call, which must be back in the dialplan: it and its IVRKIT_HANDBACK."""
    client = AriClient(config(sim))
    runner.attach(client)
    async with client:
        caller = await sim.call("PJSIP/alice", "1000")
        async with asyncio.timeout(30):
            await in_dialplan(caller)
        mark = sim.model.get_channel_var(caller.channel_id, "IVRKIT_HANDBACK")
        await caller.hangup()
    return caller, mark


def journey_of(out: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    for line in lines:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    return lines


async def test_a_call_arriving_during_a_drain_is_in_the_journey_and_the_metrics() -> None:
    out, metrics = io.StringIO(), MetricsObserver()
    journey = JourneyWriter(out)
    runner = MenuRunner(
        load_menu_file(ATTENDANT_MENU),
        transcript=lambda line: None,
        observer=Observers(journey, metrics),
    )
    assert sample(metrics, "ivrkit_calls_turned_away_total", reason="drain") == 0  # from start
    runner.refuse_new_calls()
    async with Simulator(dialplan=DIALPLAN) as sim:
        caller, mark = await turn_away_one_call(runner, sim)
    assert mark == "drain"
    (line,) = journey_of(out)  # written at once: nothing else will come for this call
    assert line["step"] == "call_turned_away"
    assert line["cause"] == "drain"
    assert (line["call_id"], line["channel"]) == (caller.channel_id, caller.channel_name)
    assert "error" not in line
    assert sample(metrics, "ivrkit_calls_turned_away_total", reason="drain") == 1
    assert sample(metrics, "ivrkit_calls_turned_away_total", reason="error") == 0
    # it never entered the application: not a started, active or ended call
    assert sample(metrics, "ivrkit_calls_started_total") == 0
    assert sample(metrics, "ivrkit_calls_active") == 0
    assert runner.calls_refused == 1


async def test_a_call_whose_start_fails_is_turned_away_with_the_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ivrkit.ivr import runner as runner_module

    def broken(self: Any, *args: Any) -> None:
        raise RuntimeError("simulated bug before the call is set up")

    monkeypatch.setattr(runner_module._Call, "__init__", broken)
    out, metrics = io.StringIO(), MetricsObserver()
    runner = MenuRunner(
        load_menu_file(ATTENDANT_MENU),
        transcript=lambda line: None,
        observer=Observers(JourneyWriter(out), metrics),
    )
    async with Simulator(dialplan=DIALPLAN) as sim:
        _, mark = await turn_away_one_call(runner, sim)
    assert mark == "error"
    (line,) = journey_of(out)
    assert (line["step"], line["cause"]) == ("call_turned_away", "error")
    assert "simulated bug before the call is set up" in line["error"]
    assert sample(metrics, "ivrkit_calls_turned_away_total", reason="error") == 1
    assert sample(metrics, "ivrkit_calls_started_total") == 0
    assert runner.statistics().call_errors == 1
