"""``ivrkit run`` over several Asterisks and as one worker of a cluster (docs/cluster.md).

Theory of operation
-------------------
One connection (``AriClient`` + ``MenuRunner``) per ``--url``; calls are keyed by the
Asterisk's entity id, so channel ids that two Asterisks both use never meet. With
``--cluster redis://...`` a :class:`~ivrkit.cluster.ClusterStore` holds every call's
owner lease and checkpoint, and one of two modes decides who gets a new call:

* ``broadcast`` (Asterisk 20.20+, 22.10+, 23.4+): each worker registers its own app name
  ``<app>-<worker>`` and claims the ``CallBroadcast`` offers of
  ``StasisBroadcast(timeout,^<app>-)``. A 409 means another worker was faster (normal);
  a draining worker claims nothing. When a worker dies, a survivor connected to the same
  Asterisk takes each of its calls over (Redis decides who, atomically), stops the prompt
  that may still be playing, and moves the channel into its own app
  (``POST /channels/{id}/move``); the StasisStart there resumes the call at its
  checkpoint: the re-greeting of its menu, its data kept.
* ``standby`` (older Asterisk): one app name; only the worker holding the name's lease
  in Redis connects. The others wait; when the lease lapses one of them takes it,
  connects, and the client's re-sync adopts the channels left in the app, which resume
  from their checkpoints the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivrkit.cli import CliError
from ivrkit.cli._lifecycle import ServiceControl, StopPolicy
from ivrkit.cli._loop import speedups_note
from ivrkit.cli._observability import Observability
from ivrkit.cli._presence import ClientsPresence

if TYPE_CHECKING:
    from ivrkit.ari import AriClient, CallBroadcast, ConnectionConfig
    from ivrkit.cluster import AsteriskCalls, ClusterStore
    from ivrkit.ivr import MenuTree
    from ivrkit.ivr.runner import MenuRunner

logger = logging.getLogger("ivrkit.cluster")

RESUME_ARG = "ivrkit-resume"


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class Connection:
    """One Asterisk: its client, the runner of its calls, and their view in the store."""

    url: str
    app: str
    client: AriClient
    runner: MenuRunner
    calls: AsteriskCalls | None = None
    asterisk_id: str = ""
    claims: dict[str, int] = field(default_factory=lambda: {"won": 0, "lost": 0, "late": 0})
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)


class Runners:
    """Several runners behind the one face that stopping and reloading need."""

    def __init__(
        self, connections: list[Connection], on_drain: Callable[[], None] = lambda: None
    ) -> None:
        self._runners = [c.runner for c in connections]
        self._on_drain = on_drain
        self.draining = False

    @property
    def live_calls(self) -> int:
        return sum(r.live_calls for r in self._runners)

    @property
    def calls_refused(self) -> int:
        return sum(r.calls_refused for r in self._runners)

    def replace_menu(self, tree: MenuTree, handlers: Mapping[str, Any] | None = None) -> None:
        for runner in self._runners:
            runner.replace_menu(tree, handlers)

    def refuse_new_calls(self) -> None:
        self.draining = True  # a draining worker claims nothing and takes nothing over
        self._on_drain()
        for runner in self._runners:
            runner.refuse_new_calls()

    async def release_calls(self) -> int:
        counts = await asyncio.gather(*(r.release_calls() for r in self._runners))
        return sum(counts)

    async def wait_no_calls(self) -> None:
        await asyncio.gather(*(r.wait_no_calls() for r in self._runners))


def watch_broadcasts(conn: Connection, accepting: Any) -> None:
    """Claim the CallBroadcast offers on ``conn`` for its app while ``accepting()``."""
    from ivrkit.ari import AriError, CallBroadcast, Conflict, NotFound

    async def claim(offer: CallBroadcast) -> None:
        try:
            await conn.client.events.claim(offer.channel.id, conn.app)
            conn.claims["won"] += 1
        except Conflict:  # another worker was faster: the normal case
            conn.claims["lost"] += 1
        except NotFound:  # the broadcast timed out or the caller left
            conn.claims["late"] += 1
        except AriError as exc:
            logger.warning("claim of %s failed: %s", offer.channel.id, exc)

    def offered(offer: CallBroadcast) -> None:
        if not accepting():
            return
        # one task per offer: a slow claim must not hold up the next offer's
        task = asyncio.get_running_loop().create_task(claim(offer))
        conn._tasks.add(task)
        task.add_done_callback(conn._tasks.discard)

    conn.client.on(CallBroadcast, offered)


async def take_over(
    conn: Connection, channel_id: str, checkpoint: Mapping[str, Any] | None
) -> bool:
    """Bring a dead worker's call into our app (broadcast mode); False if it is gone."""
    from ivrkit.ari import Conflict, NotFound
    from ivrkit.ivr.runner import previous_prompt

    client = conn.client
    playing = None if checkpoint is None else previous_prompt(checkpoint)
    if playing is not None:
        # a prompt may still be playing: the move would wait behind it (command queue)
        await client.stop_playback_quietly(playing)
    try:
        await client.channels.move(channel_id, conn.app, app_args=RESUME_ARG)
    except (NotFound, Conflict):  # the caller left, or the call went back to the dialplan
        return False
    return True


