"""One call flow, the same for any ARI application: ``ivrkit sim`` on a free port plus the app.

``run_flow(app, script)`` starts ``ivrkit sim --listen 127.0.0.1:0`` (the kernel picks a
free port, which the banner names) with the guide's dialplan, a caller script and
``--access-log``, then the application under test (a copy of the guide's
``channel-aa.js`` on Node, or ``ivrkit run``) as a second process pointed at that port;
it waits for the script to end, asks the simulator over ARI which channels and bridges
are left, stops the application and returns everything observed as a :class:`Flow`.
Both apps go through this one function, so whatever differs between their flows comes
from the apps.

The guide's file hard-codes ``ari.connect('http://localhost:8088', ...)``, where a
telephony developer's own Asterisk listens. :func:`node_app` therefore runs a copy in
the flow's folder whose only change is that URL, and checks, by a line diff against the
guide's file, that nothing else changed. No fixed port means any number of runs can go
at once, beside a real Asterisk (issue 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import json
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO / ".." / "shared"
GUIDE_JS = SHARED / "seed" / "channel-aa.js"
GUIDE_MD = SHARED / "seed" / "ari-handling-dtmf.md"
TRACES = SHARED / "asterisk-traces"
NODE_MODULES = HERE / "node_modules"

HOST = "127.0.0.1"
GUIDE_URL = "http://localhost:8088"  # the one URL in channel-aa.js
USER, PASSWORD = "asterisk", "asterisk"  # what channel-aa.js hard-codes

#: the guide's extensions.conf (exten 1000: NoOp, Stasis(channel-aa), Hangup) as YAML
DIALPLAN = 'default:\n  "1000":\n    - NoOp()\n    - Stasis(channel-aa)\n    - Hangup()\n'

_IVRKIT = ("-c", "import sys; from ivrkit.cli import main; sys.exit(main())")
_HEARD = re.compile(r"^heard (\S+) ([\d.]+)-([\d.]+|\.\.\.)( \(cut off\))?$")
_LEFT = re.compile(r"ivrkit sim: left after the script: (.*)$")
_BANNER = re.compile(r"^ivrkit sim: ARI on (http://\S+)/ari ")


@dataclass(frozen=True)
class App:
    """An ARI application as a process: how to start it and how to stop it."""

    name: str
    #: the command line, given the simulator's base URL and the flow's folder
    argv: Callable[[str, Path], tuple[str, ...]]
    env: dict[str, str]
    cwd: Path
    stop: signal.Signals


def node_app() -> App:
    """A copy of the guide's channel-aa.js, changed only in its URL, on the pinned ari-client.

    ``require('ari-client')`` resolves from the file's own folder, which has no
    node_modules; ``NODE_PATH`` adds tests/interop/node_modules without copying them.
    """
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js is required for the interop test: install Node.js 20 and npm "
            "(apt-get install nodejs npm), then run `make node`"
        )
    if not (NODE_MODULES / "ari-client").is_dir():
        pytest.fail(f"ari-client 2.2.0 is not installed under {HERE}: run `make node` (npm ci)")
    if not GUIDE_JS.is_file():
        pytest.fail(f"the guide's channel-aa.js is missing: expected {GUIDE_JS.resolve()}")

    def argv(url: str, workdir: Path) -> tuple[str, ...]:
        return (node, str(guide_js_copy(url, workdir)))

    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    return App("channel-aa.js", argv, env, HERE, signal.SIGTERM)


def guide_js_copy(url: str, workdir: Path) -> Path:
    """Write channel-aa.js into ``workdir`` with ``url`` for the guide's, and prove that is all.

    The diff against the guide's file must be exactly one line out and one line in,
    the same line but for the URL; anything else fails the test before Node starts.
    """
    original = GUIDE_JS.read_text(encoding="utf-8")
    assert original.count(GUIDE_URL) == 1, f"{GUIDE_JS} no longer connects to {GUIDE_URL} once"
    copy = original.replace(GUIDE_URL, url)
    changed = [
        line
        for line in difflib.unified_diff(original.splitlines(), copy.splitlines(), lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    [old_line] = [line for line in original.splitlines() if GUIDE_URL in line]
    assert changed == ["-" + old_line, "+" + old_line.replace(GUIDE_URL, url)], changed
    target = workdir / "channel-aa.js"
    target.write_text(copy, encoding="utf-8")
    return target


def python_app() -> App:
    """``ivrkit run --url <the simulator> --app channel-aa`` (credentials from env)."""
    env = {**os.environ, "ARI_USER": USER, "ARI_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}

    def argv(url: str, workdir: Path) -> tuple[str, ...]:
        return (sys.executable, *_IVRKIT, "run", "--url", url, "--app", "channel-aa")

    return App("ivrkit run", argv, env, REPO, signal.SIGINT)


@dataclass(frozen=True)
class HeardItem:
    """One media item the simulated phone heard, as ``ivrkit sim`` prints it."""

    media: str
    start: float
    end: float | None
    cut_off: bool

    @property
    def outcome(self) -> str:
        if self.end is None:
            return "playing"
        return "cut off" if self.cut_off else "finished"


@dataclass
class Flow:
    """Everything one run showed: the app's output, the phone's ears, the server's log."""

    app: str
    url: str = ""  # where the simulator listened (a free port of the kernel's choice)
    transcript: list[str] = field(default_factory=list)
    app_stderr: str = ""
    sim_stdout: list[str] = field(default_factory=list)
    sim_stderr: str = ""
    heard: list[HeardItem] = field(default_factory=list)
    left_after: dict[str, int] = field(default_factory=dict)
    channels_after: list[Any] = field(default_factory=list)
    bridges_after: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        return (
            f"{self.app}: transcript {self.transcript}\napp stderr (end): "
            f"{self.app_stderr[-1500:]}\nsim: {self.sim_stdout}\nsim stderr: {self.sim_stderr}"
        )


