"""StasisBroadcast, POST /events/claim and POST /channels/{id}/move, as Asterisk 20.20.1.

Facts from apps/app_stasis_broadcast.c, res/res_stasis_broadcast.c, res/ari/
resource_events.c and res/res_stasis.c (quoted in sim/model/_broadcast.py) and from the
protocol-catalog trace (steps 68-70, replayed in test_trace_replay.py). Virtual time.
"""

from __future__ import annotations

from typing import Any

from _simari import ari_session

from ivrkit.sim import Simulator
from ivrkit.sim.model._broadcast import parse_broadcast

PLAN = {
    "default": {
        "1004": ("NoOp()", "StasisBroadcast(3000,^ivr-,x:y,yes)", "Wait(5)", "Hangup()"),
        "1005": ("NoOp()", "StasisBroadcast(250,^ivr-)", "Set(AFTER=1)", "Hangup()"),
        "1006": ("NoOp()", "StasisBroadcast()", "Set(AFTER=1)", "Hangup()"),
    }
}


def _types(events: list[dict[str, Any]], channel: str) -> list[str]:
    return [e["type"] for e in events if (e.get("channel") or {}).get("id") == channel]


async def test_first_claim_wins_the_second_gets_409_and_the_winner_gets_stasis_start() -> None:
    async with (
        Simulator(dialplan=PLAN) as sim,
        ari_session(sim) as ari,
        ari.events("ivr-a") as a,
        ari.events("ivr-b") as b,
        ari.events("other") as o,
    ):
        caller = await sim.call("PJSIP/alice", "1004", caller_id="Alice <6001>")
        offer_a = await a.next("CallBroadcast")
        offer_b = await b.next("CallBroadcast")
        cid = caller.channel_id
        assert offer_a["channel"]["id"] == offer_b["channel"]["id"] == cid
        assert (offer_a["caller"], offer_a["called"]) == ("6001", "1004")
        assert offer_a["channel"]["dialplan"]["app_name"] == "StasisBroadcast"
        assert offer_a["asterisk_id"] == sim.model.asterisk_id

        claim = {"channelId": cid, "application": "ivr-b"}
        assert await ari.req("POST", "events/claim", claim) == (204, None)
        status, body = await ari.req("POST", "events/claim", {**claim, "application": "ivr-a"})
        assert (status, body) == (
            409,
            {"message": "Channel has already been claimed by another application"},
        )
        # notify_claimed=yes: every matching app hears who won, then the winner's
        # StasisStart follows (the trace's order)
        claimed_a = await a.next("CallClaimed")
        assert claimed_a["winner_app"] == "ivr-b"
        assert (await b.next())["type"] == "CallClaimed"
        start = await b.next()
        assert start["type"] == "StasisStart"
        assert start["args"] == ["x", "y"]
        # the non-matching app heard nothing of it
        assert _types(await o.drain(0.5), cid) == []
        assert "StasisStart" not in _types(await a.drain(0.2), cid)

        # still claimed while the winner's Stasis session lasts
        status, _ = await ari.req("POST", "events/claim", {**claim, "application": "ivr-a"})
        assert status == 409
        assert await ari.req("POST", f"channels/{cid}/continue") == (204, None)
        await b.next("StasisEnd")
        assert sim.model.channels[cid].variables["STASISSTATUS"] == "SUCCESS"
        # the session is over: nothing is being broadcast any more
        status, body = await ari.req("POST", "events/claim", claim)
        assert (status, body) == (
            404,
            {"message": "Channel not found or not in broadcast state"},
        )


async def test_no_claim_times_out_and_the_dialplan_goes_on() -> None:
    async with (
        Simulator(dialplan=PLAN) as sim,
        ari_session(sim) as ari,
        ari.events("ivr-a") as a,
    ):
        caller = await sim.call("PJSIP/alice", "1005")
        await a.next("CallBroadcast")
        ch = sim.model.channels[caller.channel_id]
        assert ch.variables["STASISSTATUS"] == ""
        await caller.wait_for_hangup()  # 250 ms later: TIMEOUT, Set(AFTER=1), Hangup
        assert ch.variables["STASISSTATUS"] == "TIMEOUT"
        assert ch.variables["AFTER"] == "1"
        status, _ = await ari.req(
            "POST", "events/claim", {"channelId": caller.channel_id, "application": "ivr-a"}
        )
        assert status == 404  # too late
        assert sim.stats()["channels"] == 0