@dataclass(frozen=True)
class ClusterOptions:
    urls: tuple[str, ...]
    app: str
    cluster: str | None
    worker: str
    mode: str
    lease_ttl: float


def options_from(args: argparse.Namespace) -> ClusterOptions:
    worker = args.worker or socket.gethostname().split(".")[0] or "worker"
    if args.cluster is None and args.cluster_mode == "standby":
        raise CliError("--cluster-mode standby needs --cluster redis://...")
    return ClusterOptions(
        urls=tuple(args.url),
        app=args.app,
        cluster=args.cluster,
        worker=worker,
        mode=args.cluster_mode or "broadcast",
        lease_ttl=args.lease_ttl,
    )


async def serve(
    tree: MenuTree,
    handlers: dict[str, Any],
    configs: list[ConnectionConfig],
    opts: ClusterOptions,
    policy: StopPolicy,
    *,
    reload: Callable[[], tuple[MenuTree, dict[str, Any]]] | None = None,
    started: Callable[[], None] = lambda: None,
    signals: bool = True,
    watch: Observability | None = None,
) -> int:
    """Serve every Asterisk until a stop request; see the module docstring.

    ``reload`` re-reads the menu on SIGHUP; ``started`` runs once every connection is up;
    ``watch``: ``--metrics``/``--journey`` (``/readyz``: every client ready, not stopping;
    a standby worker serves them once it is active).
    """
    from ivrkit.ari import AriClient, AriError
    from ivrkit.cluster import ClusterError, ClusterStore
    from ivrkit.ivr.runner import MenuRunner

    watch = watch or Observability(None, None)
    presence = ClientsPresence()

    store: ClusterStore | None = None
    renewing: asyncio.Task[None] | None = None
    if opts.cluster is not None:
        store = ClusterStore(
            opts.cluster,
            worker=opts.worker,
            name=opts.app,
            lease_ttl=opts.lease_ttl,
            password=os.environ.get("IVRKIT_REDIS_PASSWORD"),
            takeover=opts.mode == "broadcast",
        )
        try:
            await store.start()
        except ClusterError as exc:
            raise CliError("can't join the cluster", str(exc)) from exc
    try:
        if store is not None and opts.mode == "standby":
            renewing = await _wait_for_app(store, opts)
        connections: list[Connection] = []
        for config in configs:
            client = AriClient(config, observer=watch.observer)
            presence.add(client)
            calls: AsteriskCalls | None = None
            if store is not None:

                async def resolve(c: AriClient = client, url: str = config.base_url) -> str:
                    try:
                        return (await c.asterisk.info()).entity_id or url
                    except AriError:
                        return url

                calls = store.calls(resolve)
            runner = MenuRunner(
                tree,
                handlers=handlers,
                store=calls,
                observer=watch.observer,
                transcript=watch.transcript,
            )
            runner.attach(client)
            connections.append(Connection(config.base_url, config.apps[0], client, runner, calls))

        def no_takeovers() -> None:
            if store is not None:
                store.takeover = False

        group = Runners(connections, no_takeovers)
        if opts.mode == "broadcast":
            for conn in connections:
                watch_broadcasts(conn, lambda: not group.draining)
        control = ServiceControl(group, policy, reload=reload, say=_say)
        async with contextlib.AsyncExitStack() as stack:
            accepting = {"accepting calls": lambda: not control.stop_requested}
            await stack.enter_async_context(watch.serving(presence, accepting))
            for conn in connections:
                try:
                    await stack.enter_async_context(conn.client)
                except AriError as exc:
                    raise CliError(f"can't connect to {conn.url}", str(exc)) from exc
            by_asterisk: dict[str, Connection] = {}
            for conn in connections:
                if conn.calls is not None:
                    conn.asterisk_id = await conn.calls.resolve()
                    by_asterisk[conn.asterisk_id] = conn
            if store is not None:

                async def orphan(ast: str, channel: str, cp: Mapping[str, Any] | None) -> None:
                    conn = by_asterisk.get(ast)
                    if conn is None or not await take_over(conn, channel, cp):
                        assert store is not None
                        await store.release(ast, channel)

                store.on_orphan = orphan
            started()
            _say(_banner(tree, opts, connections))
            with control.signals() if signals else contextlib.nullcontext():
                stop = await control.wait(lambda: _any_stopped(connections))
                if stop:
                    await control.stop(lambda: _any_stopped(connections))
    finally:
        if renewing is not None:
            renewing.cancel()
            await asyncio.gather(renewing, return_exceptions=True)
        if store is not None:
            await store.aclose()
    return 0


