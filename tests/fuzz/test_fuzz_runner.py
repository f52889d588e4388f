"""Fuzz the client and runner: mutated recorded events and REST answers, two calls.

Frames a real Asterisk 20.20.1 sent (``../shared/asterisk-traces``) are mutated (fields
dropped, retyped, ids swapped, JSON cut short) and fed to the client while the runner
serves two calls: A, which the mutations are aimed at (its ids are in them, and its REST
requests get random answers), and B, which nothing aims at. Whatever comes: no traceback
is logged, B is exactly as it was and then goes on exactly as a clean call does, and a
new call C is still served.
"""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

from _fuzzing import COUNTS, TRACEBACKS, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from ivrkit.ari import (
    AriClient,
    ConnectionConfig,
    Credentials,
    MockTransport,
    Request,
    RequestTimeout,
    Response,
    UnknownEvent,
    Unreachable,
)
from ivrkit.ivr import CallState, load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.testing import run_virtual

TRACES = Path(__file__).resolve().parents[3] / "shared" / "asterisk-traces"
APP = "channel-aa"
A, B, C = "1700000000.1", "1700000000.2", "1700000000.3"
A_PLAYBACK = "<A's playback>-p"  # made A's real id prefix (it has the runner's token) when fed
MENU = load_menu(
    """\
transcript:
  digit: "{channel} pressed {digit}"
menus:
  main:
    greeting: sound:hello
    timeout: 5
    options:
      - key: 1
        play: sound:one
      - key: 2
        goto: other
  other:
    greeting: sound:other
    options:
      - key: "*"
        back: true
"""
)


def recorded_frames() -> list[dict[str, Any]]:
    """Every event frame of the traces, each trace's channels renamed to call A's id."""
    out = []
    for path in sorted(TRACES.glob("*.jsonl")):
        frames = []
        ids: set[str] = set()
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            data = rec.get("data")
            if (
                rec["kind"] == "ws_msg"
                and rec["dir"] == "out"
                and isinstance(data, dict)
                and data.get("type") not in (None, "RESTResponse", "ApplicationReplaced")
            ):
                frames.append(data)
                for key in ("channel", "peer", "caller"):
                    if isinstance(data.get(key), dict):
                        ids.add(data[key]["id"])
        out.extend(_renamed(frame, ids) for frame in frames)
    return out


def _renamed(value: Any, ids: set[str]) -> Any:
    """``value`` with every channel id of ``ids`` (alone or in a target URI) made A."""
    if isinstance(value, dict):
        return {k: _renamed(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, ids) for v in value]
    if isinstance(value, str):
        if value in ids:
            return A
        kind, sep, ident = value.partition(":")
        if sep and ident in ids:
            return f"{kind}:{A}"
    return value


FRAMES = recorded_frames()
DROP = "<the socket drops here>"
TYPES = sorted({f["type"] for f in FRAMES})
NASTY = st.sampled_from(
    [None, 0, -1, 2**70, 1e308, "", "x" * 500, [], {}, True, A, f"{A_PLAYBACK}1", f"{A_PLAYBACK}2",
     f"channel:{A}", "bridge:x", "PJSIP/ghost", "\ud800", {"id": None}, [A]]
)  # fmt: skip


@st.composite
def mutated_frame(draw: st.DrawFn) -> str:
    frame: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(FRAMES))))
    for _ in range(draw(st.integers(0, 3))):
        target: Any = frame
        # sometimes a nested object (channel, playback, bridge...)
        nested = [k for k, v in frame.items() if isinstance(v, dict)]
        if nested and draw(st.booleans()):
            target = frame[draw(st.sampled_from(nested))]
        keys = list(target)
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        op = draw(st.sampled_from(["drop", "set", "set", "playback", "type"]))
        if op == "drop":
            del target[key]
        elif op == "set":
            target[key] = copy.deepcopy(draw(NASTY))  # never share the constants
        elif op == "playback" and isinstance(frame.get("playback"), dict):
            frame["playback"]["id"] = f"{A_PLAYBACK}{draw(st.integers(1, 4))}"
            frame["playback"]["target_uri"] = f"channel:{A}"
        else:
            frame["type"] = copy.deepcopy(draw(st.sampled_from(TYPES) | NASTY))
    text = json.dumps(frame)
    if draw(st.integers(0, 9)) == 0:
        text = text[: draw(st.integers(0, len(text)))]  # cut short: not JSON
    return text


answers = st.one_of(
    st.builds(
        Response,
        st.sampled_from([200, 201, 204, 400, 404, 409, 412, 422, 500, 503]),
        st.one_of(
            st.none(),
            st.just({"id": None}),
            st.just({"id": 5, "state": []}),
            st.just([]),
            st.just("junk"),
            st.just({"message": "Channel not found"}),
        ),
    ),
    st.sampled_from(["timeout", "unreachable"]),
)


