"""docs/client.md's small app is complete, short, and works against the simulator."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from ivrkit.sim import Simulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"


def _app_source() -> str:
    match = re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)
    assert match, "docs/client.md lost its example"
    return match.group(1)


def test_example_is_under_30_lines() -> None:
    lines = [line for line in _app_source().splitlines() if line.strip()]
    assert len(lines) < 30


@asynccontextmanager
async def example_app(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    """The doc's app running (its own main()) against a fresh simulator."""
    async with Simulator() as sim:
        monkeypatch.setenv("ARI_USER", sim.username)
        monkeypatch.setenv("ARI_PASSWORD", sim.password)
        source = _app_source().replace("http://127.0.0.1:8088", sim.url)
        namespace: dict[str, Any] = {"__name__": "client_doc_example"}
        exec(compile(source, str(DOC), "exec"), namespace)
        app = asyncio.get_running_loop().create_task(namespace["main"]())
        try:
            await sim.wait_for_app("channel-aa")
            yield sim
        finally:
            app.cancel()
            with pytest.raises(asyncio.CancelledError):
                await app


async def test_example_runs_against_the_simulator(monkeypatch: pytest.MonkeyPatch) -> None:
    async with example_app(monkeypatch) as sim:
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_until_heard("sound:press-1")
        await caller.press("4")
        async with asyncio.timeout(30):
            await caller.wait_for_hangup()
    assert [h.media_uri for h in caller.heard] == ["sound:press-1", "digits:4"]


async def test_example_keeps_a_key_pressed_during_the_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `ivrkit call ... --press 5` does: the key arrives while press-1 still plays."""
    async with example_app(monkeypatch) as sim:
        caller = await sim.call("PJSIP/alice", "1000")
        await caller.wait_for_playback("sound:press-1")
        await caller.press("5")
        async with asyncio.timeout(30):
            await caller.wait_for_hangup()
    assert [(h.media_uri, h.cut_off) for h in caller.heard] == [
        ("sound:press-1", False),
        ("digits:5", False),
    ]