async def _any_stopped(connections: list[Connection]) -> None:
    waits = [asyncio.ensure_future(c.client.wait_stopped()) for c in connections]
    try:
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in waits:
            task.cancel()


async def _wait_for_app(store: ClusterStore, opts: ClusterOptions) -> asyncio.Task[None]:
    """Standby: wait until we hold the app name's lease; returns the task renewing it."""
    announced = False
    while not await _hold(store, opts.app):
        if not announced:
            _say(f"ivrkit run: standby for ARI app {opts.app!r} (another worker is active)")
            announced = True
        await asyncio.sleep(opts.lease_ttl / 3)

    async def renew() -> None:
        while True:
            await asyncio.sleep(opts.lease_ttl / 3)
            # None: Redis is away; we keep the name and serve on, and re-assert the
            # lease when it is back (the standby waits a TTL of grace before it may
            # take it: ClusterStore.hold_app)
            if await _hold(store, opts.app) is False:
                # another worker took the name: it has the calls (ApplicationReplaced
                # will stop our client); we must not fight for them
                logger.warning("standby: lost the application lease")
                return

    return asyncio.get_running_loop().create_task(renew())


async def _hold(store: ClusterStore, app: str) -> bool | None:
    """Whether we hold the app name's lease now; None if Redis did not answer."""
    from redis import exceptions as redis_errors

    try:
        return await store.hold_app(app)
    except (redis_errors.RedisError, OSError):
        return None


def _banner(tree: MenuTree, opts: ClusterOptions, connections: list[Connection]) -> str:
    where = ", ".join(f"{c.url} ({c.asterisk_id or 'no id'})" for c in connections)
    role = (
        f"worker {opts.worker!r} of cluster {opts.cluster}, {opts.mode} mode"
        if opts.cluster
        else "no cluster"
    )
    app = connections[0].app if connections else opts.app
    return (
        f"ivrkit run: serving {tree.source} as ARI app {app!r} at {where}; {role} (Ctrl-C to stop)"
        + speedups_note()
    )


def add_cluster_options(p: argparse.ArgumentParser) -> None:
    """``--cluster``, ``--worker``, ``--cluster-mode``, ``--lease-ttl`` for ``ivrkit run``."""
    p.add_argument(
        "--cluster",
        metavar="redis://HOST:PORT/DB",
        help="join a cluster of workers that share call leases and checkpoints in Redis "
        "(password from IVRKIT_REDIS_PASSWORD, never the URL); docs/cluster.md",
    )
    p.add_argument(
        "--worker",
        metavar="NAME",
        help="this worker's name (default: the host name); broadcast mode registers the "
        "ARI app <app>-<worker>",
    )
    p.add_argument(
        "--cluster-mode",
        choices=("broadcast", "standby"),
        help="broadcast: claim StasisBroadcast offers (Asterisk 20.20+/22.10+/23.4+); "
        "standby: one app name held by the active worker (older Asterisk); default "
        "broadcast (with --listen: none, Asterisk's socket picks the worker)",
    )
    p.add_argument(
        "--lease-ttl",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="how long a silent worker keeps its calls before a peer takes them over "
        "(default %(default)g)",
    )


def app_name(opts: ClusterOptions) -> str:
    """The ARI application this worker registers."""
    if opts.cluster is not None and opts.mode == "broadcast":
        return f"{opts.app}-{opts.worker}"
    return opts.app
