"""The metrics endpoint: ``/metrics`` (Prometheus text), ``/readyz`` and ``/healthz``.

It runs on the process's own event loop (aiohttp), not in prometheus_client's thread:
then an answer from ``/healthz`` proves that the loop which serves the calls is turning,
and a stuck loop shows as a probe timeout. ``/readyz`` is 200 only while every readiness
check passes (the CLI checks that the ARI client is connected, registered and
re-synced), else 503 naming the checks that fail, so a load balancer or Kubernetes sends
no calls to a process that cannot serve them. A sampler measures event-loop lag: how
late a timer runs, which is how late a caller's no-input timeout or a prompt would be.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Self

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ivrkit.metrics._collector import MetricsObserver

LAG_INTERVAL = 0.5  # seconds between lag samples: cheap, and fine enough for a histogram


class MetricsServer:
    """Serve ``metrics`` over HTTP on ``host:port`` (port 0: any free port; see ``url``)."""

    def __init__(
        self,
        metrics: MetricsObserver,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ready: Mapping[str, Callable[[], bool]] | None = None,
    ) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.ready_checks = dict(ready or {})
        self._runner: web.AppRunner | None = None
        self._sampler: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/healthz", self._healthz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno, f"can't serve metrics on {self.host}:{self.port}: {exc.strerror}"
            ) from exc
        self._runner = runner
        self.port = runner.addresses[0][1]
        self._sampler = asyncio.get_running_loop().create_task(self._sample_lag())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def not_ready(self) -> list[str]:
        """The names of the readiness checks that fail (empty: ready)."""
        return [name for name, check in self.ready_checks.items() if not check()]

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _readyz(self, request: web.Request) -> web.Response:
        failing = self.not_ready()
        if failing:
            return web.Response(status=503, text="not ready: " + ", ".join(failing) + "\n")
        return web.Response(text="ready\n")

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _sample_lag(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + LAG_INTERVAL
            await asyncio.sleep(LAG_INTERVAL)
            self.metrics.loop_lag_sample(max(0.0, loop.time() - due))


__all__ = ["LAG_INTERVAL", "MetricsServer"]
