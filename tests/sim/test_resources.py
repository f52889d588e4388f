"""Bridges, applications, sounds, asterisk, variables and continue, over HTTP."""

from __future__ import annotations

import asyncio
import re

import pytest
from _simari import Ari, Events, ari_session

from ivrkit.sim import Simulator

PLAN = {
    "default": {
        "1002": ["NoOp()", "Stasis(cat,foo,bar)", "Hangup()"],
        "1006": ["NoOp(continued)", "Set(CONTINUED=yes)", "Wait(1)", "Hangup()"],
    }
}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000")


async def _pair(ari: Ari, ev: Events, cid: str) -> str:
    status, _ = await ari.req(
        "POST",
        "channels",
        {
            "endpoint": "Local/1002@default",
            "app": "cat",
            "channelId": cid,
            "otherChannelId": cid + "b",
        },
    )
    assert status == 200
    await ev.next("StasisStart")
    await ari.req("POST", f"channels/{cid}b/answer")
    await ev.next("StasisStart")
    return cid + "b"


async def test_bridge_lifecycle_and_events() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        a = await _pair(ari, ev, "a")
        b = await _pair(ari, ev, "b")
        status, anon = await ari.req("POST", "bridges")
        assert status == 200
        assert set(anon) == {
            "id",
            "technology",
            "bridge_type",
            "bridge_class",
            "creator",
            "name",
            "channels",
            "creationtime",
            "video_mode",
        }
        assert (anon["technology"], anon["bridge_type"], anon["bridge_class"]) == (
            "simple_bridge",
            "mixing",
            "stasis",
        )
        assert TIMESTAMP.fullmatch(anon["creationtime"])
        status, br = await ari.req("POST", "bridges/br1", {"type": "mixing", "name": "conf"})
        assert (status, br["id"], br["name"]) == (200, "br1", "conf")
        status, br2 = await ari.req(
            "POST", "bridges", {"type": "mixing,dtmf_events", "bridgeId": "br2"}
        )
        assert br2["id"] == "br2"
        assert [x["id"] for x in (await ari.req("GET", "bridges"))[1]] == [anon["id"], "br1", "br2"]
        assert (await ari.req("POST", "bridges/br1/addChannel", {"channel": a}))[0] == 204
        entered = await ev.next("ChannelEnteredBridge")
        assert entered["bridge"]["channels"] == [a]
        assert list(entered)[:4] == ["type", "timestamp", "bridge", "channel"]
        assert (await ari.req("POST", "bridges/br1/addChannel", {"channel": f"{b},b"}))[0] == 204
        # "b" is the Local peer of b (already in): Asterisk silently leaves it out (traces)
        assert (await ari.req("GET", "bridges/br1"))[1]["channels"] == [a, b]
        status, pb = await ari.req("POST", "bridges/br1/play", {"media": "sound:press-1"})
        assert (status, pb["target_uri"]) == (201, "bridge:br1")
        started = await ev.next("PlaybackStarted")
        assert started["playback"]["id"] == pb["id"]
        t0 = asyncio.get_running_loop().time()
        await ev.next("PlaybackFinished")
        assert asyncio.get_running_loop().time() - t0 == pytest.approx(1.189, abs=0.05)
        assert (await ari.req("POST", "bridges/br1/removeChannel", {"channel": a}))[0] == 204
        left = await ev.next("ChannelLeftBridge")
        assert (left["channel"]["id"], left["bridge"]["channels"]) == (a, [b])
        assert (await ari.req("DELETE", "bridges/br1"))[0] == 204
        assert (await ari.req("DELETE", "bridges/br1"))[0] == 404
        for bid in (anon["id"], "br2"):
            assert (await ari.req("DELETE", f"bridges/{bid}"))[0] == 204
        for cid in ("a", "b"):
            await ari.req("DELETE", f"channels/{cid}")
        assert sim.stats()["channels"] == 0
        assert sim.stats()["bridges"] == 0


async def test_continue_runs_the_rest_of_the_dialplan() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        two = await _pair(ari, ev, "c")
        params = {"context": "default", "extension": "1006", "priority": "1"}
        assert (await ari.req("POST", f"channels/{two}/continue", params))[0] == 204
        end = await ev.next("StasisEnd")
        assert end["channel"]["id"] == two
        dialplan = []
        while True:
            e = await ev.next()
            if e["type"] == "ChannelDialplan":
                dialplan.append(
                    (e["channel"]["dialplan"]["exten"], e["dialplan_app"], e["dialplan_app_data"])
                )
            if e["type"] == "ChannelDestroyed" and e["channel"]["id"] == "c":
                break
        assert dialplan == [
            ("1006", "NoOp", "continued"),
            ("1006", "Set", "CONTINUED=yes"),
            ("1006", "Wait", "1"),
            ("1006", "Hangup", ""),
        ]
        assert (await ari.req("POST", f"channels/{two}/continue"))[0] == 404
        assert sim.stats()["channels"] == 0


