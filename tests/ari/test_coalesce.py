"""Write coalescing on the event websocket (ari/_coalesce.py), on real sockets.

The server is a bare aiohttp websocket endpoint of the test's own: what it counts is the
kernel's (``TCP_INFO`` segments received on its accepted socket), not a wrapper of ours.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ivrkit.ari._aiohttp import coalesce_writes
from ivrkit.ari._coalesce import READ_SIZE

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="TCP_INFO segment counters are Linux's"
)

# struct tcp_info (linux/tcp.h): tcpi_segs_in is the u32 at byte 140 (Linux 4.2+)
_SEGS_IN = struct.Struct("=I")
_SEGS_IN_OFFSET = 140


def _segments_in(sock: Any) -> int:
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    return int(_SEGS_IN.unpack_from(info, _SEGS_IN_OFFSET)[0])


class _Server:
    """Receives text frames; ``big`` makes it send one large frame on request."""

    def __init__(self) -> None:
        self.frames: list[str] = []
        self.got = asyncio.Event()
        self.want = 0
        self.closed = asyncio.Event()
        self.sock: Any = None

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        assert request.transport is not None
        self.sock = request.transport.get_extra_info("socket")
        async for msg in ws:
            if msg.type is not aiohttp.WSMsgType.TEXT:
                continue
            if msg.data.startswith("big:"):
                await ws.send_str("x" * int(msg.data[4:]))
                continue
            self.frames.append(msg.data)
            if len(self.frames) >= self.want:
                self.got.set()
        self.closed.set()
        return ws


@asynccontextmanager
async def _connected() -> AsyncIterator[tuple[_Server, aiohttp.ClientWebSocketResponse]]:
    server = _Server()
    app = web.Application()
    app.router.add_get("/ws", server.handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"http://127.0.0.1:{port}/ws") as ws,
        ):
            yield server, ws
    finally:
        await runner.cleanup()


async def _segments_for_burst(*, coalesced: bool, frames: int) -> tuple[int, list[str]]:
    async with _connected() as (server, ws):
        if coalesced:
            assert coalesce_writes(ws)
        # one round trip first, so that the handshake's ACKs are behind us
        server.want = 1
        await ws.send_str("hello")
        async with asyncio.timeout(10):
            await server.got.wait()
        server.frames.clear()
        server.got.clear()
        server.want = frames
        before = _segments_in(server.sock)
        for n in range(frames):  # no await that yields: all in one loop iteration
            await ws.send_str(f"frame {n}")
        async with asyncio.timeout(10):
            await server.got.wait()
        return _segments_in(server.sock) - before, list(server.frames)


@linux_only
async def test_frames_written_in_one_iteration_leave_in_one_segment() -> None:
    """Twelve requests issued in one loop iteration are one TCP segment on the wire, not
    twelve (a REST-over-websocket client on a busy loop: one syscall, one wake-up)."""
    segments, frames = await _segments_for_burst(coalesced=True, frames=12)
    assert frames == [f"frame {n}" for n in range(12)]
    assert segments == 1


@linux_only
async def test_without_coalescing_each_frame_is_a_segment() -> None:
    """The control experiment: the counter does see separate writes (aiohttp sets
    TCP_NODELAY), so the test above measures the coalescing, not the kernel."""
    segments, frames = await _segments_for_burst(coalesced=False, frames=12)
    assert frames == [f"frame {n}" for n in range(12)]
    assert segments >= 6


async def test_a_close_right_after_frames_keeps_them_in_order() -> None:
    """The close frame is a control frame: it flushes what is pending and goes out at
    once, so the peer gets every frame, then the close."""
    async with _connected() as (server, ws):
        assert coalesce_writes(ws)
        server.want = 3
        for n in range(3):
            await ws.send_str(f"frame {n}")
        async with asyncio.timeout(10):
            await ws.close()
            await server.closed.wait()
        assert server.frames == ["frame 0", "frame 1", "frame 2"]


async def test_a_ping_between_frames_keeps_the_order() -> None:
    async with _connected() as (server, ws):
        assert coalesce_writes(ws)
        server.want = 4
        await ws.send_str("a")
        await ws.send_str("b")
        await ws.ping()
        await ws.send_str("c")
        await ws.send_str("d")
        async with asyncio.timeout(10):
            await server.got.wait()
        assert server.frames == ["a", "b", "c", "d"]


async def test_reads_are_small_and_a_large_frame_still_arrives_whole() -> None:
    """The socket reads at most READ_SIZE per recv (below glibc's mmap threshold); a frame
    three times larger is reassembled intact."""
    async with _connected() as (_, ws):
        assert coalesce_writes(ws)
        transport: Any = ws._writer.transport  # the wrapped socket transport
        assert transport.max_size == READ_SIZE < 128 * 1024
        await ws.send_str(f"big:{3 * READ_SIZE}")
        async with asyncio.timeout(10):
            msg = await ws.receive()
        assert msg.type is aiohttp.WSMsgType.TEXT
        assert msg.data == "x" * (3 * READ_SIZE)


async def test_installing_twice_is_refused() -> None:
    async with _connected() as (_, ws):
        assert coalesce_writes(ws)
        assert not coalesce_writes(ws)
