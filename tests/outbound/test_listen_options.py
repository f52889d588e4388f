"""``ivrkit run --listen``: bad settings are refused before anything is bound."""

from __future__ import annotations

import pytest

from ivrkit.cli import main


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARI_USER", "asterisk")
    monkeypatch.setenv("ARI_PASSWORD", "asterisk")


@pytest.mark.parametrize(
    ("extra", "first_line"),
    [
        (["--listen", "127.0.0.1:99999"], "invalid --listen address '127.0.0.1:99999'"),
        (["--listen", ":0", "--url", "http://localhost:8088"], "--listen takes no --url"),
        (["--listen", ":0", "--listen-cert", "c.pem"], "incomplete TLS settings"),
        (["--listen", ":0", "--cluster-mode", "standby"], "--cluster-mode needs --cluster"),
        (["--listen", ":0", "--metrics", "nope:x"], "invalid --metrics address 'nope:x'"),
        (
            ["--listen", ":0", "--cluster", "redis://127.0.0.1:1/0", "--cluster-mode", "standby"],
            "--cluster-mode standby does not apply to --listen",
        ),
        (["--listen", ":0", "--cluster", "redis://127.0.0.1:1/0"], "can't join the cluster"),
    ],
)
def test_bad_listen_settings_are_usage_errors(
    extra: list[str], first_line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", *extra]) == 2
    assert capsys.readouterr().err.startswith(f"ivrkit failed: {first_line}")


def test_no_credentials_no_listener(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("ARI_USER", "ARI_PASSWORD", "ARI_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert main(["run", "--listen", ":0"]) == 2
    assert capsys.readouterr().err.startswith("ivrkit failed: no ARI credentials")
