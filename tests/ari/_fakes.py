"""Event frames and a small fake ARI server state for the client's MockTransport tests."""

from __future__ import annotations

from typing import Any

from ivrkit.ari import ConnectionConfig, Credentials, MockTransport, Request, Response

APP = "channel-aa"


def config(**options: Any) -> ConnectionConfig:
    return ConnectionConfig(
        base_url="http://127.0.0.1:8088",
        apps=(APP,),
        credentials=Credentials("asterisk", "s3cret"),
        **options,
    )


def channel(cid: str, *, in_stasis: bool = True) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"PJSIP/{cid}",
        "state": "Up",
        "protocol_id": "",
        "caller": {"name": "Alice", "number": "100"},
        "connected": {"name": "", "number": ""},
        "accountcode": "",
        "dialplan": {
            "context": "default",
            "exten": "1000",
            "priority": 2,
            "app_name": "Stasis" if in_stasis else "",
            "app_data": APP if in_stasis else "",
        },
        "creationtime": "2026-11-28T04:21:36.578+0000",
        "language": "en",
    }


def ev(type_: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": type_,
        "timestamp": "2026-11-28T04:21:36.578+0000",
        "application": APP,
        **fields,
    }


def stasis_start(cid: str) -> dict[str, Any]:
    return ev("StasisStart", args=[], channel=channel(cid))


def stasis_end(cid: str) -> dict[str, Any]:
    return ev("StasisEnd", channel=channel(cid))


def dtmf(cid: str, digit: str) -> dict[str, Any]:
    return ev("ChannelDtmfReceived", digit=digit, duration_ms=100, channel=channel(cid))


def playback(
    pid: str, cid: str, state: str = "playing", media: str = "sound:press-1"
) -> dict[str, Any]:
    return {
        "id": pid,
        "media_uri": media,
        "target_uri": f"channel:{cid}",
        "language": "en",
        "state": state,
    }


def playback_event(type_: str, pid: str, cid: str, state: str = "playing") -> dict[str, Any]:
    return ev(type_, playback=playback(pid, cid, state))


class FakeAri:
    """Just enough Asterisk for the client: channels in the app, playbacks, call log."""

    def __init__(self) -> None:
        self.channels: dict[str, dict[str, Any]] = {}
        self.playbacks: dict[str, dict[str, Any]] = {}
        self.status_override: dict[tuple[str, str], Response] = {}

    def transport(self, **kw: Any) -> MockTransport:
        return MockTransport(self.handle, **kw)

    def handle(self, req: Request) -> Response:
        override = self.status_override.get((req.method, req.path))
        if override is not None:
            return override
        parts = req.path.strip("/").split("/")
        if parts[0] == "applications" and req.method == "GET":
            return Response(200, {"name": parts[1], "channel_ids": list(self.channels)})
        if parts == ["channels"] and req.method == "POST":
            cid = req.params.get("channelId", "x")
            self.channels[cid] = channel(cid, in_stasis=False)
            return Response(200, self.channels[cid])
        if parts[0] == "channels" and len(parts) == 2 and req.method == "GET":
            ch = self.channels.get(parts[1])
            return Response(200, ch) if ch else Response(404, {"message": "Channel not found"})
        if parts[0] == "channels" and len(parts) == 2 and req.method == "DELETE":
            if self.channels.pop(parts[1], None) is None:
                return Response(404, {"message": "Channel not found"})
            return Response(204)
        if parts[0] == "channels" and len(parts) == 4 and parts[2] == "play":
            if parts[1] not in self.channels:
                return Response(404, {"message": "Channel not found"})
            pb = playback(parts[3], parts[1], "queued", req.params.get("media", ""))
            self.playbacks[parts[3]] = pb
            return Response(201, pb)
        if parts[0] == "playbacks" and req.method == "GET":
            pb = self.playbacks.get(parts[1])
            return Response(200, pb) if pb else Response(404, {"message": "Playback not found"})
        if parts[0] == "playbacks" and req.method == "DELETE":
            if self.playbacks.pop(parts[1], None) is None:
                return Response(404, {"message": "Playback not found"})
            return Response(204)
        return Response(204)
