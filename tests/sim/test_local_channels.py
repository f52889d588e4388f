"""Local channels over plain ARI, checked against the recorded Asterisk traces.

The driver of the traces originates ``Local/1000@default`` with app ``driver``; the ``;2``
half runs the dialplan into ``Stasis(channel-aa)``. These tests replay that driver and a
minimal attendant, and compare each application's event *type sequence* (plus which half
each event is about) with the recording.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from _simari import Ari, Events, ari_session

from ivrkit.sim import Simulator

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk-traces"


def _half(ev: dict[str, Any]) -> str:
    obj = ev.get("channel") or ev.get("peer")
    if obj is None:
        return ""
    return obj["name"][-2:] if ";" in obj["name"] else "-"


def _trace_sequence(name: str, app: str) -> list[tuple[str, str]]:
    out = []
    for line in (TRACES / name).read_text().splitlines():
        rec = json.loads(line)
        if (
            rec["kind"] == "ws_msg"
            and rec["dir"] == "out"
            and rec["data"].get("application") == app
        ):
            out.append((rec["data"]["type"], _half(rec["data"])))
    return out


async def _originate(ari: Ari) -> tuple[str, str]:
    status, one = await ari.req(
        "POST",
        "channels",
        {"endpoint": "Local/1000@default", "app": "driver", "callerId": "Alice <100>"},
    )
    assert status == 200
    assert one["name"].endswith(";1")
    assert one["state"] == "Down"
    assert one["dialplan"]["app_name"] == "AppDial2"
    return one["id"], one["name"]


async def _answer_and_play(ari: Ari, app: Events) -> str:
    start = await app.next("StasisStart")
    two = start["channel"]["id"]
    assert start["channel"]["name"].endswith(";2")
    await ari.req("POST", f"channels/{two}/answer")
    await ari.req("POST", f"channels/{two}/play", {"media": "sound:press-1"})
    return two


async def test_hangup_during_prompt_matches_trace() -> None:
    async with (
        Simulator() as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as app,
        ari.events("driver") as driver,
    ):
        await sim.wait_for_app("driver")
        one, _ = await _originate(ari)
        await _answer_and_play(ari, app)
        await driver.next("PlaybackStarted")
        await asyncio.sleep(0.5)
        assert (await ari.req("DELETE", f"channels/{one}"))[0] == 204
        await app.drain(1)
        await driver.drain(1)
        got_app = [(e["type"], _half(e)) for e in app.received]
        got_driver = [(e["type"], _half(e)) for e in driver.received]
        trace = "guide-js-hangup-during-prompt.jsonl"
        assert got_app == _trace_sequence(trace, "channel-aa")
        # the two ChannelStateChange(Up) of the answer race in Asterisk; compare from Dial on
        expected_driver = _trace_sequence(trace, "driver")
        cut = expected_driver.index(("PlaybackStarted", ""))
        assert got_driver[cut:] == expected_driver[cut:]
        assert sorted(got_driver[:cut]) == sorted(expected_driver[:cut])
        assert sim.stats()["channels"] == 0
        assert sim.stats()["playbacks"] == 0


async def test_dtmf_on_one_half_arrives_on_the_other() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as app:
        async with ari.events("driver") as driver:
            await sim.wait_for_app("driver")
            one, _ = await _originate(ari)
            status, body = await ari.req("POST", f"channels/{one}/dtmf", {"dtmf": "1"})
            assert (status, body) == (409, {"message": "Channel not in Stasis application"})
            two = await _answer_and_play(ari, app)
            await driver.next("StasisStart")
            t0 = asyncio.get_running_loop().time()
            assert (await ari.req("POST", f"channels/{one}/dtmf", {"dtmf": "1a#*X"}))[0] == 204
            digits = []
            for _ in range(4):
                ev = await app.next("ChannelDtmfReceived")
                assert ev["channel"]["id"] == two
                digits.append((ev["digit"], round(asyncio.get_running_loop().time() - t0, 1)))
            assert digits == [("1", 0.2), ("a", 0.4), ("#", 0.6), ("*", 0.8)]
            await ari.req(
                "POST", f"channels/{one}/dtmf", {"dtmf": "5", "duration": "300", "before": "200"}
            )
            ev = await app.next("ChannelDtmfReceived")
            assert (ev["digit"], ev["duration_ms"]) == ("5", 300)
            # hanging up the ;2 half ends both
            assert (await ari.req("DELETE", f"channels/{two}", {"reason": "busy"}))[0] == 204
            destroyed = [await driver.next("ChannelDestroyed") for _ in range(2)]
            assert {d["cause"] for d in destroyed} == {17}
            assert {d["cause_txt"] for d in destroyed} == {"User busy"}
            assert (await ari.req("GET", f"channels/{one}"))[0] == 404
        assert sim.stats()["channels"] == 0


async def test_local_pair_ids_names_and_stasis_args() -> None:
    plan = {"default": {"1002": ["NoOp()", "Stasis(cat,foo,bar)"]}}
    async with Simulator(dialplan=plan) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        status, one = await ari.req(
            "POST",
            "channels",
            json_body={
                "endpoint": "Local/1002@default",
                "app": "cat",
                "appArgs": "x,y",
                "channelId": "c1",
                "otherChannelId": "c1b",
                "variables": {"MYVAR": "hello"},
            },
        )
        assert status == 200
        assert one["id"] == "c1"
        assert one["name"] == "Local/1002@default-00000001;1"
        start = await ev.next("StasisStart")
        assert start["channel"]["id"] == "c1b"
        assert start["args"] == ["foo", "bar"]
        assert (await ari.req("GET", "channels/c1b/variable", {"variable": "MYVAR"})) == (
            200,
            {"value": "hello"},
        )
        status, body = await ari.req(
            "POST",
            "channels",
            {"endpoint": "Local/1002@default", "app": "cat", "channelId": "c1"},
        )
        assert (status, body) == (
            409,
            {"message": "Channel with given unique ID already exists"},
        )
        await ari.req("POST", "channels/c1b/answer")
        start1 = await ev.next("StasisStart")
        assert start1["channel"]["id"] == "c1"
        assert start1["args"] == ["x", "y"]
        assert start1["channel"]["dialplan"]["app_data"] == "cat,x,y"
        status, app = await ari.req("GET", "applications/cat")
        assert app["channel_ids"] == ["c1", "c1b"]
        await ari.req("DELETE", "channels/c1")
        await ev.next("ChannelDestroyed")
        await ev.next("ChannelDestroyed")
        assert sim.stats()["channels"] == 0


async def test_originate_timeout_hangs_up_unanswered_pair() -> None:
    plan = {"default": {"7": ["Stasis(a)"]}}
    async with Simulator(dialplan=plan) as sim, ari_session(sim) as ari, ari.events("a") as ev:
        await sim.wait_for_app("a")
        t0 = asyncio.get_running_loop().time()
        await ari.req(
            "POST", "channels", {"endpoint": "Local/7@default", "app": "a", "timeout": "abc"}
        )
        destroyed = await ev.next("ChannelDestroyed")
        assert destroyed["cause"] == 19
        assert round(asyncio.get_running_loop().time() - t0) == 30
        await ev.next("ChannelDestroyed")
        assert sim.stats()["channels"] == 0
        assert sim.stats()["timers"] == 0


async def test_stasis_to_unconnected_app_fails_back_to_dialplan() -> None:
    plan = {"default": {"1003": ["NoOp()", "Stasis(nobody)", "Set(AFTER=FAILED)", "Hangup()"]}}
    async with Simulator(dialplan=plan) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        await ari.req("POST", "channels", {"endpoint": "Local/1003@default", "app": "cat"})
        values = []
        while True:
            e = await ev.next()
            if e["type"] == "ChannelVarset":
                values.append((e["variable"], e["value"]))
            if e["type"] == "ChannelDestroyed" and e["channel"]["name"].endswith(";1"):
                break
        assert values == [("STASISSTATUS", ""), ("STASISSTATUS", "FAILED"), ("AFTER", "FAILED")]
        assert sim.stats()["channels"] == 0


async def test_local_to_missing_extension_is_destroyed_at_once() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        status, _ = await ari.req(
            "POST", "channels", {"endpoint": "Local/9999@nosuch", "app": "cat"}
        )
        assert status == 200
        first = await ev.next()
        assert (first["type"], first["cause"], first["cause_txt"]) == (
            "ChannelDestroyed",
            0,
            "Unknown",
        )
        assert sim.stats()["channels"] == 0


async def test_press_during_or_matches_trace() -> None:
    """The app stops "or" on DTMF, plays you-entered + digits:1 + press-1; driver hangs up."""
    async with (
        Simulator() as sim,
        ari_session(sim) as ari,
        ari.events("channel-aa") as app,
        ari.events("driver") as driver,
    ):
        await sim.wait_for_app("driver")
        one, _ = await _originate(ari)
        two = await _answer_and_play(ari, app)
        await app.next("PlaybackFinished")
        await ari.req("POST", f"channels/{two}/play", {"media": "sound:or", "playbackId": "or1"})
        while (await driver.next("PlaybackStarted"))["playback"]["media_uri"] != "sound:or":
            pass
        await asyncio.sleep(0.1)
        await ari.req("POST", f"channels/{one}/dtmf", {"dtmf": "1"})
        await app.next("ChannelDtmfReceived")
        assert (await ari.req("DELETE", "playbacks/or1"))[0] == 204
        for media in ("sound:you-entered", "digits:1", "sound:press-1"):
            await ari.req("POST", f"channels/{two}/play", {"media": media})
        seen = 0
        while seen < 1:  # the first press-1 was skipped while looking for "or"
            ev = await driver.next("PlaybackStarted")
            seen += ev["playback"]["media_uri"] == "sound:press-1"
        await asyncio.sleep(1)
        await ari.req("DELETE", f"channels/{one}")
        await app.drain(1)
        await driver.drain(1)
        trace = "guide-js-press-during-or.jsonl"
        got_app = [(e["type"], _half(e)) for e in app.received]
        assert got_app == _trace_sequence(trace, "channel-aa")
        got_driver = [(e["type"], _half(e)) for e in driver.received]
        assert got_driver == _trace_sequence(trace, "driver")
        assert sim.stats()["channels"] == 0


def _recorded_caller_ids(originate_body_or_query: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """From protocol-catalog: the ;1 answer and the ;2 StasisStart of one originate."""
    answer: dict[str, Any] | None = None
    for line in (TRACES / "protocol-catalog.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["kind"] == "http" and rec["path"] == "/ari/channels" and rec["method"] == "POST":
            sent = json.dumps(rec["req_body"] or rec["query"])
            if originate_body_or_query in sent and rec["status"] == 200:
                answer = rec["resp_body"]
        if answer is not None and rec["kind"] == "ws_msg" and rec["dir"] == "out":
            data = rec["data"]
            name = data.get("channel", {}).get("name", "")
            if data["type"] == "StasisStart" and name == answer["name"][:-1] + "2":
                return answer, data["channel"]
    raise AssertionError(f"no originate with {originate_body_or_query} in the catalog trace")


def _ids(channel: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    return channel["caller"], channel["connected"]


async def test_caller_and_connected_line_of_both_halves_as_recorded() -> None:
    """callerId sets both halves; a CALLERID() variable only ;1's caller (;2 sees it as
    its connected line), as Asterisk 20 did in the catalog recording."""
    from ivrkit.sim.model._dialplan import LAB_DIALPLAN

    cases = [
        (
            {"endpoint": "Local/1002@default", "app": "catalog", "callerId": "Alice <100>"},
            '"callerId": "Alice <100>"',
        ),
        (
            {
                "endpoint": "Local/1005@default",
                "app": "catalog",
                "variables": {"MYVAR": "hello", "CALLERID(name)": "Bob"},
            },
            '"CALLERID(name)": "Bob"',
        ),
    ]
    async with (
        Simulator(dialplan=LAB_DIALPLAN) as sim,
        ari_session(sim) as ari,
        ari.events("catalog") as app,
    ):
        for body, recorded_by in cases:
            want_one, want_two = _recorded_caller_ids(recorded_by)
            status, one = await ari.req("POST", "channels", json_body=body)
            assert status == 200
            start = await app.next("StasisStart")
            assert start["channel"]["name"].endswith(";2")
            assert _ids(one) == _ids(want_one), body
            assert _ids(start["channel"]) == _ids(want_two), body
            await ari.req("DELETE", f"channels/{one['id']}")
