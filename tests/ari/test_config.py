from pathlib import Path

import pytest

from ivrkit.ari import ConfigurationError, ConnectionConfig, Credentials


def test_password_never_in_repr() -> None:
    cfg = ConnectionConfig(
        base_url="https://pbx:8089", apps=("a",), credentials=Credentials("u", "hunter2")
    )
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in str(cfg.credentials)
    assert cfg.events_url == "wss://pbx:8089/ari/events"
    assert cfg.ari_url == "https://pbx:8089/ari"
    assert cfg.verify_tls is True


def test_basic_header() -> None:
    assert Credentials("asterisk", "asterisk").authorization_header() == (
        "Basic YXN0ZXJpc2s6YXN0ZXJpc2s="
    )


def test_from_env_and_missing() -> None:
    cfg = ConnectionConfig.from_env(
        "http://h:8088/ari", "app", environ={"ARI_USER": "u", "ARI_PASSWORD": "p"}
    )
    assert cfg.credentials == Credentials("u", "p")
    assert cfg.ari_url == "http://h:8088/ari"
    with pytest.raises(ConfigurationError, match="ARI_PASSWORD"):
        Credentials.from_env({"ARI_USER": "u"})


def test_from_file(tmp_path: Path) -> None:
    f = tmp_path / "creds"
    f.write_text("# ari\nARI_USER=u\nARI_PASSWORD = p w\n")
    assert Credentials.from_env({"ARI_CREDENTIALS_FILE": str(f)}) == Credentials("u", "p w")
    f.write_text("ARI_USER=u\npassword=x\n")
    with pytest.raises(ConfigurationError, match="line 2"):
        Credentials.from_file(f)
    with pytest.raises(ConfigurationError, match="Failed to read"):
        Credentials.from_file(tmp_path / "nope")


@pytest.mark.parametrize(
    ("url", "apps"),
    [("ftp://h", ("a",)), ("http://u:p@h:8088", ("a",)), ("http://h", ()), ("http://h", "a")],
)
def test_invalid(url: str, apps: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError):
        ConnectionConfig(base_url=url, apps=apps, credentials=Credentials("u", "p"))


def test_missing_ca_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    with pytest.raises(ConfigurationError, match=r"ca_file '.*ca\.pem' is not a file"):
        ConnectionConfig(
            base_url="https://h:8089",
            apps=("a",),
            credentials=Credentials("u", "p"),
            ca_file=str(missing),
        )