def run_flow(app: App, script: str, workdir: Path, within: float = 60.0) -> Flow:
    """Run one scripted call against ``app`` on a real-time loop; see the module docstring."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "dialplan.yaml").write_text(DIALPLAN)
    (workdir / "caller.yaml").write_text(script)
    flow = asyncio.run(_run_flow(app, workdir, within))
    flow.requests = [
        json.loads(line) for line in (workdir / "access.jsonl").read_text().splitlines()
    ]
    return flow


async def _run_flow(app: App, workdir: Path, within: float) -> Flow:
    access_log = workdir / "access.jsonl"
    flow = Flow(app.name)
    left = asyncio.Event()  # the app has logged "... has left the application"
    started = time.monotonic()
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        *_IVRKIT,
        "sim",
        "--listen",
        f"{HOST}:0",
        "--dialplan",
        str(workdir / "dialplan.yaml"),
        "--script",
        str(workdir / "caller.yaml"),
        "--access-log",
        str(access_log),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proc: asyncio.subprocess.Process | None = None
    try:
        async with asyncio.timeout(within):
            assert sim.stdout is not None
            assert sim.stderr is not None
            banner = (await sim.stdout.readline()).decode()
            if (m := _BANNER.match(banner)) is None:
                err = (await sim.stderr.read()).decode()
                pytest.fail(f"ivrkit sim did not start on {HOST}: {banner}{err}")
            flow.url = m.group(1)
            proc = await asyncio.create_subprocess_exec(
                *app.argv(flow.url, workdir),
                cwd=app.cwd,
                env=app.env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                preexec_fn=_default_stop_signals,
            )
            async with asyncio.TaskGroup() as tg:
                app_out = tg.create_task(_lines(proc.stdout, flow.transcript, left))
                app_err = tg.create_task(_read(proc.stderr))
                sim_err = tg.create_task(_read(sim.stderr))
                await _follow_sim(sim.stdout, flow, left)
                await sim.wait()
                flow.sim_stderr = await sim_err
                await _stop(proc, app.stop)
                await app_out
                flow.app_stderr = await app_err
    except TimeoutError:
        pytest.fail(f"flow with {app.name} did not finish within {within:g} s\n{flow.describe()}")
    finally:
        for p in (proc, sim):
            if p is not None and p.returncode is None:
                p.kill()
                await p.wait()
    flow.seconds = time.monotonic() - started
    if sim.returncode != 0:
        pytest.fail(f"ivrkit sim exited with {sim.returncode}\n{flow.describe()}")
    flow.heard = [_heard(m) for line in flow.sim_stdout if (m := _HEARD.match(line))]
    left = _LEFT.search(flow.sim_stderr)
    if left is None:
        pytest.fail(f"ivrkit sim printed no leftover counts\n{flow.describe()}")
    flow.left_after = {k: int(v) for k, v in (kv.split("=") for kv in left.group(1).split())}
    return flow


async def _follow_sim(stdout: asyncio.StreamReader, flow: Flow, left: asyncio.Event) -> None:
    """Collect the simulator's output; once the call has ended, ask what is left.

    The script ends with a few seconds of ``wait`` so the application can finish
    reacting (and the simulator still answers) while these requests are made. They
    carry ``api_key`` so that the access log tells them from the apps' own requests,
    which use Basic auth for REST.
    """
    while line := (await stdout.readline()).decode():
        flow.sim_stdout.append(line.rstrip("\n"))
        if line.startswith("caller: call ended"):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):  # a missing line is the test's to report
                    await left.wait()
            flow.channels_after = await _ari_get(flow.url, "channels")
            flow.bridges_after = await _ari_get(flow.url, "bridges")


async def _ari_get(url: str, resource: str) -> list[Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{url}/ari/{resource}", params={"api_key": f"{USER}:{PASSWORD}"}) as resp,
    ):
        assert resp.status == 200, f"GET /ari/{resource}: {resp.status} {await resp.text()}"
        body: list[Any] = await resp.json()
        return body


def _default_stop_signals() -> None:
    """In the app's process: Ctrl-C works even when pytest was started in the background.

    A shell starts background jobs with SIGINT ignored and children inherit that, so
    ``ivrkit run`` would never see the Ctrl-C it is stopped with.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


async def _stop(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    if proc.returncode is None:
        proc.send_signal(sig)
    try:
        async with asyncio.timeout(10):
            await proc.wait()
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def _lines(stream: asyncio.StreamReader | None, into: list[str], left: asyncio.Event) -> None:
    assert stream is not None
    while line := (await stream.readline()).decode():
        into.append(line.rstrip("\n"))
        if "has left the application" in line:
            left.set()


async def _read(stream: asyncio.StreamReader | None) -> str:
    assert stream is not None
    return (await stream.read()).decode(errors="replace")


def _heard(m: re.Match[str]) -> HeardItem:
    end = None if m.group(3) == "..." else float(m.group(3))
    return HeardItem(m.group(1), float(m.group(2)), end, m.group(4) is not None)
