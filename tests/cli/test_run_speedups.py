"""``ivrkit run`` as a real process in each speed-up mode (``ivrkit.speedups``).

Three children, each serving calls over REST over the websocket, taking a malformed
event, reloading on SIGHUP and stopping on SIGTERM:

* ``fast``: orjson and uvloop, as ``make install`` installs them (``ivrkit[speedups]``);
* ``off``: ``IVRKIT_SPEEDUPS=0``, the switch;
* ``missing``: both made unimportable (a module of the same name that raises
  ImportError comes first on ``PYTHONPATH``), as on a machine without the extra.

Each child says which speed-ups it uses; the test checks that line, so a mode that
silently ran the other path fails.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from _service import ivrkit_run

from ivrkit.sim import Simulator

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

DIALPLAN = {"default": {"1000": ("Stasis(channel-aa)", "Hangup()")}}
MENU = """\
menus:
  main:
    greeting: [{greeting}]
    timeout: 10
    options:
      - key: "1"
        play: [sound:you-entered]
"""
BAD_FRAME = (
    '{"type": "StasisStart", "application": "channel-aa", "timestamp": "t", "args": [], '
    '"channel": {"id": "\\ud800", "name": "PJSIP/mallory", "state": "Up"}}'
)


def block(directory: Path) -> str:
    """A PYTHONPATH entry on which ``import orjson`` and ``import uvloop`` fail."""
    for name in ("orjson", "uvloop"):
        (directory / f"{name}.py").write_text(f'raise ImportError("{name} blocked by the test")\n')
    return str(directory)


@pytest.mark.parametrize(
    ("mode", "line"),
    [
        ("fast", r"\(Ctrl-C to stop\); speed-ups: orjson \d[\d.]*, uvloop \d[\d.]*$"),
        ("off", r"\(Ctrl-C to stop\); speed-ups: orjson and uvloop off \(IVRKIT_SPEEDUPS=0\)$"),
        ("missing", r"\(Ctrl-C to stop\); speed-ups: orjson and uvloop not installed \(pip"),
    ],
)
async def test_each_mode_serves_calls_takes_bad_events_reloads_and_stops(
    mode: str, line: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IVRKIT_SPEEDUPS", raising=False)
    if mode == "off":
        monkeypatch.setenv("IVRKIT_SPEEDUPS", "0")
    if mode == "missing":
        blocked = tmp_path / "blocked"
        blocked.mkdir()
        monkeypatch.setenv("PYTHONPATH", block(blocked))
    menu = tmp_path / "menu.yaml"
    menu.write_text(MENU.format(greeting="sound:press-1"))
    async with Simulator(dialplan=DIALPLAN) as sim:
        async with ivrkit_run(sim, "--rest-transport", "websocket", menu=menu) as run:
            banner = await run.wait_err(r"ivrkit run: serving")
            assert re.search(line, banner.rstrip("\n")), banner
            assert "REST over websocket" in banner
            alice = await sim.call("PJSIP/alice", "1000")
            await alice.wait_for_playback("sound:press-1")

            assert sim._state is not None
            for sock in sim._state.sockets:
                sock.push(BAD_FRAME)
            warned = await run.wait_err(r"ignoring a malformed event")
            assert "StasisStart channel.id holds a lone surrogate, not text" in warned

            await alice.press("1")  # alice's call went on
            await alice.wait_for_playback("sound:you-entered")
            menu.write_text(MENU.format(greeting="sound:vm-goodbye"))
            run.send(signal.SIGHUP)
            await run.wait_err(r"reloaded .*menu\.yaml \(1 menu, start `main`\)")
            bob = await sim.call("PJSIP/bob", "1000")
            await bob.wait_for_playback("sound:vm-goodbye")
            for caller in (alice, bob):
                await caller.hangup()
            run.send(signal.SIGTERM)
            assert await run.wait_exit() == 0
        err = "".join(run.err)
        assert "ivrkit run: stopped (SIGTERM)" in err
        assert "Traceback" not in err
        assert err.count("ignoring a malformed event") == 1


async def test_a_bad_switch_value_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio
    import sys

    monkeypatch.setenv("IVRKIT_SPEEDUPS", "orjson,ujson")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; from ivrkit.cli import main; sys.exit(main())",
        "run",
        "--url",
        "http://127.0.0.1:1",
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(30):
        _, err = await proc.communicate()
    assert proc.returncode == 2
    assert err.decode().splitlines() == [
        "ivrkit failed: invalid IVRKIT_SPEEDUPS",
        "  Cause: IVRKIT_SPEEDUPS='orjson,ujson' names 'ujson'; expected 0, 1 or a "
        "comma-separated list of orjson, uvloop",
    ]
