"""Issue 14 item 8: third-party ARI clients run the same small app against the simulator.

aioari 0.10.2 and asyncari 0.20.6 (PyPI, pinned in constraints.txt) and the official
Node.js ari-client 2.2.0 (tests/interop/package-lock.json) each run ``apps/*``: answer,
play ``sound:press-1``, on the caller's key stop it and play ``digits:<key>``, then hang
up. All three build their API and their event handover from the simulator's api-docs,
so this also checks the description end to end.

The ``StasisStart`` handover is asserted as it is on Asterisk, derived from Asterisk
22.10's own ``events.json`` (``../shared/ari-api-docs``), not from the simulator's:

* the Swagger-1.1 Python clients pass a dict of Channel objects when the event *model*
  has more than one field of type Channel (``on_object_event``: ``len(obj_fields) ==
  1`` passes the object itself); StasisStart has ``channel`` and ``replace_channel``;
* ari-client promotes the Channel fields the event *carries*; a StasisStart without
  ``replace_channel`` gives the bare Channel.

Real time (subprocesses), about 1-2 s per client.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from ivrkit.sim import Simulator
from ivrkit.sim.front._event_models import FIELDS_NOT_SENT

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
INTEROP = HERE.parent / "interop"
EVENTS_JSON = HERE.parents[1] / ".." / "shared" / "ari-api-docs" / "api-docs" / "events.json"

STEPS = ["StasisStart", "answered", "dtmf", "played", "hungup"]


def _channel_fields(event_type: str) -> list[str]:
    model = json.loads(EVENTS_JSON.read_text(encoding="utf-8"))["models"][event_type]
    return [name for name, spec in model["properties"].items() if spec["type"] == "Channel"]


def _expected_handover(client: str, sent: dict[str, Any]) -> tuple[str, list[str] | None]:
    """What the client passes for ``sent`` on Asterisk, by each client's own rule."""
    fields = _channel_fields("StasisStart")
    present = sorted(f for f in fields if sent.get(f))
    if client == "node":  # promotes what the event carries
        return ("Channel", None) if len(present) == 1 else ("dict", present)
    return ("dict", present) if len(fields) > 1 else ("Channel", None)


def _command(client: str) -> tuple[list[str], dict[str, str]]:
    if client == "node":
        node = shutil.which("node")
        if node is None:
            pytest.fail(
                "Node.js is required for this test (apt-get install nodejs; then `make node`)"
            )
        if not (INTEROP / "node_modules" / "ari-client").is_dir():
            pytest.fail(f"ari-client is not installed under {INTEROP}; run `make node`")
        return [node, str(APPS / "node_app.js")], {"NODE_PATH": str(INTEROP / "node_modules")}
    return [sys.executable, str(APPS / f"{client}_app.py")], {"PYTHONUNBUFFERED": "1"}


class _Output:
    """The app's JSON lines, and a way to wait for one (no polling)."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def read(self, stream: asyncio.StreamReader) -> None:
        async for raw in stream:
            try:
                line = json.loads(raw)
            except ValueError:
                continue  # ari-client prints a Swagger deprecation notice
            if isinstance(line, dict):
                self.lines.append(line)
                self.changed.set()
        self.changed.set()  # end of output

    async def until(self, step: str, proc: asyncio.subprocess.Process) -> None:
        async with asyncio.timeout(30):
            while not any(line.get("step") == step for line in self.lines):
                if proc.stdout is not None and proc.stdout.at_eof():
                    raise AssertionError(f"the app stopped before {step}: {self.lines}")
                self.changed.clear()
                await self.changed.wait()


@pytest.mark.realtime
@pytest.mark.parametrize("client", ["aioari", "asyncari", "node"])
async def test_the_same_app_runs_on_each_client_as_on_asterisk(client: str) -> None:
    argv, extra_env = _command(client)
    async with Simulator() as sim:
        env = {
            **os.environ,
            **extra_env,
            "ARI_URL": sim.url,
            "ARI_USER": sim.username,
            "ARI_PASSWORD": sim.password,
        }
        proc = await asyncio.create_subprocess_exec(
            *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        output = _Output()
        reader = asyncio.create_task(output.read(proc.stdout))
        try:
            async with asyncio.timeout(30):
                await sim.wait_for_app("channel-aa")
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("5")
                await caller.wait_until_heard("digits:5")
                await caller.wait_for_hangup()
            await output.until("hungup", proc)
        finally:
            if proc.returncode is None:
                proc.terminate()
            await proc.wait()
            reader.cancel()
    lines = output.lines
    assert [line["step"] for line in lines if line.get("step") != "ready"] == STEPS, lines
    start = next(line for line in lines if line["step"] == "StasisStart")
    # the simulator sends StasisStart with "channel" only (it never replaces a channel)
    assert ("StasisStart", "replace_channel") in FIELDS_NOT_SENT
    expected = _expected_handover(client, {"channel": {"id": caller.channel_id}})
    assert (start["handover"], start["keys"]) == expected
    assert [h.media_uri for h in caller.heard] == ["sound:press-1", "digits:5"]
    assert caller.heard[0].cut_off
    assert not caller.heard[1].cut_off
