"""``ivrkit sim``: run the embedded Asterisk as a server process.

Credentials come from ``--users-file`` (lines ``user:password``), else the environment
variable ``IVRKIT_SIM_USERS`` (``user:password[,user:password...]``), else the default
``asterisk``/``asterisk`` — which is only allowed while listening on loopback, so a
server reachable from the network never runs with a well-known password. Passwords
are never printed. Ctrl-C stops the server cleanly (exit 130).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import ipaddress
import json
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ivrkit.cli import CliError

USERS_ENV = "IVRKIT_SIM_USERS"


def _parse_listen(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise CliError(f"invalid --listen {text!r}", "expected HOST:PORT, e.g. 127.0.0.1:8088")
    try:
        port = int(port_text)
    except ValueError:
        raise CliError(
            f"invalid --listen {text!r}", f"port {port_text!r} is not a number"
        ) from None
    if not 0 <= port <= 65535:
        raise CliError(f"invalid --listen {text!r}", "port must be between 0 and 65535")
    return host.strip("[]"), port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_users(lines: list[str], source: str) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not sep or not user or not password:
            raise CliError(
                f"failed to read users from {source}",
                f"line {number}: expected user:password",
            )
        users[user] = password
    if not users:
        raise CliError(f"failed to read users from {source}", "no user:password entries found")
    return users


def resolve_users(users_file: str | None, host: str, env: dict[str, str]) -> dict[str, str]:
    """Credentials by precedence: --users-file, $IVRKIT_SIM_USERS, loopback default."""
    if users_file:
        try:
            text = Path(users_file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CliError(f"failed to read {users_file}", str(exc.strerror or exc)) from exc
        return _parse_users(text.splitlines(), users_file)
    if env.get(USERS_ENV):
        return _parse_users(env[USERS_ENV].split(","), f"${USERS_ENV}")
    if not _is_loopback(host):
        raise CliError(
            f"refusing to listen on {host} with the default password",
            f"give credentials with --users-file FILE (lines user:password) or ${USERS_ENV}",
        )
    return {"asterisk": "asterisk"}


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server side of https/wss from a PEM certificate (chain) and its private key."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise CliError(
            "--tls-cert and --tls-key go together",
            "give both PEM files: the certificate (chain) and its private key",
        )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:  # before OSError: SSLError is one
        raise CliError(
            f"--tls-cert {cert} / --tls-key {key} are not a PEM certificate and its key",
            str(exc.reason or exc),
        ) from exc
    except OSError as exc:
        raise CliError(
            f"can't read --tls-cert {cert} / --tls-key {key}", str(exc.strerror or exc)
        ) from exc
    return context


async def _serve(
    args: argparse.Namespace,
    host: str,
    port: int,
    users: dict[str, str],
    tls: ssl.SSLContext | None,
) -> int:
    from ivrkit.sim import (
        ScriptError,
        Simulator,
        load_dialplan,
        load_endpoints,
        load_script,
        run_script,
    )

    script = load_script(args.script) if args.script else None
    dialplan = load_dialplan(args.dialplan) if args.dialplan else None
    endpoints = load_endpoints(args.endpoints) if args.endpoints else None
    with contextlib.ExitStack() as files:
        log_file = files.enter_context(_open_log(args.access_log)) if args.access_log else None
        async with Simulator(
            host,
            port,
            users=users,
            sounds_dir=args.sounds_dir,
            sounds=_declared_sounds(args.sound),
            dialplan=dialplan,
            endpoints=endpoints,
            access_log=_writer(log_file) if log_file is not None else None,
            ssl_context=tls,
            outbound=_outbound(args),
        ) as sim:
            print(f"ivrkit sim: ARI on {sim.url}/ari (users: {', '.join(users)})", flush=True)
            if script is None:
                await asyncio.Event().wait()  # serve until Ctrl-C
                return 0
            try:
                caller = await run_script(sim, script, lambda m: print(f"caller: {m}", flush=True))
            except ScriptError as exc:
                raise CliError("caller script failed", str(exc)) from exc
            t0 = caller.started_at  # times are seconds since the call started
            for item in caller.heard:
                end = "..." if item.end is None else f"{item.end - t0:.3f}"
                cut = " (cut off)" if item.cut_off else ""
                print(f"heard {item.media_uri} {item.start - t0:.3f}-{end}{cut}", flush=True)
            # what is still alive after the script, on stderr beside the banner's
            # diagnostics (leak checks by a test or a person; stdout stays the transcript)
            stats = " ".join(f"{name}={count}" for name, count in sim.stats().items())
            print(f"ivrkit sim: left after the script: {stats}", file=sys.stderr, flush=True)
            return 0


def _open_log(path: str) -> IO[str]:
    try:
        return open(path, "w", encoding="utf-8")  # closed by the caller's ExitStack
    except OSError as exc:
        raise CliError(f"can't write --access-log {path}", str(exc.strerror or exc)) from exc


def _writer(log_file: IO[str]) -> Callable[[dict[str, Any]], None]:
    """One JSON line per request, led by when it was answered.

    ``time`` is the wall clock (UTC, ISO 8601, milliseconds) to line the log up with an
    app's own logs; ``elapsed`` is seconds on the simulator's clock since it started,
    the clock its callers hear by, which under virtual time is the only one that moves.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()

    def write(record: dict[str, Any]) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        stamped = {"time": now.replace("+00:00", "Z"), "elapsed": round(loop.time() - started, 3)}
        log_file.write(json.dumps(stamped | record) + "\n")
        log_file.flush()

    return write


