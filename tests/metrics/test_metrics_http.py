"""Metrics scraped over HTTP from a real MetricsServer, parsed with prometheus_client's parser."""

from __future__ import annotations

import asyncio
import textwrap

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.metrics import METRICS, MetricsObserver, MetricsServer
from ivrkit.observe import Connection
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        invalid: [sound:option-is-invalid]
        timeout: 5
        max_no_match: 2
        on_limit: {goto: sales}
        options:
          - {key: "1", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "3", transfer: {endpoint: "Local/2999@default", timeout: 5, failed: [sound:busy]}}
          - {key: "5", handler: "t:boom"}
      sales:
        greeting: [sound:sales]
        options:
          - {key: "9", hangup: true}
    """
)


async def boom(call: object, digits: str) -> None:
    raise RuntimeError("handler bug")


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> tuple[Samples, set[str], str]:
    async with aiohttp.ClientSession() as http, http.get(url + "/metrics") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=")
        text = await resp.text()
    samples: Samples = {}
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, names, text


async def status_of(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def test_every_metric_is_served_and_counts_a_real_call() -> None:
    metrics = MetricsObserver()
    runner = MenuRunner(
        load_menu(MENU), transcript=lambda line: None, handlers={"t:boom": boom}, observer=metrics
    )
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config, observer=metrics)
        runner.attach(client)
        async with MetricsServer(metrics, ready={"ari": lambda: client.ready}) as server:
            assert await status_of(server.url + "/readyz") == (503, "not ready: ari\n")
            assert await status_of(server.url + "/healthz") == (200, "ok\n")
            async with client:
                assert (await status_of(server.url + "/readyz"))[0] == 200
                caller = await sim.call("PJSIP/alice", "1000")
                async with asyncio.timeout(60):
                    await caller.wait_for_playback("sound:press-1")
                    await caller.press("1")  # barge-in: a reaction
                    await caller.wait_for_playback("digits:1")
                    await caller.wait_for_playback("sound:press-1")
                    _, _, live = await scrape(server.url)
                    assert "ivrkit_calls_active 1.0" in live
                    await caller.press("3")  # a transfer that fails
                    await caller.wait_for_playback("sound:busy")
                    await caller.press("5")  # a handler that raises
                    await caller.wait_for_playback("sound:press-1")
                    await caller.press("7")
                    await caller.wait_for_playback("sound:option-is-invalid")
                    await caller.press("8")  # second no-match: limit, goto sales
                    await caller.wait_for_playback("sound:sales")
                    await caller.press("9")
                    await caller.wait_for_hangup()
                    await runner.wait_no_calls()
                metrics.observe(Connection(state="down", reason="test"))
                metrics.observe(Connection(state="up", gap=0.5))
                await asyncio.sleep(1.2)  # two lag samples (virtual time)
                samples, names, text = await scrape(server.url)
        assert caller.channel_id not in text
        assert caller.channel_name not in text

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    exposed = {n if n in METRICS else n + "_total" for n in names} | names
    assert set(METRICS) <= exposed, set(METRICS) - exposed
    assert value("ivrkit_calls_active") == 0
    assert value("ivrkit_calls_started_total") == 1
    assert value("ivrkit_calls_ended_total", outcome="hangup") == 1
    assert value("ivrkit_call_duration_seconds_count") == 1
    assert value("ivrkit_menu_entries_total", menu="main") == 1
    assert value("ivrkit_menu_entries_total", menu="sales") == 1
    assert value("ivrkit_option_selections_total", menu="main", option="1") == 1
    assert value("ivrkit_option_selections_total", menu="sales", option="9") == 1
    assert value("ivrkit_no_match_total", menu="main") == 2
    assert value("ivrkit_limits_total", menu="main", limit="no_match") == 1
    assert value("ivrkit_transfers_total", outcome="failed") == 1
    assert value("ivrkit_handler_runs_total", handler="t:boom") == 1
    assert value("ivrkit_handler_errors_total", handler="t:boom") == 1
    assert value("ivrkit_handler_duration_seconds_count", handler="t:boom") == 1
    assert value("ivrkit_reaction_seconds_count") >= 1
    assert value("ivrkit_prompts_total", outcome="cut_off") >= 1
    assert value("ivrkit_prompts_total", outcome="finished") >= 3
    play = "POST /channels/{channelId}/play/{playbackId}"
    assert value("ivrkit_ari_request_duration_seconds_count", operation=play, status="201") >= 5
    assert value("ivrkit_ari_websocket_reconnects_total") == 1
    assert value("ivrkit_ari_websocket_disconnects_total") == 1
    assert value("ivrkit_event_loop_lag_seconds_count") >= 2
    assert value("ivrkit_call_errors_total") == 0


async def test_a_busy_port_is_a_clear_error() -> None:
    async with MetricsServer(MetricsObserver()) as first:
        second = MetricsServer(MetricsObserver(), port=first.port)
        with pytest.raises(OSError, match=f"can't serve metrics on 127.0.0.1:{first.port}"):
            await second.__aenter__()
        assert second.port == first.port  # nothing was bound; nothing to close
