"""The connection supervisor: keeps the event websocket up and the client's view true.

Theory of operation
-------------------
``start()`` connects once and raises at once if that fails (Unreachable,
AuthenticationFailed): a misconfigured app must not retry silently forever at startup.
It then starts the pump task, which reads frames and feeds them to the dispatcher, and
adopts channels that are already in our Stasis application.

When the socket drops (close, error, or a heartbeat pong that does not come back) the
pump emits :class:`Disconnected`, clears the readiness flag, and reconnects with
exponential backoff and jitter (the random source is injectable for tests). Once
connected it reads the new socket at once (REST over the websocket needs that) while a
re-sync task brings the client's view back in line with Asterisk, which does not queue
events for a disconnected application:

1. ``GET /applications/{app}``: our calls whose channel is still listed are adopted as
   they are; the others ended during the gap and get a synthetic StasisEnd, which
   closes their scope.
2. Channels listed that we do not know (they entered Stasis while we were away) get a
   synthetic StasisStart and a new scope.
3. Every playback a live call believes is playing is looked up (``GET /playbacks/{id}``);
   if it is gone, the call gets a synthetic PlaybackFinished, so no call waits forever
   for an event that was sent to nobody.

A re-sync that fails (a 5xx, a refused request) is retried with the same backoff until
it succeeds or the socket drops again; only then is :class:`Reconnected` (with the gap
length) emitted and the client ready again.
``ApplicationReplaced`` means another process took our application name: the pump
stops, closes the call scopes (the other process owns the calls now) and reports
:class:`ApplicationReplacedError` from ``wait_stopped()``; it never reconnects to fight.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json as jsonlib
import logging
from collections import deque
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any
from urllib.parse import quote_plus

from ivrkit import speedups
from ivrkit.ari._config import ConnectionConfig
from ivrkit.ari._dispatch import Dispatcher
from ivrkit.ari._events import (
    ApplicationReplaced,
    Disconnected,
    Reconnected,
    StasisStart,
)
from ivrkit.ari._exceptions import (
    ApplicationReplacedError,
    AriError,
    NotFound,
    RequestTimeout,
    TransportError,
    Unreachable,
)
from ivrkit.ari._rest import AriRest
from ivrkit.ari._transport import EventStream, Request, Response, Transport

logger = logging.getLogger("ivrkit.ari")

_RESYNC_CONCURRENCY = 16
# The first reconnect attempt waits at most this long (jittered, so that many clients cut
# off at once do not all knock at the same instant): a dropped socket with Asterisk still
# up is back within ~0.1 s, like the guide's JS client. Later attempts back off.
_FIRST_RETRY = 0.05


class Supervisor:
    """Keeps one event websocket up; see the module docstring.

    It gets only what it uses: the configuration, the transport (to connect), the REST
    surface (for the re-sync queries) and the dispatcher (to feed), never the client.
    """

    def __init__(
        self,
        config: ConnectionConfig,
        transport: Transport,
        rest: AriRest,
        dispatcher: Dispatcher,
        random: Callable[[], float],
    ) -> None:
        self._transport = transport
        self._rest = rest
        self._config = config
        self._dispatch = dispatcher
        self._random = random
        self._stream: EventStream | None = None
        self._pump: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ready = asyncio.Event()
        self._stopped: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending: dict[str, asyncio.Future[Response]] = {}
        # (deadline, request id, request) in the order sent; see ws_request
        self._deadlines: deque[tuple[float, str, Request]] = deque()
        self._expiry: asyncio.TimerHandle | None = None
        self._request_seq = 0
        self.reconnects = 0
        #: loop time the websocket was last lost (None: never): events synthesised by the
        #: re-sync happened at some moment after it (see the client's ``disconnected_at``)
        self.lost_at: float | None = None
        # REST over the websocket: on for "websocket", decided by a probe for "auto"
        self.ws_rest = self._config.rest_transport == "websocket"

    # -- state -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._stream is not None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        ready: asyncio.Future[Any] = asyncio.ensure_future(self._ready.wait())
        try:
            await asyncio.wait({ready, self._stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self._ready.is_set():
            self._stopped.result()  # raises the reason it stopped
            raise AriError("the client stopped before it became ready")

    async def wait_stopped(self) -> None:
        await asyncio.shield(self._stopped)

    def _stop(self, error: BaseException | None) -> None:
        self._ready.clear()
        if not self._stopped.done():
            if error is None:
                self._stopped.set_result(None)
            else:
                self._stopped.set_exception(error)
                self._stopped.exception()  # mark retrieved: reporting is wait_stopped's job

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Connect once (raising at once on failure), start the pump, adopt, be ready."""
        self._stream = await self._transport.connect_events()
        self._pump = asyncio.get_running_loop().create_task(self._run(self._stream))
        self._pump.add_done_callback(self._pump_done)
        if self._config.rest_transport == "auto":
            await self._probe_ws_rest()
        await self._resync()
        self._ready.set()

    def _pump_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            logger.error("ARI event pump stopped", exc_info=task.exception())
            self._stop(task.exception())

    async def aclose(self) -> None:
        self._ready.clear()
        tasks = [t for t in (self._pump, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._stream is not None:
            await self._stream.close()
            self._stream = None
        self._fail_pending(Unreachable("the client is closing"))
        self._stop(None)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- the pump ----------------------------------------------------------------------

    async def _run(self, stream: EventStream) -> None:
        loop = asyncio.get_running_loop()
        resync: asyncio.Task[Any] | None = None
        while True:
            reason = await self._read(stream)
            if resync is not None and not resync.done():
                resync.cancel()
            await stream.close()
            self._stream = None
            self._fail_pending(Unreachable(f"event websocket lost: {reason}"))
            if reason == "replaced":
                return
            self._ready.clear()
            self.lost_at = started = loop.time()
            logger.warning("ARI websocket lost (%s); reconnecting", reason)
            self._dispatch.app._put(Disconnected(reason=reason, raw={"type": "Disconnected"}))
            stream, attempts = await self._reconnect()
            self._stream = stream
            self.reconnects += 1
            gap = loop.time() - started
            logger.info(
                "ARI websocket reconnected after %.3f s (attempt %d); re-syncing", gap, attempts
            )
            resync = self._spawn(self._resync_and_report(started, gap))

    async def _read(self, stream: EventStream) -> str:
        feed_frame = self._dispatch.feed_frame
        while True:
            try:
                text = await stream.receive()
            except TransportError as exc:
                return str(exc)
            except Exception as exc:  # unexpected: treat as a drop, never die silently
                logger.exception("ARI websocket read failed")
                return f"{type(exc).__name__}: {exc}"
            if text is None:
                return "websocket closed"
            if self._pending and '"RESTResponse"' in text and self._rest_response(text):
                continue
            try:
                event = feed_frame(text)
            except Exception:  # a bug on one frame must not stop every call's events
                logger.exception("could not route the frame %.200r", text)
                continue
            if type(event) is ApplicationReplaced:
                if event.application not in self._config.apps:
                    # Only the app named was taken: one we do not serve is not our business
                    # (a forged or misrouted frame must not stop every live call).
                    logger.warning(
                        "ignored ApplicationReplaced for %r: this client serves %s",
                        event.application,
                        ", ".join(map(repr, self._config.apps)),
                    )
                    continue
                await self._replaced(event.application)
                return "replaced"

    async def _replaced(self, app: str) -> None:
        logger.error("ARI application %r was taken over by another client; stopping", app)
        self._stop(
            ApplicationReplacedError(
                f"another client connected as application {app!r} at "
                f"{self._config.ari_url}; this client stopped (run one process per app name)"
            )
        )
        await self._dispatch.close_scopes()

    def _backoff(self, attempt: int) -> float:
        cfg = self._config
        base = min(cfg.backoff_max, cfg.backoff_initial * cfg.backoff_factor**attempt)
        return base / 2 + self._random() * base / 2

    async def _reconnect(self) -> tuple[EventStream, int]:
        """Connect again: the first attempt at once (jittered), then with backoff."""
        attempt = 0
        while True:
            delay = self._random() * _FIRST_RETRY if attempt == 0 else self._backoff(attempt - 1)
            await asyncio.sleep(delay)
            try:
                return await self._transport.connect_events(), attempt + 1
            except AriError as exc:
                logger.warning("ARI reconnect attempt %d failed: %s", attempt + 1, exc)
            except Exception:
                logger.exception("ARI reconnect attempt %d failed unexpectedly", attempt + 1)
            attempt += 1

    # -- re-sync -----------------------------------------------------------------------

    async def _resync_and_report(self, started: float, gap: float) -> None:
        # A failed re-sync is retried, never skipped: skipping would leave a call waiting
        # forever for a PlaybackFinished that was sent while nobody listened. Each pass is
        # idempotent (adoption and synthesised ends check the dispatcher first). If the
        # socket drops again, _run cancels this task and a new one starts after reconnect.
        attempt = 0
        while True:
            try:
                adopted, ended, finished = await self._resync()
                break
            except AriError as exc:
                delay = self._backoff(attempt)
                logger.warning(
                    "ARI re-sync after reconnect failed (attempt %d): %s; retrying in %.1f s",
                    attempt + 1,
                    exc,
                    delay,
                )
                attempt += 1
                await asyncio.sleep(delay)
        self._ready.set()
        logger.warning(
            "ARI ready again after %.3f s (websocket back after %.3f s, re-sync took %d "
            "attempt(s))",
            asyncio.get_running_loop().time() - started,
            gap,
            attempt + 1,
        )
        self._dispatch.app._put(
            Reconnected(
                gap=gap,
                adopted=tuple(adopted),
                ended=tuple(ended),
                playbacks_finished=tuple(finished),
                raw={"type": "Reconnected"},
            )
        )

    async def _resync(self) -> tuple[list[str], list[str], list[str]]:
        """Steps 1-3 of the module docstring; returns (adopted, ended, finished) ids."""
        client, dispatch = self._rest, self._dispatch
        listed: dict[str, str] = {}  # channel id -> app
        for app in self._config.apps:
            application = await client.applications.get(app)
            for cid in application.channel_ids:
                listed[cid] = app
        adopted: list[str] = []
        ended: list[str] = []
        for scope in tuple(dispatch.scopes.values()):
            if scope.channel_id in listed:
                adopted.append(scope.channel_id)
            else:
                ended.append(scope.channel_id)
                dispatch.synthesize_end(scope)
        limit = asyncio.Semaphore(_RESYNC_CONCURRENCY)

        async def adopt(cid: str, app: str) -> None:
            async with limit:
                try:
                    channel = await client.channels.get(cid)
                except NotFound:
                    return
            dp = channel.dialplan
            stasis_app, _, args = dp.app_data.partition(",")
            # a per-call outbound websocket's app is "<app>:<channel name>" (Asterisk's
            # ast_ari_create_per_call_websocket) while the dialplan says Stasis(<app>)
            if dp.app_name.lower() != "stasis" or app not in (
                stasis_app,
                f"{stasis_app}:{channel.name}",
            ):
                return  # subscribed to, but not in our Stasis app (e.g. the far leg)
            if dispatch.scope_for_channel(cid) is None:
                dispatch.feed(
                    StasisStart(
                        channel=channel,
                        args=tuple(args.split(",")) if args else (),
                        application=app,
                        synthetic=True,
                        raw={"type": "StasisStart", "application": app},
                    )
                )
                adopted.append(cid)

        finished: list[str] = []

        async def check(scope: Any, playback: Any) -> None:
            async with limit:
                try:
                    current = await client.playbacks.get(playback.id)
                except NotFound:
                    if playback.id in scope.playbacks and not scope.closed:
                        dispatch.synthesize_finished(scope, playback)
                        finished.append(playback.id)
                    return
            if playback.id in scope.playbacks:
                scope.playbacks[playback.id] = current

        try:
            async with asyncio.TaskGroup() as tg:
                for cid, app in listed.items():
                    if dispatch.scope_for_channel(cid) is None:
                        tg.create_task(adopt(cid, app))
                for scope, playback in dispatch.playing():
                    tg.create_task(check(scope, playback))
        except* AriError as group:
            # one failed lookup fails the re-sync as an AriError, which start() reports
            # and _resync_and_report retries (an ExceptionGroup would escape both)
            raise _first(group) from None
        return adopted, ended, finished

    # -- REST over the websocket (Asterisk 20.13+/22.3+) ------------------------------

    async def _probe_ws_rest(self) -> None:
        """``auto``: use REST over the websocket if a probe gets a RESTResponse in time.

        Older Asterisk versions ignore the frame, so no answer means "not supported".
        """
        probe = Request("GET", "/asterisk/ping")
        try:
            async with asyncio.timeout(min(2.0, self._config.request_timeout)):
                response = await self.ws_request(probe)
        except (TimeoutError, AriError):
            response = None
        self.ws_rest = response is not None and response.status < 400
        logger.info("REST over the websocket: %s", "yes" if self.ws_rest else "no (HTTP)")

    async def ws_request(self, request: Request) -> Response:
        """Send ``request`` as a RESTRequest frame and await its RESTResponse.

        Hot path (one per REST call): no timeout context per request. Requests time out
        in the order they were sent (one ``request_timeout`` for all), so one timer for the
        oldest unanswered one is enough; see :meth:`_expire`.
        """
        stream = self._stream
        if stream is None:
            raise Unreachable(
                f"{request.method} {request.path}: the ARI websocket is down (reconnecting)"
            )
        self._request_seq += 1
        rid = f"r{self._request_seq}"
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self._pending[rid] = future
        self._deadlines.append((loop.time() + self._config.request_timeout, rid, request))
        if self._expiry is None:
            self._expiry = loop.call_at(self._deadlines[0][0], self._expire)
        try:
            await stream.send(request_frame(rid, request))
            return await future
        finally:
            self._pending.pop(rid, None)

    def _expire(self) -> None:
        """Fail the requests whose ``request_timeout`` has passed, then wait for the next."""
        self._expiry = None
        deadlines, pending = self._deadlines, self._pending
        now = asyncio.get_running_loop().time()
        while deadlines:
            deadline, rid, request = deadlines[0]
            future = pending.get(rid)
            if future is None or future.done():
                deadlines.popleft()  # answered (or failed) long ago
                continue
            if deadline > now:
                self._expiry = asyncio.get_running_loop().call_at(deadline, self._expire)
                return
            deadlines.popleft()
            future.set_exception(
                RequestTimeout(
                    f"{request.method} {request.path}: no RESTResponse within "
                    f"{self._config.request_timeout} s"
                )
            )

    def _rest_response(self, text: str) -> bool:
        try:
            data = speedups.loads(text)
        except (ValueError, RecursionError):  # not ours: feed_frame says what it is
            return False
        if not isinstance(data, dict) or data.get("type") != "RESTResponse":
            return False
        future = self._pending.get(str(data.get("request_id", "")))
        if future is None or future.done():
            logger.warning("unexpected RESTResponse %.120r", text)
            return True
        body: Any = data.get("message_body")
        if isinstance(body, str) and body:
            with contextlib.suppress(ValueError, RecursionError):
                body = speedups.loads(body)  # else the text, as over HTTP
        else:
            body = None
        future.set_result(Response(int(data.get("status_code", 0)), body))
        return True

    def _fail_pending(self, error: AriError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._deadlines.clear()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None


def _query_pair(key: str, value: str) -> str:
    return f"{quote_plus(key)}={quote_plus(value)}"


# the same few parameters come again and again (media=sound:press-1...): remembered
_query_part = functools.lru_cache(maxsize=1024)(_query_pair)
# what json.dumps writes for a str (C), without building an encoder per call
_json_str = encode_basestring_ascii


def request_frame(rid: str, request: Request) -> str:
    """The RESTRequest frame for ``request`` (compact JSON, ASCII), built as text.

    Same content as ``json.dumps`` of the frame object, a third of its cost: the
    envelope's keys are fixed and its values strings. The URI's query is
    ``urlencode(params)``'s, pair by pair.
    """
    uri = request.path.lstrip("/")
    if request.params:
        uri += "?" + "&".join([_query_part(k, v) for k, v in request.params.items()])
    head = (
        f'{{"type":"RESTRequest","transaction_id":"{rid}","request_id":"{rid}",'
        f'"method":{_json_str(request.method)},"uri":{_json_str(uri)}'
    )
    if request.json is None:
        return head + "}"
    # the caller's body (any JSON, floats too) as json.dumps writes it, as over HTTP
    body = _json_str(jsonlib.dumps(request.json))
    return f'{head},"content_type":"application/json","message_body":{body}}}'


def _first(group: BaseExceptionGroup[AriError]) -> AriError:
    """The first AriError of a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first
