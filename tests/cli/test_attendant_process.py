"""`ivrkit run` as a real process against `ivrkit sim` as another: serve, then Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

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


def read_until(stream: object, pattern: str) -> str:
    seen = []
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        seen.append(line)
        if re.search(pattern, line):
            return line
    raise AssertionError(f"never saw {pattern!r}; got {''.join(seen)!r}")


@pytest.mark.slow
def test_run_serves_a_real_process_and_hands_calls_back_on_ctrl_c(tmp_path: Path) -> None:
    script = tmp_path / "caller.yaml"
    script.write_text(SCRIPT)
    sim = ivrkit("sim", "--listen", "127.0.0.1:0", "--script", str(script))
    run = None
    try:
        url = re.search(r"ARI on (http://\S+)/ari", read_until(sim.stdout, "ARI on"))
        assert url is not None
        env = {**os.environ, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        run = ivrkit("run", "--url", url.group(1), env=env)
        assert read_until(run.stdout, "entered 1") == "Channel PJSIP/alice-00000001 entered 1\n"
        read_until(sim.stdout, "heard start of sound:press-1")  # the menu again
        read_until(sim.stdout, "heard start of sound:press-1")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)
        assert run.returncode == 0  # a stop by signal is a clean exit (docs/operations.md)
        assert "1 call(s) handed back to the dialplan" in err
        assert out == "PJSIP/alice-00000001 has left the application\n"
        sim_out, _ = sim.communicate(timeout=30)
        assert "caller: call ended" in sim_out  # the dialplan's Hangup() after Stasis
        assert sim_out.rstrip().endswith("(cut off)")
        assert sim.returncode == 0
    finally:
        for proc in (run, sim):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate()
