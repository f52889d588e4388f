"""Micro-benchmark: decode an ARI event frame and route it to its call.

Run: ``.venv/bin/python -m benchmarks.bench_client_events``. Three figures, in events
per second of one CPU core, on a normal asyncio loop:

1. decode: ``json.loads`` + ``decode_event`` of a real ChannelDtmfReceived frame
   (taken from the Asterisk 20 traces' shape);
2. decode + route + deliver: frames pushed into a MockTransport websocket, read by the
   client's pump, decoded, routed to one of ``CALLS`` live call scopes and handed to
   that call's handler in its own consumer task (the whole path minus the socket read);
3. the same with PlaybackFinished frames (routed by playback id).

Wall-clock timing here is measurement, not behaviour, so ``time.perf_counter`` is fine.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from ivrkit.ari import (
    AriClient,
    CallScope,
    ChannelDtmfReceived,
    ConnectionConfig,
    Credentials,
    MockTransport,
    PlaybackFinished,
    Request,
    Response,
    StasisStart,
    decode_event,
)

CALLS = 1000
EVENTS = 100_000
APP = "channel-aa"


def _channel(cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "name": f"PJSIP/alice-{cid}",
        "state": "Up",
        "protocol_id": "",
        "caller": {"name": "Alice", "number": "100"},
        "connected": {"name": "Alice", "number": "100"},
        "accountcode": "",
        "dialplan": {
            "context": "default",
            "exten": "1000",
            "priority": 2,
            "app_name": "Stasis",
            "app_data": APP,
        },
        "creationtime": "2026-11-28T04:21:36.578+0000",
        "language": "en",
    }


def _frame(type_: str, **fields: Any) -> str:
    data = {"type": type_, "timestamp": "2026-11-28T04:21:36.578+0000", **fields}
    data.update(asterisk_id="02:fc:00:00:00:01", application=APP)
    return json.dumps(data)


def _dtmf(cid: str) -> str:
    return _frame("ChannelDtmfReceived", digit="1", duration_ms=100, channel=_channel(cid))


def _finished(pid: str, cid: str) -> str:
    playback = {
        "id": pid,
        "media_uri": "sound:press-1",
        "target_uri": f"channel:{cid}",
        "language": "en",
        "state": "done",
    }
    return _frame("PlaybackFinished", playback=playback)


def bench_decode(n: int) -> float:
    frame = _dtmf("1795839696.7")
    loads = json.loads
    started = time.perf_counter()
    for _ in range(n):
        decode_event(loads(frame))
    return n / (time.perf_counter() - started)


async def bench_route(n: int, kind: str) -> float:
    def handler(req: Request) -> Response:
        if req.path.startswith("/applications/"):
            return Response(200, {"name": APP, "channel_ids": []})
        if "/play/" in req.path:
            pid, cid = req.path.rsplit("/", 1)[1], req.path.split("/")[2]
            body = {"id": pid, "media_uri": "x", "target_uri": f"channel:{cid}", "state": "queued"}
            return Response(201, body)
        return Response(204)

    transport = MockTransport(handler)
    config = ConnectionConfig(
        base_url="http://127.0.0.1:8088", apps=(APP,), credentials=Credentials("u", "p")
    )
    seen = 0
    done = asyncio.get_running_loop().create_future()

    def count(event: object) -> None:
        nonlocal seen
        seen += 1
        if seen == n and not done.done():
            done.set_result(None)

    def setup(call: CallScope, start: StasisStart) -> None:
        call.on((ChannelDtmfReceived, PlaybackFinished), count)

    async with AriClient(config, transport=transport, on_call=setup) as client:
        ids = [f"ch-{i}" for i in range(CALLS)]
        for cid in ids:
            transport.stream.push(_frame("StasisStart", args=[], channel=_channel(cid)))
        while client.statistics().calls < CALLS:  # noqa: ASYNC110 - a count, not an event
            await asyncio.sleep(0.001)
        if kind == "dtmf":
            frames = [_dtmf(cid) for cid in ids]
        else:
            frames = []
            for i, cid in enumerate(ids):
                for j in range(n // CALLS):
                    await client.channels.play(cid, "sound:x", playback_id=f"pb-{i}-{j}")
                    frames.append(_finished(f"pb-{i}-{j}", cid))
        stream = transport.stream
        started = time.perf_counter()
        for k in range(n):
            stream.push(frames[k % len(frames)] if kind == "dtmf" else frames[k])
        await done
        elapsed = time.perf_counter() - started
    return n / elapsed


def main() -> None:
    decode = bench_decode(EVENTS)
    route_dtmf = asyncio.run(bench_route(EVENTS, "dtmf"))
    route_pb = asyncio.run(bench_route(EVENTS, "playback"))
    print(f"decode only (json + typed event)          {decode:>10,.0f} events/s")
    print(f"decode + route + deliver, DTMF, {CALLS} calls   {route_dtmf:>10,.0f} events/s")
    print(f"decode + route + deliver, PlaybackFinished {route_pb:>10,.0f} events/s")
    print(f"(per event: {1e6 / decode:.1f} µs decode, {1e6 / route_dtmf:.1f} µs end to end)")


if __name__ == "__main__":
    main()
