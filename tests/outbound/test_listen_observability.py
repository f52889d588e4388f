"""``ivrkit run --listen --metrics --journey`` as a real process, the simulated Asterisk
connecting out as another (``ivrkit sim --outbound-url``), for both connection types:
the metrics scraped from ``/metrics`` and the journey file read back and validated
against the journey schema, the same as with ``--url``."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivrkit.journey import JOURNEY_SCHEMA


def ivrkit(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    main = "import sys; from ivrkit.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", main, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_until(stream: IO[str], pattern: str) -> re.Match[str]:
    seen = []
    for line in iter(stream.readline, ""):
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found
    raise AssertionError(f"never saw {pattern!r}; got {''.join(seen)!r}")


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - press: "1"
  - heard: digits:1
  - hangup
  - wait_for_hangup
"""

pytestmark = [pytest.mark.slow]


def _scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    status, text = get(url + "/metrics")
    assert status == 200
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return samples


def _until(check: Callable[[], Any], what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)  # another process's state, read over HTTP


@pytest.mark.parametrize("kind", ["persistent", "per_call_config"])
def test_listen_serves_metrics_and_writes_the_journey(tmp_path: Path, kind: str) -> None:
    script = tmp_path / "call.yaml"
    script.write_text(SCRIPT)
    journey = tmp_path / "journey.jsonl"
    env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
    run = ivrkit(
        "run", "--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--journey", str(journey),
        env=env,
    )  # fmt: skip
    sim = None
    try:
        metrics = read_until(_err(run), r"metrics on (http://\S+)/metrics").group(1)
        port = read_until(_err(run), r"on ws://127\.0\.0\.1:(\d+)/").group(1)
        # listening is ready: Asterisk connects when it will (it retries)
        assert get(metrics + "/readyz") == (200, "ready\n")
        args = ["sim", "--listen", "127.0.0.1:0", "--outbound-url", f"ws://127.0.0.1:{port}/"]
        args += ["--outbound-type", kind, "--script", str(script)]
        sim = ivrkit(*args, env=env)
        out, err = sim.communicate(timeout=90)
        assert sim.returncode == 0, out + err
        _until(
            lambda: _scrape(metrics).get("ivrkit_calls_ended_total"),
            "the call's end was never counted",
        )
        samples = _scrape(metrics)
        assert samples["ivrkit_calls_started_total"] == {(): 1.0}
        assert samples["ivrkit_calls_ended_total"] == {(("outcome", "caller_hangup"),): 1.0}
        assert samples["ivrkit_calls_active"] == {(): 0.0}
        assert samples["ivrkit_option_selections_total"] == {
            (("menu", "main"), ("option", "1")): 1.0
        }
        # REST travelled over the socket and was timed like HTTP requests
        played = [
            v
            for labels, v in samples["ivrkit_ari_request_duration_seconds_count"].items()
            if ("operation", "POST /channels/{channelId}/play/{playbackId}") in labels
        ]
        assert sum(played) >= 2, samples["ivrkit_ari_request_duration_seconds_count"]
        if kind == "persistent":
            # the simulated Asterisk is gone: its persistent socket is down
            _until(
                lambda: _scrape(metrics)["ivrkit_ari_websocket_up"] == {(): 0.0},
                "the lost persistent socket never showed",
            )
            assert _scrape(metrics)["ivrkit_ari_websocket_disconnects_total"] == {(): 1.0}
        else:  # per-call sockets come and go with their calls: no outage
            assert samples["ivrkit_ari_websocket_up"] == {(): 1.0}
        assert get(metrics + "/readyz") == (200, "ready\n")
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
    finally:
        for proc in (run, sim):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert journey.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in journey.read_text().splitlines()]
    for line in lines:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    steps = [line["step"] for line in lines]
    assert steps[:2] == ["call_started", "menu_entered"]
    assert "option_selected" in steps
    assert lines[-1]["step"] == "call_ended"
    assert lines[-1]["outcome"] == "caller_hangup"
    assert {line["channel"] for line in lines} == {"PJSIP/alice-00000001"}


def _err(process: subprocess.Popen[str]) -> IO[str]:
    assert process.stderr is not None
    return process.stderr
