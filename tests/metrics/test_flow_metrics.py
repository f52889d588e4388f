"""collect, record and route in the metrics: real calls over the runner, the client and the
embedded Asterisk, counted by outcome with labels from the menu file only (never the
digits a caller entered, nor a recording's name)."""

from __future__ import annotations

import asyncio
import textwrap

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from _sim_client import client_config as config
from ivrkit.ari import AriClient
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.metrics import MetricsObserver
from ivrkit.sim import Caller, Simulator

MENU = textwrap.dedent(
    """\
    time_zone: Europe/London
    menus:
      main:
        greeting: [sound:hello-world]
        timeout: 10
        options:
          - key: "1"
            collect:
              into: pin
              prompt: [sound:conf-getpin]
              length: 4
              first_digit_timeout: 2
              tries: 2
              no_input: [sound:auth-thankyou]
              no_match: [sound:invalid]
              then: {play: [sound:goodbye]}
              on_fail: {goto: main}
          - key: "2"
            record:
              name: "msg-{call_id}"
              into: message
              beep: false
              max_duration: 10
              max_silence: 1
              then: {play: [sound:auth-thankyou]}
          - key: "3"
            route:
              rules: [{dates: ["1999-01-01"], goto: main}]
              otherwise: {play: [sound:goodbye]}
          - key: "4"
            route:
              rules: [{goto: after_hours}]
              otherwise: {goto: main}
      after_hours:
        greeting: [sound:queue-thankyou]
        options:
          - {key: "9", hangup: true}
    """
)


async def menu_again(caller: Caller) -> None:
    await caller.wait_for_playback("sound:hello-world")


async def test_collects_recordings_and_routes_are_counted_by_outcome() -> None:
    metrics = MetricsObserver()
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None, observer=metrics)
    async with Simulator() as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(120):
                await caller.wait_for_playback("sound:hello-world")
                # a collect: silence (no input), then a too short entry (no match): tries
                # used up, on_fail goes back to main
                await caller.press("1")
                await caller.wait_for_playback("sound:conf-getpin")
                await caller.wait_for_playback("sound:auth-thankyou")
                await caller.wait_for_playback("sound:conf-getpin")
                await caller.press("12#")  # the second try: no no_match prompt, on_fail
                await menu_again(caller)
                # the same collect, matched at once
                await caller.press("1")
                await caller.wait_for_playback("sound:conf-getpin")
                await caller.press("4321")
                await caller.wait_for_playback("sound:goodbye")
                await menu_again(caller)
                # a recording of 2 s of speech, ended by 1 s of silence
                await caller.press("2")
                await asyncio.sleep(0.5)
                await caller.speak(2.0)
                await caller.wait_for_playback("sound:auth-thankyou")
                await menu_again(caller)
                # two routes: one falls through to otherwise, one takes its first rule ("rule 0")
                await caller.press("3")
                await caller.wait_for_playback("sound:goodbye")
                await menu_again(caller)
                await caller.press("4")
                await caller.wait_for_playback("sound:queue-thankyou")
                await caller.press("9")
                await caller.wait_for_hangup()
                await runner.wait_no_calls()

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    collects = "ivrkit_collects_total"
    assert value(collects, menu="main", field="pin", outcome="no_input") == 1
    assert value(collects, menu="main", field="pin", outcome="no_match") == 1
    assert value(collects, menu="main", field="pin", outcome="max_tries") == 1
    assert value(collects, menu="main", field="pin", outcome="matched") == 1
    assert value("ivrkit_limits_total", menu="main", limit="collect_no_match") == 1
    assert value("ivrkit_recordings_total", menu="main", outcome="ok") == 1
    assert value("ivrkit_recordings_total", menu="main", outcome="failed") is None
    assert value("ivrkit_recording_seconds_count", menu="main") == 1
    seconds = value("ivrkit_recording_seconds_sum", menu="main")
    assert seconds is not None
    assert 2.0 <= seconds <= 3.5, seconds  # 2 s of speech, and the silence that ended it
    assert value("ivrkit_routes_total", menu="main", branch="otherwise") == 1
    assert value("ivrkit_routes_total", menu="main", branch="rule 0") == 1
    labels = {
        value
        for family in text_string_to_metric_families(generate_latest(metrics.registry).decode())
        for sample in family.samples
        for name, value in sample.labels.items()
        if name != "le"
    }
    for secret in ("4321", "12", "msg-", caller.channel_id):
        assert not [v for v in labels if secret in v], secret
