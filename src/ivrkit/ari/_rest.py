"""The REST surface of a client: typed namespaces over one ``request`` method.

Theory of operation
-------------------
:class:`AriRest` turns typed calls into :class:`Request` values and maps error statuses
to typed errors. It knows nothing of websockets, dispatch or scopes: how a request
travels (``_send``), whether the client is open (``_check_open``) and where a playback's
events go (``_track_playback``) are supplied by :class:`~ivrkit.ari._client.AriClient`.
That is the narrow interface a call scope, the supervisor's re-sync and the IVR runner
need (``scope.client`` is typed as this), so none of them imports the client: the client
is built on the parts, never the other way round (as httpcore's pool never imports
httpx's client).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, Self, TypeVar
from urllib.parse import quote

from ivrkit.ari._config import ConnectionConfig
from ivrkit.ari._exceptions import (
    AriError,
    AriHTTPError,
    ClientClosedError,
    NotFound,
    TransportError,
    error_for_status,
)
from ivrkit.ari._models import (
    Application,
    AsteriskInfo,
    Bridge,
    Channel,
    LiveRecording,
    Playback,
    Sound,
)
from ivrkit.ari._operations import failure_status, report
from ivrkit.ari._transport import Request, Response
from ivrkit.observe import Observer

ParamValue = str | int | float | bool | Sequence[str] | None


# ids made of unreserved characters (RFC 3986 2.3: Asterisk's "1796153358.1", ours
# "pb-1a2b3c4d-17") need no quoting; checking is a fifth of quote()'s cost (two per play)
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch


def _q(ident: str) -> str:
    return ident if _UNRESERVED(ident) else quote(ident, safe="")


def _param(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    assert value is not None
    return ",".join(value)


class _Model(Protocol):
    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self: ...


_M = TypeVar("_M", bound=_Model)


def _decode(model: type[_M], body: Any, method: str, path: str) -> _M:
    """Decode a response body, or raise TransportError if it is not the expected object."""
    try:
        decoded = model.from_json(body)
    except (KeyError, TypeError, AttributeError) as exc:
        raise TransportError(
            f"{method} {path}: unexpected response body for {model.__name__}: {body!r:.120}"
        ) from exc
    ident = getattr(decoded, "id", "-")
    if type(ident) is not str or not ident:
        # an id is what later requests are built from: a null or numeric one would fail
        # far from here (in a URL), so the answer itself is refused
        raise TransportError(
            f"{method} {path}: unexpected response body for {model.__name__} "
            f"(id is {ident!r}): {body!r:.120}"
        )
    return decoded


class _Namespace:
    __slots__ = ("_c",)

    def __init__(self, client: AriRest) -> None:
        self._c = client


class Channels(_Namespace):
    """``/channels``: originate, inspect and control channels."""

    async def originate(
        self,
        endpoint: str,
        *,
        app: str | None = None,
        app_args: str | None = None,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
        caller_id: str | None = None,
        answer_timeout: int | None = None,
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Originate a call; ``channel_id`` defaults to a fresh client id (``new_id("ch")``)."""
        params: dict[str, ParamValue] = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args,
            "context": context,
            "extension": extension,
            "priority": priority,
            "label": label,
            "callerId": caller_id,
            "timeout": answer_timeout,
            "channelId": channel_id or self._c.new_id("ch"),
            "otherChannelId": other_channel_id,
            "originator": originator,
            "formats": formats,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self._c._typed(Channel, "POST", "/channels", params=params, json=body)

    async def get(self, channel_id: str) -> Channel:
        return await self._c._typed(Channel, "GET", f"/channels/{_q(channel_id)}")

    async def list(self) -> list[Channel]:
        body = await self._c.request("GET", "/channels")
        return [_decode(Channel, c, "GET", "/channels") for c in body or ()]

    async def answer(self, channel_id: str) -> None:
        await self._c.request("POST", f"/channels/{_q(channel_id)}/answer")

    async def ring(self, channel_id: str) -> None:
        await self._c.request("POST", f"/channels/{_q(channel_id)}/ring")

    async def ring_stop(self, channel_id: str) -> None:
        await self._c.request("DELETE", f"/channels/{_q(channel_id)}/ring")

    async def hangup(self, channel_id: str, *, reason: str | None = None) -> None:
        """Hang up; raises NotFound if the channel is already gone (see hangup_quietly)."""
        await self._c.request("DELETE", f"/channels/{_q(channel_id)}", params={"reason": reason})

    async def continue_in_dialplan(
        self,
        channel_id: str,
        *,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
        label: str | None = None,
    ) -> None:
        """Leave Stasis and go on in the dialplan (next priority when no target is given)."""
        await self._c.request(
            "POST",
            f"/channels/{_q(channel_id)}/continue",
            params={
                "context": context,
                "extension": extension,
                "priority": priority,
                "label": label,
            },
        )

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
        offsetms: int | None = None,
        skipms: int | None = None,
    ) -> Playback:
        """Start a playback whose id (default ``new_id("pb")``) is routed to the call first."""
        pid = playback_id or self._c.new_id("pb")
        media_param = media if isinstance(media, str) else ",".join(media)
        return await self._c._play(
            f"channel:{channel_id}",
            f"/channels/{_q(channel_id)}/play/{_q(pid)}",
            pid,
            media_param,
            {"lang": lang, "offsetms": offsetms, "skipms": skipms},
        )

    async def move(self, channel_id: str, app: str, *, app_args: str | None = None) -> None:
        """Move a channel that is in Stasis to application ``app`` (its StasisStart goes
        there); 409 when the channel is in no Stasis application."""
        await self._c.request(
            "POST",
            f"/channels/{_q(channel_id)}/move",
            params={"app": app, "appArgs": app_args},
        )

    async def send_dtmf(
        self,
        channel_id: str,
        dtmf: str,
        *,
        between: int | None = None,
        duration: int | None = None,
    ) -> None:
        await self._c.request(
            "POST",
            f"/channels/{_q(channel_id)}/dtmf",
            params={"dtmf": dtmf, "between": between, "duration": duration},
        )

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        """Music on hold on the channel (``mohClass`` None: Asterisk's default class)."""
        await self._c.request(
            "POST", f"/channels/{_q(channel_id)}/moh", params={"mohClass": moh_class}
        )

    async def stop_moh(self, channel_id: str) -> None:
        await self._c.request("DELETE", f"/channels/{_q(channel_id)}/moh")

    async def get_variable(self, channel_id: str, name: str) -> str:
        """A channel variable's value; raises NotFound when it is not set."""
        body = await self._c.request(
            "GET", f"/channels/{_q(channel_id)}/variable", params={"variable": name}
        )
        return str(body.get("value", "")) if isinstance(body, dict) else ""

    async def set_variable(
        self, channel_id: str, name: str, value: str, *, may_be_held: bool = False
    ) -> None:
        """``may_be_held``: the channel may be playing (see :meth:`AriRest.request`)."""
        await self._c.request(
            "POST",
            f"/channels/{_q(channel_id)}/variable",
            params={"variable": name, "value": value},
            may_be_held=may_be_held,
        )

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration: int = 0,
        max_silence: int = 0,
        if_exists: str = "fail",
        beep: bool = False,
        terminate_on: str = "none",
    ) -> LiveRecording:
        """Start recording the channel into stored recording ``name`` (0: no limit);
        RecordingStarted/Finished/Failed follow on the channel's call."""
        return await self._c._typed(
            LiveRecording,
            "POST",
            f"/channels/{_q(channel_id)}/record",
            params={
                "name": name,
                "format": format,
                "maxDurationSeconds": max_duration,
                "maxSilenceSeconds": max_silence,
                "ifExists": if_exists,
                "beep": "true" if beep else "false",
                "terminateOn": terminate_on,
            },
        )


