"""``ivrkit run --listen HOST:PORT``: serve Asterisk's outbound ARI websockets.

Asterisk 20.15+/21.10+/22.5+ connects to us (``ari.conf`` ``type=outbound_websocket``;
docs/cluster.md "Outbound websockets"). The listener (``ivrkit.ari._listener``) turns
each connection into an ``AriClient``; here each client gets its own ``MenuRunner``
(one per persistent connection, one per call with ``per_call_config``), and stopping,
draining and reloading (cli/_lifecycle.py) act on all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.cli import CliError
from ivrkit.cli._lifecycle import ServiceControl, StopPolicy
from ivrkit.cli._observability import parse_listen

if TYPE_CHECKING:
    from ivrkit.ari import AriClient, OutboundSession
    from ivrkit.ivr import MenuTree
    from ivrkit.ivr.runner import MenuRunner


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_listen_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="accept Asterisk's outbound ARI websockets (ari.conf type=outbound_websocket, "
        "Asterisk 20.15+/21.10+/22.5+) on HOST:PORT (host default 127.0.0.1) instead of "
        "connecting to --url; Asterisk must present ARI_USER/ARI_PASSWORD "
        "(websocket_client.conf username/password). See docs/cluster.md",
    )
    p.add_argument("--listen-cert", metavar="PEM", help="serve wss:// with this certificate")
    p.add_argument("--listen-key", metavar="PEM", help="the private key of --listen-cert")


class LiveRunners:
    """The runners of the connections open right now, behind ``Served``'s one face."""

    def __init__(self, tree: MenuTree, handlers: Mapping[str, Any]) -> None:
        #: what a connection opened from now on serves (a reload replaces it)
        self.tree = tree
        self.handlers = dict(handlers)
        self.runners: set[MenuRunner] = set()
        self.draining = False
        self._refused_gone = 0

    @property
    def live_calls(self) -> int:
        return sum(r.live_calls for r in self.runners)

    @property
    def calls_refused(self) -> int:
        return self._refused_gone + sum(r.calls_refused for r in self.runners)

    def add(self, runner: MenuRunner) -> None:
        if self.draining:
            runner.refuse_new_calls()  # a call that arrives while we stop goes back
        self.runners.add(runner)

    def remove(self, runner: MenuRunner) -> None:
        if runner in self.runners:
            self.runners.discard(runner)
            self._refused_gone += runner.calls_refused

    def replace_menu(self, tree: MenuTree, handlers: Mapping[str, Any] | None = None) -> None:
        self.tree = tree
        if handlers is not None:
            self.handlers = dict(handlers)
        for runner in self.runners:
            runner.replace_menu(tree, handlers)

    def refuse_new_calls(self) -> None:
        self.draining = True
        for runner in self.runners:
            runner.refuse_new_calls()

    async def release_calls(self) -> int:
        counts = await asyncio.gather(*(r.release_calls() for r in list(self.runners)))
        return sum(counts)

    async def wait_no_calls(self) -> None:
        await asyncio.gather(*(r.wait_no_calls() for r in list(self.runners)))


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.listen_cert and not args.listen_key:
        return None
    if not (args.listen_cert and args.listen_key):
        raise CliError("incomplete TLS settings", "give both --listen-cert and --listen-key")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(args.listen_cert, args.listen_key)
    except (OSError, ssl.SSLError) as exc:
        raise CliError("can't load the --listen certificate", str(exc)) from exc
    return context


def run_listening(
    args: argparse.Namespace,
    tree: MenuTree,
    handlers: dict[str, Any],
    policy: StopPolicy,
    credentials: Any,
    reload: Callable[[], tuple[MenuTree, dict[str, Any]]],
    started: Callable[[], None],
) -> int:
    host, port = parse_listen(args.listen, "--listen")
    context = _ssl_context(args)
    if args.url or args.cluster:
        raise CliError(
            "--listen takes no --url or --cluster",
            "with --listen Asterisk connects to us; drop --url/--cluster",
        )
    if args.metrics or args.journey:
        raise CliError(
            "--metrics and --journey do not work with --listen yet",
            "run without them, or connect to Asterisk with --url",
        )
    try:
        return asyncio.run(
            serve(
                tree,
                handlers,
                (args.app,),
                credentials,
                host,
                port,
                policy,
                context,
                reload,
                started,
            )
        )
    except KeyboardInterrupt:
        return 130


async def serve(
    tree: MenuTree,
    handlers: dict[str, Any],
    apps: tuple[str, ...],
    credentials: Any,
    host: str,
    port: int,
    policy: StopPolicy,
    ssl_context: ssl.SSLContext | None = None,
    reload: Callable[[], tuple[MenuTree, dict[str, Any]]] | None = None,
    started: Callable[[], None] = lambda: None,
    *,
    signals: bool = True,
) -> int:
    """Listen until SIGTERM/SIGINT (then the stop policy) or cancellation."""
    from ivrkit.ari import OutboundListener
    from ivrkit.ivr.runner import MenuRunner

    live = LiveRunners(tree, handlers)
    control = ServiceControl(live, policy, reload=reload, say=_say)
    by_client: dict[int, MenuRunner] = {}

    def on_client(client: AriClient, session: OutboundSession) -> None:
        runner = MenuRunner(live.tree, handlers=live.handlers)
        runner.attach(client)
        by_client[id(client)] = runner
        live.add(runner)

    def on_closed(client: AriClient, session: OutboundSession) -> None:
        runner = by_client.pop(id(client), None)
        if runner is not None:
            live.remove(runner)

    async def on_ended(client: AriClient, session: OutboundSession) -> None:
        runner = by_client.get(id(client))
        if runner is not None:
            await runner.wait_no_calls()

    listener = OutboundListener(
        apps=apps,
        credentials=credentials,
        on_client=on_client,
        on_closed=on_closed,
        on_ended=on_ended,
        host=host,
        port=port,
        ssl_context=ssl_context,
    )
    try:
        await listener.start()
    except OSError as exc:
        raise CliError(f"can't listen on {host}:{port}", exc.strerror or str(exc)) from exc
    started()
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    try:
        with control.signals() if signals else contextlib.nullcontext():
            _say(
                f"ivrkit run: serving {tree.source} to Asterisk's outbound ARI websockets "
                f"on {listener.scheme}://{host}:{listener.port}/ as app "
                f"{', '.join(map(repr, apps))} (Ctrl-C to stop)"
            )
            try:
                if await control.wait(lambda: never):
                    await control.stop()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()
                control.request_stop("cancelled")
                await control.stop()
                raise
    finally:
        await listener.aclose()
    return 0
