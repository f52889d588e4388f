"""Caller and connected line of Local halves, as the recorded Asterisk reports them.

Recorded (protocol-catalog):

- step 54: two channels bridged; each one's ``connected`` becomes the other's ``caller``
  (ChannelConnectedLine of the one that entered, then of the one already there);
- steps 63/64: the dialplan hangs up the ``;2`` half after ``/continue``; the ``;1``
  half's caller becomes ``;2``'s connected line and the app sees ``ChannelCallerId`` on
  ``;1``, whose later snapshots carry the new caller;
- step 65: ``DELETE`` of a ``;2`` half sends no ``ChannelCallerId``.
"""

from __future__ import annotations

from typing import Any

from _simari import Ari, Events, ari_session

from ivrkit.sim import Simulator

APP = "channel-aa"


async def _pair(ari: Ari, events: Events, prefix: str, caller_id: str | None) -> None:
    """``Local/1000`` with ``;2`` (dialplan ``Stasis(channel-aa)``) and ``;1`` in the app."""
    params = {
        "endpoint": "Local/1000@default",
        "app": APP,
        "channelId": f"{prefix}-1",
        "otherChannelId": f"{prefix}-2",
    }
    if caller_id is not None:
        params["callerId"] = caller_id
    assert (await ari.req("POST", "channels", params))[0] == 200
    await events.next("StasisStart")
    assert (await ari.req("POST", f"channels/{prefix}-2/answer"))[0] == 204
    await events.next("StasisStart")


def _caller(ev: dict[str, Any]) -> tuple[str, str]:
    return ev["channel"]["caller"]["name"], ev["channel"]["caller"]["number"]


def _connected(ev: dict[str, Any]) -> tuple[str, str]:
    return ev["channel"]["connected"]["name"], ev["channel"]["connected"]["number"]


async def test_two_party_bridge_sets_each_connected_line_to_the_other_caller() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events(APP) as events:
        await _pair(ari, events, "a", "Alice <100>")
        await _pair(ari, events, "b", None)
        assert (await ari.req("POST", "bridges", {"bridgeId": "br"}))[0] == 200
        for two in ("a-2", "b-2"):
            assert (await ari.req("POST", "bridges/br/addChannel", {"channel": two}))[0] == 204
        first = await events.next("ChannelConnectedLine")
        second = await events.next("ChannelConnectedLine")
        assert [first["channel"]["id"], second["channel"]["id"]] == ["b-2", "a-2"]
        assert _connected(first) == ("Alice", "100")
        assert _connected(second) == ("", "")


async def test_dialplan_hangup_of_2_after_continue_gives_1_the_connected_line() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events(APP) as events:
        await _pair(ari, events, "a", "Alice <100>")
        await _pair(ari, events, "b", None)
        assert (await ari.req("POST", "bridges", {"bridgeId": "br"}))[0] == 200
        for two in ("a-2", "b-2"):
            assert (await ari.req("POST", "bridges/br/addChannel", {"channel": two}))[0] == 204
        assert (await ari.req("POST", "bridges/br/removeChannel", {"channel": "a-2"}))[0] == 204
        await events.drain(1.0)

        # a-2 goes on to priority 3 of 1000 (Hangup): a-1 becomes caller "" (a-2's connected)
        assert (await ari.req("POST", "channels/a-2/continue"))[0] == 204
        await events.next("ChannelDestroyed")
        await events.drain(1.0)
        about_a1 = [ev for ev in events.received if ev.get("channel", {}).get("id") == "a-1"]
        types = [ev["type"] for ev in about_a1]
        assert types[-5:] == [
            "ChannelHangupRequest",
            "ChannelCallerId",
            "StasisEnd",
            "ChannelVarset",
            "ChannelDestroyed",
        ], types
        caller_id = about_a1[-4]
        assert caller_id["caller_presentation"] == 0
        assert caller_id["caller_presentation_txt"] == "Presentation Allowed, Not Screened"
        assert _caller(about_a1[-5]) == ("Alice", "100")
        assert [_caller(ev) for ev in about_a1[-4:]] == [("", "")] * 4


async def test_delete_of_2_sends_no_caller_id_change() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events(APP) as events:
        await _pair(ari, events, "a", "Alice <100>")
        await _pair(ari, events, "b", None)
        assert (await ari.req("POST", "bridges", {"bridgeId": "br"}))[0] == 200
        for two in ("a-2", "b-2"):
            assert (await ari.req("POST", "bridges/br/addChannel", {"channel": two}))[0] == 204
        await events.drain(1.0)
        assert (await ari.req("DELETE", "channels/a-2"))[0] == 204
        await events.drain(1.0)
        after = [ev["type"] for ev in events.received if ev.get("channel", {}).get("id") == "a-1"]
        assert "ChannelDestroyed" in after
        assert "ChannelCallerId" not in after
