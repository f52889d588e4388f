"""docs/cluster.md's commands and dialplan, run as written (hosts swapped for the test's).

The broadcast example's ``ivrkit run`` line starts two workers (w1 as written, w2 by its
name) against two simulated Asterisks whose extension 1000 runs the documented
``StasisBroadcast(...)``; a call on each completes through the cluster.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from _cluster_rig import DURATIONS, Rig, scenario

from ivrkit.sim import Simulator
from ivrkit.sim.model._broadcast import parse_broadcast
from ivrkit.testing import RedisServer

DOC = Path(__file__).resolve().parents[2] / "docs" / "cluster.md"

pytestmark = [pytest.mark.realtime, pytest.mark.slow]


def _block(tag: str) -> str:
    match = re.search(rf"```\w*\n[;#] {tag}\n(.*?)```", DOC.read_text(), re.S)
    assert match, f"docs/cluster.md lost its {tag} example"
    return match.group(1)


def _run_command() -> list[str]:
    text = _block("docs-cluster-broadcast").replace("\\\n", " ")
    exports = [line for line in text.splitlines() if line.startswith("export ")]
    assert exports
    assert "ARI_USER=" in exports[0]
    assert "ARI_PASSWORD=" in exports[0]
    (line,) = [line for line in text.splitlines() if line.startswith("ivrkit run")]
    return shlex.split(line)


def test_the_documented_filter_offers_calls_to_the_workers_only() -> None:
    first = _block("docs-cluster-dialplan").splitlines()[0]
    data = re.fullmatch(r"exten => 1000,1,StasisBroadcast\((.*)\)", first)
    assert data is not None
    timeout, pattern, _, _ = parse_broadcast(data.group(1))
    assert timeout == 500
    assert pattern is not None
    assert pattern.search("ivr-w1")
    assert pattern.search("ivr-w2")
    assert not pattern.search("ivr")  # a standby-mode app name is not offered broadcasts


async def test_the_documented_command_serves_two_asterisks_as_a_cluster(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    command = _run_command()
    assert command[:3] == ["ivrkit", "run", "menu.yaml"]
    (data,) = re.findall(r"StasisBroadcast\((.*)\)", _block("docs-cluster-dialplan"))
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    plan = {"default": {"1000": ("NoOp()", f"StasisBroadcast({data})", "Hangup()")}}
    requests: list[tuple[str, str]] = []
    sims = [
        Simulator(
            dialplan=plan,
            durations_file=durations,
            asterisk_id=f"02:fc:00:00:00:{n:02x}",
            access_log=lambda e: requests.append((e["method"], e["path"])),
        )
        for n in (0x21, 0x22)
    ]
    for sim in sims:
        await sim.start()
    rig = Rig(tmp_path, redis_server.url, sims, requests)
    try:
        swapped = [
            arg.replace("http://pbx1:8088", sims[0].url)
            .replace("http://pbx2:8088", sims[1].url)
            .replace("redis://redis1:6379/0", redis_server.url)
            for arg in command[3:]
        ]
        for name in ("w1", "w2"):
            extra = [name if arg == "w1" else arg for arg in swapped]
            worker = rig.worker(name)  # the rig's menu and interpreter...
            worker.args = [*worker.args[: worker.args.index("run") + 2], *extra]  # ...doc args
            worker.start(rig.env())
        for worker in rig.workers:
            await worker.wait_serving()
            assert "broadcast mode" in worker.output
        for sim in sims:
            caller = await sim.call("PJSIP/alice", "1000")
            heard = await scenario(caller)
            assert heard[-1] == "sound:cluster-sales"
            assert caller.hung_up  # continued into the dialplan, whose Hangup() ended it
    finally:
        stops = [w.stop() for w in rig.workers]
        for sim in sims:
            await sim.close()
    assert stops == [0, 0]
    # (the documented command leaves --rest-transport at auto: its requests go over the
    # websocket, so the HTTP access log is empty; test_failover.py counts them over HTTP)
