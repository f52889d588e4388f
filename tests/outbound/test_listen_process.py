"""A real ``ivrkit run --listen`` killed with SIGKILL in the middle of a persistent call
and started again on the same port: the simulated Asterisk (connecting out, as Asterisk
does) reconnects, and the new process takes the call over at its menu."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
from pathlib import Path

import pytest

from _worker_process import ivrkit_run, stop
from ivrkit.sim import OutboundWebsocket, Simulator

pytestmark = [pytest.mark.realtime]


class Server:
    def __init__(self, directory: Path, listen: str, name: str) -> None:
        self.out, self.err = directory / f"{name}.out", directory / f"{name}.err"
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        env["PYTHONUNBUFFERED"] = "1"
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.process = subprocess.Popen(
                ivrkit_run("--listen", listen),
                stdout=out,
                stderr=err,
                env=env,
                stdin=subprocess.DEVNULL,
            )

    async def wait_for(self, pattern: str, stream: str = "err", limit: float = 60) -> str:
        path = self.err if stream == "err" else self.out
        async with asyncio.timeout(limit):
            while True:
                found = re.search(pattern, path.read_text(errors="replace"))
                if found:
                    return found.group(1)
                assert self.process.poll() is None, path.read_text()
                await asyncio.sleep(0.05)  # a file another process writes

    def stop(self) -> int:
        return stop(self.process)


async def test_kill_9_and_back_the_call_resumes_at_its_menu(tmp_path: Path) -> None:
    first = Server(tmp_path, "127.0.0.1:0", "first")
    try:
        port = int(await first.wait_for(r"on ws://127\.0\.0\.1:(\d+)/"))
        outbound = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{port}/", apps=("channel-aa",), reconnect_interval=0.1
        )
        async with Simulator(outbound=outbound) as sim:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await caller.press("1")
                await caller.wait_for_playback("digits:1")
            first.process.kill()  # kill -9: no hand-back, no goodbye
            first.process.wait(10)
            second = Server(tmp_path, f"127.0.0.1:{port}", "second")
            try:
                async with asyncio.timeout(60):
                    await caller.wait_for_playback("sound:press-1")  # the re-greeting
                    await caller.press("2")
                    await caller.wait_for_playback("digits:2")
                    await caller.hangup()
                await second.wait_for("(has left the application)", stream="out")
            finally:
                assert second.stop() == 0, second.err.read_text()
        assert "Channel PJSIP/alice-00000001 entered 1" in first.out.read_text()
        lines = second.out.read_text().splitlines()
        assert lines[-2:] == [
            "Channel PJSIP/alice-00000001 entered 2",
            "PJSIP/alice-00000001 has left the application",
        ]
    finally:
        if first.process.poll() is None:
            first.process.kill()
            first.process.wait(10)
