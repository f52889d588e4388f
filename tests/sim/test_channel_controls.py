"""Channel controls, create + dial, external media, snoop and redirect, as Asterisk 20.20.1
answers them (``res/ari/resource_channels.c``, ``res/stasis/control.c``,
``res/res_stasis_snoop.c``, ``channels/chan_rtp.c``; the trace ``protocol-catalog`` for
ring/hold/mute → 204 and ``mute direction=sideways`` → 400)."""

from __future__ import annotations

import asyncio
from typing import Any

from _simari import Events, ari_session

from ivrkit.sim import Caller, Simulator

PLAN = {"default": {"1000": ["NoOp()", "Stasis(ctl)", "Hangup()"], "2000": ["Answer()", "Echo()"]}}
NOT_HOST_PORT = "external_host must be <host>:<port> for all transports other than websocket"
ENDPOINTS = {"PJSIP/bob": {"answer_after": 1}, "PJSIP/carol": "busy"}


async def _in_stasis(sim: Simulator, ev: Events) -> Caller:
    await sim.wait_for_app("ctl")
    caller = await sim.call("PJSIP/alice", "1000")
    await ev.next("StasisStart")
    return caller


async def _until(ev: Events, type_: str) -> list[dict[str, Any]]:
    seen = []
    while True:
        got = await ev.next()
        seen.append(got)
        if got["type"] == type_:
            return seen


async def test_controls_reach_the_phone_and_check_state() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        cid = caller.channel_id
        for op in ("ring", "progress", "hold"):
            assert (await ari.req("POST", f"channels/{cid}/{op}"))[0] == 204
        assert (await ari.req("GET", f"channels/{cid}/variable", {"variable": "CHANNEL(onhold)"}))[
            1
        ] == {"value": "1"}
        assert (await ari.req("DELETE", f"channels/{cid}/hold"))[0] == 204
        assert (await ari.req("DELETE", f"channels/{cid}/ring"))[0] == 204
        assert [w for w, _ in caller.indications] == [
            "ringing",
            "progress",
            "hold",
            "unhold",
            "ringing_stop",
        ]
        # music on hold: the phone hears it until it is stopped
        assert (await ari.req("POST", f"channels/{cid}/moh", {"mohClass": "default"}))[0] == 204
        assert (await ari.req("DELETE", f"channels/{cid}/moh"))[0] == 204
        assert [(h.media_uri, h.end is not None) for h in caller.heard] == [("moh:default", True)]
        assert (await ari.req("POST", f"channels/{cid}/silence"))[0] == 204
        assert (await ari.req("DELETE", f"channels/{cid}/silence"))[0] == 204
        # mute: find_control, channel_state_invalid, then the direction
        assert (await ari.req("POST", f"channels/{cid}/mute", {"direction": "in"}))[0] == 204
        assert await ari.req("POST", f"channels/{cid}/mute", {"direction": "sideways"}) == (
            400,
            {"message": "Invalid direction specified"},
        )
        assert await ari.req("POST", "channels/nope/mute", {"direction": "sideways"}) == (
            404,
            {"message": "Channel not found"},
        )
        assert await ari.req("POST", f"channels/{cid}/transfer_progress", {"states": "x"}) == (
            400,
            {"message": "Invalid states value"},
        )
        await caller.hangup()


