"""The transport seam: what the client needs from the network, and an in-memory fake.

The client (policy: ids, errors, dispatch, reconnects) talks to a :class:`Transport`
(mechanism: one REST request in, one :class:`Response` out; one event stream per
``connect_events()``; ``aclose()``). ``ivrkit.ari._aiohttp`` is the real one.
:class:`MockTransport` answers REST through a handler and lets a test push event frames
and drop the socket, so client behaviour is tested without sockets (httpx's
MockTransport pattern). Transports raise only :mod:`ivrkit.ari._exceptions` errors.
"""

from __future__ import annotations

import asyncio
import inspect
import json as jsonlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Request:
    """One REST request; ``path`` is relative to the ARI root (``/channels/x/answer``)."""

    method: str
    path: str
    params: Mapping[str, str] = field(default_factory=dict)
    json: Any = None


@dataclass(frozen=True, slots=True)
class Response:
    """``body`` is the decoded JSON, the text if it was not JSON, or None when empty."""

    status: int
    body: Any = None


class EventStream(Protocol):
    """One open event websocket."""

    async def receive(self) -> str | None:
        """The next text frame, or None once the socket is closed (for any reason)."""
        ...

    async def send(self, text: str) -> None:
        """Send a text frame (REST over the websocket)."""
        ...

    async def close(self) -> None:
        """Close the socket; idempotent."""
        ...


class Transport(Protocol):
    async def request(self, request: Request) -> Response: ...

    async def connect_events(self) -> EventStream:
        """Open the event websocket; raises Unreachable or AuthenticationFailed at once."""
        ...

    async def aclose(self) -> None: ...


Handler = Callable[[Request], Response | Awaitable[Response]]


class MockEventStream:
    """An event stream fed by the test: ``push()`` frames, ``drop()`` the connection."""

    def __init__(self) -> None:
        self._frames: deque[str | None] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.sent: list[str] = []
        self.closed = False

    def push(self, frame: Mapping[str, Any] | str) -> None:
        self._put(frame if isinstance(frame, str) else jsonlib.dumps(frame))

    def drop(self) -> None:
        """Simulate the network dropping the socket."""
        self._put(None)

    def _put(self, item: str | None) -> None:
        self._frames.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def receive(self) -> str | None:
        while not self._frames:
            if self.closed:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._frames.popleft()
        if item is None:
            self.closed = True
        return item

    async def send(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._put(None)


class MockTransport:
    """A :class:`Transport` for tests.

    ``handler(request)`` (sync or async) answers REST. ``on_connect()`` is called at each
    websocket connect and may raise (e.g. ``Unreachable``) to simulate a failure.
    ``streams`` lists every stream opened; ``stream`` is the newest.
    """

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        on_connect: Callable[[], None] | None = None,
    ) -> None:
        self._handler = handler
        self._on_connect = on_connect
        self.requests: list[Request] = []
        self.streams: list[MockEventStream] = []
        self.closed = False

    @property
    def stream(self) -> MockEventStream:
        return self.streams[-1]

    async def request(self, request: Request) -> Response:
        self.requests.append(request)
        if self._handler is None:
            return Response(204)
        result = self._handler(request)
        if inspect.isawaitable(result):
            return await result
        return result

    async def connect_events(self) -> EventStream:
        if self._on_connect is not None:
            self._on_connect()
        stream = MockEventStream()
        self.streams.append(stream)
        return stream

    async def aclose(self) -> None:
        self.closed = True
        for stream in self.streams:
            await stream.close()
