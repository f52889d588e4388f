"""Issue 14 item 7: the simulator's wire is Asterisk's (front/_wire.py quotes the source).

Compact JSON (``AST_JSON_COMPACT``) in bodies and events, UTF-8 unescaped;
``Server: Asterisk/20.20.1`` and ``Cache-Control: no-cache, no-store`` on every answer;
a content type only with a body; and no permessage-deflate, even when offered: Asterisk's
handshake (res/res_http_websocket.c) never answers with ``Sec-WebSocket-Extensions``.
"""

from __future__ import annotations

import json

import aiohttp
from _simari import ari_session

from ivrkit.sim import Simulator


async def test_answers_carry_asterisks_headers_and_compact_json() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        session = ari.session
        params = {"variable": "GREETING", "value": "héllo, wörld: ok"}
        async with session.post(f"{sim.url}/ari/asterisk/variable", params=params) as r:
            assert r.status == 204
            assert r.headers["Server"] == "Asterisk/20.20.1"
            assert r.headers["Cache-Control"] == "no-cache, no-store"
            assert "Content-Type" not in r.headers
        async with session.get(f"{sim.url}/ari/asterisk/variable", params=params) as r:
            raw = await r.read()
            assert r.headers["Content-Type"] == "application/json"
            assert r.headers["Server"] == "Asterisk/20.20.1"
        assert raw == '{"value":"héllo, wörld: ok"}'.encode()
        async with session.get(f"{sim.url}/ari/channels/nope") as r:
            assert await r.read() == b'{"message":"Channel not found"}'
            assert r.headers["Server"] == "Asterisk/20.20.1"
        async with (
            aiohttp.ClientSession() as anonymous,
            anonymous.get(f"{sim.url}/ari/asterisk/info") as r,
        ):
            assert r.status == 401
            assert r.headers["Server"] == "Asterisk/20.20.1"
            assert await r.read() == b'{"message":"Authentication required"}'


async def test_the_events_websocket_refuses_compression_and_sends_compact_frames() -> None:
    async with Simulator() as sim, ari_session(sim) as ari:
        url = f"{sim.url}/ari/events"
        # compress=15 offers permessage-deflate, as Node's ws and Python websockets do
        async with ari.session.ws_connect(url, params={"app": "channel-aa"}, compress=15) as ws:
            assert ws.compress == 0
            assert "Sec-WebSocket-Extensions" not in ws._response.headers
            await sim.wait_for_app("channel-aa")
            await sim.call("PJSIP/alice", "1000")
            msg = await ws.receive()
        assert msg.type == aiohttp.WSMsgType.TEXT
        assert json.loads(msg.data)["type"] == "StasisStart"
        assert '", "' not in msg.data
        assert '": ' not in msg.data
        assert msg.data == json.dumps(json.loads(msg.data), separators=(",", ":"))
