"""A real ``ivrkit run`` process of a test: started (again, after a kill, under a new log),
waited for until its log says it serves, killed with -9 or stopped as a supervisor does.

One class for the cluster rig (tests/cluster/_cluster_rig.py) and the listening rig
(tests/outbound/_listen_rig.py), so that how a worker is started, watched and stopped is
said once. In tests/ so that every test directory imports it (pytest puts the directory
of tests/conftest.py on sys.path). Real time throughout; every wait is on a condition,
bounded.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from _wait import until

MAIN = "import sys; from ivrkit.cli import main; sys.exit(main())"


def ivrkit_run(*args: str) -> list[str]:
    """The command line of ``ivrkit run ARGS`` from this interpreter (the venv's ivrkit)."""
    return [sys.executable, "-c", MAIN, "run", *args]


def kill_9(process: subprocess.Popen[bytes]) -> None:
    """kill -9: no cleanup, no hand-back, no last flush."""
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)


def stop(process: subprocess.Popen[bytes]) -> int:
    """SIGTERM, as a supervisor stops a service; returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait(10)


class WorkerProcess:
    """``name``'s process; each start writes ``<stem>.<start>.log`` (stdout and stderr)."""

    def __init__(self, name: str, stem: Path) -> None:
        self.name = name
        self.stem = stem
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log(self) -> Path:
        return self.stem.with_name(f"{self.stem.name}.{self.starts}.log")

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def spawn(self, args: list[str], env: dict[str, str]) -> None:
        self.starts += 1
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL
            )

    async def wait_for_output(self, pattern: str, what: str, limit: float = 60.0) -> re.Match[str]:
        """Wait until the log matches ``pattern``; fail naming ``what`` if the process
        exits first (with its output) or ``limit`` seconds pass."""
        found: re.Match[str] | None = None

        def seen() -> bool:
            nonlocal found
            found = re.search(pattern, self.output)
            return found is not None or self.exited

        await until(seen, f"worker {self.name} never {what}", limit)
        assert found is not None, f"worker {self.name} exited:\n{self.output}"
        assert not self.exited, f"worker {self.name} exited:\n{self.output}"
        return found

    def kill(self) -> None:
        """kill -9: no cleanup, no hand-back, no last flush."""
        assert self.process is not None
        kill_9(self.process)

    def stop(self) -> int:
        """SIGTERM, as a supervisor stops a service; returns the exit status."""
        assert self.process is not None
        return stop(self.process)
