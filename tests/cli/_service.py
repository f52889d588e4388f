"""``ivrkit run`` as a real child process, driven from an async (realtime) test.

The child talks to a simulator the test runs in-process on a free port, so the test
holds the phones; its stderr (service messages) and stdout (transcript) are read as they
come, and the test waits on lines, never on the clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from ivrkit.sim import Simulator

LINE_TIMEOUT = 30.0


class RunProcess:
    """One ``ivrkit run`` child: its lines so far, and waits for more."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.err: list[str] = []
        self.out: list[str] = []
        self._changed = asyncio.Event()
        assert proc.stderr is not None
        assert proc.stdout is not None
        self._readers = [
            asyncio.ensure_future(self._read(proc.stderr, self.err)),
            asyncio.ensure_future(self._read(proc.stdout, self.out)),
        ]

    async def _read(self, stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())
            self._changed.set()
        self._changed.set()

    async def wait_err(self, pattern: str, *, after: int = 0) -> str:
        """The first stderr line (from index ``after``) matching ``pattern``."""
        return await self._wait(self.err, pattern, after)

    async def wait_out(self, pattern: str, *, after: int = 0) -> str:
        return await self._wait(self.out, pattern, after)

    async def _wait(self, lines: list[str], pattern: str, after: int) -> str:
        async with asyncio.timeout(LINE_TIMEOUT):
            while True:
                for line in lines[after:]:
                    if re.search(pattern, line):
                        return line
                if all(r.done() for r in self._readers):
                    raise AssertionError(
                        f"ivrkit run exited without printing {pattern!r}:\n{''.join(self.err)}"
                    )
                self._changed.clear()
                await self._changed.wait()

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    async def kill(self) -> None:
        """SIGKILL if still running, and reap (test cleanup; kill -9 in takeover tests)."""
        if self.proc.returncode is None:
            self.proc.kill()
        with contextlib.suppress(Exception):
            await self.wait_exit()

    async def wait_exit(self) -> int:
        async with asyncio.timeout(LINE_TIMEOUT):
            code = await self.proc.wait()
            await asyncio.gather(*self._readers)
        return code


async def start_run(sim: Simulator, *args: str, menu: Path | None = None) -> RunProcess:
    """Start ``ivrkit run`` against ``sim``; returns once it is serving (its banner)."""
    env = {**os.environ, "ARI_USER": sim.username, "ARI_PASSWORD": sim.password}
    argv = ["run", *([str(menu)] if menu else []), "--url", sim.url, "--rest-transport", "http"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from ivrkit.cli import main; sys.exit(main())",
        *argv,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    run = RunProcess(proc)
    try:
        await run.wait_err(r"ivrkit run: serving")
    except BaseException:
        await run.kill()
        raise
    return run


@contextlib.asynccontextmanager
async def ivrkit_run(
    sim: Simulator, *args: str, menu: Path | None = None
) -> AsyncIterator[RunProcess]:
    """``start_run`` as a context: the child is killed on the way out if still running."""
    run = await start_run(sim, *args, menu=menu)
    try:
        yield run
    finally:
        await run.kill()
