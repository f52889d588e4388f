"""``--metrics HOST:PORT`` and ``--journey FILE|-`` for ``ivrkit run``: the wiring only.

The parts live elsewhere: ``ivrkit.observe`` (the hook), ``ivrkit.metrics`` (Prometheus,
``/readyz``, ``/healthz``), ``ivrkit.journey`` (one JSON line per step of each call).
Here the options are parsed and checked before any connection is made (a bad address
or an unwritable file is a usage error, exit 2), and ``serving(client)`` runs them for as
long as the client is open. Without either option nothing is built: the runner and the
client get ``observer=None`` and pay nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable
from typing import IO, Any

from ivrkit.cli import CliError
from ivrkit.observe import CallLogRecords, Connection, Observer, Observers

JOURNEY_FLUSH_INTERVAL = 1.0


def parse_listen(text: str, option: str = "--metrics") -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` (host 127.0.0.1); ``[::1]:PORT`` for IPv6."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "", text
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    if not port_text.isdecimal() or not 0 <= int(port_text) <= 65535:
        raise CliError(
            f"invalid {option} address {text!r}",
            "expected HOST:PORT, :PORT or PORT with a port from 0 to 65535, e.g. 127.0.0.1:9464",
        )
    return host, int(port_text)


def add_observability_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics on /metrics, plus /readyz and /healthz "
        "(host defaults to 127.0.0.1; docs/operations.md)",
    )
    p.add_argument(
        "--journey",
        metavar="FILE|-",
        help="append one JSON line per step of each call to FILE, or write to stdout with -",
    )


class Observability:
    """What ``--metrics``/``--journey`` asked for; ``observer`` is None when neither."""

    def __init__(self, metrics: tuple[str, int] | None, journey: IO[str] | None) -> None:
        self.listen = metrics
        self.journey_stream = journey
        self.metrics: Any = None
        self.journey: Any = None
        self.server: Any = None
        parts: list[Observer] = []
        if metrics is not None:
            from ivrkit.metrics import MetricsObserver

            self.metrics = MetricsObserver()
            parts.append(self.metrics)
        if journey is not None:
            from ivrkit.journey import JourneyWriter

            self.journey = JourneyWriter(journey)
            parts.append(self.journey)
        self.observer: Observer | None = Observers(*parts) if parts else None
        # with --journey -, stdout carries JSON lines only: the transcript moves to stderr
        self.transcript_file = sys.stderr if journey is sys.stdout else sys.stdout

    def transcript(self, line: str) -> None:
        print(line, file=self.transcript_file, flush=True)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Observability:
        listen = parse_listen(args.metrics) if args.metrics else None
        stream: IO[str] | None = None
        if args.journey == "-":
            stream = sys.stdout
        elif args.journey:
            try:
                # callers' digits (PINs too) go in it: a new file is the owner's only
                fd = os.open(args.journey, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                stream = open(fd, "a", encoding="utf-8")  # noqa: SIM115 (closed by serving)
            except OSError as exc:
                raise CliError(
                    f"can't open the journey file {args.journey}",
                    f"{exc.strerror}; give a writable path, or - for stdout",
                ) from exc
        return cls(listen, stream)

    @contextlib.asynccontextmanager
    async def serving(
        self, client: Any, ready: dict[str, Callable[[], bool]] | None = None
    ) -> AsyncIterator[None]:
        """Serve metrics and flush the journey around ``client``'s lifetime.

        Enter it before the client connects: ``/readyz`` then answers 503 until the client
        is connected, registered and re-synced, which is the truth. ``ready`` adds checks
        (``ivrkit run``: not stopping, since a draining process takes no new calls).
        """
        records = CallLogRecords()  # every log line made for a call names it
        records.install()
        try:
            async with self._serving(client, ready):
                yield
        finally:
            records.uninstall()

    @contextlib.asynccontextmanager
    async def _serving(
        self, client: Any, ready: dict[str, Callable[[], bool]] | None
    ) -> AsyncIterator[None]:
        from ivrkit.ari import Disconnected, Reconnected

        observer = self.observer
        if observer is None:
            yield
            return

        async def on_connection(event: Any) -> None:
            if isinstance(event, Disconnected):
                observer.observe(Connection(state="down", reason=event.reason))
            else:
                observer.observe(Connection(state="up", gap=event.gap))

        subscription = client.on((Disconnected, Reconnected), on_connection)
        if self.metrics is not None:
            self.metrics.ws_up.set_function(lambda: float(client.ready))
        flusher = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.listen is not None:
                    from ivrkit.metrics import MetricsServer

                    host, port = self.listen
                    server = MetricsServer(
                        self.metrics,
                        host=host,
                        port=port,
                        ready={"ari": lambda: client.ready, **(ready or {})},
                    )
                    try:
                        self.server = await stack.enter_async_context(server)
                    except OSError as exc:
                        raise CliError("can't serve metrics", str(exc)) from exc
                    print(
                        f"ivrkit run: metrics on {server.url}/metrics", file=sys.stderr, flush=True
                    )
                if self.journey is not None:
                    flusher = asyncio.get_running_loop().create_task(self._flush_journey())
                yield
        finally:
            subscription.cancel()
            if flusher is not None:
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
            self.close_journey()

    async def _flush_journey(self) -> None:
        while True:
            await asyncio.sleep(JOURNEY_FLUSH_INTERVAL)
            self.journey.flush()

    def close_journey(self) -> None:
        """Flush the journey; close it unless it is stdout. Idempotent."""
        stream = self.journey_stream
        if stream is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.journey.flush()  # the lines it holds, then the stream
        if stream is not sys.stdout:
            stream.close()
        self.journey_stream = None


__all__ = ["Observability", "add_observability_options", "parse_listen"]
