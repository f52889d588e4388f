"""``ivrkit sim --script`` times and ``--access-log`` timestamps (issue 11, item 10).

``heard`` lines were on the simulator's loop clock (``heard sound:press-1
1000.032-...``), which means nothing to a reader; they are seconds since the call
started. Each access-log line carries when it was written: ``time`` (UTC wall clock)
and ``elapsed`` (the simulator's clock since it started). Real processes, real time: the
simulator and ``ivrkit run`` as the app; the call lasts about half a second.
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

from _simari import UNBUFFERED, ivrkit_sim

SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
wait_for_app: channel-aa
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - wait: 0.2
  - hangup
  - wait_for_hangup
"""
HEARD = re.compile(r"^heard sound:press-1 (\d+\.\d{3})-(\d+\.\d{3}) \(cut off\)$")
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_heard_times_are_since_the_call_and_log_lines_are_stamped(tmp_path: Path) -> None:
    (tmp_path / "call.yaml").write_text(SCRIPT)
    log = tmp_path / "access.jsonl"
    sim = subprocess.Popen(
        ivrkit_sim(
            "--listen", "127.0.0.1:0", "--script", str(tmp_path / "call.yaml"),
            "--access-log", str(log),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=UNBUFFERED,
    )  # fmt: skip
    app = None
    try:
        assert sim.stdout is not None
        banner = sim.stdout.readline()
        url = re.match(r"ivrkit sim: ARI on (http://\S+)/ari ", banner)
        assert url, banner
        env = {**UNBUFFERED, "ARI_USER": "asterisk", "ARI_PASSWORD": "asterisk"}
        run = "import sys; from ivrkit.cli import main; sys.exit(main())"
        argv = [sys.executable, "-c", run, "run", "--url", url.group(1)]
        app = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = datetime.datetime.now(datetime.UTC)
        out, err = sim.communicate(timeout=60)
        after = datetime.datetime.now(datetime.UTC)
    finally:
        for proc in (sim, app):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()
    assert sim.returncode == 0, err
    [heard] = [m for line in out.splitlines() if (m := HEARD.match(line))]
    start, end = float(heard.group(1)), float(heard.group(2))
    # Since the call's start, not the loop clock (that read ~1000 s): the whole run took
    # ``wall`` seconds, so both ends fall inside it. How soon the prompt starts depends on
    # the machine's load, so it is bounded by the run, not by a constant.
    wall = (after - before).total_seconds()
    assert 0 <= start < end <= wall, (wall, out)
    assert end - start >= 0.2, out  # the script waited 0.2 s into the prompt

    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records, "the app made requests"
    for record in records:
        assert list(record)[:2] == ["time", "elapsed"], record
        assert ISO_UTC.match(record["time"]), record
        stamp = datetime.datetime.fromisoformat(record["time"])
        assert before - datetime.timedelta(seconds=30) <= stamp <= after, record
    elapsed = [r["elapsed"] for r in records if r["status"] != 101]  # a socket logs at close
    assert elapsed == sorted(elapsed)
    assert 0 <= elapsed[0] <= elapsed[-1] < 60
