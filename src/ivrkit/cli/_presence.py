"""What ``--metrics`` (``Observability.serving``) sees of a process with many clients.

``Observability.serving(source, ready)`` needs ``source.ready`` (``/readyz``'s "ari"
check and ``ivrkit_ari_websocket_up``) and ``source.on(types, handler)`` (connection
records). One inbound client is its own source; these stand for several.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivrkit.ari import AriClient, OutboundSession


class ClientsPresence:
    """Several inbound clients (``--url`` more than once, ``--cluster``): ready once
    there is a client and every one is ready (a standby worker, with none yet, is not).
    Handlers given to ``on`` reach the clients added later too."""

    def __init__(self) -> None:
        self.clients: list[AriClient] = []
        self._handlers: list[tuple[Any, Any]] = []

    @property
    def ready(self) -> bool:
        return bool(self.clients) and all(c.ready for c in self.clients)

    def add(self, client: AriClient) -> None:
        self.clients.append(client)
        for types, handler in self._handlers:
            client.on(types, handler)  # lives as long as the client

    def on(self, types: Any, handler: Any) -> Any:
        self._handlers.append((types, handler))
        return _Subscriptions([c.on(types, handler) for c in self.clients])


class _Subscriptions:
    def __init__(self, subscriptions: list[Any]) -> None:
        self._subscriptions = subscriptions

    def cancel(self) -> None:
        for subscription in self._subscriptions:
            subscription.cancel()


class ListenerPresence:
    """What ``--metrics`` and ``/readyz`` see of a listener (``Observability.serving``).

    ``ready``: listening. Whether Asterisk is connected is Asterisk's business (it
    retries), and a load balancer's health check on ``/readyz`` must send sockets to any
    worker that can take them (a draining one fails "accepting calls"). Connection
    records (and ``ivrkit_ari_websocket_up``) follow the persistent sockets: a per-call
    socket ends with every call, which is no outage.
    """

    def __init__(self) -> None:
        self.listening = False
        self._persistent: set[AriClient] = set()
        self._handlers: list[tuple[Any, Any]] = []
        self._subscriptions: dict[AriClient, list[Any]] = {}

    @property
    def ready(self) -> bool:
        return self.listening

    def sockets_up(self) -> float:
        return float(self.listening and all(c.ready for c in self._persistent))

    def on(self, types: Any, handler: Any) -> Any:
        self._handlers.append((types, handler))
        for client in self._persistent:
            self._subscriptions[client].append(client.on(types, handler))
        return _Unsubscribe(self, (types, handler))

    def added(self, client: AriClient, session: OutboundSession) -> None:
        if session.connection_type == "persistent":
            self._persistent.add(client)
            self._subscriptions[client] = [client.on(t, h) for t, h in self._handlers]

    def removed(self, client: AriClient) -> None:
        self._persistent.discard(client)
        for subscription in self._subscriptions.pop(client, []):
            subscription.cancel()


class _Unsubscribe:
    def __init__(self, presence: ListenerPresence, entry: tuple[Any, Any]) -> None:
        self._presence, self._entry = presence, entry

    def cancel(self) -> None:
        with contextlib.suppress(ValueError):
            self._presence._handlers.remove(self._entry)
