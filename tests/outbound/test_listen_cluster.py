"""A cluster of listening workers: ``ivrkit run --listen --cluster`` x 2 as real
processes behind a TCP load balancer, a real redis-server, and the simulated Asterisk
connecting out with ``per_call_config`` (one socket per call, as Asterisk does).

kill -9 one worker while every call waits in the second menu: each of its calls' socket
drops, Asterisk opens it again through the balancer, and the survivor resumes the call
at its checkpoint from Redis: the second menu's re-greeting with the digits the caller
collected in the first (with a store, nothing else holds them: the channel variable
checkpoint is not used). Every call is then continued into the dialplan by a worker
(``STASISSTATUS=SUCCESS``), none is hung up or failed; the killed worker comes back on
its port and serves new calls without touching the ones it lost.
"""

from __future__ import annotations

import asyncio
import functools
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _balancer import TcpBalancer
from redis.asyncio import Redis

from ivrkit.sim import Caller, OutboundWebsocket, Simulator
from ivrkit.testing import RedisServer

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

MAIN = "import sys; from ivrkit.cli import main; sys.exit(main())"

MENU = """
transcript:
  digit: "{channel} pressed {digit}"
menus:
  main:
    greeting: [sound:cluster-main]
    timeout: 30
    options:
      - key: "1"
        collect:
          into: account
          prompt: [sound:cluster-account]
          length: 3
          then: {goto: sales}
  sales:
    greeting: [sound:cluster-sales, "digits:{account}"]
    timeout: 30
    options:
      - key: "2"
        continue: true
"""

SOUNDS = ("cluster-main", "cluster-account", "cluster-sales", "done-SUCCESS", "done-FAILED")
DURATIONS = "name\tseconds\trate\n" + "".join(f"{s}\t0.2\t8000\n" for s in SOUNDS)

DIALPLAN = {
    "default": {
        "1000": ("NoOp()", "Stasis(ivr)", "Playback(done-${STASISSTATUS})", "Hangup()"),
    }
}


class ListeningWorker:
    def __init__(self, directory: Path, name: str, redis_url: str) -> None:
        self.name = name
        self.directory = directory
        self.redis_url = redis_url
        self.port = 0
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.directory / f"{self.name}.{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        menu = self.directory / "menu.yaml"
        menu.write_text(MENU)
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        env["PYTHONUNBUFFERED"] = "1"
        args = [sys.executable, "-c", MAIN, "run", str(menu), "--app", "ivr"]
        args += ["--listen", f"127.0.0.1:{self.port}", "--cluster", self.redis_url]
        args += ["--worker", self.name, "--lease-ttl", "1.5"]
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
            )

    async def wait_serving(self) -> None:
        async with asyncio.timeout(60):
            while not (found := re.search(r"on ws://127\.0\.0\.1:(\d+)/", self.output)):
                assert self.process is not None
                assert self.process.poll() is None, self.output
                await asyncio.sleep(0.05)  # a file another process writes
        self.port = int(found.group(1))

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(10)


async def _call(
    sim: Simulator,
    i: int,
    go: asyncio.Event,
    callers: list[Caller],
    waiting: list[Caller],
    all_waiting: asyncio.Event,
) -> Caller:
    caller = await sim.call(f"PJSIP/c{i}", "1000")
    callers.append(caller)
    account = f"{i % 1000:03d}"
    async with asyncio.timeout(60):
        await caller.wait_for_playback("sound:cluster-main")
        await caller.press("1")
        await caller.wait_for_playback("sound:cluster-account")
        await caller.press(account)
        await caller.wait_for_playback(f"digits:{account}")
        waiting.append(caller)
        if len(waiting) == 10:
            all_waiting.set()
        await go.wait()
        await caller.press("2")
        await caller.wait_for_hangup()
    return caller


async def test_kill_9_a_listening_worker_its_calls_resume_on_the_other(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    workers = [ListeningWorker(tmp_path, f"w{i}", redis_server.url) for i in (1, 2)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            await w.wait_serving()
        async with TcpBalancer([w.port for w in workers]) as balancer:
            outbound = OutboundWebsocket(
                uri=f"ws://127.0.0.1:{balancer.port}/",
                apps=("ivr",),
                connection_type="per_call_config",
                reconnect_interval=0.1,
                reconnect_attempts=20,
            )
            async with Simulator(
                outbound=outbound, dialplan=DIALPLAN, durations_file=durations
            ) as sim:
                go = asyncio.Event()
                callers: list[Caller] = []
                waiting: list[Caller] = []
                all_waiting = asyncio.Event()  # every call waits in sales, its digits heard
                calls = [
                    asyncio.create_task(_call(sim, i, go, callers, waiting, all_waiting))
                    for i in range(10)
                ]
                async with asyncio.timeout(60):
                    await all_waiting.wait()
                victim = workers[0]
                owners = await _owners(redis_server.url)
                assert sorted(set(o.split("/")[0] for o in owners.values())) == ["w1", "w2"]
                victim.kill()
                # the victim's calls come back on the survivor: the sales re-greeting,
                # with the account digits collected before the kill
                lost = [c for c in callers if owners.get(c.channel_id, "").startswith("w1/")]
                assert lost
                async with asyncio.timeout(30):
                    for c in lost:
                        await c.wait_until(functools.partial(_greeted_twice, c))
                now = await _owners(redis_server.url)
                assert all(now[c.channel_id].startswith("w2/") for c in lost), now
                victim.start()  # comes back on its port
                await victim.wait_serving()
                go.set()
                served = await asyncio.gather(*calls)
                more = [
                    asyncio.create_task(_call(sim, 100 + i, go, [], [], asyncio.Event()))
                    for i in range(4)
                ]
                served += await asyncio.gather(*more)
        for caller in served:
            heard = _heard(caller)
            assert heard[-1] == "sound:done-SUCCESS", heard  # continued by a worker
            assert heard.count("sound:cluster-main") == 1, heard  # resumed, not restarted
            number = int(caller.channel_name.removeprefix("PJSIP/c").split("-")[0])
            account = f"digits:{number % 1000:03d}"
            assert heard.count(account) == heard.count("sound:cluster-sales"), heard
        for caller in lost:
            assert _heard(caller).count("sound:cluster-sales") == 2
        # the returning worker served new calls only: none of the ones it lost
        back = victim.output
        assert "pressed 2" in back, back
        assert not any(f"{c.channel_name} pressed" in back for c in lost), back
    finally:
        for w in workers:
            if w.process is not None and w.process.poll() is None:
                assert w.stop() == 0, w.output


def _greeted_twice(caller: Caller) -> bool:
    return _heard(caller).count("sound:cluster-sales") == 2


def _heard(caller: Caller) -> list[str]:
    return [h.media_uri for h in caller.heard]


async def _owners(url: str) -> dict[str, str]:
    """channel id -> owner of every call in Redis (``ivrkit:ivr:call:<ast>/<chan>``)."""
    redis = Redis.from_url(url, decode_responses=True)
    try:
        found: dict[str, str] = {}
        async for key in redis.scan_iter("ivrkit:ivr:call:*"):
            owner = await redis.hget(key, "owner")
            if owner:
                found[str(key).rpartition("/")[2]] = str(owner)
        return found
    finally:
        await redis.aclose()
