"""When a deleted bridge sends ``BridgeDestroyed``, as the recorded Asterisk does.

Recorded (protocol-catalog, steps 58 and 63): ``DELETE /bridges/cat-br1`` with
``cat-ch2b`` in it answers 204; the member gets BRIDGEPEER="" and ChannelLeftBridge (the
bridge's ``channels`` now empty); the id is gone (a second DELETE is 404) and no
BridgeDestroyed follows. That comes only when ``cat-ch2b`` is destroyed, right after its
ChannelDestroyed, once. A bridge deleted empty sends nothing.
"""

from __future__ import annotations

from _simari import Ari, Events, ari_session

from ivrkit.sim import Simulator

APP = "channel-aa"


async def _pair_in_stasis(ari: Ari, events: Events) -> tuple[str, str]:
    """``Local/1000`` with both halves in ``channel-aa`` (like the trace's 1005 pair)."""
    status, _ = await ari.req(
        "POST",
        "channels",
        {
            "endpoint": "Local/1000@default",
            "app": APP,
            "channelId": "lt-1",
            "otherChannelId": "lt-2",
            "callerId": "Alice <100>",
        },
    )
    assert status == 200
    await events.next("StasisStart")
    assert (await ari.req("POST", "channels/lt-2/answer"))[0] == 204
    start = await events.next("StasisStart")
    assert start["channel"]["id"] == "lt-1"
    return "lt-1", "lt-2"


async def test_bridge_deleted_with_a_member_is_destroyed_when_that_member_is() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events(APP) as events:
        _, two = await _pair_in_stasis(ari, events)
        assert (await ari.req("POST", "bridges", {"bridgeId": "lt-br"}))[0] == 200
        assert (await ari.req("POST", "bridges/lt-br/addChannel", {"channel": two}))[0] == 204
        await events.next("ChannelEnteredBridge")

        assert (await ari.req("DELETE", "bridges/lt-br"))[0] == 204
        left = await events.next("ChannelLeftBridge")
        assert left["channel"]["id"] == two
        assert left["bridge"]["channels"] == []
        assert (await ari.req("DELETE", "bridges/lt-br"))[0] == 404
        assert (await ari.req("GET", "bridges"))[1] == []
        quiet = await events.drain(2.0)
        assert "BridgeDestroyed" not in [ev["type"] for ev in quiet]

        assert (await ari.req("DELETE", f"channels/{two}"))[0] == 204
        await events.next("ChannelDestroyed")
        rest = await events.drain(2.0)
        seen = [(ev["type"], ev.get("channel", {}).get("id")) for ev in events.received]
        destroyed_at = seen.index(("ChannelDestroyed", two))
        assert seen[destroyed_at + 1] == ("BridgeDestroyed", None), seen[destroyed_at:]
        bridge_destroyed = [ev for ev in events.received if ev["type"] == "BridgeDestroyed"]
        assert len(bridge_destroyed) == 1, rest
        assert bridge_destroyed[0]["bridge"]["id"] == "lt-br"
        assert bridge_destroyed[0]["bridge"]["channels"] == []
        assert bridge_destroyed[0]["application"] == APP
        assert sim.stats()["bridges"] == 0


async def test_bridge_deleted_empty_sends_no_bridge_destroyed() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events(APP) as events:
        _, two = await _pair_in_stasis(ari, events)
        assert (await ari.req("POST", "bridges", {"bridgeId": "lt-br"}))[0] == 200
        assert (await ari.req("POST", "bridges/lt-br/addChannel", {"channel": two}))[0] == 204
        assert (await ari.req("POST", "bridges/lt-br/removeChannel", {"channel": two}))[0] == 204
        assert (await ari.req("DELETE", "bridges/lt-br"))[0] == 204
        assert (await ari.req("DELETE", f"channels/{two}"))[0] == 204
        await events.next("ChannelDestroyed")
        await events.drain(2.0)
        types = [ev["type"] for ev in events.received]
        assert "ChannelLeftBridge" in types
        assert "BridgeDestroyed" not in types
