"""The simulator's HTTP front door: auth, the events websocket, REST via ``_dispatch``.

Theory of operation
-------------------
``create_app(state)`` builds an aiohttp application around one :class:`SimState`
(model, users, faults, open sockets). Every ``/ari`` request passes, in order:

1. the fault hooks (``Faults``: refuse, delay, fail) — tests use them to break things;
2. authentication exactly like Asterisk: ``Authorization: Basic`` or
   ``?api_key=user:pass`` (aiohttp already decodes ``%3A``), on api-docs too; otherwise
   401 ``{"message": "Authentication required"}`` with
   ``WWW-Authenticate: Basic realm="Asterisk REST Interface"``;
3. one of: the events websocket, the api-docs (``_apidocs.render``), or the REST
   dispatcher shared with REST-over-websocket.

Each events socket has one writer loop (owned by its handler, in a TaskGroup) that
drains a per-socket list of already serialised frames, so the model never awaits:
delivering an event is ``json.dumps`` + ``list.append`` + ``Event.set``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import WSMsgType, web

from ivrkit.sim.front import _apidocs, _restws
from ivrkit.sim.front._bodies import NO_BODY, Body, read_body
from ivrkit.sim.front._dispatch import dispatch
from ivrkit.sim.front._wire import (
    ARI_PROTOCOL,
    CACHE_CONTROL,
    JSON,
    MAX_FRAME_PAYLOAD,
    SERVER,
    asterisk_101,
    compact,
    compact_deep,
    error_page,
    handshake_refusal,
)
from ivrkit.sim.model._model import SimModel
from ivrkit.sim.model._objects import ReactionHooks
from ivrkit.sim.model._replies import Pending, SimResponse

_log = logging.getLogger("ivrkit.sim")

REALM = 'Basic realm="Asterisk REST Interface"'
#: unsent frames after which a websocket whose client does not read is cut off
MAX_BACKLOG = 100_000
#: longest a request waits for its events to be written before it is answered anyway
FLUSH_BOUND = 1.0
#: websocket_attempted_cb (res/ari/ari_websockets.c), as recorded (protocol-catalog)
_MISSING_APP_PAGE = error_page(400, "Bad Request", "HTTP request is missing param: [app]")


@dataclass(eq=False)
class EventSocket:
    """One open ``/ari/events`` websocket and its outgoing frames."""

    apps: tuple[str, ...]
    ws: web.WebSocketResponse
    request: web.Request
    frames: list[str] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    cut_off: bool = False
    #: with a reaction probe: index in ``frames`` -> channel id of a ChannelDtmfReceived
    probe: ReactionHooks | None = None
    dtmf_marks: dict[int, str] = field(default_factory=dict)
    #: frames queued and frames written since the socket opened, and requests waiting
    #: for the frames queued before them to be written (``flushed``)
    queued: int = 0
    written: int = 0
    flush_waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)

    def push(self, frame: str) -> None:
        self.frames.append(frame)
        self.queued += 1
        self.wake.set()

    async def flushed(self) -> None:
        """Until every frame queued so far has been written to the transport."""
        if self.written >= self.queued or self.cut_off or self.ws.closed:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.flush_waiters.append((self.queued, fut))
        await fut

    def release_flushed(self, everyone: bool = False) -> None:
        keep = []
        for target, fut in self.flush_waiters:
            if everyone or self.written >= target:
                if not fut.done():
                    fut.set_result(None)
            else:
                keep.append((target, fut))
        self.flush_waiters = keep

    @property
    def base_path(self) -> str:
        """``http://<Host of the upgrade request>/ari`` (api-docs over REST-over-websocket)."""
        return f"http://{self.request.headers.get('Host') or self.request.host}/ari"

    def sink(self, application: str, ev: dict[str, Any]) -> None:
        """Model → socket: serialise once, queue, wake the writer.

        A client that stops reading is cut off after ``MAX_BACKLOG`` unsent frames
        instead of growing memory without bound (Asterisk also drops slow sockets).
        """
        if self.cut_off:
            return
        if len(self.frames) >= MAX_BACKLOG:
            _log.warning(
                "events websocket %s: %d frames unsent, cutting it", self.apps, MAX_BACKLOG
            )
            self.cut_off = True
            self.frames.clear()
            self.dtmf_marks.clear()
            self.release_flushed(everyone=True)
            self.drop()
            return
        try:
            frame = compact(ev)
        except RecursionError:  # a client's deep JSON echoed (a user event's variables)
            frame = compact_deep(ev)
        self.push(frame)
        if self.probe is not None and ev["type"] == "ChannelDtmfReceived":
            self.dtmf_marks[len(self.frames) - 1] = ev["channel"]["id"]

    def drop(self) -> None:
        """Cut the connection without a close frame (a network failure)."""
        transport = self.request.transport
        if transport is not None:
            transport.abort()


