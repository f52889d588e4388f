"""docs/cluster.md "Listening workers": the documented worker command, run as written
(addresses on 127.0.0.1 with ports the system picks, this test's redis-server and
files), with the documented ``websocket_client.conf`` settings for the simulated
Asterisk; a call is served, checkpointed in Redis, counted in the scraped metrics and
written to the journey."""

from __future__ import annotations

import asyncio
import configparser
import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import jsonschema
import pytest

from _worker_process import MAIN
from ivrkit.journey import JOURNEY_SCHEMA
from ivrkit.sim import OutboundWebsocket, Simulator
from ivrkit.testing import RedisServer

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cluster.md"

MENU = """
menus:
  main:
    greeting: [sound:press-1]
    timeout: 30
    options:
      - key: "1"
        continue: true
"""

pytestmark = [pytest.mark.realtime]


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Listening workers")
    return text[start : text.index("\n## ", start + 1)]


def _block(kind: str, contains: str) -> str:
    fences = re.finditer(r"^```(\w*)\n(.*?)^```$", _section(), re.M | re.S)
    return next(m.group(2) for m in fences if m.group(1) == kind and contains in m.group(2))


def _command() -> tuple[dict[str, str], list[str]]:
    block = _block("sh", "# docs-listen-cluster").replace("\\\n", " ")
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    env = dict(item.split("=", 1) for item in shlex.split(lines[0], comments=True)[1:])
    run = shlex.split(lines[1])
    assert run[:2] == ["ivrkit", "run"]
    return env, run[1:]


def _websocket_client() -> configparser.SectionProxy:
    ini = _block("ini", "type = websocket_client")
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(ini.split("; ari.conf")[0])
    return parser["ivrkit"]


def _text(path: Path) -> str:
    return path.read_text(errors="replace")


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-c", MAIN, *args], stdout=out, stderr=subprocess.STDOUT,
            env=env, cwd=log.parent,
        )  # fmt: skip


async def _wait_for(log: Path, pattern: str, process: subprocess.Popen[bytes]) -> str:
    async with asyncio.timeout(60):
        while not (found := re.search(pattern, _text(log))):
            assert process.poll() is None, _text(log)
            await asyncio.sleep(0.05)  # a file another process writes
    return found.group(1)


async def test_the_documented_listening_worker_serves_a_call(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    env_vars, args = _command()
    (tmp_path / "menu.yaml").write_text(MENU)
    journey = tmp_path / "journey.jsonl"
    replaced = {
        "10.0.0.11:8090": "127.0.0.1:0",
        "10.0.0.11:9464": "127.0.0.1:0",
        "redis://redis1:6379/0": redis_server.url,
        "/var/log/ivrkit/journey.jsonl": str(journey),
    }
    args = [replaced.get(a, a) for a in args]
    assert "--cluster" in args
    assert redis_server.url in args
    log = tmp_path / "w1.log"
    env = {**os.environ, **env_vars, "PYTHONUNBUFFERED": "1"}
    worker = _start(args, env, log)
    try:
        metrics = await _wait_for(log, r"metrics on (http://\S+)/metrics", worker)
        port = await _wait_for(log, r"on ws://127\.0\.0\.1:(\d+)/", worker)
        assert "worker 'w1' of cluster" in _text(log)
        conf = _websocket_client()
        assert conf["username"] == env_vars["ARI_USER"]
        outbound = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{port}/ari",
            apps=("ivr",),
            connection_type=conf["connection_type"],  # type: ignore[arg-type]
            username=conf["username"],
            password=conf["password"],
            reconnect_interval=int(conf["reconnect_interval"]) / 1000,
            reconnect_attempts=int(conf["reconnect_attempts"]),
        )
        dialplan = {"default": {"1000": ("NoOp()", "Stasis(ivr)", "Hangup()")}}
        async with Simulator(outbound=outbound, dialplan=dialplan) as sim:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")  # continue: the dialplan hangs up
                await caller.wait_for_hangup()
            async with aiohttp.ClientSession() as http, http.get(metrics + "/metrics") as resp:
                text = await resp.text()
            assert 'ivrkit_calls_ended_total{outcome="continue"} 1.0' in text
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0, _text(log)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    lines = [json.loads(line) for line in journey.read_text().splitlines()]
    for line in lines:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    assert lines[0]["step"] == "call_started"
    assert lines[-1]["step"] == "call_ended"
    assert lines[-1]["outcome"] == "continue"


def test_the_documented_per_worker_sections_name_the_app_the_worker_serves() -> None:
    """Broadcast mode without a balancer: the documented ``[ivrkit-w1]`` sections point
    at w1's address and carry the app ``ivrkit run --worker w1 --cluster-mode broadcast``
    serves, and the dialplan's filter offers calls to it."""
    import argparse

    from ivrkit.cli._listen_cluster import served_app

    ini = _block("ini", "[ivrkit-w1]")
    client_part, _, ari_part = ini.partition("; ari.conf")
    ari_part = ari_part.partition("\n")[2]  # (the rest of that comment line)
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read_string(client_part)
    assert parser["ivrkit-w1"]["connection_type"] == "persistent"
    assert parser["ivrkit-w1"]["uri"].startswith("ws://10.0.0.11:8090/")
    ari = configparser.ConfigParser(inline_comment_prefixes=(";",))
    ari.read_string(ari_part)
    section = ari["ivrkit-w1"]
    assert section["type"] == "outbound_websocket"
    assert section["websocket_client_id"] == "ivrkit-w1"
    args = argparse.Namespace(cluster="redis://r/0", cluster_mode="broadcast", worker="w1")
    assert section["apps"] == served_app(args, "ivr") == "ivr-w1"
    assert re.search(r"\^ivr-", _section())  # StasisBroadcast(500,^ivr-) offers it
