"""A real redis-server for tests and benchmarks: a free port, a temp dir, stopped after.

Why a real one: cluster mode's guarantees (one owner per call, fenced writes) live in
Lua scripts that Redis runs atomically; a fake would test our idea of Redis, not Redis.
The server keeps nothing on disk (no RDB, no AOF) and binds 127.0.0.1 only.
``stop()``/``start()`` make an outage on the same port; ``pause()``/``resume()`` a hang.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

_READY = "Ready to accept connections"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """``with RedisServer(tmp_path) as redis: ... redis.url ...``."""

    def __init__(self, directory: Path, *, binary: str | None = None) -> None:
        found = binary or shutil.which("redis-server")
        if found is None:
            raise RuntimeError(
                "redis-server is not installed: `make redis` (apt-get install redis-server)"
            )
        self.binary = found
        self.directory = directory
        self.port = 0
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return out.stdout.strip()

    def start(self, timeout: float = 10.0) -> None:
        """Start (again, on the same port after ``stop``); wait until it accepts."""
        if self._process is not None:
            raise RuntimeError("redis-server is already running")
        for _attempt in range(5):  # a free port can be taken between probe and bind
            port = self.port or _free_port()
            log_path = self.directory / f"redis-{port}.log"
            args = [self.binary, "--port", str(port), "--bind", "127.0.0.1"]
            args += ["--dir", str(self.directory), "--save", "", "--appendonly", "no"]
            args += ["--logfile", str(log_path), "--protected-mode", "yes"]
            self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL, text=True)
            if self._wait_ready(log_path, timeout):
                self.port = port
                return
            self._kill()
            if self.port:  # a restart must keep its port; don't wander off
                break
        raise RuntimeError(f"redis-server did not start; see {self.directory}")

    def _wait_ready(self, log_path: Path, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                return False
            if log_path.exists() and _READY in log_path.read_text(errors="replace"):
                log_path.write_text("")  # a restart waits for its own line
                return True
            time.sleep(0.01)
        return False

    def stop(self) -> None:
        """Stop the server (a Redis outage); idempotent."""
        self._kill()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing answers."""
        assert self._process is not None
        self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGCONT)

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
