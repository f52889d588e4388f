"""ivrkit.testing.TcpBalancer: round robin, a refusing backend skipped, and a backend's
close passed on to the client at once (as a killed worker's sockets drop at Asterisk)."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import pytest

from ivrkit.testing import TcpBalancer

pytestmark = pytest.mark.realtime


def _closed_port() -> int:
    with socket.socket() as s:  # bound, never listening: connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_round_robin_skips_a_dead_backend_and_passes_a_close_on() -> None:
    writers: list[asyncio.StreamWriter] = []

    def echo(name: bytes) -> object:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writers.append(writer)
            writer.write(name + await reader.readexactly(1))
            await writer.drain()

        return serve

    a = await asyncio.start_server(echo(b"a"), "127.0.0.1", 0)  # type: ignore[arg-type]
    b = await asyncio.start_server(echo(b"b"), "127.0.0.1", 0)  # type: ignore[arg-type]
    ports = [a.sockets[0].getsockname()[1], _closed_port(), b.sockets[0].getsockname()[1]]
    async with a, b, TcpBalancer(ports) as balancer:
        answers = []
        conns = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", balancer.port)
            writer.write(b"!")
            answers.append(await reader.readexactly(2))
            conns.append((reader, writer))
        # a, (dead: skipped) b, then a again
        assert answers == [b"a!", b"b!", b"a!"]
        assert balancer.routed == [ports[0], ports[2], ports[0]]
        writers[0].close()  # the backend closes: the client sees it at once
        async with asyncio.timeout(5):
            assert await conns[0][0].read() == b""
        for writer in [w for _, w in conns] + writers:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
