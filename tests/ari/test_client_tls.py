"""https/wss with certificate verification, against the simulator behind a TLS proxy.

The certificate is self-signed and made at test time with the ``openssl`` command (the
project has no crypto dependency); the proxy terminates TLS and pipes bytes to the
simulator, so the client's whole TLS path (REST and websocket) is real.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Unreachable
from ivrkit.sim import Simulator


@pytest.fixture
def cert(tls_cert: tuple[Path, Path]) -> tuple[Path, Path]:
    return tls_cert


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


def _server_context(crt: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(crt, key)
    return ctx


@pytest.mark.parametrize("transport", ["http", "websocket"])
async def test_simulator_serves_https_and_wss(cert: tuple[Path, Path], transport: str) -> None:
    """The simulator's own TLS (http.conf ``tlsenable``), REST over https or over wss."""
    crt, key = cert
    async with Simulator(ssl_context=_server_context(crt, key)) as sim:
        assert sim.url == f"https://127.0.0.1:{sim.port}"
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
            ca_file=str(crt),
            rest_transport=transport,  # type: ignore[arg-type]
        )
        async with AriClient(config) as client:
            assert client.rest_transport == transport
            caller = await sim.call("PJSIP/alice", "1000")
            await client.channels.answer(caller.channel_id)
            await client.channels.play(caller.channel_id, "sound:press-1")
            await caller.wait_for_playback("sound:press-1")
            await client.hangup_quietly(caller.channel_id)
            await caller.wait_for_hangup()
        assert [h.media_uri for h in caller.heard] == ["sound:press-1"]


async def test_simulator_https_refuses_an_unverified_client(cert: tuple[Path, Path]) -> None:
    crt, key = cert
    async with Simulator(ssl_context=_server_context(crt, key)) as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        with pytest.raises(Unreachable, match=r"(?i)certificate"):
            async with AriClient(config):
                pass
