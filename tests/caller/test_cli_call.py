"""`ivrkit call` end to end through `main([...])`, against a simulator on port 0.

`main()` runs the command's coroutine through `ivrkit.cli._call.RUN`; these tests swap
in a virtual-time loop that first starts the embedded Asterisk (port 0) with the Python
attendant and points `--url` at it, so everything else (argument parsing, credentials
from the environment, the report on stdout, `--json`, exit codes) is the real command.
"""

from __future__ import annotations

import argparse
import json
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _caller_helpers import attendant

from ivrkit.cli import _call, main
from ivrkit.sim import Simulator
from ivrkit.testing import run_virtual

PLACEHOLDER_URL = "http://sim.invalid:8088"  # replaced by the simulator's own URL


def against_simulator(monkeypatch: pytest.MonkeyPatch, password: str = "asterisk") -> None:
    monkeypatch.setenv("ARI_USER", "asterisk")
    monkeypatch.setenv("ARI_PASSWORD", password)
    monkeypatch.delenv("ARI_CREDENTIALS_FILE", raising=False)

    def run(command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> Any:
        async def scenario() -> Any:
            async with Simulator(port=0) as sim, attendant(sim):
                assert args.url == PLACEHOLDER_URL
                args.url = sim.url
                return await command(args)

        return run_virtual(scenario())

    monkeypatch.setattr(_call, "RUN", run)


GUIDE = ["call", "--url", PLACEHOLDER_URL, "1000", "--press", "1,2,8", "--then-wait", "12"]


def test_press_prints_the_report_and_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch)
    assert main([*GUIDE, "--then-hangup"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("call Local/1000@default from ARI app 'ivrkit-caller' (channels ")
    assert lines[-1] == "result: PASSED (8 of 8 steps passed)"
    media = [line.split()[3:] for line in lines if line.startswith("  ") and " - " in line]
    assert media[0] == ["sound:press-1", "cut", "off", "by", "a", "key"]
    assert media[1] == ["sound:you-entered", "finished"]
    assert media[2] == ["digits:1", "finished"]
    assert media[11] == ["sound:are-you-still-there", "finished"]
    assert media[12] == ["sound:press-1", "cut", "off", "by", "the", "hang-up"]
    assert any(line.startswith("hang-up: by the caller at ") for line in lines)
    assert "cause 16 (Normal Clearing)" in out
    # progress on stderr, never the password
    assert "ivrkit call: calling Local/1000@default from ARI app 'ivrkit-caller'" in err
    assert "ivrkit call: --press 1,2,8: press 8: passed" in err


#: the JSON report's schema: key -> type (nested for objects, [item schema] for lists)
NUMBER = (int, float)
OPT_NUMBER = (int, float, type(None))
SCHEMA: dict[str, Any] = {
    "version": int,
    "passed": bool,
    "source": str,
    "endpoint": str,
    "app": str,
    "channel_id": str,
    "far_channel_id": str,
    "answered_at": OPT_NUMBER,
    "duration": OPT_NUMBER,
    "media": [
        {
            "media_uri": str,
            "playback_id": str,
            "start": NUMBER,
            "end": OPT_NUMBER,
            "outcome": str,
            "cut_off": bool,
        }
    ],
    "dtmf": [{"digits": str, "sent_at": NUMBER, "received_at": [NUMBER], "line": int}],
    "hangup": {
        "by": (str, type(None)),
        "at": OPT_NUMBER,
        "cause": (int, type(None)),
        "cause_txt": str,
        "after_script": bool,
    },
    "steps": [{"line": int, "step": str, "status": str, "at": OPT_NUMBER, "detail": str}],
}


def check_schema(value: Any, schema: Any, where: str = "$") -> None:
    if isinstance(schema, dict):
        assert isinstance(value, dict), where
        assert sorted(value) == sorted(schema), where
        for key, sub in schema.items():
            check_schema(value[key], sub, f"{where}.{key}")
    elif isinstance(schema, list):
        assert isinstance(value, list), where
        for i, item in enumerate(value):
            check_schema(item, schema[0], f"{where}[{i}]")
    else:
        assert isinstance(value, schema), f"{where}: {value!r}"


def test_json_on_stdout_follows_the_schema(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch)
    assert main([*GUIDE, "--then-hangup", "--json", "-", "--quiet"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    check_schema(report, SCHEMA)
    assert report["version"] == 1
    assert report["passed"] is True
    assert len(report["media"]) == 13
    assert {m["outcome"] for m in report["media"]} == {
        "cut_off_key",
        "finished",
        "cut_off_hangup",
    }
    assert [d["digits"] for d in report["dtmf"]] == ["1", "2", "8"]
    assert report["hangup"]["by"] == "caller"
    assert {s["status"] for s in report["steps"]} == {"passed"}
    # the text report moved to stderr; --quiet silenced the progress lines
    assert err.startswith("call Local/1000@default")
    assert "ivrkit call:" not in err


def test_a_failed_step_exits_1_naming_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch)
    script = tmp_path / "call.yaml"
    script.write_text(
        "step_timeout: 3\nsteps:\n  - wait_for: sound:press-1\n  - heard: sound:goodbye\n"
    )
    out_json = tmp_path / "report.json"
    argv = ["call", "--url", PLACEHOLDER_URL, "1000", "--script", str(script)]
    assert main([*argv, "--json", str(out_json), "--quiet"]) == 1
    out, err = capsys.readouterr()
    assert f"  {script}:4: heard sound:goodbye: FAILED at " in out
    assert out.endswith("result: FAILED (1 of 2 steps passed)\n")
    assert err.startswith(
        f"ivrkit call: step failed at {script}:4: heard sound:goodbye: not done within 3 s"
    )
    report = json.loads(out_json.read_text())
    check_schema(report, SCHEMA)
    assert report["passed"] is False
    assert report["steps"][1]["status"] == "failed"
    assert report["hangup"]["after_script"] is True


def test_a_bad_script_exits_2_before_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def never(*args: Any) -> Any:
        raise AssertionError("no connection may be made for a bad script")

    monkeypatch.setattr(_call, "RUN", never)
    script = tmp_path / "call.yaml"
    script.write_text("steps:\n  - wait_for: sound:press-1\n  - presss: '1'\n")
    assert main(["call", "1000", "--script", str(script)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "ivrkit failed: invalid caller script",
        f"  Cause: {script}:3: unknown step 'presss', expected one of wait_for, heard, "
        "press, wait, silence, hangup, wait_for_hangup",
    ]
    assert main(["call", "1000", "--script", str(script), "--then-hangup"]) == 2
    assert "--then-wait and --then-hangup go with --press" in capsys.readouterr().err
    assert main(["call", "1000", "--press", "1,x"]) == 2
    assert "each key must be DTMF digits" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["call", "1000"])  # neither --script nor --press
    assert info.value.code == 2
    assert "one of the arguments --script --press is required" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["call", "1000", "--press", "1", "--script", "x.yaml"])
    assert info.value.code == 2


def test_missing_credentials_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ARI_USER", "ARI_PASSWORD", "ARI_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["call", "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: no ARI credentials\n  Cause: ARI credentials missing")


def test_a_wrong_password_exits_2_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch, password="not-the-pw-123")
    assert main(["call", "--url", PLACEHOLDER_URL, "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: can't connect to ARI at http://127.0.0.1:")
    assert "as app 'ivrkit-caller'" in err
    assert "not-the-pw-123" not in err


def test_a_refused_connection_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    creds = tmp_path / "creds"
    creds.write_text("ARI_USER=asterisk\nARI_PASSWORD=hunter2\n")
    argv = ["call", "--url", "http://127.0.0.1:1", "--credentials-file", str(creds)]
    assert main([*argv, "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed: can't connect to ARI at http://127.0.0.1:1/ari")
    assert "hunter2" not in err


def test_https_with_ca_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tls_cert: tuple[Path, Path],
) -> None:
    """`--ca-file` verifies a private CA's certificate; without it the call is refused."""
    import ssl

    from ivrkit.ari import AriClient, ConnectionConfig, Credentials
    from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
    from ivrkit.ivr.runner import MenuRunner

    crt, key = tls_cert
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(crt, key)
    against_simulator(monkeypatch)

    def run(command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> Any:
        async def scenario() -> Any:
            async with Simulator(port=0, ssl_context=server_tls) as sim:
                config = ConnectionConfig(
                    base_url=sim.url,
                    apps=("channel-aa",),
                    credentials=Credentials(sim.username, sim.password),
                    ca_file=str(crt),
                )
                runner = MenuRunner(load_menu_file(ATTENDANT_MENU), transcript=lambda line: None)
                client = AriClient(config)
                runner.attach(client)
                async with client:
                    args.url = sim.url
                    return await command(args)

        return run_virtual(scenario())

    monkeypatch.setattr(_call, "RUN", run)
    press = ["call", "--url", PLACEHOLDER_URL, "1000", "--press", "1", "--then-hangup"]
    assert main([*press, "--ca-file", str(crt)]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[-1] == "result: PASSED (3 of 3 steps passed)"
    assert main(press) == 2
    _, err = capsys.readouterr()
    assert "certificate" in err.lower()


# ------------------------------------------------------------------ messages (issue 11, item 9)


def test_a_refused_password_names_the_credentials_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    against_simulator(monkeypatch)  # the environment's password is right; the file's is not
    creds = tmp_path / "ari.creds"
    creds.write_text("ARI_USER=asterisk\nARI_PASSWORD=not-the-pw-123\n")
    argv = ["call", "--url", PLACEHOLDER_URL, "--credentials-file", str(creds)]
    assert main([*argv, "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert f"refused the credentials from --credentials-file {creds}; check" in err, err
    assert "ARI_USER/ARI_PASSWORD" not in err
    assert "not-the-pw-123" not in err


def test_a_refused_password_from_the_environment_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch, password="not-the-pw-123")
    assert main(["call", "--url", PLACEHOLDER_URL, "1000", "--press", "1"]) == 2
    assert "refused the credentials from ARI_USER/ARI_PASSWORD" in capsys.readouterr().err


def test_missing_credentials_mention_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ARI_USER", "ARI_PASSWORD", "ARI_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["call", "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert "or pass --credentials-file FILE (lines ARI_USER=... and ARI_PASSWORD=...)" in err


def test_a_refused_connection_says_why_in_the_users_terms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "creds"
    creds.write_text("ARI_USER=asterisk\nARI_PASSWORD=hunter2\n")
    with socket.socket() as bound:  # bound, never listening: connections are refused
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        argv = ["call", "--url", f"http://127.0.0.1:{port}", "--credentials-file", str(creds)]
        assert main([*argv, "1000", "--press", "1"]) == 2
    err = capsys.readouterr().err
    assert f"connection refused at 127.0.0.1:{port}: nothing listens there" in err, err
    assert "ssl:default" not in err
    assert "Cannot connect to host" not in err


def test_an_unknown_extension_hints_at_the_dialplan(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    against_simulator(monkeypatch)
    assert main(["call", "--url", PLACEHOLDER_URL, "9999", "--press", "1"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^hang-up: by the far end at [\d.]+ s, cause 0 \(Unknown\)$", out, re.M)
    assert (
        "  hint: the far end hung up before answering, without a cause, as Asterisk does "
        "when Local/9999@default names no extension: check that extension 9999 exists in "
        "context default (`dialplan show 9999@default` on the Asterisk CLI)"
    ) in out.splitlines()
