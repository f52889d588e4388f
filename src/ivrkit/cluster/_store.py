"""ClusterStore: owner leases and batched checkpoints in Redis, for every call we serve.

Theory of operation
-------------------
A worker incarnation (``owner`` = ``<worker>/<random>``: a restarted worker is a new
owner) keeps a heartbeat key alive for ``lease_ttl``. Each call it serves is a hash in
Redis holding its owner, a fencing token and the engine's latest checkpoint. The
runner reports changes with ``changed(call, snapshot)``; nothing is written then: one
background task wakes, waits ``flush_interval`` so that a burst of changes (a key, a
stop, the next prompt) becomes one write, and sends every dirty call's *latest*
checkpoint plus the heartbeat in one pipeline. So every state change is covered (the
state written is always the newest) for the cost of one round trip per batch, not per
event. The runner never waits on Redis.

Invariants:
1. Writes are fenced: each carries the token the call was given; a refused write means
   another worker took the call over, and the call is reported *lost* (``on_lost``):
   the runner drops it without a single request (split brain: one wins, one backs off).
2. Redis being away never touches a call: changes stay dirty and are written when it
   is back; a call that arrives while Redis is away is served at once and registered
   later. When Redis is back (or our heartbeat finds our lease had lapsed: a long
   outage, a restart that lost the data), the next write re-asserts *every* live call,
   changed or not, so a restart without persistence loses no call (a missing key is
   re-created by its live owner).
3. A dead owner's calls (heartbeat gone) are taken over by exactly one survivor, by an
   atomic script, and handed to ``on_orphan``. After Redis comes back, or our own lease
   is found lapsed, no orphan scan and no grab of an application name runs for one TTL
   (the grace): every live worker has renewed its heartbeat by then (retries while Redis
   is away are at most a third of a TTL apart), so a lease that only expired on Redis's
   wall clock during the outage never makes a live worker's calls look orphaned.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from redis import exceptions as redis_errors
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ivrkit.cluster import _scripts

logger = logging.getLogger("ivrkit.cluster")

Snapshot = Callable[[], Mapping[str, Any]]
LostHandler = Callable[[str], Awaitable[None]]
OrphanHandler = Callable[[str, str, Mapping[str, Any] | None], Awaitable[None]]

_REDIS_ERRORS = (redis_errors.ConnectionError, redis_errors.TimeoutError, OSError)


class ClusterError(Exception):
    """Cluster mode cannot start (bad URL, Redis unreachable at startup)."""


@dataclass(frozen=True, slots=True)
class Opening:
    """What to do with a call that entered Stasis in our application."""

    action: Literal["start", "resume", "skip"]
    checkpoint: Mapping[str, Any] | None = None


@dataclass(slots=True)
class _Entry:
    view: AsteriskCalls
    channel_id: str
    token: str = ""  # "" until Redis has registered the call
    snapshot: Snapshot | None = None
    # the checkpoint itself when we took the call over: a move resumes it from this even
    # if Redis cannot be asked when the call reaches our app
    taken: Mapping[str, Any] | None = None
    written: str = ""  # the JSON last written, so an unchanged state is not resent
    dirty: bool = False
    leaving: bool = False  # served elsewhere from now on: forget it once written


@dataclass(slots=True)
class StoreStatistics:
    flushes: int = 0
    writes: int = 0
    lost: int = 0
    taken_over: int = 0
    redis_errors: int = 0
    reasserted: int = 0  # live calls re-written in full after Redis came back
    live: int = 0
    pending: int = field(default=0)


def _decode_cp(raw: Any) -> Mapping[str, Any] | None:
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


class ClusterStore:
    """One worker incarnation's view of the cluster; ``async with ClusterStore(...)``."""

    def __init__(
        self,
        url: str,
        *,
        worker: str,
        name: str = "ivrkit",
        lease_ttl: float = 3.0,
        flush_interval: float = 0.02,
        key_ttl: int = 3600,
        password: str | None = None,
        takeover: bool = True,
    ) -> None:
        if "@" in url.partition("://")[2].partition("/")[0]:
            raise ClusterError(
                f"--cluster {url.split('@')[-1]!r}: put no credentials in the Redis URL; "
                "set IVRKIT_REDIS_PASSWORD instead"
            )
        self.url = url
        self.worker = worker
        self.owner = f"{worker}/{os.urandom(3).hex()}"
        self.prefix = f"ivrkit:{name}:"
        self.lease_ttl = lease_ttl
        self.flush_interval = flush_interval
        self.key_ttl = key_ttl
        self.takeover = takeover
        self.on_orphan: OrphanHandler | None = None
        self.stats = StoreStatistics()
        self._redis = Redis.from_url(
            url,
            password=password,
            socket_timeout=max(0.2, lease_ttl / 3),
            socket_connect_timeout=max(0.2, lease_ttl / 3),
            # a connection the server closed (Redis restarted) is dropped and the command
            # sent once more on a new one; a Redis that does not answer is not retried
            # (that is an outage: the caller backs off)
            retry=Retry(NoBackoff(), 1, supported_errors=(redis_errors.ConnectionError,)),
            decode_responses=True,
        )
        self._open = self._redis.register_script(_scripts.OPEN)
        self._save = self._redis.register_script(_scripts.SAVE)
        self._finish = self._redis.register_script(_scripts.FINISH)
        self._takeover = self._redis.register_script(_scripts.TAKEOVER)
        self._heartbeat = self._redis.register_script(_scripts.HEARTBEAT)
        self._orphans = self._redis.register_script(_scripts.ORPHANS)
        self._app_lease = self._redis.register_script(_scripts.APP_LEASE)
        # the Asterisks we are connected to: only their calls can we take over
        self._asterisks: set[str] = set()
        self._entries: dict[str, _Entry] = {}
        # calls we took over and are moving into our app: call -> (token, checkpoint)
        self._taken: dict[str, tuple[str, Mapping[str, Any] | None]] = {}
        self._finished: dict[str, str] = {}  # call -> token, to delete at the next flush
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._healthy = False
        self._grace_until = 0.0  # no orphan scan, no grab of an app name before this
        self._scan_after = 0.0
        self._reassert = False  # the next flush re-writes every live call
        self._apps: set[str] = set()  # application names whose lease we hold
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Connect and announce ourselves; raise ClusterError if Redis is unreachable."""
        try:
            await self._heartbeat(args=[self.prefix, self.owner, int(self.lease_ttl * 1000)])
        except (*_REDIS_ERRORS, redis_errors.RedisError) as exc:
            await self._redis.aclose()
            raise ClusterError(f"cannot reach Redis at {self.url}: {exc}") from exc
        self._healthy = True
        # the first scan waits one TTL (peers that just started renew first); an app
        # name is taken at once: its lease names a holder whose heartbeat is checked
        self._scan_after = asyncio.get_running_loop().time() + self.lease_ttl
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ivrkit-cluster")
        logger.info("cluster: joined %s as %s", self.url, self.owner)

    async def aclose(self) -> None:
        """Flush what is pending (best effort), stop, drop our heartbeat."""
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(*_REDIS_ERRORS, redis_errors.RedisError):
                await self._flush()
        await self._redis.aclose()

    async def __aenter__(self) -> ClusterStore:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def healthy(self) -> bool:
        """False while Redis is unreachable (calls go on; writes wait)."""
        return self._healthy

    @property
    def settled(self) -> bool:
        """Redis answers and the grace after its return (or after our lease lapsed) is
        over: only now may this worker take what another worker might still hold."""
        return self._healthy and asyncio.get_running_loop().time() >= self._grace_until

    def calls(
        self,
        asterisk_id: str | Callable[[], Awaitable[str]],
        on_lost: LostHandler | None = None,
    ) -> AsteriskCalls:
        """The calls of one Asterisk (what the runner of that connection talks to)."""
        return AsteriskCalls(self, asterisk_id, on_lost)

    def statistics(self) -> StoreStatistics:
        self.stats.live = len(self._entries)
        self.stats.pending = sum(1 for e in self._entries.values() if e.dirty) + len(self._finished)
        return self.stats

    # -- per call (through AsteriskCalls) -------------------------------------------

    async def _open_call(
        self, view: AsteriskCalls, channel_id: str, adopted: bool = False
    ) -> Opening:
        call = f"{view.asterisk_id}/{channel_id}"
        entry = _Entry(view, channel_id)
        self._finished.pop(call, None)
        taken = self._taken.pop(call, None)
        try:
            if not self._healthy:
                # known to be away: don't make the caller wait a socket timeout for it
                raise redis_errors.ConnectionError("Redis is unreachable")
            status, token, cp = await self._open(
                args=[self.prefix, call, self.owner, self.key_ttl, "1" if adopted else "0"]
            )
        except (*_REDIS_ERRORS, redis_errors.RedisError) as exc:
            # invariant 2: serve it now, register it when Redis is back
            self._unhealthy(exc)
            entry.dirty = True
            self._entries[call] = entry
            if taken is not None:  # our own takeover, moved here: we hold its checkpoint
                entry.token = taken[0]
                if taken[1] is not None:
                    return Opening("resume", taken[1])
            return Opening("start")
        if status == "foreign":
            logger.info("cluster: call %s is being taken over by %s; leaving it", call, token)
            return Opening("skip")
        if status == "taken":
            logger.info("cluster: call %s came to us from another owner", call)
        entry.token = str(token)
        self._entries[call] = entry
        checkpoint = _decode_cp(cp)
        if status in ("ours", "taken") and checkpoint is not None:
            return Opening("resume", checkpoint)
        return Opening("start")

    def _changed(self, view: AsteriskCalls, channel_id: str, snapshot: Snapshot) -> None:
        entry = self._entries.get(f"{view.asterisk_id}/{channel_id}")
        if entry is None:
            return
        entry.snapshot = snapshot
        if not entry.dirty:
            entry.dirty = True
            self._wake.set()

    def _left(self, view: AsteriskCalls, channel_id: str) -> None:
        call = f"{view.asterisk_id}/{channel_id}"
        entry = self._entries.get(call)
        if entry is None:
            return
        if entry.dirty:
            entry.leaving = True  # its last change is written first, then it is forgotten
            self._wake.set()
        else:
            del self._entries[call]

    def _closed(self, view: AsteriskCalls, channel_id: str) -> None:
        call = f"{view.asterisk_id}/{channel_id}"
        entry = self._entries.pop(call, None)
        if entry is not None:
            self._finished[call] = entry.token
            self._wake.set()

    # -- the background task ---------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        beat = self.lease_ttl / 3
        backoff = 0.05
        last_beat = loop.time()
        while not self._closing:
            # asyncio.wait, not asyncio.timeout: on Python 3.11 a cancellation that lands
            # as the timeout expires can come out as TimeoutError, and aclose() would wait
            # for this loop forever
            woken = loop.create_task(self._wake.wait())
            try:
                await asyncio.wait({woken}, timeout=max(0.0, last_beat + beat - loop.time()))
            finally:
                woken.cancel()
            if self._wake.is_set():
                await asyncio.sleep(self.flush_interval)  # gather the burst
            self._wake.clear()
            try:
                lapsed = not await self._flush()
                last_beat = loop.time()
                if not self._healthy or lapsed:
                    self._returned(lapsed)
                backoff = 0.05
                now = loop.time()
                if self.takeover and now >= self._grace_until and now >= self._scan_after:
                    self._scan_after = now + self.lease_ttl / 2
                    await self._scan()
            except (*_REDIS_ERRORS, redis_errors.RedisError) as exc:
                self._unhealthy(exc)
                await asyncio.sleep(backoff)
                # never more than a third of a TTL between tries: once Redis is back,
                # every live worker renews its lease well within its peers' grace
                backoff = min(1.0, self.lease_ttl / 3, backoff * 2)
                self._wake.set()  # retry the pending writes

    def _returned(self, lapsed: bool) -> None:
        """Redis answers again, or our lease had lapsed: re-assert everything, wait."""
        if not self._healthy:
            logger.warning(
                "cluster: Redis is back; re-writing the checkpoints of %d live call(s)",
                len(self._entries),
            )
        elif lapsed:
            logger.warning(
                "cluster: our lease had lapsed in Redis; re-writing the checkpoints of "
                "%d live call(s)",
                len(self._entries),
            )
        self._healthy = True
        self._grace_until = asyncio.get_running_loop().time() + self.lease_ttl
        # Redis may have come back empty (no persistence), or kept a write it received
        # during a freeze after a newer one: write every live call again, as it is now
        self._reassert = True
        self._wake.set()

    def _unhealthy(self, exc: BaseException) -> None:
        self.stats.redis_errors += 1
        if self._healthy:
            logger.warning("cluster: Redis unreachable (%s); calls go on, writes wait", exc)
        self._healthy = False

    async def _flush(self) -> bool:
        """One pipeline: heartbeat, every dirty call's latest checkpoint, every finish.

        Returns False if the heartbeat found our lease lapsed (see invariant 2)."""
        reassert, self._reassert = self._reassert, False
        dirty: list[tuple[str, _Entry, str]] = []
        gone: list[str] = []  # leaving entries with nothing left to write
        for call, entry in self._entries.items():
            if not entry.dirty and not reassert:
                continue
            payload = entry.written
            if entry.snapshot is not None:
                try:
                    payload = json.dumps(entry.snapshot(), separators=(",", ":"))
                except Exception:  # e.g. the machine is in ERROR: keep the last good one
                    logger.debug("cluster: no checkpoint for %s", call, exc_info=True)
            if payload == entry.written and entry.token and not reassert:
                entry.dirty = False
                if entry.leaving:
                    gone.append(call)
                continue
            dirty.append((call, entry, payload))
        for call in gone:
            del self._entries[call]
        finished = list(self._finished.items())
        async with self._redis.pipeline(transaction=False) as pipe:
            await self._heartbeat(
                args=[self.prefix, self.owner, int(self.lease_ttl * 1000)], client=pipe
            )
            for call, entry, payload in dirty:
                await self._save(
                    args=[self.prefix, call, self.owner, entry.token, payload, self.key_ttl],
                    client=pipe,
                )
            for call, token in finished:
                await self._finish(args=[self.prefix, call, self.owner, token], client=pipe)
            try:
                results = await pipe.execute()
            except BaseException:
                self._reassert = self._reassert or reassert
                raise
        self.stats.flushes += 1
        if reassert:
            self.stats.reasserted += len(dirty)
        self.stats.writes += len(dirty)
        for (call, token), _ in zip(finished, results[1 + len(dirty) :], strict=True):
            if self._finished.get(call) == token:
                del self._finished[call]
        lost: list[_Entry] = []
        for (call, entry, payload), result in zip(dirty, results[1 : 1 + len(dirty)], strict=True):
            if result is None:
                if self._entries.get(call) is entry:
                    del self._entries[call]
                    lost.append(entry)
                continue
            entry.token = str(result)
            entry.written = payload
            entry.dirty = False
            if entry.leaving and self._entries.get(call) is entry:
                del self._entries[call]
        for entry in lost:
            self.stats.lost += 1
            logger.warning(
                "cluster: lost call %s/%s to another worker; backing off",
                entry.view.asterisk_id,
                entry.channel_id,
            )
            if entry.view.on_lost is not None:
                try:
                    await entry.view.on_lost(entry.channel_id)
                except Exception:
                    logger.exception("cluster: on_lost failed for %s", entry.channel_id)
        return bool(results[0])

    async def _scan(self) -> None:
        """Take over the calls of owners whose heartbeat is gone (invariant 3)."""
        found = await self._orphans(args=[self.prefix, self.owner])
        for dead, call in zip(found[::2], found[1::2], strict=True):
            if call.rpartition("/")[0] not in self._asterisks:
                continue  # on an Asterisk we are not connected to: a peer that is takes it
            result = await self._takeover(args=[self.prefix, call, self.owner, dead, self.key_ttl])
            if not result:
                continue  # another survivor was faster, or it ended
            self.stats.taken_over += 1
            self._taken[call] = (str(result[0]), _decode_cp(result[1]))
            asterisk_id, _, channel_id = call.rpartition("/")
            logger.warning("cluster: took over call %s from %s", call, dead)
            if self.on_orphan is not None:
                try:
                    await self.on_orphan(asterisk_id, channel_id, _decode_cp(result[1]))
                except Exception:
                    logger.exception("cluster: could not resume call %s", call)

    async def hold_app(self, app: str) -> bool:
        """Take or renew the lease on an application name (active/standby mode).

        The holder renews it whenever Redis answers (even if it expired there during an
        outage); another worker takes it only once settled (invariant 3). Raises the
        Redis error when Redis does not answer, so that the caller can tell "Redis is
        away" (keep what you have) from "another worker holds it" (False).
        """
        if app not in self._apps and not self.settled:
            return False
        try:
            result = await self._app_lease(
                args=[self.prefix, app, self.owner, int(self.lease_ttl * 1000)]
            )
        except (*_REDIS_ERRORS, redis_errors.RedisError) as exc:
            self._unhealthy(exc)
            raise
        if result:
            self._apps.add(app)
        else:
            self._apps.discard(app)
        return bool(result)

    async def release(self, asterisk_id: str, channel_id: str) -> None:
        """Forget a call we took over but could not resume (its channel is gone)."""
        call = f"{asterisk_id}/{channel_id}"
        self._taken.pop(call, None)
        await self._finish(args=[self.prefix, call, self.owner, ""])


class AsteriskCalls:
    """The calls of one Asterisk in the store: what a MenuRunner's ``store=`` needs.

    ``asterisk_id`` may be a coroutine function: the id is then asked for when the first
    call arrives (the connection must be open to ask ``GET /asterisk/info``).
    """

    def __init__(
        self,
        store: ClusterStore,
        asterisk_id: str | Callable[[], Awaitable[str]],
        on_lost: LostHandler | None,
    ) -> None:
        self.store = store
        self._resolve = None if isinstance(asterisk_id, str) else asterisk_id
        self.asterisk_id = asterisk_id if isinstance(asterisk_id, str) else ""
        self.on_lost = on_lost

    async def resolve(self) -> str:
        """The Asterisk id (asked for once, when it was given as a coroutine function)."""
        if self._resolve is not None:
            self.asterisk_id = await self._resolve()
            self._resolve = None
        self.store._asterisks.add(self.asterisk_id)
        return self.asterisk_id

    async def open(self, channel_id: str, *, adopted: bool = False) -> Opening:
        await self.resolve()
        return await self.store._open_call(self, channel_id, adopted)

    def changed(self, channel_id: str, snapshot: Snapshot) -> None:
        self.store._changed(self, channel_id, snapshot)

    def closed(self, channel_id: str) -> None:
        self.store._closed(self, channel_id)

    def left(self, channel_id: str) -> None:
        """We stop serving the call, but it goes on: its outbound socket was lost, and
        Asterisk reopens it to whichever worker it reaches. Its key and checkpoint stay
        in Redis for that worker (the pending change is written first); only our local
        entry goes."""
        self.store._left(self, channel_id)