class RequestFilter(Protocol):
    """Runs before each ``/ari`` request; a response means "answer this instead".

    ``control._faults.Faults`` is the one implementation (a protocol, so the front door
    does not import the test controls).
    """

    async def apply(self, request: web.Request) -> web.StreamResponse | None: ...

    def frame_failure(self, method: str, rel_path: str) -> tuple[int, str] | None: ...


@dataclass(eq=False)
class SimState:
    """Everything the HTTP layer needs; one per simulator."""

    model: SimModel
    users: Mapping[str, str]
    faults: RequestFilter
    sockets: set[EventSocket] = field(default_factory=set)
    #: called once per answered request with :func:`access_record` (``ivrkit sim --access-log``)
    access_log: Callable[[dict[str, Any]], None] | None = None


STATE = web.AppKey("ivrkit_sim_state", SimState)
#: the request's body as read before authentication (``_bodies``)
_BODY = web.RequestKey("ivrkit_sim_body", Body)


_CONTROL = re.compile("[\x00-\x1f\x7f]")


def _header_safe(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    """Headers aiohttp will write: control characters percent-encoded.

    Asterisk writes ``Location: /ari/playbacks/<id>`` with the id as given
    (res/res_ari.c ast_ari_response_created: ``"Location: /%s%s\\r\\n"``), so an id
    holding a control character goes out raw. aiohttp refuses such a header and drops
    the connection instead of answering, so the simulator encodes them (%08): the one
    difference a client can see, and only for ids no client should choose.
    """
    if not headers or not any(_CONTROL.search(v) for v in headers.values()):
        return headers
    return {k: _CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", v) for k, v in headers.items()}


def _json_response(
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> web.Response:
    headers = _header_safe(headers)
    if body is None:
        return web.Response(status=status, headers=headers, reason=reason)
    if isinstance(body, bytes):  # a file (getStoredFile): Content-Type in headers
        return web.Response(status=status, reason=reason, body=body, headers=headers)
    try:
        text = compact(body)
    except RecursionError:  # a client's deep JSON echoed (an application's eventFilter)
        text = compact_deep(body)
    return web.Response(
        status=status,
        reason=reason,
        body=text.encode(),
        content_type=JSON,
        headers=headers,
    )


def _credentials(request: web.Request) -> tuple[str, str] | None:
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep else None
    api_key = request.query.get("api_key")
    if api_key:
        user, sep, password = api_key.partition(":")
        return (user, password) if sep else None
    return None


def authorized(request: web.Request, users: Mapping[str, str]) -> bool:
    """Asterisk's check: a known user with the right password (constant-time compare)."""
    creds = _credentials(request)
    if creds is None:
        return False
    expected = users.get(creds[0])
    return expected is not None and hmac.compare_digest(
        expected.encode("utf-8"), creds[1].encode("utf-8")
    )


def unauthorized() -> web.Response:
    return _json_response(401, {"message": "Authentication required"}, {"WWW-Authenticate": REALM})


def _auth_kind(request: web.Request) -> str:
    if request.headers.get("Authorization", "")[:6].lower() == "basic ":
        return "basic"
    return "api_key" if "api_key" in request.query else "none"


def access_record(request: web.Request, response: web.StreamResponse) -> dict[str, Any]:
    """One request as logged: no query values and no credentials, only what was asked.

    ``content_type`` (when sent) and ``body`` (true when there was one) show how the
    parameters came; ``error`` is the message of a JSON error answer (``"Resource not
    found"`` tells an unknown route from ``"Playback not found"``, an object that is
    gone); websocket upgrades are logged when the socket closes, with status 101.
    """
    record: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "query": sorted(set(request.query)),
        "auth": _auth_kind(request),
        "status": response.status,
    }
    if "Content-Type" in request.headers:
        record["content_type"] = request.headers["Content-Type"]
    if request.body_exists:
        record["body"] = True
    if response.status >= 400 and isinstance(response, web.Response):
        try:
            body = json.loads(response.body) if isinstance(response.body, bytes) else None
        except ValueError:
            body = None
        if isinstance(body, dict):
            record["error"] = body.get("message", body.get("error"))
    return record


@web.middleware
async def _ari_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    state = request.app[STATE]
    response = await _answer(request, handler, state)
    if state.access_log is not None:
        state.access_log(access_record(request, response))
    return response


async def _answer(request: web.Request, handler: Any, state: SimState) -> web.StreamResponse:
    if not request.path.startswith("/ari"):
        return _json_response(404, {"message": "Resource not found"})
    refused = await state.faults.apply(request)
    if refused is not None:
        return refused
    body = await read_body(request)  # before the user and the path, as ast_ari_callback
    if isinstance(body, web.Response):
        return body
    request[_BODY] = body
    if not authorized(request, state.users):
        return unauthorized()
    response: web.StreamResponse = await handler(request)
    return response


async def _rest(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    body: Body = request.get(_BODY, NO_BODY)
    query: Iterable[tuple[str, str]] = request.query.items()
    if body.pairs:  # form pairs come first, the query string's after them (_bodies)
        query = [*body.pairs, *query]
    # the raw (still encoded) path: the dispatcher decodes it segment by segment
    raw = request.raw_path.partition("?")[0]
    raw_tail = raw[4:] if raw.startswith("/ari/") else raw
    result = dispatch(
        state.model, request.method, raw_tail, query, None, None, parsed_body=body.json
    )
    if result.pending is not None:  # queued behind the channel's media (model/_control_thread)
        outcome = await _settled(result.pending)
        if outcome is not None:
            result = outcome
        result.events_first = True
    if result.events_first:  # the command's events go out before its answer
        await _events_written(state)
    return _json_response(result.status, result.body, result.headers or None, result.phrase)


async def _settled(pending: Pending) -> SimResponse | None:
    fut: asyncio.Future[SimResponse | None] = asyncio.get_running_loop().create_future()

    def settle(outcome: SimResponse | None) -> None:
        if not fut.done():
            fut.set_result(outcome)

    pending.then(settle)
    return await fut


async def _events_written(state: SimState) -> None:
    """Until every events socket has written what was queued so far (bounded: a client
    that does not read cannot hold a request; Asterisk's HTTP thread does not wait for
    websockets at all, its events simply come first)."""
    waiting = [sock.flushed() for sock in state.sockets if sock.written < sock.queued]
    if not waiting:
        return
    try:
        async with asyncio.timeout(FLUSH_BOUND):
            await asyncio.gather(*waiting)
    except TimeoutError:
        pass


async def _api_docs(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    host = request.headers.get("Host") or f"{request.host}"
    doc = _apidocs.render(name, f"http://{host}/ari")
    if doc is None:
        return _json_response(404, {"message": "Resource not found"})
    return _json_response(200, doc)


async def _events(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    refused = handshake_refusal(request.headers)
    if refused is not None:
        return refused
    apps = tuple(a for a in request.query.get("app", "").split(",") if a)
    if not apps:  # websocket_attempted_cb, after the handshake's own checks
        return web.Response(status=400, text=_MISSING_APP_PAGE, content_type="text/html")
    # Asterisk never negotiates permessage-deflate (_wire), so neither does the simulator
    # Asterisk closes with 1009 above MAX_FRAME_PAYLOAD bytes; aiohttp closes with 1009
    # from max_msg_size bytes on (measured), hence the + 1
    ws = web.WebSocketResponse(
        protocols=(ARI_PROTOCOL,),
        autoping=True,
        compress=False,
        max_msg_size=MAX_FRAME_PAYLOAD + 1,
    )
    if not ws.can_prepare(request).ok:
        return _json_response(400, {"message": "Expected a websocket upgrade"})
    await ws.prepare(request)
    sock = EventSocket(apps, ws, request, probe=state.model.reaction)
    state.sockets.add(sock)
    model = state.model
    subscribe_all = request.query.get("subscribeAll", "").lower() in ("true", "yes", "1", "on")
    for name in apps:
        previous = model.connect_app(name, sock.sink)
        model.set_subscribe_all(name, subscribe_all)
        if previous is not None and previous != sock.sink:
            previous(
                name,
                {
                    "type": "ApplicationReplaced",
                    "timestamp": model.timestamp(),
                    "application": name,
                    "asterisk_id": model.asterisk_id,
                },
            )
    try:
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(_write_loop(sock))
            try:
                await _read_loop(sock, model, state.faults)
            finally:
                writer.cancel()
    finally:
        state.sockets.discard(sock)
        for name in apps:
            model.disconnect_app(name, sock.sink)
    return ws


async def _read_loop(sock: EventSocket, model: SimModel, faults: RequestFilter) -> None:
    async for msg in sock.ws:
        if msg.type == WSMsgType.TEXT:
            # one request at a time, as Asterisk's session thread (_restws.serve_in_order)
            await _restws.serve_in_order(
                msg.data,
                model=model,
                application=sock.apps[0],
                base_path=sock.base_path,
                send=lambda answer: sock.push(compact(answer)),
                fail=faults.frame_failure,
            )
        elif msg.type == WSMsgType.ERROR:
            break


async def _write_loop(sock: EventSocket) -> None:
    try:
        await _write_frames(sock)
    finally:
        sock.release_flushed(everyone=True)


async def _write_frames(sock: EventSocket) -> None:
    ws = sock.ws
    while not ws.closed:
        await sock.wake.wait()
        sock.wake.clear()
        frames, sock.frames = sock.frames, []
        marks = sock.dtmf_marks
        if marks:
            sock.dtmf_marks = {}
        for index, frame in enumerate(frames):
            if ws.closed:
                return
            try:
                await ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return
            sock.written += 1
            if sock.flush_waiters:
                sock.release_flushed()
            if marks and index in marks and sock.probe is not None:
                # written to the transport just now: the reaction clock starts here
                sock.probe.dtmf_written(marks.pop(index), asyncio.get_running_loop().time())


async def _asterisk_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Asterisk's own headers on every answer, and its 101 exactly (``_wire``)."""
    if response.status == 101:
        asterisk_101(response.headers, request.headers.get("Upgrade", "websocket"))
        return
    response.headers["Server"] = SERVER
    response.headers.setdefault("Cache-Control", CACHE_CONTROL)


async def _on_shutdown(app: web.Application) -> None:
    for sock in list(app[STATE].sockets):
        await sock.ws.close(code=1001, message=b"Server shutdown")


def create_app(state: SimState) -> web.Application:
    """The aiohttp application serving one simulator."""
    app = web.Application(middlewares=[_ari_middleware])
    app[STATE] = state
    app.router.add_get("/ari/events", _events)
    app.router.add_get(r"/ari/api-docs/{name}.json", _api_docs)
    app.router.add_route("*", "/ari/{tail:.*}", _rest)
    app.router.add_route("*", "/{tail:.*}", _rest)
    app.on_shutdown.append(_on_shutdown)
    app.on_response_prepare.append(_asterisk_headers)
    return app