class FuzzAri:
    """Answers like Asterisk, except that requests about call A get ``mutations``."""

    def __init__(self, mutations: list[Any]) -> None:
        self.mutations = list(mutations)
        self.plays: dict[str, list[str]] = {A: [], B: [], C: []}
        self.answered: set[str] = set()
        self.requests = 0
        self.live: set[str] = set()
        self.playbacks: dict[str, dict[str, Any]] = {}

    def handle(self, req: Request) -> Response:
        self.requests += 1
        # a call's requests are bounded by its events; a loop would spin the virtual
        # clock's loop forever (time only moves when it is idle), so fail loudly
        assert self.requests < 300, f"request loop: {req.method} {req.path}"
        parts = req.path.strip("/").split("/")
        about_a = A in req.path
        if about_a and self.mutations:
            mutation = self.mutations.pop(0)
            COUNTS["runner REST answers mutated"] += 1
            if mutation == "timeout":
                raise RequestTimeout("fuzz: no answer in time")
            if mutation == "unreachable":
                raise Unreachable("fuzz: connection reset")
            assert isinstance(mutation, Response)
            return mutation
        if parts[0] == "applications":
            return Response(200, {"name": APP, "channel_ids": sorted(self.live)})
        if parts[0] == "channels" and len(parts) == 2 and req.method == "GET":
            if parts[1] not in self.live:
                return Response(404, {"message": "Channel not found"})
            dialplan = {"context": "default", "exten": "1000", "priority": 2,
                        "app_name": "Stasis", "app_data": APP}  # fmt: skip
            return Response(200, {**channel(parts[1]), "dialplan": dialplan})
        if parts[0] == "playbacks" and req.method == "GET":
            playback = self.playbacks.get(parts[1])
            return Response(200, playback) if playback else Response(404, {"message": "x"})
        if len(parts) == 4 and parts[2] == "play":
            self.plays.setdefault(parts[1], []).append(str(req.params.get("media")))
            self.playbacks[parts[3]] = {
                "id": parts[3], "media_uri": req.params.get("media"),
                "target_uri": f"channel:{parts[1]}", "state": "playing",
            }  # fmt: skip
            return Response(201, self.playbacks[parts[3]])
        if len(parts) == 3 and parts[2] == "answer":
            self.answered.add(parts[1])
        return Response(204)


def frame(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "application": APP, "timestamp": "t", **fields}


def channel(cid: str) -> dict[str, Any]:
    return {"id": cid, "name": f"PJSIP/{cid}", "state": "Up"}


def finished(pid: str, cid: str) -> dict[str, Any]:
    return frame(
        "PlaybackFinished",
        playback={"id": pid, "media_uri": "", "target_uri": f"channel:{cid}", "state": "done"},
    )


def b_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if B in line]


async def until(predicate: Any) -> None:
    async with asyncio.timeout(30):
        while not predicate():  # noqa: ASYNC110 - conditions span several objects
            await asyncio.sleep(0.01)


async def scenario(frames: list[str], mutations: list[Any]) -> None:
    ari = FuzzAri(mutations)
    transport = MockTransport(ari.handle)
    lines: list[str] = []
    runner = MenuRunner(MENU, transcript=lines.append)
    config = ConnectionConfig(
        base_url="http://127.0.0.1:1", apps=(APP,), credentials=Credentials("u", "p")
    )
    client = AriClient(config, transport=transport)
    runner.attach(client)
    sentinels: list[str] = []
    client.on(UnknownEvent, lambda e: sentinels.append(e.type))
    async with client:
        stream = transport.stream
        ari.live.update((A, B))
        stream.push(frame("StasisStart", args=[], channel=channel(B)))
        await until(lambda: ari.plays[B] == ["sound:hello"])
        b = runner._calls[B]
        stream.push(frame("StasisStart", args=[], channel=channel(A)))
        await until(
            lambda: A not in runner._calls or runner._calls[A].machine.state is not CallState.IDLE
        )
        before = (b.machine.state, b.machine.menu, list(ari.plays[B]), b_lines(lines))
        for text in frames:
            if text == DROP:
                # the socket drops: the client reconnects and re-syncs (A's lookups get
                # the random answers too) before it reads on
                stream.push(frame("FuzzSentinel"))
                await until(lambda: "FuzzSentinel" in sentinels)
                sentinels.clear()
                streams = len(transport.streams)
                stream.drop()
                await until(lambda n=streams: len(transport.streams) > n and client.ready)
                stream = transport.stream
                COUNTS["runner reconnects"] += 1
            else:
                stream.push(text.replace(A_PLAYBACK, f"{A}-{runner.token}-p"))
        COUNTS["runner frames fed"] += len(frames)
        stream.push(frame("FuzzSentinel"))
        await until(lambda: "FuzzSentinel" in sentinels)
        await asyncio.sleep(0.1)
        assert (b.machine.state, b.machine.menu, ari.plays[B], b_lines(lines)) == before
        # B goes on as a clean call: greeting ends, 1 plays its prompt, 2 enters `other`
        greeting = b.machine.current_playback
        assert greeting is not None
        stream.push(finished(greeting, B))
        await until(lambda: b.machine.state is CallState.WAITING)
        stream.push(frame("ChannelDtmfReceived", digit="2", channel=channel(B)))
        await until(lambda: ari.plays[B] == ["sound:hello", "sound:other"])
        assert f"PJSIP/{B} pressed 2" in lines
        # and a new call is served
        ari.live.add(C)
        stream.push(frame("StasisStart", args=[], channel=channel(C)))
        await until(lambda: ari.plays[C] == ["sound:hello"] and C in ari.answered)
        for cid in list(runner._calls):  # A, B, C and any call a mutated frame started
            stream.push(frame("StasisEnd", channel=channel(cid)))
        async with asyncio.timeout(30):
            await runner.wait_no_calls()
    COUNTS["runner scenarios"] += 1


@fuzz_settings(examples=100)
@given(
    st.lists(mutated_frame() | st.just(DROP), min_size=1, max_size=12),
    st.lists(answers, max_size=6),
)
def test_mutated_events_and_answers(frames: list[str], mutations: list[Any]) -> None:
    before = TRACEBACKS.seen
    run_virtual(scenario(frames, mutations))
    assert TRACEBACKS.seen == before, TRACEBACKS.last