class Recordings(_Namespace):
    """``/recordings``: stop live recordings, remove stored ones."""

    async def stop(self, name: str) -> None:
        """Stop and keep a live recording (RecordingFinished follows)."""
        await self._c.request("POST", f"/recordings/live/{_q(name)}/stop")

    async def delete_stored(self, name: str) -> None:
        await self._c.request("DELETE", f"/recordings/stored/{_q(name)}")


class Playbacks(_Namespace):
    """``/playbacks``: inspect, stop and control playbacks."""

    async def get(self, playback_id: str) -> Playback:
        return await self._c._typed(Playback, "GET", f"/playbacks/{_q(playback_id)}")

    async def stop(self, playback_id: str) -> None:
        """Stop; raises NotFound if it already ended (see stop_playback_quietly)."""
        await self._c.request("DELETE", f"/playbacks/{_q(playback_id)}")

    async def control(self, playback_id: str, operation: str) -> None:
        """``operation``: restart, pause, unpause, reverse or forward."""
        await self._c.request(
            "POST", f"/playbacks/{_q(playback_id)}/control", params={"operation": operation}
        )


class Bridges(_Namespace):
    """``/bridges``: create bridges, move channels in and out, play to everyone."""

    async def create(
        self, *, type: str = "mixing", bridge_id: str | None = None, name: str | None = None
    ) -> Bridge:
        """Create a bridge; ``bridge_id`` defaults to a fresh client id (``new_id("br")``)."""
        bid = bridge_id or self._c.new_id("br")
        return await self._c._typed(
            Bridge, "POST", f"/bridges/{_q(bid)}", params={"type": type, "name": name}
        )

    async def get(self, bridge_id: str) -> Bridge:
        return await self._c._typed(Bridge, "GET", f"/bridges/{_q(bridge_id)}")

    async def destroy(self, bridge_id: str) -> None:
        await self._c.request("DELETE", f"/bridges/{_q(bridge_id)}")

    async def add_channel(self, bridge_id: str, channel: str | Sequence[str]) -> None:
        await self._c.request(
            "POST", f"/bridges/{_q(bridge_id)}/addChannel", params={"channel": channel}
        )

    async def remove_channel(self, bridge_id: str, channel: str | Sequence[str]) -> None:
        await self._c.request(
            "POST", f"/bridges/{_q(bridge_id)}/removeChannel", params={"channel": channel}
        )

    async def play(
        self,
        bridge_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> Playback:
        pid = playback_id or self._c.new_id("pb")
        media_param = media if isinstance(media, str) else ",".join(media)
        return await self._c._play(
            f"bridge:{bridge_id}",
            f"/bridges/{_q(bridge_id)}/play/{_q(pid)}",
            pid,
            media_param,
            {"lang": lang},
        )


class Applications(_Namespace):
    """``/applications``: what an application is subscribed to."""

    async def get(self, name: str) -> Application:
        return await self._c._typed(Application, "GET", f"/applications/{_q(name)}")

    async def subscribe(self, name: str, event_source: str | Sequence[str]) -> Application:
        """Subscribe to e.g. ``channel:<id>``, ``bridge:<id>``, ``endpoint:PJSIP/alice``."""
        return await self._c._typed(
            Application,
            "POST",
            f"/applications/{_q(name)}/subscription",
            params={"eventSource": event_source},
        )


class Events(_Namespace):
    """``/events``: claiming broadcast calls (Asterisk 20.20+, 22.10+, 23.4+)."""

    async def claim(self, channel_id: str, application: str) -> None:
        """Claim a ``CallBroadcast`` channel for ``application``.

        204 on success; :class:`Conflict` (409) when another application won it first,
        which is normal when several workers compete; :class:`NotFound` (404) when the
        channel is gone or no longer being broadcast (its timeout passed).
        """
        await self._c.request(
            "POST", "/events/claim", params={"channelId": channel_id, "application": application}
        )


class AsteriskNamespace(_Namespace):
    """``/asterisk``: information about the server."""

    async def info(self) -> AsteriskInfo:
        return await self._c._typed(AsteriskInfo, "GET", "/asterisk/info")


class Sounds(_Namespace):
    """``/sounds``: the prompts installed on the server."""

    async def list(self, *, lang: str | None = None, format: str | None = None) -> list[Sound]:
        try:
            body = await self._c.request("GET", "/sounds", params={"lang": lang, "format": format})
        except NotFound:  # "No sounds found that matched the query"
            return []
        return [_decode(Sound, s, "GET", "/sounds") for s in body or ()]


class AriRest:
    """Typed ARI requests for one Asterisk; the base of :class:`AriClient`.

    Subclasses supply ``_send`` (how a request travels) and may refine ``_check_open``
    and the playback-tracking hooks; the defaults raise or do nothing.
    """

    def __init__(self, config: ConnectionConfig) -> None:
        self.config = config
        self.observer: Observer | None = None  # told of every request (ivrkit.observe)
        self._id_prefix = os.urandom(4).hex()
        self._id_seq = 0
        self.channels = Channels(self)
        self.playbacks = Playbacks(self)
        self.recordings = Recordings(self)
        self.bridges = Bridges(self)
        self.applications = Applications(self)
        self.asterisk = AsteriskNamespace(self)
        self.sounds = Sounds(self)
        self.events = Events(self)

    def new_id(self, kind: str) -> str:
        """A fresh id such as ``pb-1a2b3c4d-17``: unique per client, chosen before use."""
        self._id_seq += 1
        return f"{kind}-{self._id_prefix}-{self._id_seq}"

    # -- hooks for the client -------------------------------------------------------

    def _check_open(self) -> None:
        """Raise :class:`ClientClosedError` when requests may not be sent."""

    async def _send(self, req: Request) -> Response:
        raise ClientClosedError(f"{req.method} {req.path}: this client cannot send requests")

    async def _send_apart(self, req: Request) -> Response:
        """How a request that may be held travels (``request(may_be_held=True)``)."""
        return await self._send(req)

    def _track_playback(self, target_uri: str, playback_id: str, media: str) -> None:
        """A playback is about to be requested (route its events before they come)."""

    def _untrack_playback(self, playback_id: str) -> None:
        """The playback was never created."""

    # -- requests ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
        may_be_held: bool = False,
    ) -> Any:
        """Any ARI call: ``path`` is relative to ``/ari``; returns the decoded JSON body.

        ``None`` parameters are left out; booleans become ``true``/``false`` and lists
        are comma-joined, as ARI expects. Error statuses raise :class:`AriHTTPError`
        subclasses carrying Asterisk's message.

        ``may_be_held``: a synchronous channel command (a variable set, an answer) that
        may wait on the channel's control thread behind a prompt. It then goes over HTTP
        even while REST travels on the event websocket: Asterisk handles a websocket's
        frames one at a time on one thread (res/ari/ari_websockets.c), so a request held
        there would hold every later request of every call on that socket until the
        prompt ends; over HTTP only its own connection waits.
        """
        self._check_open()
        clean = {k: _param(v) for k, v in (params or {}).items() if v is not None}
        req = Request(method, path, clean, json)
        send = self._send_apart if may_be_held else self._send
        observer = self.observer
        if observer is None:
            resp = await send(req)
        else:  # timed inline: a wrapping coroutine per request cost more than the timing
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                resp = await send(req)
            except AriError as exc:
                report(observer, method, path, failure_status(exc), loop.time() - started)
                raise
            report(observer, method, path, str(resp.status), loop.time() - started)
        if resp.status >= 400:
            raise error_for_status(resp.status, method, path, resp.body)
        return resp.body

    async def _typed(
        self,
        model: type[_M],
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
    ) -> _M:
        body = await self.request(method, path, params=params, json=json)
        return _decode(model, body, method, path)

    async def _play(
        self,
        target_uri: str,
        path: str,
        playback_id: str,
        media: str,
        params: dict[str, ParamValue],
    ) -> Playback:
        self._check_open()
        self._track_playback(target_uri, playback_id, media)
        try:
            body = await self.request("POST", path, params={"media": media, **params})
        except AriHTTPError:
            self._untrack_playback(playback_id)  # it was never created
            raise
        # on TransportError the playback may exist: it stays tracked and the next re-sync
        # (or its own events) settle it
        return _decode(Playback, body, "POST", path)

    # -- race-tolerant helpers --------------------------------------------------------

    async def stop_playback_quietly(self, playback_id: str) -> bool:
        """Stop a playback; False (no error) if it had already ended. Other errors raise."""
        try:
            await self.playbacks.stop(playback_id)
        except NotFound:
            return False
        return True

    async def hangup_quietly(self, channel_id: str, *, reason: str | None = None) -> bool:
        """Hang up; False (no error) if the channel was already gone. Other errors raise."""
        try:
            await self.channels.hangup(channel_id, reason=reason)
        except NotFound:
            return False
        return True
