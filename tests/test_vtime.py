"""The virtual-time loop: timers jump, sockets still work, threads are waited for."""

from __future__ import annotations

import asyncio
import time

import pytest

from ivrkit.testing import VirtualTimeEventLoop, run_virtual


async def test_sleep_jumps_virtual_clock() -> None:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualTimeEventLoop)
    real0, virt0 = time.monotonic(), loop.time()
    await asyncio.sleep(3600)
    assert loop.time() - virt0 >= 3600
    assert time.monotonic() - real0 < 5


async def test_timers_fire_in_order() -> None:
    fired: list[str] = []
    loop = asyncio.get_running_loop()
    loop.call_later(10, fired.append, "ten")
    loop.call_later(2, fired.append, "two")
    await asyncio.sleep(11)
    assert fired == ["two", "ten"]


async def test_loopback_socket_roundtrip_under_virtual_time() -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readline()
        await asyncio.sleep(5)  # server "thinks" for 5 virtual seconds
        writer.write(data.upper())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"hello\n")
    async with asyncio.timeout(6):
        assert await reader.readline() == b"HELLO\n"
    assert loop.time() - t0 >= 5
    writer.close()
    server.close()
    await server.wait_closed()


async def test_executor_work_is_awaited_not_skipped() -> None:
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(1):  # virtual second must not expire while the thread runs
        result = await loop.run_in_executor(None, lambda: (time.sleep(0.05), 42)[1])
    assert result == 42


def test_run_virtual_returns_result() -> None:
    async def main() -> float:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        await asyncio.sleep(100)
        return loop.time() - t0

    assert run_virtual(main()) >= 100


@pytest.mark.realtime
async def test_realtime_marker_uses_plain_loop() -> None:
    assert not isinstance(asyncio.get_running_loop(), VirtualTimeEventLoop)
