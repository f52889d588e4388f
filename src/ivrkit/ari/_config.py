"""Connection settings, with credentials that never reach argv, logs, reprs or URLs.

Credentials come from the environment (``ARI_USER``, ``ARI_PASSWORD``) or from a file of
``KEY=VALUE`` lines with the same two keys (``ARI_CREDENTIALS_FILE`` names one). They
travel only in the ``Authorization: Basic`` header, for REST and for the websocket
upgrade alike, never as ``?api_key=`` (Asterisk accepts both; a query string ends up in
proxy and access logs).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ivrkit.ari._exceptions import AriError

RestTransportName = Literal["http", "websocket", "auto"]


class ConfigurationError(AriError, ValueError):
    """The connection settings are incomplete or invalid; the message names the setting."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """A user and password for ARI. ``repr()`` and ``str()`` never show the password."""

    username: str
    password: str = field(repr=False)
    #: where they came from ("ARI_USER/ARI_PASSWORD", "the credentials file F"), named
    #: when Asterisk refuses them; empty for credentials made in code
    source: str = field(default="", compare=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"

    def from_source(self, source: str) -> Credentials:
        """The same credentials, said to come from ``source`` (e.g. a command-line option)."""
        return Credentials(self.username, self.password, source)

    __str__ = __repr__

    def authorization_header(self) -> str:
        """The value of the ``Authorization`` header (HTTP Basic)."""
        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")
        return f"Basic {token}"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        """Read ``ARI_USER``/``ARI_PASSWORD``, or the file named by ``ARI_CREDENTIALS_FILE``."""
        env = os.environ if environ is None else environ
        path = env.get("ARI_CREDENTIALS_FILE")
        if path and not ("ARI_USER" in env and "ARI_PASSWORD" in env):
            return cls.from_file(path).from_source(f"ARI_CREDENTIALS_FILE={path}")
        user, password = env.get("ARI_USER"), env.get("ARI_PASSWORD")
        if not user or password is None:
            missing = " and ".join(
                name for name, v in (("ARI_USER", user), ("ARI_PASSWORD", password)) if not v
            )
            raise ConfigurationError(
                f"ARI credentials missing: set {missing} in the environment, "
                "or name a file of KEY=VALUE lines in ARI_CREDENTIALS_FILE"
            )
        return cls(user, password, "ARI_USER/ARI_PASSWORD")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Credentials:
        """Read ``ARI_USER=...`` and ``ARI_PASSWORD=...`` lines (``#`` starts a comment)."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"Failed to read ARI credentials file {p}: {exc.strerror}"
            ) from exc
        values: dict[str, str] = {}
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            key, sep, value = stripped.partition("=")
            if not sep or key.strip() not in ("ARI_USER", "ARI_PASSWORD"):
                raise ConfigurationError(
                    f"Failed to parse ARI credentials file {p}, line {lineno}: "
                    "expected ARI_USER=... or ARI_PASSWORD=..."
                )
            values[key.strip()] = value.strip()
        if "ARI_USER" not in values or "ARI_PASSWORD" not in values:
            raise ConfigurationError(
                f"ARI credentials file {p} must set both ARI_USER and ARI_PASSWORD"
            )
        return cls(values["ARI_USER"], values["ARI_PASSWORD"], f"the credentials file {p}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionConfig:
    """Everything needed to reach one Asterisk.

    ``base_url`` is the HTTP(S) root (``http://localhost:8088``); ``/ari`` is appended
    unless it is already there. ``apps`` are the Stasis application names to register.
    Timeouts and backoff are in seconds; ``heartbeat`` is the websocket ping interval
    (a missing pong closes the socket, which triggers a reconnect).
    """

    base_url: str
    apps: tuple[str, ...]
    credentials: Credentials
    subscribe_all: bool = False
    verify_tls: bool = True
    ca_file: str | None = None
    request_timeout: float = 10.0
    connect_timeout: float = 5.0
    heartbeat: float = 10.0
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    backoff_factor: float = 2.0
    rest_transport: RestTransportName = "http"

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"base_url {self.base_url!r} must look like http://host:8088 or https://host:8089"
            )
        if parts.username or parts.password:
            raise ConfigurationError(
                "base_url must not carry credentials; use ARI_USER/ARI_PASSWORD instead"
            )
        if isinstance(self.apps, str) or not self.apps or not all(self.apps):
            raise ConfigurationError("apps must be a non-empty tuple of application names")
        if self.rest_transport not in ("http", "websocket", "auto"):
            raise ConfigurationError(
                f"rest_transport must be 'http', 'websocket' or 'auto', not {self.rest_transport!r}"
            )
        if self.ca_file is not None and not os.path.isfile(self.ca_file):
            raise ConfigurationError(
                f"ca_file {self.ca_file!r} is not a file; give the PEM bundle of the CA that "
                "signed Asterisk's certificate"
            )
        for name in ("request_timeout", "connect_timeout", "heartbeat", "backoff_initial"):
            if getattr(self, name) <= 0:
                raise ConfigurationError(f"{name} must be positive")
        if self.backoff_max < self.backoff_initial or self.backoff_factor < 1:
            raise ConfigurationError("need backoff_max >= backoff_initial and backoff_factor >= 1")

    @property
    def ari_url(self) -> str:
        """The ARI root, e.g. ``http://localhost:8088/ari`` (no trailing slash)."""
        url = self.base_url.rstrip("/")
        return url if url.endswith("/ari") else url + "/ari"

    @property
    def events_url(self) -> str:
        """The websocket URL of ``/ari/events`` (ws:// or wss://)."""
        url = self.ari_url
        scheme = "wss" if url.startswith("https") else "ws"
        return scheme + url[url.index(":") :] + "/events"

    @classmethod
    def from_env(
        cls,
        base_url: str,
        apps: str | tuple[str, ...],
        *,
        environ: Mapping[str, str] | None = None,
        **options: object,
    ) -> ConnectionConfig:
        """Settings with credentials from the environment (see :meth:`Credentials.from_env`)."""
        app_tuple = (apps,) if isinstance(apps, str) else tuple(apps)
        return cls(
            base_url=base_url,
            apps=app_tuple,
            credentials=Credentials.from_env(environ),
            **options,  # type: ignore[arg-type]
        )
