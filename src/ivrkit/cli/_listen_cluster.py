"""``ivrkit run --listen --cluster``: listening workers that share leases and checkpoints.

Theory of operation
-------------------
With outbound websockets Asterisk, not ivrkit, decides which worker serves a call: it
sends a call's events to the one socket that carries the call's app, and that socket is
the only way back to the call (REST travels over it as ``RESTRequest`` frames). What
Asterisk 20.20.1 does, and so what a cluster of listening workers is:

* One ``websocket_client.conf`` connection has one ``uri`` (res/res_websocket_client.c,
  ``ast_websocket_client_connect`` connects to ``wc->uri`` only), and an app may be in
  one ``outbound_websocket`` section only (res/ari/config.c: "Outbound websocket '%s' is
  also trying to register app '%s'" marks the section invalid). So several workers
  sit behind one address: a TCP or HTTP load balancer (HAProxy, nginx) in front of them.
* ``per_call_config``: ``Stasis()`` opens one socket per call
  (``ast_ari_create_per_call_websocket``), so the balancer spreads the calls. When the
  socket drops mid-call ("Websocket disconnected.  Reconnecting",
  ``outbound_session_handler_thread``), Asterisk connects again to the same ``uri``,
  ``reconnect_attempts`` tries ``reconnect_interval`` ms apart; the balancer sends it
  to a live worker. Only if every try fails is the call marked failed and continued in
  the dialplan (``stasis_app_control_mark_failed`` + ``stasis_app_control_continue``).
* ``persistent``: one socket per section for all its calls, retried forever
  (``reconnect_attempts`` defaults to ``INT_MAX`` for it); behind a balancer that is
  active/standby: the worker that holds the socket serves every call, and when it dies
  the socket comes back through the balancer to another worker.

Either way a dead worker's socket is closed by its kernel at once (kill -9, OOM), so
failover does not wait for the lease: it takes the reconnect and the client's re-sync,
which finds the call in Stasis. The worker a socket reaches is Asterisk's choice, so
that worker owns the call from then on: it opens the call in Redis as one Asterisk gave
it (a new fencing token; the checkpoint, with the collected data, resumes it), and a
previous owner still alive (only its socket was lost) is fenced out at its next write,
drops the call, and does not fight for it. A worker that comes back gets only the
sockets Asterisk opens to it.

Invariants:
1. A call found on a socket is ours: ``open(..., adopted=False)``, whatever the re-sync
   says (contrast broadcast mode over ``--url``, where a re-sync may find a call that a
   live peer is moving away and must leave it alone).
2. A client whose socket went without the call's ``StasisEnd`` leaves its calls' keys
   and checkpoints in Redis (``AsteriskCalls.left``): the call goes on elsewhere.
3. Behind a balancer there is no orphan scan: a listening worker cannot reach a call
   that is not on one of its sockets, and a scan would only take calls from a live
   worker whose heartbeat was late (a loaded host), which would then drop them while
   their sockets still lead to it. A dead worker's checkpoints wait in Redis until
   Asterisk's reconnect brings each call to someone; the key TTL forgets the rest.
4. ``--cluster-mode broadcast`` (one persistent section per worker, each its own app
   ``<app>-<worker>``, ``StasisBroadcast`` picking): the worker claims the offers that
   come over its socket, and takes a dead worker's calls over as broadcast mode over
   ``--url`` does: after the lease, in Redis, then ``POST /channels/{id}/move`` into its
   own app over its own socket. A re-sync there may find a call a live peer is moving
   away, which it leaves alone (``adopted=True``).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.cli import CliError

if TYPE_CHECKING:
    from ivrkit.ari import AriClient, OutboundSession
    from ivrkit.cli._cluster import Connection
    from ivrkit.cluster import AsteriskCalls, ClusterStore, Opening
    from ivrkit.ivr.runner import MenuRunner

logger = logging.getLogger("ivrkit.cluster")


class SocketCalls:
    """The calls of one outbound socket's client in the cluster store (invariants 1, 2)."""

    def __init__(self, view: AsteriskCalls, *, given: bool = True) -> None:
        self.view = view
        self.given = given
        self._open: set[str] = set()

    @property
    def on_lost(self) -> Callable[[str], Awaitable[None]] | None:
        return self.view.on_lost

    @on_lost.setter
    def on_lost(self, handler: Callable[[str], Awaitable[None]] | None) -> None:
        self.view.on_lost = handler

    async def open(self, channel_id: str, *, adopted: bool = False) -> Opening:
        # behind a balancer, adopted or not, Asterisk brought this call to our socket:
        # it is ours (1); in broadcast mode a re-sync may find a call a peer is moving
        opening = await self.view.open(channel_id, adopted=adopted and not self.given)
        if opening.action != "skip":
            self._open.add(channel_id)
        return opening

    def changed(self, channel_id: str, snapshot: Callable[[], Mapping[str, Any]]) -> None:
        self.view.changed(channel_id, snapshot)

    def closed(self, channel_id: str) -> None:
        self._open.discard(channel_id)
        self.view.closed(channel_id)

    def socket_gone(self) -> int:
        """The client closed: the calls still open go on elsewhere (2); how many."""
        count = len(self._open)
        for channel_id in self._open:
            self.view.left(channel_id)
        self._open.clear()
        return count


