"""https/wss with certificate verification, against the simulator behind a TLS proxy.

The certificate is self-signed and made at test time with the ``openssl`` command (the
project has no crypto dependency); the proxy terminates TLS and pipes bytes to the
simulator, so the client's whole TLS path (REST and websocket) is real.
"""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Unreachable
from ivrkit.sim import Simulator


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command (apt-get install openssl)"
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    args += ["-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1"]
    args += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        [openssl, *args],
        check=True,
        capture_output=True,
    )
    return crt, key


@asynccontextmanager
async def tls_proxy(target_port: int, crt: Path, key: Path) -> AsyncIterator[int]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    writers: set[asyncio.StreamWriter] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        writers.add(up_writer)
        async with asyncio.TaskGroup() as tg:
            tg.create_task(pipe(reader, up_writer))
            tg.create_task(pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for w in writers:
            w.close()
        await server.wait_closed()


def _config(port: int, sim: Simulator, **options: object) -> ConnectionConfig:
    return ConnectionConfig(
        base_url=f"https://127.0.0.1:{port}",
        apps=("channel-aa",),
        credentials=Credentials(sim.username, sim.password),
        **options,  # type: ignore[arg-type]
    )


async def test_tls_verified_with_ca_file(cert: tuple[Path, Path]) -> None:
    crt, key = cert
    async with (
        Simulator() as sim,
        tls_proxy(sim.port, crt, key) as port,
        AriClient(_config(port, sim, ca_file=str(crt))) as client,
    ):
        assert client.ready
        assert (await client.applications.get("channel-aa")).name == "channel-aa"
        caller = await sim.call("PJSIP/alice", "1000")
        await client.channels.answer(caller.channel_id)
        await client.hangup_quietly(caller.channel_id)
        await caller.wait_for_hangup()


async def test_tls_unknown_ca_is_refused(cert: tuple[Path, Path]) -> None:
    crt, key = cert
    async with Simulator() as sim, tls_proxy(sim.port, crt, key) as port:
        with pytest.raises(Unreachable, match=r"(?i)certificate"):
            async with AriClient(_config(port, sim)):
                pass
        async with AriClient(_config(port, sim, verify_tls=False)) as client:
            assert client.ready
