"""The far side for caller tests: the embedded Asterisk serving the Python attendant."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from _sim_client import client_config
from ivrkit.ari import AriClient, ConnectionConfig
from ivrkit.ivr import ATTENDANT_MENU, MenuTree, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Simulator


def sim_config(sim: Simulator, app: str) -> ConnectionConfig:
    return client_config(sim, app)


@contextlib.asynccontextmanager
async def attendant(
    sim: Simulator, app: str = "channel-aa", menu: MenuTree | None = None
) -> AsyncIterator[MenuRunner]:
    """The guide's attendant (or ``menu``) served by ivrkit.ivr.runner to ``sim`` as ``app``."""
    runner = MenuRunner(menu or load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
    client = AriClient(sim_config(sim, app))
    runner.attach(client)
    async with client:
        yield runner


def project_tasks(tasks: set[asyncio.Task[object]], but: str = "ivrkit.sim") -> list[str]:
    """The modules of those ``tasks`` that run the project's own code, outside ``but``.

    Judged by the module's name (the coroutine's globals), never by its file's path: a
    clone named ``ivrkit`` puts "/ivrkit/" into every path, the venv's aiohttp included.
    """
    names = []
    for task in tasks:
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        name = str(frame.f_globals.get("__name__", "")) if frame is not None else ""
        if (name == "ivrkit" or name.startswith("ivrkit.")) and not (
            name == but or name.startswith(but + ".")
        ):
            names.append(name)
    return sorted(names)


async def wait_until(predicate: Callable[[], bool]) -> None:
    """Poll a condition that has no event of its own (counts inside the simulator)."""
    for _ in range(10_000):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never became true")
