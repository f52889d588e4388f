"""Caller scripts (parse errors name the line; runs drive a call) and ``ivrkit sim`` options."""

from __future__ import annotations

import asyncio
import base64
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from _simari import UNBUFFERED, ari_session, ivrkit_sim

from ivrkit.cli import CliError
from ivrkit.cli._sim import _declared_sounds, _parse_listen, resolve_users, tls_context
from ivrkit.sim import ScriptError, Simulator, parse_script, run_script

GOOD = """\
call: {from: PJSIP/bob, to: "1000"}
wait_for_app: channel-aa
step_timeout: 20
steps:
  - wait_for: sound:press-1
  - press: {digits: "1", duration_ms: 120}
  - heard: sound:press-1
  - wait: 2
  - hangup
  - wait_for_hangup
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps:\n  - presss: 1\n", "<script>:2: unknown step 'presss'"),
        ("steps:\n  - wait: soon\n", "<script>:2: wait must be a number of seconds"),
        ("steps:\n  - hangup: now\n", "<script>:2: step 'hangup' takes no value"),
        ("steps:\n  - wait_for: press-1\n", "<script>:2: wait_for takes a media URI"),
        ("steps:\n  - wait_for\n", "<script>:2: step 'wait_for' needs a value"),
        ("steps:\n  - press: {keys: 1}\n", "<script>:2: unknown press option 'keys'"),
        ("call: {form: x}\nsteps: []\n", "<script>:1: unknown call key 'form'"),
        ("colour: red\nsteps: []\n", "<script>:1: unknown key 'colour'"),
        ("call: {}\n", "<script>:1: missing `steps:` list"),
        ("steps: [\n", "<script>:2: not valid YAML"),
        ("- 1\n", "<script>:1: a caller script is a mapping"),
    ],
)
def test_script_errors_name_the_line(text: str, message: str) -> None:
    with pytest.raises(ScriptError) as err:
        parse_script(text)
    assert str(err.value).startswith(message)


def test_script_parses() -> None:
    script = parse_script(GOOD, "x.yaml")
    assert (script.phone, script.exten, script.wait_for_app) == (
        "PJSIP/bob",
        "1000",
        "channel-aa",
    )
    assert [(s.kind, s.line) for s in script.steps] == [
        ("wait_for_app", 2),
        ("wait_for", 5),
        ("press", 6),
        ("heard", 7),
        ("wait", 8),
        ("hangup", 9),
        ("wait_for_hangup", 10),
    ]
    press = script.steps[2]
    assert (press.digits, press.duration_ms, press.between_ms) == ("1", 120, 100)


async def test_script_drives_a_call_against_an_app() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        log: list[str] = []
        script = parse_script(GOOD, "x.yaml")

        async def attendant() -> None:
            start = await ev.next("StasisStart")
            cid = start["channel"]["id"]
            await ari.req("POST", f"channels/{cid}/answer")
            await ari.req("POST", f"channels/{cid}/play", {"media": "sound:press-1"})
            await ev.next("ChannelDtmfReceived")

        caller, _ = await asyncio.gather(run_script(sim, script, log.append), attendant())
        assert caller.hung_up
        assert [h.media_uri for h in caller.heard] == ["sound:press-1"]
        assert log[-1] == "call ended"


async def test_script_step_that_cannot_happen_names_the_line() -> None:
    async with Simulator() as sim:
        script = parse_script("step_timeout: 5\nsteps:\n  - wait: 1\n  - wait_for: sound:x\n")
        with pytest.raises(
            ScriptError, match=r"<script>:4: wait_for sound:x: failed: the call ended before"
        ):
            await run_script(sim, script, lambda m: None)


def test_listen_and_credentials() -> None:
    assert _parse_listen("127.0.0.1:8088") == ("127.0.0.1", 8088)
    assert _parse_listen("[::1]:9") == ("::1", 9)
    for bad in ("8088", "host:x", "h:70000"):
        with pytest.raises(CliError):
            _parse_listen(bad)
    assert resolve_users(None, "127.0.0.1", {}) == {"asterisk": "asterisk"}
    assert resolve_users(None, "localhost", {}) == {"asterisk": "asterisk"}
    with pytest.raises(CliError, match=r"refusing to listen on 0\.0\.0\.0"):
        resolve_users(None, "0.0.0.0", {})
    assert resolve_users(None, "0.0.0.0", {"IVRKIT_SIM_USERS": "a:b,c:d"}) == {"a": "b", "c": "d"}
    with pytest.raises(CliError) as err:
        resolve_users(None, "127.0.0.1", {"IVRKIT_SIM_USERS": "nopassword"})
    assert err.value.causes == ("line 1: expected user:password",)


def test_users_file(tmp_path: Path) -> None:
    f = tmp_path / "users"
    f.write_text("# ARI users\nalice:s3cret\n\nbob:pw\n")
    assert resolve_users(str(f), "10.0.0.1", {}) == {"alice": "s3cret", "bob": "pw"}
    with pytest.raises(CliError, match="failed to read"):
        resolve_users(str(tmp_path / "missing"), "127.0.0.1", {})


@pytest.mark.realtime
def test_cli_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("admin:topsecret\n")
    proc = subprocess.Popen(
        ivrkit_sim("--listen", "127.0.0.1:0", "--users-file", str(users), "--sound", "welcome=2.5"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=UNBUFFERED,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ivrkit sim: ARI on http://127.0.0.1:")
        assert "topsecret" not in first
        base = first.split(" on ", 1)[1].split()[0]
        auth = {"Authorization": "Basic " + base64.b64encode(b"admin:topsecret").decode()}
        request = urllib.request.Request(f"{base}/sounds/welcome", headers=auth)
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        request = urllib.request.Request(f"{base}/sounds/no-such-sound", headers=auth)
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(request, timeout=10)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "topsecret" not in out + err


def test_malformed_dialplan_is_refused_at_construction() -> None:
    from ivrkit.sim import DialplanError

    with pytest.raises(DialplanError, match=r"default,1000,2: write it as App\(arguments\)"):
        Simulator(dialplan={"default": {"1000": ["NoOp()", "Stasis(oops"]}})


def test_dialplan_files(tmp_path: Path) -> None:
    from ivrkit.sim import DialplanError, load_dialplan

    good = tmp_path / "plan.yaml"
    good.write_text("default:\n  '2000':\n    - NoOp()\n    - Stasis(mine,a)\n    - Hangup()\n")
    assert load_dialplan(good) == {"default": {"2000": ["NoOp()", "Stasis(mine,a)", "Hangup()"]}}
    cases = {
        "- 1\n": "a dialplan maps contexts",
        "default:\n  '1': []\n": "default,1 must be a non-empty list",
        "default:\n  '1': ['Stasis(x']\n": "can't parse dialplan step",
        "default: [\n": "failed to parse",
    }
    for text, message in cases.items():
        bad = tmp_path / "bad.yaml"
        bad.write_text(text)
        with pytest.raises(DialplanError, match=message):
            load_dialplan(bad)
    with pytest.raises(DialplanError, match="failed to read"):
        load_dialplan(tmp_path / "missing.yaml")


def test_tls_options_are_checked_before_binding(
    tmp_path: Path, tls_cert: tuple[Path, Path]
) -> None:
    crt, key = tls_cert
    assert tls_context(None, None) is None
    assert tls_context(str(crt), str(key)) is not None
    with pytest.raises(CliError, match="--tls-cert and --tls-key go together"):
        tls_context(str(crt), None)
    with pytest.raises(CliError, match="can't read --tls-cert"):
        tls_context(str(tmp_path / "missing.pem"), str(key))
    with pytest.raises(CliError, match="are not a PEM certificate and its key"):
        tls_context(str(key), str(key))


@pytest.mark.realtime
def test_cli_serves_https(tls_cert: tuple[Path, Path]) -> None:
    """`ivrkit sim --tls-cert --tls-key`: https, verified with the CA file, Basic auth."""
    import base64
    import json
    import ssl
    import urllib.request

    crt, key = tls_cert
    proc = subprocess.Popen(
        ivrkit_sim("--listen", "127.0.0.1:0", "--tls-cert", str(crt), "--tls-key", str(key)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=UNBUFFERED,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("ivrkit sim: ARI on https://127.0.0.1:"), first
        url = first.split()[4] + "/asterisk/info"
        request = urllib.request.Request(url)
        token = base64.b64encode(b"asterisk:asterisk").decode()
        request.add_header("Authorization", "Basic " + token)
        context = ssl.create_default_context(cafile=str(crt))
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            assert response.status == 200
            assert "system" in json.load(response)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130


def test_sound_options() -> None:
    assert _declared_sounds(["welcome=2.5", "menu", "x=0"]) == {
        "welcome": 2.5,
        "menu": None,
        "x": 0.0,
    }
    assert _declared_sounds(None) == {}
    for bad, message in (
        ("sound:welcome", "give NAME or NAME=SECONDS"),
        ("=2", "give NAME or NAME=SECONDS"),
        ("welcome=long", "SECONDS must be a number"),
        ("welcome=-1", "SECONDS must be >= 0"),
    ):
        with pytest.raises(CliError, match=message):
            _declared_sounds([bad])
