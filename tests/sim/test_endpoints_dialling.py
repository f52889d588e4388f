"""Originating to simulated PJSIP/SIP/IAX2 endpoints, with the causes Asterisk 20.20.1 gives.

Sources: ``main/dial.c`` (``handle_frame``: Dial RINGING/ANSWER; ``monitor_dial``: a hang-up
read from the callee is ``ast_hangup_cause_to_dial_status``; ``handle_timeout_trip``:
cause 19, no Dial event), ``res/res_pjsip.c`` ``ast_sip_hangup_sip2cause`` (486 → 17,
503 → 34), ``main/channel.c`` ``ast_queue_hangup`` (ChannelHangupRequest with ``cause``
and ``tech_cause``), ``res/stasis/app.c`` ``channel_destroyed_event`` (``tech_cause``),
``channels/chan_pjsip.c`` (an endpoint that can't be reached: no channel, cause 3) and the
trace ``protocol-catalog`` (originate to ``SIP/nobody`` → 500 ``{"error": "Allocation
failed"}``).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _simari import Ari, Events, ari_session

from ivrkit.sim import EndpointConfigError, Simulator, load_endpoints

ENDPOINTS = {
    "PJSIP/bob": {"answer_after": 2},
    "PJSIP/carol": "busy",
    "PJSIP/dave": "congestion",
    "PJSIP/erin": "noanswer",
    "PJSIP/frank": "unavailable",
    "PJSIP/gina": {"answer_after": 0.5, "hangup_after": 3},
    "SIP/old": "busy",
    "IAX2/trunk": {"answer_after": 0},
}


async def _originate(ari: Ari, endpoint: str, **extra: str) -> tuple[int, Any]:
    params = {"endpoint": endpoint, "app": "out", "appArgs": "x,y", "callerId": "IVR <500>"}
    return await ari.req("POST", "channels", {**params, **extra})


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


async def _until(ev: Events, type_: str) -> list[dict[str, Any]]:
    out = []
    while True:
        got = await ev.next()
        out.append(got)
        if got["type"] == type_:
            return out


async def test_an_endpoint_that_answers_after_two_seconds() -> None:
    async with (
        Simulator(endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("out") as ev,
    ):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        status, body = await _originate(ari, "PJSIP/bob")
        assert status == 200
        assert body["name"].startswith("PJSIP/bob-")
        assert body["state"] == "Down"
        assert body["caller"] == {"name": "IVR", "number": "500"}
        seen = await _until(ev, "StasisStart")
        assert _types(seen) == [
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelStateChange",
            "Dial",
            "ChannelVarset",  # app_stasis: STASISSTATUS="" first
            "StasisStart",
        ]
        assert [e["dialstatus"] for e in seen if e["type"] == "Dial"] == [
            "",
            "RINGING",
            "ANSWER",
        ]
        assert seen[0]["dialstring"] == "bob"
        assert "caller" not in seen[0]  # originate dials asynchronously: no caller
        assert [e["channel"]["state"] for e in seen if e["type"] == "ChannelStateChange"] == [
            "Ringing",
            "Up",
        ]
        assert seen[-1]["args"] == ["x", "y"]
        assert abs(loop.time() - t0 - 2.0) < 0.05
        bob = sim.endpoint("PJSIP/bob")
        assert bob.calls == [[body["name"], "answered"]]
        # GET /endpoints/PJSIP/bob lists the channel (ast_endpoint_snapshot_to_json)
        assert await ari.req("GET", "endpoints/PJSIP/bob") == (
            200,
            {
                "technology": "PJSIP",
                "resource": "bob",
                "state": "online",
                "channel_ids": [body["id"]],
            },
        )
        assert (await ari.req("DELETE", f"channels/{body['id']}"))[0] == 204
        await ev.next("ChannelDestroyed")


@pytest.mark.parametrize(
    ("endpoint", "cause", "cause_txt", "tech_cause", "status"),
    [
        ("PJSIP/carol", 17, "User busy", 486, "BUSY"),
        ("PJSIP/dave", 34, "Circuit/channel congestion", 503, "CONGESTION"),
        ("SIP/old", 17, "User busy", None, "BUSY"),  # tech_cause is chan_pjsip's
    ],
)
async def test_busy_and_congestion_as_chan_pjsip_reports_them(
    endpoint: str, cause: int, cause_txt: str, tech_cause: int | None, status: str
) -> None:
    async with (
        Simulator(endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("out") as ev,
    ):
        assert (await _originate(ari, endpoint))[0] == 200
        seen = await _until(ev, "ChannelDestroyed")
        assert _types(seen) == ["Dial", "ChannelHangupRequest", "Dial", "ChannelDestroyed"]
        request, dial, destroyed = seen[1], seen[2], seen[3]
        assert request["cause"] == cause
        assert request.get("tech_cause") == tech_cause
        assert "soft" not in request
        assert dial["dialstatus"] == status
        assert (destroyed["cause"], destroyed["cause_txt"]) == (cause, cause_txt)
        assert destroyed.get("tech_cause") == tech_cause
        outcome = "busy" if cause == 17 else "congestion"
        assert [c[1] for c in sim.endpoint(endpoint).calls] == [outcome]
        assert sim.stats()["channels"] == 0


async def test_no_answer_is_the_originate_timeout_and_unavailable_is_no_channel() -> None:
    async with (
        Simulator(endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("out") as ev,
    ):
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert (await _originate(ari, "PJSIP/erin", timeout="4"))[0] == 200
        seen = await _until(ev, "ChannelDestroyed")
        # handle_timeout_trip: cause 19 set, ast_hangup; no Dial NOANSWER, no request
        assert _types(seen) == ["Dial", "ChannelStateChange", "Dial", "ChannelDestroyed"]
        assert (seen[-1]["cause"], seen[-1]["cause_txt"]) == (19, "User alerting, no answer")
        assert abs(loop.time() - t0 - 4.0) < 0.05
        # not registered, not configured, unknown technology: ast_request fails
        for endpoint in ("PJSIP/frank", "PJSIP/nobody", "SIP/nobody", "Bogus/x"):
            assert await _originate(ari, endpoint) == (500, {"error": "Allocation failed"})
        assert (await ari.req("GET", "endpoints/PJSIP/frank"))[1]["state"] == "offline"
        assert sim.stats()["channels"] == 0


async def test_the_far_end_hangs_up_and_iax2_names() -> None:
    async with (
        Simulator(endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("out") as ev,
    ):
        assert (await _originate(ari, "PJSIP/gina"))[0] == 200
        await ev.next("StasisStart")
        seen = await _until(ev, "ChannelDestroyed")
        assert _types(seen) == [
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelVarset",  # STASISSTATUS=SUCCESS
            "ChannelDestroyed",
        ]
        assert seen[0]["cause"] == 16
        assert "tech_cause" not in seen[0]  # a BYE: no SIP failure status
        assert seen[-1]["cause"] == 16
        assert sim.endpoint("PJSIP/gina").calls[0][1] == "hungup"
        status, body = await _originate(ari, "IAX2/trunk/1000")
        assert status == 200
        assert body["name"].startswith("IAX2/trunk-")
        start = await ev.next("StasisStart")
        assert start["channel"]["state"] == "Up"
        await ari.req("DELETE", f"channels/{body['id']}")


def test_endpoint_configuration_errors_name_the_entry(tmp_path: Any) -> None:
    good = tmp_path / "endpoints.yaml"
    good.write_text("PJSIP/bob: {answer_after: 2}\nPJSIP/carol: busy\n", encoding="utf-8")
    loaded = load_endpoints(good)
    assert loaded["PJSIP/bob"].result == "answer"
    assert loaded["PJSIP/bob"].after == 2
    assert loaded["PJSIP/carol"].result == "busy"
    bad = tmp_path / "bad.yaml"
    bad.write_text("PJSIP/bob: {answer_afer: 2}\n", encoding="utf-8")
    with pytest.raises(
        EndpointConfigError, match=r"bad.yaml: PJSIP/bob: unknown field 'answer_afer'"
    ):
        load_endpoints(bad)
    bad.write_text("Foo/bob: busy\n", encoding="utf-8")
    with pytest.raises(EndpointConfigError, match="technology must be one of PJSIP, SIP, IAX2"):
        load_endpoints(bad)
    bad.write_text("PJSIP/bob: sleepy\n", encoding="utf-8")
    with pytest.raises(EndpointConfigError, match="unknown endpoint behaviour 'sleepy'"):
        load_endpoints(bad)
    with pytest.raises(EndpointConfigError, match="answer_after"):
        Simulator(endpoints={"PJSIP/x": {"answer_after": "soon"}})


async def test_subscribed_apps_see_endpoint_changes_and_messages() -> None:
    """res/stasis/app.c: ``sub_endpoint_update_handler`` sends EndpointStateChange for
    every new snapshot (channels added or removed, state); ``message_received_handler``
    sends TextMessageReceived with the endpoint and the message (from, to, body,
    variables: ``res/stasis/messaging.c``)."""
    async with (
        Simulator(endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("out") as ev,
    ):
        await sim.wait_for_app("out")
        assert await ari.req(
            "POST", "applications/out/subscription", {"eventSource": "endpoint:PJSIP/nobody"}
        ) == (422, {"message": "Unable to find event source endpoint:PJSIP/nobody"})
        status, app = await ari.req(
            "POST", "applications/out/subscription", {"eventSource": "endpoint:PJSIP/bob"}
        )
        assert (status, app["endpoint_ids"]) == (200, ["PJSIP/bob"])
        _, channel = await _originate(ari, "PJSIP/bob")
        change = await ev.next("EndpointStateChange")
        assert change["endpoint"]["channel_ids"] == [channel["id"]]
        sim.send_text("PJSIP/bob", "hi", variables={"X-Ref": "7"})
        text = await ev.next("TextMessageReceived")
        assert text["message"] == {
            "from": "<sip:bob@127.0.0.1>",
            "to": "sip:asterisk@127.0.0.1",
            "body": "hi",
            "variables": {"X-Ref": "7"},
        }
        assert text["endpoint"]["resource"] == "bob"
        sim.endpoint("PJSIP/bob", "unavailable")
        offline = await ev.next("EndpointStateChange")
        assert offline["endpoint"]["state"] == "offline"
        await ari.req("DELETE", f"channels/{channel['id']}")
        gone = await ev.next("EndpointStateChange")
        assert gone["endpoint"]["channel_ids"] == []


def test_ivrkit_sim_refuses_a_bad_endpoints_file(tmp_path: Any, capsys: Any) -> None:
    from ivrkit.cli import main

    bad = tmp_path / "endpoints.yaml"
    bad.write_text("PJSIP/bob: sleepy\n", encoding="utf-8")
    assert main(["sim", "--endpoints", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: invalid endpoints file\n")
    assert "unknown endpoint behaviour 'sleepy'" in err
