"""pytest plugin: run ``async def`` tests on virtual time.

Installing ivrkit enables it: it is registered through the ``pytest11`` entry point
named ``ivrkit.testing.pytest_plugin``, so a user's project needs no ``-p`` and no
conftest. Opt out with ``-p no:ivrkit.testing.pytest_plugin`` (for example to let
another async plugin run the tests); with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` opt in
with ``-p ivrkit.testing.pytest_plugin``. Every coroutine test then runs on a fresh
:class:`VirtualTimeEventLoop`, so ``await asyncio.sleep(10)`` returns at once while the
clock reads 10 s later. Mark a test ``@pytest.mark.realtime`` when it talks to another
process (Node, a real Asterisk).

Async fixtures are deliberately not supported: a test opens what it needs with
``async with`` so that every resource visibly belongs to the test's own task.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest

from ivrkit.testing._vtime import VirtualTimeEventLoop


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realtime: run this async test on a normal event loop")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    func = pyfuncitem.obj
    if not inspect.iscoroutinefunction(func):
        return None
    argnames = pyfuncitem._fixtureinfo.argnames
    kwargs: dict[str, Any] = {name: pyfuncitem.funcargs[name] for name in argnames}
    realtime = pyfuncitem.get_closest_marker("realtime") is not None
    factory = asyncio.new_event_loop if realtime else VirtualTimeEventLoop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(func(**kwargs))
    return True
