"""One call flow, the same for any ARI application: ``ivrkit sim`` on 8088 plus the app.

``run_flow(app, script)`` starts ``ivrkit sim --listen 127.0.0.1:8088`` with the guide's
dialplan, a caller script and ``--access-log``, then the application under test (the
guide's ``channel-aa.js`` on Node, or ``ivrkit run``) as a second process; it waits for
the script to end, asks the simulator over ARI which channels and bridges are left,
stops the application and returns everything observed as a :class:`Flow`. Both apps go
through this one function, so whatever differs between their flows comes from the apps.

Port 8088 is fixed by the guide's file (``ari.connect('http://localhost:8088', ...)``).
Other engineers' benchmarks bind it too, so :func:`hold_port_8088` takes the shared lock
``$TMPDIR/ivrkit-port-8088.lock`` (the one ``flock`` takes by hand) and then checks the
port can be bound, failing with a message that says who to look for.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
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

HOST, PORT = "127.0.0.1", 8088
LOCK_FILE = Path(tempfile.gettempdir()) / "ivrkit-port-8088.lock"
LOCK_WAIT_SECONDS = 30.0
USER, PASSWORD = "asterisk", "asterisk"  # what channel-aa.js hard-codes

#: the guide's extensions.conf (exten 1000: NoOp, Stasis(channel-aa), Hangup) as YAML
DIALPLAN = 'default:\n  "1000":\n    - NoOp()\n    - Stasis(channel-aa)\n    - Hangup()\n'

_IVRKIT = ("-c", "import sys; from ivrkit.cli import main; sys.exit(main())")
_HEARD = re.compile(r"^heard (\S+) ([\d.]+)-([\d.]+|\.\.\.)( \(cut off\))?$")
_LEFT = re.compile(r"ivrkit sim: left after the script: (.*)$")


@dataclass(frozen=True)
class App:
    """An ARI application as a process: how to start it and how to stop it."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path
    stop: signal.Signals


def node_app() -> App:
    """The guide's channel-aa.js, unmodified, on the pinned ari-client.

    ``require('ari-client')`` resolves from the file's own folder, which has no
    node_modules; ``NODE_PATH`` adds tests/interop/node_modules without copying or
    editing the file.
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
    env = {**os.environ, "NODE_PATH": str(NODE_MODULES)}
    return App("channel-aa.js", (node, str(GUIDE_JS)), env, HERE, signal.SIGTERM)


def python_app() -> App:
    """``ivrkit run --url http://127.0.0.1:8088 --app channel-aa`` (credentials from env)."""
    env = {**os.environ, "ARI_USER": USER, "ARI_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    argv = (
        sys.executable,
        *_IVRKIT,
        "run",
        "--url",
        f"http://{HOST}:{PORT}",
        "--app",
        "channel-aa",
    )
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


@contextlib.contextmanager
def hold_port_8088() -> Iterator[None]:
    """Hold the shared 8088 lock and make sure the port is free, or fail saying why."""
    with open(LOCK_FILE, "a+") as lock:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"port {PORT} is busy: another run holds {LOCK_FILE} for over "
                        f"{LOCK_WAIT_SECONDS:g} s (a benchmark or a manual `flock` run); "
                        "retry when it has finished"
                    )
                time.sleep(0.2)  # waiting on another process's lock, not on our own code
        try:
            _check_port_free()
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _check_port_free() -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds
    try:
        probe.bind((HOST, PORT))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        pytest.fail(
            f"port {PORT} is busy: something that does not take {LOCK_FILE} listens on "
            f"{HOST}:{PORT} (find it with `ss -ltnp 'sport = :{PORT}'`); the guide's "
            "channel-aa.js can only connect there, so the interop test needs it free"
        )
    finally:
        probe.close()


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
        f"{HOST}:{PORT}",
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
            if not banner.startswith("ivrkit sim: ARI on"):
                err = (await sim.stderr.read()).decode()
                pytest.fail(f"ivrkit sim did not start on {HOST}:{PORT}: {banner}{err}")
            proc = await asyncio.create_subprocess_exec(
                *app.argv,
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
            flow.channels_after = await _ari_get("channels")
            flow.bridges_after = await _ari_get("bridges")


async def _ari_get(resource: str) -> list[Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"http://{HOST}:{PORT}/ari/{resource}", params={"api_key": f"{USER}:{PASSWORD}"}
        ) as resp,
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