async def test_a_claim_by_an_app_that_is_not_connected_fails_the_stasis() -> None:
    async with (
        Simulator(dialplan=PLAN) as sim,
        ari_session(sim) as ari,
        ari.events("ivr-a") as a,
    ):
        caller = await sim.call("PJSIP/alice", "1006")  # no filter: every app
        await a.next("CallBroadcast")
        claim = {"channelId": caller.channel_id, "application": "ivr-gone"}
        assert (await ari.req("POST", "events/claim", claim))[0] == 204
        await caller.wait_for_hangup()
        ch = sim.model.channels.get(caller.channel_id)
        assert ch is None or ch.variables["STASISSTATUS"] == "FAILED"


async def test_claim_parameters_are_checked_with_asterisks_messages() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari:
        assert await ari.req("POST", "events/claim", {"application": "a"}) == (
            400,
            {"message": "channelId parameter is required"},
        )
        assert await ari.req("POST", "events/claim", {"channelId": "x"}) == (
            400,
            {"message": "application parameter is required"},
        )
        assert await ari.req("POST", "events/claim", {"channelId": "x", "application": "a"}) == (
            404,
            {"message": "Channel not found or not in broadcast state"},
        )


def test_the_arguments_parse_as_asterisk_does() -> None:
    timeout, pattern, args, notify = parse_broadcast("2000,^ivr-.*,sales:priority-high,yes")
    assert (timeout, args, notify) == (2000, ["sales", "priority-high"], True)
    assert pattern is not None
    assert pattern.search("ivr-7")
    assert not pattern.search("x-ivr")
    assert parse_broadcast("")[0] == 500  # default
    assert parse_broadcast("60001")[0] == 500  # out of range: the default, not the value
    assert parse_broadcast("-5")[0] == 500
    assert parse_broadcast("abc")[0] == 500
    assert parse_broadcast("0")[0] == 0
    assert parse_broadcast(",(unclosed")[1] is None  # does not compile: no filtering
    assert parse_broadcast("," + "a" * 257)[1] is None  # too long: no filtering
    assert parse_broadcast(",,,no")[3] is False


async def test_move_hands_the_channel_over_after_the_prompt_in_progress() -> None:
    plan = {"default": {"1000": ("NoOp()", "Stasis(ivr-a)", "Hangup()")}}
    async with Simulator(dialplan=plan) as sim, ari_session(sim) as ari:
        async with ari.events("ivr-a") as a, ari.events("ivr-b") as b:
            caller = await sim.call("PJSIP/alice", "1000")
            await a.next("StasisStart")
            cid = caller.channel_id
            assert (await ari.req("POST", f"channels/{cid}/play/p1", {"media": "sound:press-1"}))[
                0
            ] == 201
            await a.next("PlaybackStarted")
            # to an app nobody holds: ApplicationMoveFailed to the current app, which keeps it
            assert await ari.req("POST", f"channels/{cid}/move", {"app": "nobody"}) == (204, None)
            # waits behind the prompt (a command on the channel's control thread)
            finished = await a.next("PlaybackFinished")
            assert finished["playback"]["state"] == "done"
            failed = await a.next("ApplicationMoveFailed")
            assert failed["destination"] == "nobody"
            assert sim.model.channels[cid].stasis_app == "ivr-a"
            # two moves run in one pass of the thread: one switch, to the last app, with
            # the arguments of both (app_control_move appends to next_app_args)
            await ari.req("POST", f"channels/{cid}/play/p2", {"media": "sound:press-1"})
            await a.next("PlaybackStarted")
            for move in ({"app": "nobody", "appArgs": "one"}, {"app": "ivr-b", "appArgs": "7"}):
                assert await ari.req("POST", f"channels/{cid}/move", move) == (204, None)
            await a.next("StasisEnd")
            start = await b.next("StasisStart")
            assert start["args"] == ["one", "7"]
            assert sim.model.channels[cid].stasis_app == "ivr-b"
            assert not [
                e
                for e in a.received[a.received.index(failed) + 1 :]
                if e["type"] == "ApplicationMoveFailed"
            ]
        assert await ari.req("POST", "channels/nope/move", {"app": "ivr-b"}) == (
            404,
            {"message": "Channel not found"},
        )


async def test_several_simulated_asterisks_have_their_own_entity_ids() -> None:
    async with (
        Simulator(asterisk_id="02:fc:00:00:00:0a") as one,
        Simulator(asterisk_id="02:fc:00:00:00:0b") as two,
        ari_session(one) as ari_one,
        ari_session(two) as ari_two,
    ):
        for sim, ari in ((one, ari_one), (two, ari_two)):
            _, info = await ari.req("GET", "asterisk/info")
            assert info["system"]["entity_id"] == sim.asterisk_id
            async with ari.events("channel-aa") as events:
                await sim.call("PJSIP/alice", "1000")
                start = await events.next("StasisStart")
                assert start["asterisk_id"] == sim.asterisk_id