class ListeningCluster:
    """One listening worker's part of the cluster: its store, and in broadcast mode its
    claims and takeovers over the persistent sockets (module docstring)."""

    def __init__(self, store: ClusterStore, app: str, *, broadcast: bool) -> None:
        self.store = store
        self.app = app  # the app this worker serves (``<app>-<worker>`` in broadcast)
        self.broadcast = broadcast
        self.draining = False
        self._by_asterisk: dict[str, Connection] = {}
        store.on_orphan = self._orphan

    def calls(self, session: OutboundSession) -> SocketCalls:
        view = self.store.calls(session.asterisk_id or session.peer)
        return SocketCalls(view, given=not self.broadcast)

    def attach(self, client: AriClient, session: OutboundSession, runner: MenuRunner) -> None:
        """Broadcast mode: claim the offers that come over a persistent socket (3)."""
        if not self.broadcast or session.connection_type != "persistent":
            return
        from ivrkit.cli._cluster import Connection, watch_broadcasts

        conn = Connection(session.peer, self.app, client, runner)
        watch_broadcasts(conn, lambda: not self.draining)
        self._by_asterisk[session.asterisk_id] = conn

    def detach(self, client: AriClient, session: OutboundSession) -> None:
        conn = self._by_asterisk.get(session.asterisk_id)
        if conn is not None and conn.client is client:
            del self._by_asterisk[session.asterisk_id]

    def drain(self) -> None:
        self.draining = True  # a draining worker claims nothing and takes nothing over
        self.store.takeover = False

    async def _orphan(
        self, asterisk_id: str, channel_id: str, cp: Mapping[str, Any] | None
    ) -> None:
        # broadcast mode only (invariant 3: behind a balancer the store never scans)
        from ivrkit.cli._cluster import take_over

        conn = self._by_asterisk.get(asterisk_id)
        if conn is None or not await take_over(conn, channel_id, cp):
            await self.store.release(asterisk_id, channel_id)


async def start_store(args: argparse.Namespace, app: str) -> ListeningCluster:
    """Join the cluster of ``--cluster`` as ``--worker`` (a CliError if Redis is away)."""
    from ivrkit.cluster import ClusterError, ClusterStore

    if args.cluster_mode == "standby":
        raise CliError(
            "--cluster-mode standby does not apply to --listen",
            "with --listen Asterisk picks the worker by where its socket goes: a load "
            "balancer in front of the workers is active/standby for a persistent socket; "
            "drop --cluster-mode. See docs/cluster.md",
        )
    broadcast = args.cluster_mode == "broadcast"
    store = ClusterStore(
        args.cluster,
        worker=worker_name(args),
        name=app,
        lease_ttl=args.lease_ttl,
        password=os.environ.get("IVRKIT_REDIS_PASSWORD"),
        # behind a balancer nobody can reach a call but through its socket: no orphan
        # scan, which would only fence out a live worker whose heartbeat was late (3)
        takeover=broadcast,
    )
    cluster = ListeningCluster(store, served_app(args, app), broadcast=broadcast)
    try:
        await store.start()
    except ClusterError as exc:
        raise CliError("can't join the cluster", str(exc)) from exc
    return cluster


def served_app(args: argparse.Namespace, app: str) -> str:
    """The app this worker serves: ``<app>-<worker>`` in broadcast mode, else ``app``."""
    if args.cluster and args.cluster_mode == "broadcast":
        return f"{app}-{worker_name(args)}"
    return app


def worker_name(args: argparse.Namespace) -> str:
    return str(args.worker or socket.gethostname().split(".")[0] or "worker")


def banner_suffix(args: argparse.Namespace) -> str:
    if not args.cluster:
        return ""
    mode = "broadcast mode" if args.cluster_mode == "broadcast" else "behind a balancer"
    return f"; worker {worker_name(args)!r} of cluster {args.cluster}, {mode}"


__all__ = [
    "ListeningCluster",
    "SocketCalls",
    "banner_suffix",
    "served_app",
    "start_store",
    "worker_name",
]
