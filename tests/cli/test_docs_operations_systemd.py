"""docs/operations.md's systemd unit: valid, consistent with itself, and it really runs.

The unit is parsed as systemd would read it (INI, no interpolation). Its ExecStart must be
an ``ivrkit run`` command line our own parser accepts; its stop timeout must leave room
for the drain and the hand-back; and the command line, pointed at a simulator, must serve
and then stop with exit 0 on the unit's KillSignal.
"""

from __future__ import annotations

import asyncio
import configparser
import re
import shlex
import signal
import sys
from pathlib import Path

import pytest

from ivrkit.cli import build_parser
from ivrkit.cli._lifecycle import STOP_SIGNALS
from ivrkit.ivr import ATTENDANT_MENU
from ivrkit.sim import Simulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
HANDBACK_MARGIN = 5.0  # the runner's cleanup bound per call (calls are released together)


def unit() -> configparser.ConfigParser:
    blocks = re.findall(r"```ini\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 1, "docs/operations.md should hold exactly one ```ini unit"
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(blocks[0])
    return parser


def seconds(value: str) -> float:
    """A systemd time span such as ``45``, ``45s``, ``1min 30s``."""
    units = {"": 1, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
    total = 0.0
    for number, unit_name in re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", value):
        total += float(number) * units[unit_name]
    return total


def exec_start(credentials_dir: Path) -> list[str]:
    argv = shlex.split(unit()["Service"]["ExecStart"])
    return [arg.replace("%d", str(credentials_dir)) for arg in argv]


def test_exec_start_is_a_valid_ivrkit_run_command_line(tmp_path: Path) -> None:
    argv = exec_start(tmp_path)
    assert Path(argv[0]).name == "ivrkit"
    args = build_parser().parse_args(argv[1:])
    assert args.command == "run"
    assert args.on_stop == "drain"
    assert args.credentials_file == f"{tmp_path}/ari"  # from LoadCredential, never argv
    assert not any("password" in a.lower() for a in argv)
    service = unit()["Service"]
    assert service["LoadCredential"].startswith("ari:")


def test_stop_timeout_leaves_room_for_the_drain_and_the_hand_back(tmp_path: Path) -> None:
    service = unit()["Service"]
    args = build_parser().parse_args(exec_start(tmp_path)[1:])
    kill_signal = getattr(signal, service.get("KillSignal", "SIGTERM"))
    assert kill_signal in STOP_SIGNALS
    assert seconds(service["TimeoutStopSec"]) >= args.drain_timeout + HANDBACK_MARGIN
    assert shlex.split(service["ExecReload"])[1:] == ["-HUP", "$MAINPID"]
    assert service.get("KillMode", "control-group") in {"mixed", "control-group"}
    # a replaced process exits 0 and must not be restarted to take its calls back
    assert service["Restart"] == "on-failure"
    # startup failures (Asterisk not up yet) restart forever instead of hitting the
    # default start limit (5 in 10 s); a crash's calls wait at most RestartSec
    assert unit()["Unit"]["StartLimitIntervalSec"] == "0"
    assert seconds(service["RestartSec"]) <= 5


@pytest.mark.realtime
@pytest.mark.slow
async def test_the_unit_command_line_serves_and_stops_on_its_kill_signal(tmp_path: Path) -> None:
    service = unit()["Service"]
    async with Simulator() as sim:
        (tmp_path / "ari").write_text(f"ARI_USER={sim.username}\nARI_PASSWORD={sim.password}\n")
        argv = exec_start(tmp_path)[1:]
        # the same command line, with this machine's menu and Asterisk
        argv[argv.index("/etc/ivrkit/menu.yaml")] = str(ATTENDANT_MENU)
        argv[argv.index("--url") + 1] = sim.url
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            "import sys; from ivrkit.cli import main; sys.exit(main())",
            *argv,
            stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            assert proc.stderr is not None
            async with asyncio.timeout(30):
                banner = await proc.stderr.readline()
                assert b"ivrkit run: serving" in banner, banner
                caller = await sim.call("PJSIP/alice", "1000")
                await caller.wait_for_playback("sound:press-1")
                proc.send_signal(getattr(signal, service.get("KillSignal", "SIGTERM")))
                draining = await proc.stderr.readline()
                assert b"draining 1 live call(s) for up to 30 s" in draining, draining
                await caller.press("1")  # still served: the unit drains
                await caller.wait_for_playback("sound:you-entered")
                await caller.hangup()  # the last call ends: the drain is over
                rest = await proc.stderr.read()
                assert await proc.wait() == 0
            assert b"1 call(s) ended during the drain, 0 call(s) handed back" in rest
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