async def test_channel_objects_variables_and_lists() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        caller = await sim.call("PJSIP/alice", "1002", caller_id="Alice <100>")
        start = await ev.next("StasisStart")
        assert start["args"] == ["foo", "bar"]
        ch = start["channel"]
        assert list(ch) == [
            "id",
            "name",
            "state",
            "protocol_id",
            "caller",
            "connected",
            "accountcode",
            "dialplan",
            "creationtime",
            "language",
        ]
        assert re.fullmatch(r"\d+\.\d+", ch["id"])
        assert ch["dialplan"] == {
            "context": "default",
            "exten": "1002",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": "cat,foo,bar",
        }
        assert TIMESTAMP.fullmatch(ch["creationtime"])
        assert TIMESTAMP.fullmatch(start["timestamp"])
        cid = caller.channel_id
        assert (
            await ari.req("POST", f"channels/{cid}/variable", {"variable": "FOO", "value": "bar"})
        )[0] == 204
        varset = await ev.next("ChannelVarset")
        assert list(varset)[:3] == ["variable", "value", "type"]
        assert await ari.req("GET", f"channels/{cid}/variable", {"variable": "FOO"}) == (
            200,
            {"value": "bar"},
        )
        assert [c["id"] for c in (await ari.req("GET", "channels"))[1]] == [cid]
        assert await ari.req("GET", f"channels/{cid}") == (
            200,
            (await ari.req("GET", "channels"))[1][0],
        )
        for op in ("ring", "hold"):
            assert (await ari.req("POST", f"channels/{cid}/{op}"))[0] == 204
            assert (await ari.req("DELETE", f"channels/{cid}/{op}"))[0] == 204
        assert (await ari.req("POST", f"channels/{cid}/mute", {"direction": "in"}))[0] == 204
        status, app = await ari.req("GET", "applications/cat")
        assert app["channel_ids"] == [cid]
        status, app = await ari.req(
            "DELETE", "applications/cat/subscription", {"eventSource": f"channel:{cid}"}
        )
        assert status == 200
        await ari.req("DELETE", f"channels/{cid}", {"reason_code": "17"})
        await caller.wait_for_hangup()
        assert (await ev.next("StasisEnd"))["channel"]["id"] == cid
        assert (await ari.req("GET", "channels"))[1] == []


async def test_subscription_brings_events_of_another_channel() -> None:
    async with (
        Simulator() as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as app,
        ari.events("watcher") as watcher,
    ):
        await sim.wait_for_app("watcher")
        caller = await sim.call("PJSIP/bob", "1000")
        await app.next("StasisStart")
        status, body = await ari.req(
            "POST",
            "applications/watcher/subscription",
            {"eventSource": f"channel:{caller.channel_id}"},
        )
        assert (status, body["channel_ids"]) == (200, [caller.channel_id])
        status, body = await ari.req(
            "POST", "applications/watcher/subscription", {"eventSource": "channel:nope"}
        )
        assert status == 422
        await caller.hangup()
        destroyed = await watcher.next("ChannelDestroyed")
        assert destroyed["channel"]["id"] == caller.channel_id


async def test_asterisk_and_sounds() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        status, info = await ari.req("GET", "asterisk/info")
        assert set(info) == {"build", "system", "config", "status"}
        status, ping = await ari.req("GET", "asterisk/ping")
        assert list(ping) == ["ping", "timestamp", "asterisk_id"]
        assert (await ari.req("POST", "asterisk/variable", {"variable": "G", "value": "1"}))[
            0
        ] == 204
        assert await ari.req("GET", "asterisk/variable", {"variable": "G"}) == (200, {"value": "1"})
        status, sounds = await ari.req("GET", "sounds")
        assert status == 200
        assert "press-1" in {s["id"] for s in sounds}
        assert await ari.req("GET", "sounds/press-1") == (
            200,
            {"id": "press-1", "formats": [{"language": "en", "format": "slin"}]},
        )


async def test_subscribe_all_sees_every_channel_and_bridges_show_in_app() -> None:
    async with (
        Simulator() as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as app,
        ari.session.ws_connect(
            f"{sim.ari_url}/events", params={"app": "spy", "subscribeAll": "true"}
        ) as spy_ws,
    ):
        spy = Events(spy_ws)
        await sim.wait_for_app("spy")
        caller = await sim.call("PJSIP/carol", "1000")
        await app.next("StasisStart")
        seen = await spy.next("ChannelDialplan")
        assert seen["channel"]["id"] == caller.channel_id
        await ari.req("POST", "bridges/conf")
        await ari.req("POST", "bridges/conf/addChannel", {"channel": caller.channel_id})
        _status, body = await ari.req("GET", "applications/channel-aa")
        assert body["bridge_ids"] == ["conf"]
        await caller.hangup()
        destroyed = await spy.next("ChannelDestroyed")
        assert destroyed["channel"]["name"] == caller.channel_name
        await ari.req("DELETE", "bridges/conf")
        assert sim.stats()["bridges"] == 0
