"""TcpBalancer: a TCP load balancer for testing listening workers, what HAProxy in
``mode tcp`` with ``balance roundrobin`` and ``option redispatch`` does in front of
``ivrkit run --listen`` workers (docs/cluster.md "Listening workers").

Each accepted connection goes to the next backend in turn; a backend that refuses (a
killed worker) is skipped. Bytes are copied both ways untouched (the websocket upgrade,
TLS, frames), and when either side closes, the other is closed: a killed worker's
sockets drop at Asterisk's end at once, as through a real balancer.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpBalancer:
    """``async with TcpBalancer([port1, port2]) as lb``: connect to ``lb.port``."""

    def __init__(self, backends: list[int], host: str = "127.0.0.1") -> None:
        self.backends = list(backends)
        self.host = host
        self.port = 0
        self.routed: list[int] = []  # the backend port of each connection, in order
        self._next = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._links: dict[int, set[asyncio.StreamWriter]] = {}  # backend -> client sides

    async def __aenter__(self) -> TcpBalancer:
        self._server = await asyncio.start_server(self._accept, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()  # each pipe then ends by itself (a cancelled one is logged)
        await asyncio.gather(*self._pipes, return_exceptions=True)
        await self._server.wait_closed()

    def drop(self, backend: int) -> int:
        """Close every connection to ``backend`` (its process lives on), as a balancer
        restart or a network fault does; returns how many. New connections still go
        there unless it is taken out of ``backends``."""
        links = list(self._links.get(backend, ()))
        for writer in links:
            writer.close()
        return len(links)

    async def _connect(self) -> tuple[int, asyncio.StreamReader, asyncio.StreamWriter] | None:
        first = self._next
        self._next += 1  # taken now: connections accepted together spread out
        for i in range(len(self.backends)):
            at = (first + i) % len(self.backends)
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection(self.host, self.backends[at])
                if i:  # skipped a dead one: the next connection goes to the one after
                    self._next = max(self._next, first + i + 1)
                return self.backends[at], reader, writer
        return None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._pipes.add(task)
        self._writers.add(writer)
        try:
            backend = await self._connect()
            if backend is None:
                return  # nobody is up: the client sees the connection close
            port, b_reader, b_writer = backend
            self.routed.append(port)
            self._writers.add(b_writer)
            self._links.setdefault(port, set()).add(writer)
            try:
                await asyncio.gather(_copy(reader, b_writer), _copy(b_reader, writer))
            finally:
                b_writer.close()
                self._writers.discard(b_writer)
                self._links[port].discard(writer)
        finally:
            writer.close()
            self._writers.discard(writer)
            self._pipes.discard(task)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()
