"""``ivrkit run --url ... --cluster ... --metrics --journey``: a real worker process in
broadcast mode over two simulated Asterisks serves Prometheus metrics and writes the
journey as a single process does (before, cluster mode ignored both options)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import aiohttp
import jsonschema
import pytest
from _cluster_rig import DURATIONS, Rig, broadcast_dialplan, scenario
from prometheus_client.parser import text_string_to_metric_families

from _wait import until
from ivrkit.journey import JOURNEY_SCHEMA
from ivrkit.sim import Simulator
from ivrkit.testing import RedisServer

pytestmark = pytest.mark.realtime


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, await resp.text()


async def test_a_cluster_worker_serves_metrics_and_writes_the_journey(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    sims = [
        Simulator(
            dialplan=broadcast_dialplan(),
            durations_file=durations,
            asterisk_id=f"02:fc:00:00:00:{n:02x}",
        )
        for n in (0x31, 0x32)
    ]
    for sim in sims:
        await sim.start()
    journey = tmp_path / "journey.jsonl"
    rig = Rig(tmp_path, redis_server.url, sims)
    worker = rig.worker("w1", "--metrics", "127.0.0.1:0", "--journey", str(journey))
    try:
        worker.start(rig.env())
        await worker.wait_serving()
        found = re.search(r"metrics on (http://\S+)/metrics", worker.output)
        assert found, worker.output
        metrics = found.group(1)
        assert await _get(metrics + "/readyz") == (200, "ready\n")  # both clients ready
        for sim in sims:
            heard = await scenario(await sim.call("PJSIP/alice", "1000"))
            assert heard[-1] == "sound:cluster-sales"

        async def counted() -> bool:
            return "ivrkit_calls_ended_total" in (await _get(metrics + "/metrics"))[1]

        await until(counted, "the calls' ends were never counted")
        _, text = await _get(metrics + "/metrics")
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }
        assert samples[("ivrkit_calls_started_total", ())] == 2.0
        assert samples[("ivrkit_calls_ended_total", (("outcome", "continue"),))] == 2.0
        assert samples[("ivrkit_ari_websocket_up", ())] == 1.0
        await sims[0].close()  # one Asterisk gone: the worker is not ready any more

        async def unready() -> bool:
            return await _get(metrics + "/readyz") == (503, "not ready: ari\n")

        await until(unready, "/readyz never said the lost Asterisk's client is not ready")
    finally:
        stop = worker.stop()
        for sim in sims:
            await sim.close()
    assert stop == 0, worker.output
    lines = [json.loads(line) for line in journey.read_text().splitlines()]
    for line in lines:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    ends = [line for line in lines if line["step"] == "call_ended"]
    assert [e["outcome"] for e in ends] == ["continue", "continue"]
