"""Run an example IVR of examples/ against the embedded Asterisk (shared by its tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import MenuTree, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Caller, Simulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Line:
    """A running example: the simulator, the runner and the transcript so far."""

    sim: Simulator
    runner: MenuRunner
    transcript: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def call(self, exten: str = "1000", caller_id: str = "Alice <6001>") -> Caller:
        return await self.sim.call("PJSIP/alice", exten, caller_id=caller_id)


class _Errors(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(record.getMessage())


@asynccontextmanager
async def serving(
    menu: str,
    *,
    dialplan: Mapping[str, Mapping[str, tuple[str, ...]]] | None = None,
    endpoints: Mapping[str, object] | None = None,
    wall_clock: Callable[[], float] | None = None,
    observer: Any = None,
    **sim_options: Any,
) -> AsyncIterator[Line]:
    """The example ``menu`` (a path under examples/) served by a MenuRunner."""
    tree: MenuTree = load_menu_file(EXAMPLES / menu)
    lines: list[str] = []
    extra: dict[str, Any] = {} if wall_clock is None else {"wall_clock": wall_clock}
    if observer is not None:
        extra["observer"] = observer
    runner = MenuRunner(tree, transcript=lines.append, **extra)
    async with Simulator(dialplan=dialplan, endpoints=endpoints, **sim_options) as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        client = AriClient(config)
        runner.attach(client)
        line = Line(sim, runner, lines)
        handler = _Errors(line.errors)
        logging.getLogger("ivrkit.ivr.runner").addHandler(handler)
        try:
            async with client:
                yield line
                async with asyncio.timeout(60):
                    await runner.wait_no_calls()
        finally:
            logging.getLogger("ivrkit.ivr.runner").removeHandler(handler)
        assert runner.statistics().live_timers == 0
        assert sim.stats()["channels"] == 0


def heard(caller: Caller) -> list[str]:
    return [h.media_uri for h in caller.heard]


async def press_after(caller: Caller, media: str, keys: str) -> None:
    """Wait for ``media`` to start, then press ``keys``."""
    await caller.wait_for_playback(media)
    await caller.press(keys)
