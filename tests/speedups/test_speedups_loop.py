"""``ivrkit.speedups.run``: the CLI's loop (uvloop when in use) keeps asyncio's promises.

Plain (sync) tests: each runs its own loop through ``speedups.run``, on uvloop (the
``make install`` default) and on asyncio's own loop (the fallback), and checks what the
servers rely on: signal handlers, subprocesses, TLS, a clock as fine as asyncio's, and
timers that never fire early. Real time, bounded by the timeouts in each coroutine.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import uvloop

from ivrkit import speedups


@pytest.fixture(params=["uvloop", "asyncio"])
def loop_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "asyncio":
        monkeypatch.setattr(speedups, "_uvloop", None)
    kind: str = request.param
    return kind


def test_the_loop_is_the_one_chosen(loop_kind: str) -> None:
    async def kind() -> asyncio.AbstractEventLoop:
        return asyncio.get_running_loop()

    loop = speedups.run(kind())
    assert isinstance(loop, uvloop.Loop) == (loop_kind == "uvloop")


def test_signal_handlers_run_on_the_loop(loop_kind: str) -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        got: list[str] = []
        woken = asyncio.Event()

        def on(sig: signal.Signals) -> None:
            got.append(sig.name)
            woken.set()

        for sig in (signal.SIGHUP, signal.SIGTERM):
            loop.add_signal_handler(sig, on, sig)
        try:
            for sig in (signal.SIGHUP, signal.SIGTERM):
                woken.clear()
                os.kill(os.getpid(), sig)
                async with asyncio.timeout(5):
                    await woken.wait()
        finally:
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        return got

    assert speedups.run(main()) == ["SIGHUP", "SIGTERM"]


def test_subprocesses_run_and_are_reaped(loop_kind: str) -> None:
    async def main() -> tuple[int, bytes]:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-c", "print('hi'); raise SystemExit(3)", stdout=subprocess.PIPE
        )
        async with asyncio.timeout(30):
            out, _ = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out

    assert speedups.run(main()) == (3, b"hi\n")


def test_tls_is_verified(loop_kind: str, tls_cert: tuple[Path, Path]) -> None:
    """A TLS server and a client that verifies it (and refuses an unknown CA)."""
    crt, key = tls_cert

    async def main() -> bytes:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(crt, key)

        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        async with server, asyncio.timeout(10):
            reader, writer = await asyncio.open_connection(
                "127.0.0.1", port, ssl=ssl.create_default_context(cafile=str(crt))
            )
            writer.write(b"ping\n")
            line = await reader.readline()
            writer.close()
            with pytest.raises(ssl.SSLCertVerificationError):
                await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context())
        return line

    assert speedups.run(main()) == b"ping\n"


def busy(seconds: float) -> None:
    """Hold the loop (as a callback doing work would), without sleeping."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_the_clock_is_fine_and_timers_never_fire_early(loop_kind: str) -> None:
    async def main() -> tuple[float, list[float]]:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        busy(0.0005)  # half a millisecond inside one loop iteration
        seen = loop.time() - t0
        late: list[float] = []
        for _ in range(5):
            await asyncio.sleep(0)
            busy(0.005)  # the loop's cached time, if any, is now 5 ms old
            due = loop.time() + 0.010
            fired = loop.create_future()
            loop.call_at(due, fired.set_result, None)
            async with asyncio.timeout(5):
                await fired
            late.append(time.monotonic() - due)
        return seen, late

    seen, late = speedups.run(main())
    assert seen >= 0.0005  # uvloop's own time() would say 0.0 (whole ms, read per iteration)
    assert min(late) >= -0.0011, late  # asyncio's loop may fire within its clock resolution


def test_the_listen_banner_does_not_claim_uvloop() -> None:
    """``ivrkit run --listen`` keeps asyncio's loop (cli/_listen.py); its banner says so."""
    from ivrkit.cli._listen import run_listening  # noqa: F401 - the module under test
    from ivrkit.cli._loop import speedups_note

    note = speedups_note(loop=False)
    assert note.endswith(", uvloop not used with --listen"), note
    assert "uvloop 0." not in note
    assert "uvloop 0." in speedups_note()  # make install installs it
