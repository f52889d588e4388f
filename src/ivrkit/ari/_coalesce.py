"""Fewer, larger socket writes for the event websocket.

Why
---
With REST over the websocket every request is one small frame, and on a busy client
several are written in the same event-loop iteration (a key press stops one prompt and
plays the next; events of many calls arrive in one read and each call answers its own).
asyncio's socket transport sends each ``write()`` at once, one ``send`` syscall per frame;
on loopback (Asterisk and the app on one host) that syscall also runs the receiver's TCP
work, and every segment wakes the receiver again. :class:`CoalescingTransport` stands
between aiohttp's websocket writer and the socket transport: data frames written during
one loop iteration are joined and leave in one ``write`` at the start of the next
iteration's callbacks (``loop.call_soon``), so the added latency is at most the rest of
the iteration that wrote them. Control frames (close, ping, pong) flush what is pending
and go out at once, so the close handshake and the heartbeat keep their timing.

The transport's own buffering and flow control are untouched: a flush is one ordinary
``transport.write``. If the connection is lost before the flush, the frames are lost as
they would be in the kernel's buffer; the supervisor then fails the pending requests.
"""

from __future__ import annotations

import asyncio
from typing import Any

# RFC 6455 5.2: the low nibble of a frame's first byte is its opcode; 0x8-0xF are control
# frames (close, ping, pong), which must not wait behind data
_OPCODE_MASK = 0x0F
_FIRST_CONTROL_OPCODE = 0x8

#: asyncio's socket transport reads into a fresh ``max_size`` bytes object per ``recv``
#: (256 KiB in CPython 3.11). That is above glibc's mmap threshold (128 KiB), so every
#: read maps, shrinks and later unmaps memory: ~6 % of the client's CPU at 1,000 calls
#: (perf, 2026-12-01). Events are a few hundred bytes to a few KiB; 64 KiB per read still
#: drains a backlog in a few reads and comes from the heap.
READ_SIZE = 64 * 1024


class CoalescingTransport:
    """Wraps an ``asyncio.Transport`` for a websocket writer; see the module docstring.

    Only ``write`` is changed; every other attribute is the wrapped transport's.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._chunks: list[bytes | bytearray | memoryview] = []
        self.flushes = 0  # writes handed to the socket transport (statistics and tests)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        chunks = self._chunks
        if data[0] & _OPCODE_MASK >= _FIRST_CONTROL_OPCODE and not chunks:
            self.flushes += 1
            self._transport.write(data)
            return
        if not chunks:
            self._loop.call_soon(self.flush)
        chunks.append(data)
        if data[0] & _OPCODE_MASK >= _FIRST_CONTROL_OPCODE:
            self.flush()

    def flush(self) -> None:
        """Hand everything pending to the socket transport in one write (idempotent)."""
        chunks = self._chunks
        if not chunks:
            return
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self.flushes += 1
        self._transport.write(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
