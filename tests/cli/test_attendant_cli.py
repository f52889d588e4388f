"""`ivrkit run`, `ivrkit demo` and `ivrkit check`, run in-process through main()."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

import pytest

from ivrkit.ari import ConnectionConfig, Credentials
from ivrkit.cli import main
from ivrkit.cli._attendant import _serve
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.sim import Simulator

GUIDE = """\
Channel PJSIP/alice-00000001 has entered the application
Channel PJSIP/alice-00000001 entered 1
Channel PJSIP/alice-00000001 entered 2
Channel PJSIP/alice-00000001 entered 8
Channel PJSIP/alice-00000001 entered an invalid option!
Channel PJSIP/alice-00000001 stopped paying attention...
PJSIP/alice-00000001 has left the application
"""


def test_demo_prints_the_guides_transcript(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr()
    assert out.out.startswith(GUIDE + "\n")  # then what the caller heard and did
    assert out.out.rstrip().endswith("result: PASSED (16 of 16 steps passed)")


def test_demo_with_own_menu_and_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(
        textwrap.dedent(
            """\
            transcript:
              digit: "{channel} pressed {digit}"
              call_ended: "{channel} done"
            menus:
              main:
                greeting: [sound:press-1]
                options:
                  - {key: "9", hangup: true}
            """
        )
    )
    script = tmp_path / "script.yaml"
    script.write_text("steps:\n  - wait_for: sound:press-1\n  - press: '9'\n  - wait_for_hangup\n")
    assert main(["demo", "--menu", str(menu), "--script", str(script)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:3] == ["PJSIP/alice-00000001 pressed 9", "PJSIP/alice-00000001 done", ""]
    assert out[3] == f"call 1000@default from PJSIP/alice-00000001, script {script}"
    assert any(line.startswith("hang-up: by the far end at ") for line in out)


def test_demo_reports_a_bad_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("steps:\n  - presss: '9'\n")
    assert main(["demo", "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: invalid caller script\n  Cause: ")
    assert f"{script}:2: unknown step 'presss'" in err


def test_check_prints_the_tree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ATTENDANT_MENU)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{ATTENDANT_MENU}: ok, 1 menu, calls start in `main`"
    assert "  greeting: sound:press-1, sound:or, sound:press-2" in out
    assert "  key 1: play sound:you-entered, digits:{digits}, then the menu again" in out


def test_check_describes_every_action(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "m.yaml"
    menu.write_text(
        textwrap.dedent(
            """\
            start: b
            menus:
              a:
                regreeting: []
                max_no_input: 2
                on_limit: {top: true}
                options:
                  - {key: "1", back: true}
                  - {pattern: "2XX", transfer: "PJSIP/{digits}"}
                  - {key: "3", continue: {context: c, extension: "1", priority: 2}}
                  - {key: "4", continue: true}
              b:
                barge_in: false
                options:
                  - {key: "1", goto: a}
                  - {key: "2", hangup: true}
                  - {digits: "99", handler: "json:dumps"}
            """
        )
    )
    # json.dumps is not async: resolving handlers fails with file:line:field
    assert main(["check", str(menu)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"ivrkit failed: invalid menu definition {menu} (1 problem)",
        f"  Cause: {menu}:17: menus.b.options.2.handler: `json:dumps` must be an "
        "`async def handler(call, digits)`",
    ]
    menu.write_text(menu.read_text().replace('"json:dumps"', '"asyncio:sleep"'))
    assert main(["check", str(menu)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "calls start in `b`",
        "a\n  re-greeting: (nothing)\n",
        "after 2× no input: back to the start menu",
        "  key 1: back to the previous menu",
        "  pattern 2XX: transfer to PJSIP/{digits} (30 s)",
        "  key 3: continue in the dialplan at c,1,2",
        "  key 4: continue in the dialplan\n",
        "b (start)\n",
        "barge-in off",
        "  key 1: go to menu `a`",
        "  key 2: hang up",
        "  digits 99: run handler asyncio:sleep",
    ):
        assert expected in out


def test_check_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(tmp_path / "none.yaml")]) == 2
    assert "failed to read: No such file or directory" in capsys.readouterr().err


def test_run_rejects_a_bad_menu_before_connecting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    menu = tmp_path / "m.yaml"
    menu.write_text("menus: {a: {options: [], colour: red}}\n")
    # the URL is unroutable: reaching it would hang or fail differently
    assert main(["run", str(menu), "--url", "http://192.0.2.1:9"]) == 2
    err = capsys.readouterr().err
    assert "unknown field `colour`" in err


def test_run_needs_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ARI_USER", "ARI_PASSWORD", "ARI_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: no ARI credentials\n  Cause: ARI credentials missing")


def test_run_reports_a_bad_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ARI_USER", "u")
    monkeypatch.setenv("ARI_PASSWORD", "secret-pw")
    assert main(["run", "--url", "ftp://x"]) == 2
    err = capsys.readouterr().err
    assert "invalid connection settings" in err
    assert "secret-pw" not in err


def test_run_checks_the_ca_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ARI_USER", "u")
    monkeypatch.setenv("ARI_PASSWORD", "secret-pw")
    missing = tmp_path / "ca.pem"
    assert main(["run", "--url", "https://127.0.0.1:8089", "--ca-file", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "invalid connection settings" in err
    assert f"ca_file '{missing}' is not a file" in err


def test_run_reports_refused_connection(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    creds = tmp_path / "creds"
    creds.write_text("ARI_USER=asterisk\nARI_PASSWORD=hunter2\n")
    assert main(["run", "--url", "http://127.0.0.1:1", "--credentials-file", str(creds)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: can't serve ARI app 'channel-aa'")
    assert "hunter2" not in err


async def test_ctrl_c_hands_live_calls_back_to_the_dialplan(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tree = load_menu_file(ATTENDANT_MENU)
    async with Simulator() as sim:
        config = ConnectionConfig(
            base_url=sim.url,
            apps=("channel-aa",),
            credentials=Credentials(sim.username, sim.password),
        )
        serving = asyncio.ensure_future(_serve(tree, {}, config))
        try:
            await sim.wait_for_app("channel-aa")
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                serving.cancel()  # what Ctrl-C does to asyncio.run's main task
                with pytest.raises(asyncio.CancelledError):
                    await serving
                await caller.wait_for_hangup()  # the dialplan's Hangup() after Stasis
        finally:
            serving.cancel()
    assert caller.heard[0].cut_off
    err = capsys.readouterr().err
    assert "1 call(s) handed back to the dialplan" in err
