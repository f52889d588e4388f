"""The official Node.js client (ari-client 2.2.0) bootstraps against the simulator.

ari-client builds its whole API from the simulator's generated Swagger description
(resources.json + every api-docs file) and maps websocket events to objects through the
``events.json`` models. This test runs a short script on the pinned client: connect,
list channels, read asterisk info, open the events websocket, receive a StasisStart
for a simulated caller (promoted to a Channel object) and answer it through
``channel.answer()`` (an operation found by nickname with ``channelId`` injected).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from ivrkit.sim import Simulator

INTEROP = Path(__file__).resolve().parents[1] / "interop"

SCRIPT = r"""
'use strict';
var ari = require('ari-client');
var url = process.env.SIM_URL, user = process.env.SIM_USER, pass = process.env.SIM_PASS;
function out(o) { process.stdout.write('@@' + JSON.stringify(o) + '\n'); }
ari.connect(url, user, pass).then(function (client) {
  out({resources: Object.keys(client._swagger.apis).sort(),
       channelOps: Object.keys(client._swagger.apis.channels.operations).sort()});
  return client.asterisk.getInfo().then(function (info) {
    out({info: Object.keys(info).sort(), version: info.system.version});
    return client.channels.list();
  }).then(function (channels) {
    out({channels: channels.length});
    client.on('StasisStart', function (event, channel) {
      out({stasis: channel.name, isChannelObject: typeof channel.answer === 'function'});
      channel.answer().then(function () {
        return client.channels.get({channelId: channel.id});
      }).then(function (ch) {
        out({answered: ch.state});
        client.stop();
        process.exit(0);
      }).catch(function (err) { out({error: String(err)}); process.exit(3); });
    });
    return client.start('channel-aa');
  }).then(function () { out({started: true}); });
}).catch(function (err) { out({error: String(err)}); process.exit(2); });
"""


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is required for this test (apt-get install nodejs; then `make node`)")
    if not (INTEROP / "node_modules" / "ari-client").is_dir():
        pytest.fail(f"ari-client is not installed under {INTEROP}; run `make node`")
    return node


@pytest.mark.realtime
async def test_ari_client_bootstraps_and_handles_a_call() -> None:
    node = _node()
    async with Simulator(host="127.0.0.1", port=0) as sim:
        env = dict(os.environ, SIM_URL=sim.url, SIM_USER=sim.username, SIM_PASS=sim.password)
        proc = await asyncio.create_subprocess_exec(
            node,
            "-e",
            SCRIPT,
            cwd=INTEROP,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        lines: list[dict[str, object]] = []
        try:
            async with asyncio.timeout(30):
                assert proc.stdout is not None
                while True:
                    raw = await proc.stdout.readline()
                    if not raw:
                        break
                    if not raw.startswith(b"@@"):
                        continue  # swagger-client's own console logging
                    lines.append(json.loads(raw[2:]))
                    if lines[-1] == {"started": True}:
                        await sim.call("PJSIP/alice", "1000")
                await proc.wait()
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.stderr is not None
        stderr = (await proc.stderr.read()).decode(errors="replace")
    assert proc.returncode == 0, f"node failed ({proc.returncode}): {lines} {stderr[-2000:]}"
    first = lines[0]
    assert first["resources"] == [
        "applications",
        "asterisk",
        "bridges",
        "channels",
        "deviceStates",
        "endpoints",
        "events",
        "mailboxes",
        "playbacks",
        "recordings",
        "sounds",
    ]
    assert {"answer", "play", "playWithId", "hangup", "originate"} <= set(
        first["channelOps"]  # type: ignore[arg-type]
    )
    assert {"info": ["build", "config", "status", "system"], "version": "20.20.1"} in lines
    assert {"channels": 0} in lines
    assert {"stasis": "PJSIP/alice-00000001", "isChannelObject": True} in lines
    assert {"answered": "Up"} in lines
