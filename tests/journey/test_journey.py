"""The journey log: real output of a call validated against the documented schema."""

from __future__ import annotations

import asyncio
import io
import json
import textwrap

import jsonschema

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.journey import JOURNEY_SCHEMA, JourneyWriter, journey_line
from ivrkit.observe import CallInfo, Step
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1, sound:or]
        options:
          - {key: "1", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "3", transfer: {endpoint: "Local/2999@default", timeout: 5, failed: [sound:busy]}}
    """
)


async def test_a_call_journey_validates_and_tells_the_whole_story() -> None:
    out = io.StringIO()
    journey = JourneyWriter(out)
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None, observer=journey)
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config)
        runner.attach(client)
        async with client:
            alice = await sim.call("PJSIP/alice", "1000")
            bob = await sim.call("PJSIP/bob", "1000")
            async with asyncio.timeout(60):
                await alice.wait_for_playback("sound:press-1")
                await bob.wait_for_playback("sound:press-1")
                await alice.press("3")  # the transfer fails: the journey must say so
                await alice.wait_for_playback("sound:busy")
                await bob.press("1")
                await bob.wait_for_playback("digits:1")
                await alice.hangup()
                await bob.hangup()
                await runner.wait_no_calls()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    validator = jsonschema.Draft202012Validator(JOURNEY_SCHEMA)
    for line in lines:
        validator.validate(line)
    assert {line["call_id"] for line in lines} == {alice.channel_id, bob.channel_id}
    assert {line["channel"] for line in lines} == {alice.channel_name, bob.channel_name}
    followed = [line for line in lines if line["call_id"] == alice.channel_id]
    assert followed[0]["step"] == "call_started"
    assert followed[-1] == {**followed[-1], "step": "call_ended", "outcome": "caller_hangup"}
    (failed,) = [line for line in followed if line["step"] == "transfer_finished"]
    assert failed["outcome"] == "failed"
    assert failed["target"] == "Local/2999@default"
    assert "without answering" in failed["cause"]
    steps = [line["step"] for line in followed]
    assert steps[:4] == ["call_started", "menu_entered", "prompt_started", "key"]
    assert "transfer_started" in steps
    assert "prompt_cut_off" in steps  # press-1 stopped by the key
    assert {line["v"] for line in lines} == {1}


def test_a_line_leaves_out_empty_fields_and_rounds_seconds() -> None:
    call = CallInfo("17.1", "PJSIP/a-1", "aa:bb")
    step = Step(call=call, step="handler_finished", target="m:f", outcome="ok", seconds=0.1234567)
    line = json.loads(journey_line(step, 0.0))
    assert line == {
        "v": 1,
        "ts": "1970-01-01T00:00:00.000Z",
        "call_id": "17.1",
        "channel": "PJSIP/a-1",
        "asterisk_id": "aa:bb",
        "step": "handler_finished",
        "target": "m:f",
        "outcome": "ok",
        "seconds": 0.123457,
    }
    jsonschema.validate(line, JOURNEY_SCHEMA)


def test_the_schema_rejects_what_a_reader_could_not_use() -> None:
    good = {"v": 1, "ts": "2026-01-01T00:00:00.000Z", "call_id": "1", "channel": "c"}
    good |= {"asterisk_id": "a", "step": "key", "key": "5"}
    jsonschema.validate(good, JOURNEY_SCHEMA)
    for bad in ({**good, "v": 2}, {**good, "key": "55"}, {**good, "extra": 1}, {**good, "ts": "x"}):
        assert not jsonschema.Draft202012Validator(JOURNEY_SCHEMA).is_valid(bad)