async def test_create_then_dial_a_simulated_endpoint() -> None:
    async with (
        Simulator(dialplan=PLAN, endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        ari.events("ctl") as ev,
    ):
        await sim.wait_for_app("ctl")
        # /channels/create is its own operation, not an originate with the id "create"
        status, created = await ari.req(
            "POST", "channels/create", {"endpoint": "PJSIP/bob", "app": "ctl", "appArgs": "a"}
        )
        assert status == 200
        assert created["id"] != "create"
        assert created["state"] == "Down"
        start = await ev.next("StasisStart")  # ari_channel_thread runs Stasis at once
        assert (start["channel"]["state"], start["args"]) == ("Down", ["a"])
        cid = created["id"]
        # channel_state_invalid: a Down channel can't be answered or played to
        assert await ari.req("POST", f"channels/{cid}/answer") == (
            412,
            {"message": "Channel in invalid state"},
        )
        assert (await ari.req("POST", f"channels/{cid}/dial", {"timeout": "5"}))[0] == 204
        seen = await _until(ev, "ChannelStateChange")
        assert [e["type"] for e in seen] == ["Dial", "ChannelStateChange"]
        assert seen[0]["dialstatus"] == ""  # app_control_dial publishes only this Dial
        up = await ev.next("ChannelStateChange")
        assert up["channel"]["state"] == "Up"
        assert await ari.req("POST", f"channels/{cid}/dial") == (
            409,
            {"message": "Channel is not in the 'Down' state"},
        )
        await ari.req("DELETE", f"channels/{cid}")
        await ev.next("ChannelDestroyed")
        # a busy far end: a remote hang-up of a channel in Stasis
        status, busy = await ari.req(
            "POST", "channels/create", {"endpoint": "PJSIP/carol", "app": "ctl"}
        )
        await ev.next("StasisStart")
        await ari.req("POST", f"channels/{busy['id']}/dial")
        seen = await _until(ev, "ChannelDestroyed")
        assert [e["type"] for e in seen] == [
            "Dial",
            "ChannelHangupRequest",
            "StasisEnd",
            "ChannelVarset",
            "ChannelDestroyed",
        ]
        assert (seen[1]["cause"], seen[1]["tech_cause"]) == (17, 486)
        # no endpoint: Allocation failed; a missing endpoint parameter: 400
        assert await ari.req(
            "POST", "channels/create", {"endpoint": "PJSIP/nobody", "app": "ctl"}
        ) == (500, {"error": "Allocation failed"})
        assert await ari.req("POST", "channels/create", {"app": "ctl"}) == (
            400,
            {"message": "Endpoint must be specified"},
        )


async def test_dial_timeout_hangs_up_with_cause_19() -> None:
    endpoints = {"PJSIP/erin": "noanswer"}
    async with (
        Simulator(dialplan=PLAN, endpoints=endpoints) as sim,
        ari_session(sim) as ari,
        ari.events("ctl") as ev,
    ):
        await sim.wait_for_app("ctl")
        _, created = await ari.req(
            "POST", "channels/create", {"endpoint": "PJSIP/erin", "app": "ctl"}
        )
        await ev.next("StasisStart")
        await ari.req("POST", f"channels/{created['id']}/dial", {"timeout": "3"})
        seen = await _until(ev, "ChannelDestroyed")
        request = next(e for e in seen if e["type"] == "ChannelHangupRequest")
        # control.c hangup_channel: cause 19, then ast_softhangup(EXPLICIT) (cause 32)
        assert (request["cause"], request["soft"]) == (32, True)
        assert (seen[-1]["cause"], seen[-1]["cause_txt"]) == (19, "User alerting, no answer")


async def test_external_media_and_snoop_channels() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        status, media = await ari.req(
            "POST",
            "channels/externalMedia",
            {"app": "ctl", "external_host": "127.0.0.1:4000", "format": "ulaw"},
        )
        assert status == 200
        assert media["name"].startswith("UnicastRTP/127.0.0.1:4000-0x")
        assert set(media["channelvars"]) == {"UNICASTRTP_LOCAL_ADDRESS", "UNICASTRTP_LOCAL_PORT"}
        assert (await ev.next("StasisStart"))["channel"]["id"] == media["id"]
        assert await ari.req(
            "POST",
            "channels/externalMedia",
            {"app": "ctl", "external_host": "nohost", "format": "ulaw"},
        ) == (
            400,
            {"message": NOT_HOST_PORT},
        )
        cid = caller.channel_id
        status, snoop = await ari.req(
            "POST", f"channels/{cid}/snoop/sn-1", {"app": "ctl", "spy": "both"}
        )
        assert (status, snoop["id"], snoop["state"]) == (200, "sn-1", "Up")
        assert snoop["name"].startswith(f"Snoop/{cid}-")
        assert (await ev.next("StasisStart"))["channel"]["id"] == "sn-1"
        assert await ari.req("POST", f"channels/{cid}/snoop", {"app": "ctl"}) == (
            400,
            {"message": "Direction must be specified for at least spy or whisper"},
        )
        # the snoop ends with the channel it watches
        await caller.hangup()
        await caller.wait_for_hangup()
        async with asyncio.timeout(5):
            while "sn-1" in sim.model.channels:
                await ev.next("ChannelDestroyed")


async def test_redirect_transfers_the_phone() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        cid = caller.channel_id
        await ari.req("POST", f"channels/{cid}/answer")
        assert await ari.req("POST", f"channels/{cid}/redirect", {"endpoint": "SIP/bob"}) == (
            422,
            {"message": "Endpoint technology 'SIP' does not match channel technology 'PJSIP'"},
        )
        assert await ari.req("POST", f"channels/{cid}/redirect", {"endpoint": "PJSIP"}) == (
            422,
            {"message": "Endpoint parameter 'PJSIP' does not contain tech/resource"},
        )
        assert (await ari.req("POST", f"channels/{cid}/redirect", {"endpoint": "PJSIP/bob"}))[
            0
        ] == 204
        await caller.wait_for_hangup()
        assert "transfer:bob" in [w for w, _ in caller.indications]


async def test_rtp_statistics() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        cid = caller.channel_id
        loop = asyncio.get_running_loop()
        before_answer = loop.time()
        await ari.req("POST", f"channels/{cid}/answer")
        answered = loop.time()
        await asyncio.sleep(1)
        asked = loop.time()
        status, stats = await ari.req("GET", f"channels/{cid}/rtp_statistics")
        got = loop.time()
        assert status == 200
        # one 20 ms packet per 20 ms since the answer; the virtual clock also counts the
        # real time the requests take on a loaded machine, hence bounds, not 50 exactly
        low, high = int((asked - answered) / 0.02), int((got - before_answer) / 0.02) + 1
        assert low >= 50
        assert low <= stats["txcount"] <= high
        assert stats["channel_uniqueid"] == cid
        _, local = await ari.req(
            "POST", "channels", {"endpoint": "Local/2000@default", "app": "ctl"}
        )
        assert await ari.req("GET", f"channels/{local['id']}/rtp_statistics") == (
            403,
            {"message": "Unsupported channel type"},
        )
        await caller.hangup()
