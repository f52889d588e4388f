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
import logging
import ssl
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.cli import CliError
from ivrkit.cli._lifecycle import ServiceControl, StopPolicy
from ivrkit.cli._listen_cluster import SocketCalls, banner_suffix, start_store
from ivrkit.cli._loop import speedups_note
from ivrkit.cli._observability import Observability, parse_listen
from ivrkit.cli._presence import ListenerPresence

if TYPE_CHECKING:
    from ivrkit.ari import AriClient, OutboundSession
    from ivrkit.cli._listen_cluster import ListeningCluster
    from ivrkit.ivr import MenuTree
    from ivrkit.ivr.runner import MenuRunner


logger = logging.getLogger("ivrkit.cluster")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def add_listen_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="accept Asterisk's outbound ARI websockets (ari.conf type=outbound_websocket, "
        "Asterisk 20.15+/21.10+/22.5+) on HOST:PORT (host default 127.0.0.1) instead of "
        "connecting to --url; Asterisk must present ARI_USER/ARI_PASSWORD "
        "(websocket_client.conf username/password); with --cluster, one of several "
        "workers behind a TCP load balancer (or --cluster-mode broadcast). See "
        "docs/cluster.md",
    )
    p.add_argument("--listen-cert", metavar="PEM", help="serve wss:// with this certificate")
    p.add_argument("--listen-key", metavar="PEM", help="the private key of --listen-cert")


class LiveRunners:
    """The runners of the connections open right now, behind ``Served``'s one face."""

    def __init__(
        self,
        tree: MenuTree,
        handlers: Mapping[str, Any],
        on_drain: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_drain = on_drain
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
        self._on_drain()  # a draining cluster worker claims and takes over nothing
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
    if args.url:
        raise CliError(
            "--listen takes no --url", "with --listen Asterisk connects to us; drop --url"
        )
    if not args.cluster and args.cluster_mode is not None:
        raise CliError("--cluster-mode needs --cluster redis://...")
    watch = Observability.from_args(args)
    try:
        return asyncio.run(  # not uvloop: cli/_loop.speedups_note
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
                watch=watch,
                cluster=args if args.cluster else None,
            )
        )
    except KeyboardInterrupt:
        return 130
    finally:
        watch.close_journey()


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
    watch: Observability | None = None,
    cluster: argparse.Namespace | None = None,
) -> int:
    """Listen until SIGTERM/SIGINT (then the stop policy) or cancellation.

    ``watch``: ``--metrics``/``--journey``, as in the inbound mode. ``cluster``: the
    ``--cluster``/``--worker``/``--lease-ttl`` settings; every call then takes a lease
    and is checkpointed in Redis (cli/_listen_cluster.py).
    """
    from ivrkit.ari import OutboundListener
    from ivrkit.ivr.runner import MenuRunner

    watch = watch or Observability(None, None)
    joined: ListeningCluster | None = None
    if cluster is not None:
        joined = await start_store(cluster, apps[0])
        apps = (joined.app,)  # broadcast mode: <app>-<worker>
    live = LiveRunners(tree, handlers, on_drain=joined.drain if joined else lambda: None)
    control = ServiceControl(live, policy, reload=reload, say=_say)
    by_client: dict[int, tuple[MenuRunner, SocketCalls | None]] = {}
    presence = ListenerPresence()

    def on_client(client: AriClient, session: OutboundSession) -> None:
        calls = None if joined is None else joined.calls(session)
        runner = MenuRunner(
            live.tree,
            handlers=live.handlers,
            observer=watch.observer,
            transcript=watch.transcript,
            store=calls,
        )
        runner.attach(client)
        if joined is not None:
            joined.attach(client, session, runner)
        by_client[id(client)] = (runner, calls)
        live.add(runner)
        presence.added(client, session)

    def on_closed(client: AriClient, session: OutboundSession) -> None:
        presence.removed(client)
        if joined is not None:
            joined.detach(client, session)
        runner, calls = by_client.pop(id(client), (None, None))
        if runner is not None:
            live.remove(runner)
        if calls is not None and calls.socket_gone():
            logger.info("%s: socket gone mid-call; its checkpoint stays in Redis", session.label)

    async def on_ended(client: AriClient, session: OutboundSession) -> None:
        served = by_client.get(id(client))
        if served is not None:
            await served[0].wait_no_calls()

    listener = OutboundListener(
        apps=apps,
        credentials=credentials,
        on_client=on_client,
        on_closed=on_closed,
        on_ended=on_ended,
        host=host,
        port=port,
        ssl_context=ssl_context,
        client_options={"observer": watch.observer} if watch.observer is not None else None,
    )
    try:
        accepting = {"accepting calls": lambda: not control.stop_requested}
        async with watch.serving(presence, accepting):
            if watch.metrics is not None:
                watch.metrics.ws_up.set_function(presence.sockets_up)
            try:
                await listener.start()
            except OSError as exc:
                raise CliError(f"can't listen on {host}:{port}", exc.strerror or str(exc)) from exc
            presence.listening = True
            started()
            try:
                await _listen(tree, apps, listener, control, signals, cluster)
            finally:
                presence.listening = False
                await listener.aclose()
    finally:
        if joined is not None:
            await joined.store.aclose()
    return 0


async def _listen(
    tree: MenuTree,
    apps: tuple[str, ...],
    listener: Any,
    control: ServiceControl,
    signals: bool,
    cluster: argparse.Namespace | None,
) -> None:
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    with control.signals() if signals else contextlib.nullcontext():
        _say(
            f"ivrkit run: serving {tree.source} to Asterisk's outbound ARI websockets "
            f"on {listener.scheme}://{listener.host}:{listener.port}/ as app "
            f"{', '.join(map(repr, apps))}{banner_suffix(cluster) if cluster else ''} "
            "(Ctrl-C to stop)" + speedups_note(loop=False)
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
