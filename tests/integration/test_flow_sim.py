"""Flow from code over the real runner and client against the embedded Asterisk: call
data from args and channel variables, handler results, timeouts, language, on_end."""

from __future__ import annotations

import asyncio
import logging
import textwrap

import pytest

from _sim_client import client_config
from ivrkit.ari import AriClient, ConnectionConfig
from ivrkit.ivr import HandlerCall, load_menu, steps
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """
    on_start: "flow:start"
    on_end: "flow:end"
    handler_timeout: 5
    call_data:
      args: [order_id]
      variables: {tier: CUSTOMER_TIER}
      fields: [status]
    menus:
      main:
        greeting: [sound:welcome, "digits:{order_id}"]
        options:
          - {key: "1", handler: "flow:lookup"}
          - {key: "2", handler: {name: "flow:stuck", filler: {play: [tone:ring], after: 1}}}
          - {key: "3", goto: gold}
          - {key: "4", handler: {name: "flow:slow", filler: {moh: null, after: 1}}}
      gold:
        greeting: ["sound:{tier}-menu"]
        language: fr
        options:
          - {key: "*", back: true}
    """
)
DIALPLAN = {
    "default": {
        "1000": ("Set(CUSTOMER_TIER=gold)", "Stasis(flow,A17)", "Hangup()"),
        "1001": ("Stasis(flow,A18)", "Hangup()"),
    }
}

ended: list[dict[str, object]] = []
two_ended = asyncio.Event()


async def start(call: HandlerCall, digits: str) -> steps.Step | None:
    # callers of tier gold go straight to their own menu; the others hear the main one
    return steps.Goto("gold") if call.data.get("tier") == "gold" else None


async def lookup(call: HandlerCall, digits: str) -> steps.Step:
    call.data["status"] = "shipped"
    await call.play_and_wait("sound:one-moment-please")  # the scope's API, directly
    return steps.Play("sound:your-order", "sound:{status}")


async def stuck(call: HandlerCall, digits: str) -> None:
    await asyncio.sleep(3600)


async def slow(call: HandlerCall, digits: str) -> None:
    await asyncio.sleep(3)


async def end(call: HandlerCall, digits: str) -> None:
    ended.append(dict(call.data))
    if len(ended) == 2:
        two_ended.set()


HANDLERS = {
    "flow:start": start,
    "flow:lookup": lookup,
    "flow:stuck": stuck,
    "flow:slow": slow,
    "flow:end": end,
}


def config(sim: Simulator) -> ConnectionConfig:
    return client_config(sim, "flow")


async def test_data_results_timeouts_and_hooks(caplog: pytest.LogCaptureFixture) -> None:
    ended.clear()
    two_ended.clear()
    runner = MenuRunner(load_menu(MENU), transcript=lambda line: None, handlers=HANDLERS)
    async with Simulator(dialplan=DIALPLAN) as sim:
        client = AriClient(config(sim))
        runner.attach(client)
        async with client:
            # a caller without a tier: the main menu, with the order id from the args
            bob = await sim.call("PJSIP/bob", "1001")
            async with asyncio.timeout(120):
                await bob.wait_for_playback("sound:welcome")
                await bob.wait_for_playback("digits:A18")
                await bob.press("1")
                await bob.wait_for_playback("sound:shipped")
                await bob.wait_for_playback("sound:welcome")
                # a handler that never returns: the filler plays, then on_error (none:
                # the menu comes back) after handler_timeout, with one log line
                with caplog.at_level(logging.ERROR, "ivrkit.ivr.runner"):
                    await bob.press("2")
                    await bob.wait_for_playback("tone:ring")
                    await bob.wait_for_playback("sound:welcome")
                # a slow handler with music on hold (the default class) as its filler
                await bob.press("4")
                await bob.wait_for_playback("moh:default")
                await bob.wait_for_playback("sound:welcome")
                await bob.hangup()
                # a gold caller (channel variable): on_start routes to its menu, in French
                alice = await sim.call("PJSIP/alice", "1000")
                await alice.wait_for_playback("sound:gold-menu")
                await alice.hangup()
                await runner.wait_no_calls()
                await two_ended.wait()
        heard = [h.media_uri for h in bob.heard]
        assert heard[:6] == [
            "sound:welcome",
            "digits:A18",
            "sound:one-moment-please",
            "sound:your-order",
            "sound:shipped",
            "sound:welcome",
        ]
        assert heard.count("tone:ring") >= 1
        (line,) = [r.getMessage() for r in caplog.records if "did not return" in r.getMessage()]
        assert "handler flow:stuck did not return within 5 s" in line
        assert bob.channel_id in line
        assert ended[0]["order_id"] == "A18"
        assert ended[0]["status"] == "shipped"
        assert ended[1]["tier"] == "gold"
        assert ended[1]["lang"] == "fr"
        assert runner.statistics().live_tasks == 0
        assert sim.stats()["channels"] == 0
