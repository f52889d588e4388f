"""Fixtures shared by several test directories."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivrkit.testing import RedisServer


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server of its own (free port, temp dir), stopped after the test."""
    directory = tmp_path / "redis"
    directory.mkdir()
    with RedisServer(directory) as server:
        yield server


def pytest_configure(config: pytest.Config) -> None:
    """Say what to do when the venv predates the plugin's entry point (issue 11)."""
    plugins = config.pluginmanager
    if plugins.has_plugin("ivrkit.testing.pytest_plugin") or plugins.is_blocked(
        "ivrkit.testing.pytest_plugin"
    ):
        return
    raise pytest.UsageError(
        "ivrkit's pytest plugin is not registered: the installed ivrkit has no pytest11 "
        "entry point (an older install); run `make install` to reinstall it"
    )


@pytest.fixture
def tls_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM), made by ``openssl``.

    The project has no crypto dependency; the openssl command is on every machine that
    runs Asterisk, and the test says how to get it if it is not.
    """
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command (apt-get install openssl)"
    key, crt = tmp_path / "key.pem", tmp_path / "cert.pem"
    args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    args += ["-keyout", str(key), "-out", str(crt), "-subj", "/CN=127.0.0.1"]
    args += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run([openssl, *args], check=True, capture_output=True)
    return crt, key