def _declared_sounds(specs: list[str] | None) -> dict[str, float | None]:
    """``--sound NAME`` or ``--sound NAME=SECONDS``, repeated: sounds that exist."""
    out: dict[str, float | None] = {}
    for spec in specs or ():
        name, sep, seconds = spec.partition("=")
        if not name or name.startswith("sound:"):
            raise CliError(f"--sound {spec}: give NAME or NAME=SECONDS, e.g. --sound welcome=2.5")
        try:
            length = float(seconds) if sep else None
        except ValueError:
            raise CliError(f"--sound {spec}: SECONDS must be a number, e.g. {name}=2.5") from None
        if length is not None and not length >= 0:
            raise CliError(f"--sound {spec}: SECONDS must be >= 0")
        out[name] = length
    return out


def _outbound(args: argparse.Namespace) -> Any:
    """``--outbound-url``: connect out as an ari.conf outbound_websocket (docs/cluster.md)."""
    if not args.outbound_url:
        return ()
    from ivrkit.sim import OutboundWebsocket

    try:
        return OutboundWebsocket(
            uri=args.outbound_url,
            apps=tuple(a.strip() for a in args.outbound_apps.split(",")),
            connection_type=args.outbound_type,
        )
    except ValueError as exc:
        raise CliError("invalid --outbound-url settings", str(exc)) from exc


def run(args: argparse.Namespace) -> int:
    host, port = _parse_listen(args.listen)
    _outbound(args)  # a bad --outbound-url fails before binding
    _declared_sounds(args.sound)  # a bad --sound fails before binding
    users = resolve_users(args.users_file, host, dict(os.environ))
    tls = tls_context(args.tls_cert, args.tls_key)  # a bad certificate fails before binding
    if args.sounds_dir and not Path(args.sounds_dir).is_dir():
        raise CliError(f"--sounds-dir {args.sounds_dir} is not a directory")
    if args.dialplan:
        from ivrkit.sim import DialplanError, load_dialplan

        try:
            load_dialplan(args.dialplan)
        except DialplanError as exc:
            raise CliError("invalid dialplan", str(exc)) from exc
    if args.endpoints:
        from ivrkit.sim import EndpointConfigError, load_endpoints

        try:
            load_endpoints(args.endpoints)
        except EndpointConfigError as exc:
            raise CliError("invalid endpoints file", str(exc)) from exc
    if args.script:
        from ivrkit.sim import ScriptError, load_script

        try:
            load_script(args.script)
        except ScriptError as exc:
            raise CliError("invalid caller script", *exc.problems) from exc
    try:
        return asyncio.run(_serve(args, host, port, users, tls))
    except OSError as exc:
        raise CliError(f"can't listen on {host}:{port}", str(exc.strerror or exc)) from exc
    except KeyboardInterrupt:
        print("ivrkit sim: stopped", file=sys.stderr)
        return 130


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "sim",
        help="run the embedded Asterisk (ARI simulator)",
        description="Serve a simulated Asterisk REST Interface for tests and demos.",
    )
    parser.add_argument(
        "--listen", default="127.0.0.1:8088", metavar="HOST:PORT", help="default 127.0.0.1:8088"
    )
    parser.add_argument(
        "--users-file", metavar="FILE", help=f"lines user:password (else ${USERS_ENV})"
    )
    parser.add_argument(
        "--sounds-dir", metavar="DIR", help="Asterisk sounds (e.g. /usr/share/asterisk/sounds/en)"
    )
    parser.add_argument(
        "--sound",
        action="append",
        metavar="NAME[=SECONDS]",
        help="a sound that exists besides Asterisk's core prompts (repeatable; default 1 s)",
    )
    parser.add_argument(
        "--dialplan", metavar="FILE", help="YAML: context -> exten -> [App(args), ...]"
    )
    parser.add_argument(
        "--endpoints",
        metavar="FILE",
        help="YAML: PJSIP/bob -> answer|busy|congestion|noanswer|unavailable or {answer_after: N}",
    )
    parser.add_argument("--script", metavar="FILE", help="place one call driven by a caller script")
    parser.add_argument(
        "--tls-cert", metavar="PEM", help="serve https/wss with this certificate (chain)"
    )
    parser.add_argument("--tls-key", metavar="PEM", help="the private key of --tls-cert")
    parser.add_argument(
        "--access-log",
        metavar="FILE",
        help="one JSON line per request: method, path, query keys, auth kind, status",
    )
    parser.add_argument(
        "--outbound-url",
        metavar="WS_URL",
        help="also connect out to this server as Asterisk's outbound ARI websocket does "
        "(ari.conf type=outbound_websocket; presents the first user's credentials)",
    )
    parser.add_argument(
        "--outbound-apps",
        default="channel-aa",
        metavar="APP[,APP]",
        help="the apps of --outbound-url (default %(default)s)",
    )
    parser.add_argument(
        "--outbound-type",
        choices=("persistent", "per_call_config"),
        default="persistent",
        help="websocket_client.conf connection_type (default %(default)s)",
    )
    parser.set_defaults(func=run)
