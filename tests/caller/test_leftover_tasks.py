"""The leftover-task check judges a task by its module's name, not its file's path (issue 11).

A clone made by ``git clone .../ivrkit`` puts "/ivrkit/" into every path, the venv's
third-party packages included; a path-text check then takes aiohttp's tasks for ours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from _caller_helpers import project_tasks

VENV_AIOHTTP = "/home/dev/ivrkit/.venv/lib/python3.11/site-packages/aiohttp/fake.py"
CLONE_CALLER = "/home/dev/ivrkit/src/ivrkit/caller/fake.py"


def coroutine_function(module: str, filename: str) -> Callable[[], Coroutine[Any, Any, None]]:
    """An ``async def`` that seems to live in ``module`` at ``filename``."""
    namespace: dict[str, Any] = {"__name__": module, "asyncio": asyncio}
    code = compile("async def pump():\n    await asyncio.Event().wait()\n", filename, "exec")
    exec(code, namespace)  # a function with a chosen module name and file path
    pump: Callable[[], Coroutine[Any, Any, None]] = namespace["pump"]
    return pump


async def test_third_party_tasks_in_a_clone_named_ivrkit_are_not_ours() -> None:
    theirs = asyncio.create_task(coroutine_function("aiohttp.fake", VENV_AIOHTTP)())
    ours = asyncio.create_task(coroutine_function("ivrkit.caller.fake", CLONE_CALLER)())
    sims = asyncio.create_task(coroutine_function("ivrkit.sim.fake", "/x/sim/fake.py")())
    await asyncio.sleep(0)
    try:
        assert project_tasks({theirs}) == []
        assert project_tasks({ours, theirs, sims}) == ["ivrkit.caller.fake"]
    finally:
        for task in (theirs, ours, sims):
            task.cancel()
        await asyncio.gather(theirs, ours, sims, return_exceptions=True)
