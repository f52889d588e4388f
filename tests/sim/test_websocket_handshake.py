"""The events websocket's handshake, byte for byte as Asterisk 20.20.1 writes it.

``ast_websocket_uri_cb`` (res/res_http_websocket.c) prints the 101 itself: the status
line, ``Upgrade`` (the client's own value), ``Connection: Upgrade``,
``Sec-WebSocket-Accept`` and, when the client named protocols, the one chosen; nothing
else (no Date, no Server). Its refusals come before the application is looked at.
The traces record only the 101's status, so the source is the fact here.
"""

from __future__ import annotations

import asyncio

import pytest

from ivrkit.sim import Simulator

#: RFC 6455's sample key and its accept value
KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


async def _handshake(sim: Simulator, headers: str, query: str = "app=x") -> bytes:
    """Send an upgrade request over a plain socket; the raw head of the answer."""
    port = int(sim.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            (
                f"GET /ari/events?{query}&api_key={sim.username}:{sim.password} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n{headers}\r\n"
            ).encode()
        )
        async with asyncio.timeout(10):
            return await reader.readuntil(b"\r\n\r\n")
    finally:
        writer.close()


def _upgrade(upgrade: str = "websocket", version: str = "13", extra: str = "") -> str:
    return (
        f"Upgrade: {upgrade}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n"
        f"Sec-WebSocket-Version: {version}\r\n{extra}"
    )


@pytest.mark.parametrize(
    ("extra", "protocol_line"),
    [
        ("", ""),
        ("Sec-WebSocket-Protocol: ari\r\n", "Sec-WebSocket-Protocol: ari\r\n"),
        ("Sec-WebSocket-Protocol: foo, ari\r\n", "Sec-WebSocket-Protocol: ari\r\n"),
    ],
    ids=["no-protocol", "ari", "foo-then-ari"],
)
async def test_the_101_is_asterisks_exactly(extra: str, protocol_line: str) -> None:
    async with Simulator() as sim:
        head = await _handshake(sim, _upgrade("WebSocket", extra=extra))
    assert (
        head
        == (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: WebSocket\r\n"  # echoed as the client spelled it
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {ACCEPT}\r\n"
            f"{protocol_line}\r\n"
        ).encode()
    )


@pytest.mark.parametrize(
    "headers",
    [
        _upgrade(extra="Sec-WebSocket-Protocol: foo\r\n"),
        _upgrade(version="12"),
    ],
    ids=["no-ari-protocol", "version-12"],
)
async def test_websocket_bad_request(headers: str) -> None:
    """``websocket_bad_request``: 400 with ``Sec-WebSocket-Version: 7, 8, 13``, no body,
    and it comes before the missing app is noticed (``websocket_attempted_cb``)."""
    async with Simulator() as sim:
        for query in ("app=x", "x=1"):
            head = await _handshake(sim, headers, query)
            lines = head.decode().split("\r\n")
            assert lines[0] == "HTTP/1.1 400 Bad Request"
            assert "Sec-WebSocket-Version: 7, 8, 13" in lines
            assert "Content-Length: 0" in lines
        assert sim.stats()["websockets"] == 0


async def test_a_request_that_is_no_upgrade_is_426() -> None:
    async with Simulator() as sim:
        head = await _handshake(sim, "Connection: keep-alive\r\n", "x=1")
    assert head.startswith(b"HTTP/1.1 426 Upgrade Required\r\n")
