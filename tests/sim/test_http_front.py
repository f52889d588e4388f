"""The HTTP front door: authentication, the events websocket handshake, replacement."""

from __future__ import annotations

import base64

import aiohttp
import pytest
from _simari import ari_session, eventually

from ivrkit.sim import Simulator

AUTH_REQUIRED = {"message": "Authentication required"}
REALM = 'Basic realm="Asterisk REST Interface"'


def _basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_auth_like_asterisk() -> None:
    async with Simulator(users={"asterisk": "secret"}) as sim, aiohttp.ClientSession() as s:
        base = f"{sim.ari_url}"
        cases = [
            ("asterisk/info", {}, None, 401),
            ("asterisk/info", {}, _basic("asterisk", "wrong"), 401),
            ("asterisk/info", {}, _basic("nobody", "secret"), 401),
            ("asterisk/info", {}, _basic("asterisk", "secret"), 200),
            ("asterisk/info?api_key=asterisk:secret", {}, None, 200),
            ("asterisk/info?api_key=asterisk%3Asecret", {}, None, 200),
            ("asterisk/info?api_key=asterisk:nope", {}, None, 401),
            ("api-docs/resources.json", {}, None, 401),
            ("api-docs/channels.json?api_key=asterisk:bad", {}, None, 401),
        ]
        for path, _, headers, want in cases:
            async with s.get(f"{base}/{path}", headers=headers) as resp:
                assert resp.status == want, path
                if want == 401:
                    assert await resp.json() == AUTH_REQUIRED
                    assert resp.headers["WWW-Authenticate"] == REALM
        async with s.get(f"{base}/asterisk/info?api_key=asterisk:secret&only=system") as resp:
            assert await resp.json() == {
                "system": {"version": "20.20.1", "entity_id": "02:fc:00:00:00:01"}
            }


async def test_events_websocket_handshake_errors() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as s:
        upgrade = {
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Version": "13",
        }
        url = f"{sim.ari_url}/events?api_key=asterisk:asterisk"
        # ast_websocket_uri_cb: not an upgrade at all is 426, before the app is looked at
        async with s.get(url) as resp:
            assert resp.status == 426
            assert resp.content_type == "text/html"
            assert "<title>426 Upgrade Required</title>" in await resp.text()
        async with s.get(url, headers=upgrade) as resp:  # as recorded (protocol-catalog)
            assert resp.status == 400
            assert resp.content_type == "text/html"
            assert "HTTP request is missing param: [app]" in await resp.text()
        for query in ("app=x&api_key=asterisk:wrong", "app=x"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await s.ws_connect(f"{sim.ari_url}/events?{query}")
            assert refused.value.status == 401
        async with s.ws_connect(
            f"{sim.ari_url}/events?app=b", headers=_basic("asterisk", "asterisk")
        ):
            assert sim.model.app_connected("b")
        await eventually(lambda: sim.stats()["websockets"] == 0)
        assert not sim.model.app_connected("b")


async def test_second_socket_replaces_first_which_stays_open() -> None:
    async with (
        Simulator() as sim,
        ari_session(sim) as ari,
        ari.events("dup") as first,
        ari.events("dup") as second,
    ):
        await sim.wait_for_app("dup")
        replaced = await first.next("ApplicationReplaced")
        assert list(replaced) == ["type", "timestamp", "application", "asterisk_id"]
        assert replaced["application"] == "dup"
        assert not first.ws.closed
        await ari.req("POST", "events/user/hello", {"application": "dup"})
        got = await second.next("ChannelUserevent")
        assert got["userevent"] == {"eventname": "hello"}
        assert await first.drain(0.5) == []
        status, app = await ari.req("GET", "applications/dup")
        assert (status, app["name"], app["channel_ids"]) == (200, "dup", [])


async def test_one_socket_two_apps_and_user_event_shapes() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("a1,a2") as ev:
        await sim.wait_for_app("a2")
        status, apps = await ari.req("GET", "applications")
        assert status == 200
        assert sorted(a["name"] for a in apps) == ["a1", "a2"]
        assert set(apps[0]) == {
            "name",
            "channel_ids",
            "bridge_ids",
            "endpoint_ids",
            "device_names",
            "events_allowed",
            "events_disallowed",
        }
        status, _ = await ari.req(
            "POST",
            "events/user/ev1",
            {"application": "a2"},
            json_body={"variables": {"k": "v", "n": 1}},
        )
        assert status == 204
        got = await ev.next("ChannelUserevent")
        assert got["application"] == "a2"
        assert got["eventname"] == "ev1"
        assert got["userevent"] == {"k": "v", "n": 1, "eventname": "ev1"}
        assert list(got) == [
            "type",
            "timestamp",
            "eventname",
            "userevent",
            "asterisk_id",
            "application",
        ]
