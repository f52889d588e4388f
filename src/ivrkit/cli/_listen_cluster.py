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
3. The orphan scan moves nothing (a listening worker cannot reach a call that is not on
   one of its sockets); it keeps a dead worker's checkpoints until Asterisk's reconnect
   brings the call to someone, and Redis's key TTL forgets the rest.
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
    from ivrkit.cluster import AsteriskCalls, ClusterStore, Opening

logger = logging.getLogger("ivrkit.cluster")


class SocketCalls:
    """The calls of one outbound socket's client in the cluster store (invariants 1, 2)."""

    def __init__(self, view: AsteriskCalls) -> None:
        self.view = view
        self._open: set[str] = set()

    @property
    def on_lost(self) -> Callable[[str], Awaitable[None]] | None:
        return self.view.on_lost

    @on_lost.setter
    def on_lost(self, handler: Callable[[str], Awaitable[None]] | None) -> None:
        self.view.on_lost = handler

    async def open(self, channel_id: str, *, adopted: bool = False) -> Opening:
        # adopted or not, Asterisk brought this call to our socket: it is ours (1)
        opening = await self.view.open(channel_id, adopted=False)
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


async def start_store(args: argparse.Namespace, app: str) -> ClusterStore:
    """Join the cluster of ``--cluster`` as ``--worker`` (a CliError if Redis is away)."""
    from ivrkit.cluster import ClusterError, ClusterStore

    if args.cluster_mode is not None:
        raise CliError(
            f"--cluster-mode {args.cluster_mode} does not apply to --listen",
            "with --listen Asterisk picks the worker by where its socket goes (a load "
            "balancer in front of the workers); drop --cluster-mode. See docs/cluster.md",
        )
    store = ClusterStore(
        args.cluster,
        worker=worker_name(args),
        name=app,
        lease_ttl=args.lease_ttl,
        password=os.environ.get("IVRKIT_REDIS_PASSWORD"),
    )

    async def keep(asterisk_id: str, channel_id: str, cp: Mapping[str, Any] | None) -> None:
        # invariant 3: the checkpoint stays for whoever Asterisk's reconnect reaches
        logger.info(
            "cluster: call %s/%s of a dead worker waits for Asterisk's socket",
            asterisk_id,
            channel_id,
        )

    store.on_orphan = keep
    try:
        await store.start()
    except ClusterError as exc:
        raise CliError("can't join the cluster", str(exc)) from exc
    return store


def worker_name(args: argparse.Namespace) -> str:
    return str(args.worker or socket.gethostname().split(".")[0] or "worker")


def banner_suffix(args: argparse.Namespace) -> str:
    return f"; worker {worker_name(args)!r} of cluster {args.cluster}" if args.cluster else ""


__all__ = ["SocketCalls", "banner_suffix", "start_store", "worker_name"]
