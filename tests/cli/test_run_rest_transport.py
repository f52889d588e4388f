"""`ivrkit run --rest-transport`: the flag reaches the client and the banner says which is used."""

from __future__ import annotations

import asyncio
import gc
import io
import sys

import pytest

from ivrkit.ari import ConnectionConfig, Credentials
from ivrkit.cli import build_parser
from ivrkit.cli._attendant import GC_YOUNG_THRESHOLD, _serve
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.sim import Simulator


def test_flag_defaults_to_auto_and_rejects_unknown_names(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = build_parser()
    assert parser.parse_args(["run"]).rest_transport == "auto"
    assert parser.parse_args(["run", "--rest-transport", "websocket"]).rest_transport == (
        "websocket"
    )
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--rest-transport", "carrier-pigeon"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("transport", "in_use"),
    [("http", "http"), ("websocket", "websocket"), ("auto", "websocket")],
)
async def test_banner_names_the_rest_transport_in_use(
    transport: str, in_use: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the banner is printed once the client is up (after the probe, for auto), while
    # calls may already be served: wait for the banner itself, not for a call
    banner = asyncio.get_running_loop().create_future()

    class Stderr(io.StringIO):
        def write(self, text: str) -> int:
            if "(Ctrl-C to stop)" in text and not banner.done():
                banner.set_result(text)
            return len(text)

    monkeypatch.setattr(sys, "stderr", Stderr())
    tree = load_menu_file(ATTENDANT_MENU)
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
            rest_transport=transport,  # type: ignore[arg-type]
        )
        serving = asyncio.ensure_future(_serve(tree, {}, config))
        try:
            await sim.wait_for_app("channel-aa")
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                line = await banner
        finally:
            serving.cancel()
            with pytest.raises(asyncio.CancelledError):
                await serving
    assert f"REST over {in_use} (Ctrl-C to stop)" in line
    # the startup heap was frozen before the banner (see freeze_startup_heap)
    assert gc.get_freeze_count() > 0
    assert gc.get_threshold()[0] == GC_YOUNG_THRESHOLD
