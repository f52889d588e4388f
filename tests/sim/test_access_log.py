"""The simulator's request log (``Simulator(access_log=...)``, ``ivrkit sim --access-log``).

The interop test reads it to prove that every request a foreign client made was served:
an unknown route is told from a missing object by ``error`` ("Resource not found" vs
"Playback not found"), and no credential or query value is ever written.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
from _simari import UNBUFFERED, ivrkit_sim

from ivrkit.sim import Simulator


async def test_each_request_is_logged_without_values_or_credentials() -> None:
    records: list[dict[str, Any]] = []
    socket_logged = asyncio.Event()

    def log(record: dict[str, Any]) -> None:
        records.append(record)
        if record["status"] == 101:
            socket_logged.set()

    users = {"logger": "s3cret-pw"}
    async with Simulator(users=users, access_log=log) as sim, aiohttp.ClientSession() as http:
        token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
        basic = {"Authorization": f"Basic {token}"}
        async with http.get(f"{sim.ari_url}/api-docs/resources.json"):
            pass
        async with http.get(f"{sim.ari_url}/channels", headers=basic):
            pass
        key = f"{sim.username}:{sim.password}"
        async with http.get(f"{sim.ari_url}/asterisk/info", params={"api_key": key}):
            pass
        async with http.delete(
            f"{sim.ari_url}/playbacks/gone", headers={**basic, "Content-Type": "application/json"}
        ):
            pass  # ari-client sends this header with no body
        async with http.post(f"{sim.ari_url}/asterisk/variable", headers=basic, json={"x": 1}):
            pass
        async with http.get(f"{sim.ari_url}/no/such/thing", headers=basic):
            pass
        async with http.put(f"{sim.ari_url}/channels", headers=basic):
            pass
        async with http.ws_connect(
            f"{sim.ari_url}/events", params={"app": "logged", "api_key": key}
        ) as ws:
            await sim.wait_for_app("logged")
            await ws.close()
        async with asyncio.timeout(5):
            await socket_logged.wait()  # a websocket is logged when its handler returns
    assert records == [
        {
            "method": "GET",
            "path": "/ari/api-docs/resources.json",
            "query": [],
            "auth": "none",
            "status": 401,
            "error": "Authentication required",
        },
        {"method": "GET", "path": "/ari/channels", "query": [], "auth": "basic", "status": 200},
        {
            "method": "GET",
            "path": "/ari/asterisk/info",
            "query": ["api_key"],
            "auth": "api_key",
            "status": 200,
        },
        {
            "method": "DELETE",
            "path": "/ari/playbacks/gone",
            "query": [],
            "auth": "basic",
            "status": 404,
            "content_type": "application/json",
            "error": "Playback not found",
        },
        {
            "method": "POST",
            "path": "/ari/asterisk/variable",
            "query": [],
            "auth": "basic",
            "status": 400,
            "content_type": "application/json",
            "body": True,
            "error": "Variable name is required",
        },
        {
            "method": "GET",
            "path": "/ari/no/such/thing",
            "query": [],
            "auth": "basic",
            "status": 404,
            "error": "Resource not found",
        },
        {
            "method": "PUT",
            "path": "/ari/channels",
            "query": [],
            "auth": "basic",
            "status": 405,
            "content_type": "application/octet-stream",  # aiohttp's default for PUT
            "error": "Invalid method",
        },
        {
            "method": "GET",
            "path": "/ari/events",
            "query": ["api_key", "app"],
            "auth": "api_key",
            "status": 101,
        },
    ]
    assert sim.password not in json.dumps(records)


def test_cli_writes_the_log_and_reports_what_is_left(tmp_path: Path) -> None:
    script = tmp_path / "call.yaml"
    script.write_text("steps:\n  - wait_for_hangup\n")  # nobody in Stasis: the call ends at once
    log = tmp_path / "access.jsonl"
    proc = subprocess.run(
        ivrkit_sim("--listen", "127.0.0.1:0", "--script", str(script), "--access-log", str(log)),
        capture_output=True,
        text=True,
        timeout=60,
        env=UNBUFFERED,
    )
    assert proc.returncode == 0, proc.stderr
    assert log.read_text() == ""  # created (and closed) even when nobody asked anything
    assert (
        "ivrkit sim: left after the script: channels=0 playbacks=0 bridges=0 timers=0 "
        "websockets=0" in proc.stderr
    )
    assert proc.stdout.rstrip().endswith("caller: call ended")
