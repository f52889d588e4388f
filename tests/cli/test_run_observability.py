"""`ivrkit run --metrics --journey` as a real process against `ivrkit sim` as another."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivrkit.journey import JOURNEY_SCHEMA

SCRIPT = """\
wait_for_app: channel-aa
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - press: "1"
  - wait_for: sound:press-1
  - wait_for_hangup
"""


def ivrkit(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from ivrkit.cli import main; sys.exit(main())", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def read_until(stream: object, pattern: str) -> re.Match[str]:
    seen = []
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
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


@pytest.mark.slow
def test_run_serves_metrics_and_writes_the_journey(tmp_path: Path) -> None:
    script = tmp_path / "caller.yaml"
    script.write_text(SCRIPT)
    journey = tmp_path / "journey.jsonl"
    sim = ivrkit("sim", "--listen", "127.0.0.1:0", "--script", str(script))
    run = None
    try:
        url = read_until(sim.stdout, r"ARI on (http://\S+)/ari").group(1)
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        run = ivrkit(
            "run", "--url", url, "--metrics", "127.0.0.1:0", "--journey", str(journey), env=env
        )
        metrics = read_until(run.stderr, r"metrics on (http://\S+)/metrics").group(1)
        read_until(run.stdout, "entered 1")
        read_until(sim.stdout, "heard start of sound:press-1")
        read_until(sim.stdout, "heard start of sound:press-1")  # the menu again
        assert get(metrics + "/healthz") == (200, "ok\n")
        assert get(metrics + "/readyz") == (200, "ready\n")
        status, text = get(metrics + "/metrics")
        assert status == 200
        families = {f.name: f for f in text_string_to_metric_families(text)}
        assert families["ivrkit_calls_active"].samples[0].value == 1
        assert families["ivrkit_ari_websocket_up"].samples[0].value == 1
        selected = {
            tuple(sorted(s.labels.items())): s.value
            for s in families["ivrkit_option_selections"].samples
            if s.name.endswith("_total")
        }
        assert selected == {(("menu", "main"), ("option", "1")): 1.0}
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=30)
        assert run.returncode == 0, err
        sim.communicate(timeout=30)
    finally:
        for proc in (run, sim):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert journey.stat().st_mode & 0o777 == 0o600  # callers' digits: the owner's only
    lines = [json.loads(line) for line in journey.read_text().splitlines()]
    for line in lines:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    assert [line["step"] for line in lines][:2] == ["call_started", "menu_entered"]
    assert lines[-1]["step"] == "call_ended"
    assert lines[-1]["outcome"] == "released"
    assert {line["channel"] for line in lines} == {"PJSIP/alice-00000001"}


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--metrics", "localhost:http"), "invalid --metrics address 'localhost:http'"),
        (("--metrics", "127.0.0.1:70000"), "invalid --metrics address"),
        (("--journey", "/nonexistent-dir/j.jsonl"), "can't open the journey file"),
    ],
)
def test_a_bad_option_fails_before_any_connection(option: tuple[str, str], message: str) -> None:
    env = {**os.environ, "ARI_USER": "u", "ARI_PASSWORD": "p"}
    # port 9 (discard) on 127.0.0.1: if the option were accepted, the connection would fail
    # with a different message
    proc = ivrkit("run", "--url", "http://127.0.0.1:9", *option, env=env)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert message in err


def test_journey_on_stdout_moves_the_transcript_to_stderr() -> None:
    from ivrkit.cli._observability import Observability

    assert Observability(None, sys.stdout).transcript_file is sys.stderr
    assert Observability(None, None).transcript_file is sys.stdout
    assert Observability(None, None).observer is None  # nothing asked: nothing built


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9464", ("127.0.0.1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),
        ("[::1]:0", ("::1", 0)),
    ],
)
def test_metrics_address_forms(text: str, expected: tuple[str, int]) -> None:
    from ivrkit.cli._observability import parse_listen

    assert parse_listen(text) == expected
