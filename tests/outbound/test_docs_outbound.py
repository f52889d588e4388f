"""docs/cluster.md "Outbound websockets": its example, run as written with real
processes (``ivrkit run --listen`` and ``ivrkit sim --outbound-url``), for both
connection types; only the port is chosen by the system (``:0``)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _worker_process import MAIN

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "cluster.md"

pytestmark = [pytest.mark.realtime]


def _section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Outbound websockets\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _blocks(kind: str) -> list[str]:
    fences = re.finditer(r"^```(\w*)\n(.*?)^```$", _section(), re.M | re.S)
    return [m.group(2) for m in fences if m.group(1) == kind]


def _example() -> tuple[dict[str, str], list[str], list[str]]:
    """(environment, the run command, the sim command) of the runnable sh block."""
    block = next(b for b in _blocks("sh") if "--outbound-url" in b)
    lines = [line for line in block.splitlines() if line.strip()]
    env = dict(item.split("=", 1) for item in shlex.split(lines[0])[1:])
    run = shlex.split(lines[1])
    sim = shlex.split(lines[2])
    assert run[:2] == ["ivrkit", "run"]
    assert sim[:2] == ["ivrkit", "sim"]
    return env, run[1:], sim[1:]


def _wait_for(path: Path, pattern: str, process: subprocess.Popen[bytes], limit: float) -> str:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace") if path.exists() else ""
        found = re.search(pattern, text)
        if found:
            return found.group(1)
        assert process.poll() is None, f"exited early:\n{text}"
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in {path}")


@pytest.mark.parametrize("kind", ["per_call_config", "persistent"])
def test_the_documented_example_serves_the_attendant(tmp_path: Path, kind: str) -> None:
    env_vars, run_args, sim_args = _example()
    (tmp_path / "call.yaml").write_text(_blocks("yaml")[0])
    env = {**os.environ, **env_vars, "PYTHONUNBUFFERED": "1"}
    run_args = [a.replace("127.0.0.1:8090", "127.0.0.1:0") for a in run_args]
    out, err = tmp_path / "run.out", tmp_path / "run.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        server = subprocess.Popen(
            [sys.executable, "-c", MAIN, *run_args], stdout=o, stderr=e, env=env, cwd=tmp_path
        )
    try:
        port = _wait_for(err, r"on ws://127\.0\.0\.1:(\d+)/", server, 60)
        sim_args = [a.replace(":8090/", f":{port}/") for a in sim_args]
        if kind == "persistent":
            at = sim_args.index("--outbound-type")
            del sim_args[at : at + 2]
        sim = subprocess.run(
            [sys.executable, "-c", MAIN, *sim_args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert sim.returncode == 0, sim.stdout + sim.stderr
        assert "heard digits:1" in sim.stdout
        expected = next(b for b in _blocks("") if "has entered the application" in b)
        _wait_for(out, "(has left the application)", server, 30)
        assert out.read_text().splitlines() == expected.splitlines()
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        status = server.wait(30)
    assert status == 0, err.read_text()
