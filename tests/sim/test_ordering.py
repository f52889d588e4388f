"""Issue 14 item 5: the three ordering rules of the channel's control thread.

Each rule is named in ``ivrkit/sim/model/_control_thread.py`` next to the recording (or the
Asterisk 20.20.1 source) that shows it:

1. ``EVENTS_FIRST``: the events of a synchronous command (answer, variable set, bridge
   addChannel/removeChannel) are written before its HTTP answer (guide-js-* answer;
   protocol-catalog steps 54 and 56);
2. ``QUEUED_BEHIND_MEDIA``: a command waits for the playback holding the channel's
   thread; a synchronous one is answered only then (protocol-catalog step 62, t5);
3. ``PROGRESS_ON_MEDIA``: a playback on the unanswered ``;2`` half of a Local pair sends
   ``Dial`` ``dialstatus: PROGRESS`` for the dialling ``;1`` half
   (res/res_stasis_playback.c ``play_on_channel``, main/dial.c).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import aiohttp
import pytest
from _simari import Ari, Events, ari_session, eventually

from ivrkit.sim import Caller, Simulator
from ivrkit.sim.front import _app
from ivrkit.sim.model import _control_thread, _playbacks

PRESS_1 = 1.189  # sound:press-1 as recorded


@pytest.fixture
def wire(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What the simulator writes, in order: ("event", type) as each websocket frame is
    handed to its transport, ("answer", path) as each HTTP answer is handed to aiohttp,
    which writes it next."""
    log: list[tuple[str, str]] = []
    send_str = aiohttp.web.WebSocketResponse.send_str
    rest = _app._rest

    async def spy_send(self: aiohttp.web.WebSocketResponse, data: str, **kw: Any) -> None:
        await send_str(self, data, **kw)
        log.append(("event", json.loads(data)["type"]))

    async def spy_rest(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        response = await rest(request)
        log.append(("answer", f"{request.method} {request.path}"))
        return response

    monkeypatch.setattr(aiohttp.web.WebSocketResponse, "send_str", spy_send)
    monkeypatch.setattr(_app, "_rest", spy_rest)
    return log


async def _incoming(sim: Simulator, ev: Events) -> Caller:
    await sim.wait_for_app("channel-aa")
    caller = await sim.call("PJSIP/alice", "1000")
    await ev.next("StasisStart")
    return caller


def _around(log: list[tuple[str, str]], answer: str) -> tuple[list[str], list[str]]:
    """Event types written before and after the answer ``answer``."""
    index = log.index(("answer", answer))
    before = [what for kind, what in log[:index] if kind == "event"]
    after = [what for kind, what in log[index + 1 :] if kind == "event"]
    return before, after


# ------------------------------------------------------------------ rule 1: EVENTS_FIRST


async def test_answer_writes_its_events_before_its_answer(wire: list[tuple[str, str]]) -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        path = f"/ari/channels/{caller.channel_id}/answer"
        assert await ari.req("POST", path[5:]) == (204, None)
        before, _ = _around(wire, f"POST {path}")
        assert before[-1] == "ChannelStateChange"


async def test_bridge_add_and_remove_write_their_events_before_their_answer(
    wire: list[tuple[str, str]],
) -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await ari.req("POST", "bridges/b1")
        args = {"channel": caller.channel_id}
        assert (await ari.req("POST", "bridges/b1/addChannel", args))[0] == 204
        assert (await ari.req("POST", "bridges/b1/removeChannel", args))[0] == 204
        before, _ = _around(wire, "POST /ari/bridges/b1/addChannel")
        assert before[-1] == "ChannelEnteredBridge"
        before, _ = _around(wire, "POST /ari/bridges/b1/removeChannel")
        assert before[-1] == "ChannelLeftBridge"


async def test_an_asynchronous_command_does_not_wait_for_its_events(
    wire: list[tuple[str, str]],
) -> None:
    """play is ``stasis_app_send_command_async``: answered first (201 ``queued``)."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        path = f"/ari/channels/{caller.channel_id}/play"
        status, body = await ari.req("POST", path[5:], {"media": "sound:press-1"})
        assert (status, body["state"]) == (201, "queued")
        await ev.next("PlaybackStarted")
        _, after = _around(wire, f"POST {path}")
        assert "PlaybackStarted" in after


# ------------------------------------------------------------ rule 2: QUEUED_BEHIND_MEDIA


async def _timed(call: Awaitable[tuple[int, Any]]) -> tuple[int, Any, float]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    status, body = await call
    return status, body, loop.time() - start


async def _playing(ari: Ari, ev: Events, caller: Caller) -> None:
    play = {"media": "sound:press-1"}
    await ari.req("POST", f"channels/{caller.channel_id}/play", play)
    await ev.next("PlaybackStarted")


async def test_a_variable_set_during_a_prompt_is_answered_when_it_ends() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)
        var = {"variable": "X", "value": "1"}
        status, _, took = await _timed(
            ari.req("POST", f"channels/{caller.channel_id}/variable", var)
        )
        assert status == 204
        assert took == pytest.approx(PRESS_1, abs=0.05)
        types = [e["type"] for e in await ev.drain(0.1)]
        assert types[:2] == ["PlaybackFinished", "ChannelVarset"]
        assert await ari.req(
            "GET", f"channels/{caller.channel_id}/variable", {"variable": "X"}
        ) == (
            200,
            {"value": "1"},
        )


async def test_answer_during_a_prompt_on_a_ringing_channel_waits_for_it() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)  # early media on the Ring channel
        status, _, took = await _timed(ari.req("POST", f"channels/{caller.channel_id}/answer"))
        assert status == 204
        assert took == pytest.approx(PRESS_1, abs=0.05)
        assert (await ari.req("GET", f"channels/{caller.channel_id}"))[1]["state"] == "Up"


async def test_asynchronous_commands_are_answered_at_once_and_act_after_the_prompt() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)
        loop = asyncio.get_running_loop()
        start = loop.time()
        dtmf = {"dtmf": "5", "duration": "100"}
        status, _, took = await _timed(ari.req("POST", f"channels/{caller.channel_id}/dtmf", dtmf))
        assert status == 204
        assert took < 0.1
        await eventually(lambda: caller.digits_heard)
        # the digit went out only once press-1 had ended (then 100 ms + the latency)
        assert loop.time() - start >= PRESS_1


async def test_commands_keep_the_order_they_were_asked_in() -> None:
    """play, set X=1, play, set X=2: each set runs when the prompt before it ends."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        cid = caller.channel_id
        play = {"media": "sound:press-1"}
        await ari.req("POST", f"channels/{cid}/play", play)
        first = asyncio.create_task(
            ari.req("POST", f"channels/{cid}/variable", {"variable": "X", "value": "1"})
        )
        await eventually(lambda: caller.channel.playbacks.commands)  # queued, in this order
        await ari.req("POST", f"channels/{cid}/play", play)
        await first
        await ari.req("POST", f"channels/{cid}/variable", {"variable": "X", "value": "2"})
        await ev.drain(0.1)
        types = [
            (e["type"], e.get("value"))
            for e in ev.received
            if e["type"] in ("PlaybackStarted", "PlaybackFinished", "ChannelVarset")
            and e.get("variable", "X") == "X"
        ]
        assert types == [
            ("PlaybackStarted", None),
            ("PlaybackFinished", None),
            ("ChannelVarset", "1"),
            ("PlaybackStarted", None),
            ("PlaybackFinished", None),
            ("ChannelVarset", "2"),
        ]


@pytest.mark.parametrize(
    ("path", "params", "answer"),
    [
        ("answer", None, (500, {"message": "Failed to answer channel"})),
        (
            "variable",
            {"variable": "X", "value": "1"},
            (400, {"message": "Failed to execute function"}),
        ),
    ],
)
async def test_a_command_still_queued_when_the_caller_hangs_up_fails_as_on_asterisk(
    path: str, params: dict[str, str] | None, answer: tuple[int, Any]
) -> None:
    """``control_flush_queue`` completes each queued command with -1."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)
        request = asyncio.create_task(
            ari.req("POST", f"channels/{caller.channel_id}/{path}", params)
        )
        await eventually(lambda: caller.channel.playbacks.commands)
        await caller.hangup()
        assert await request == answer


def _rest_frame(n: int, method: str, uri: str) -> str:
    """A RESTRequest frame with transaction and request ids ``t<n>``/``r<n>``."""
    frame = {"type": "RESTRequest", "transaction_id": f"t{n}", "request_id": f"r{n}"}
    return json.dumps({**frame, "method": method, "uri": uri})


def _set_x(caller: Caller) -> str:
    """The variable set protocol-catalog step 62 sends during a prompt (t5)."""
    return f"channels/{caller.channel_id}/variable?variable=X&value=1"


async def test_rest_over_websocket_waits_like_http() -> None:
    """protocol-catalog step 62: RESTRequest t5 sets a variable during press-1; Asterisk
    sends the RESTResponse when the prompt has ended, after its ChannelVarset."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)
        await ev.ws.send_str(_rest_frame(5, "POST", _set_x(caller)))
        response = await ev.next("RESTResponse")
        assert response["status_code"] == 204
        types = [e["type"] for e in ev.received]
        assert (
            types.index("PlaybackFinished")
            < types.index("ChannelVarset")
            < types.index("RESTResponse")
        )


async def test_rest_over_websocket_answers_one_request_at_a_time() -> None:
    """Asterisk's session thread handles a websocket's frames one by one
    (res/ari/ari_websockets.c: session_read, then ari_websocket_process_request): a
    variable set held behind a prompt holds every later request on that socket, here a
    ping that needs no channel at all. Before, the simulator answered the ping at once."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        await _playing(ari, ev, caller)
        await ev.ws.send_str(_rest_frame(5, "POST", _set_x(caller)))
        await ev.ws.send_str(_rest_frame(6, "GET", "asterisk/ping"))
        first = await ev.next("RESTResponse")
        second = await ev.next("RESTResponse")
        assert (first["request_id"], second["request_id"]) == ("r5", "r6")
        types = [e["type"] for e in ev.received]
        assert types.index("PlaybackFinished") < types.index("RESTResponse")


async def test_a_stopped_prompt_ends_after_the_stop_is_answered() -> None:
    """res/res_stasis_playback.c playback_stop queues AST_CONTROL_STREAM_STOP: the
    DELETE is answered first, the prompt ends when the stream loop reads it (recorded:
    0.87-4.7 ms later). Meanwhile the playback reads "done" and a second DELETE changes
    nothing; a prompt queued behind starts only once the stopped one has ended."""
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa") as ev:
        caller = await _incoming(sim, ev)
        cid = caller.channel_id
        played = await ari.req("POST", f"channels/{cid}/play/pb-1", {"media": "sound:press-1"})
        assert played[0] == 201
        await ev.next("PlaybackStarted")
        queued = await ari.req("POST", f"channels/{cid}/play/pb-2", {"media": "sound:or"})
        assert queued[0] == 201
        loop = asyncio.get_running_loop()
        await ev.ws.send_str(_rest_frame(1, "DELETE", "playbacks/pb-1"))
        asked = loop.time()
        answer = await ev.next()
        assert (answer["type"], answer["status_code"]) == ("RESTResponse", 204)
        status, playback = await ari.req("GET", "playbacks/pb-1")
        assert (status, playback["state"]) == (200, "done")
        assert (await ari.req("DELETE", "playbacks/pb-1"))[0] == 204
        finished = await ev.next()
        assert (finished["type"], finished["playback"]["id"]) == ("PlaybackFinished", "pb-1")
        assert loop.time() - asked >= _playbacks.STOP_TAKES
        started = await ev.next()
        assert (started["type"], started["playback"]["id"]) == ("PlaybackStarted", "pb-2")
        assert [h.media_uri for h in caller.heard][:1] == ["sound:press-1"]
        assert caller.heard[0].cut_off


# -------------------------------------------------------------- rule 3: PROGRESS_ON_MEDIA


async def test_media_on_the_unanswered_half_sends_dial_progress() -> None:
    async with Simulator() as sim, ari_session(sim) as ari, ari.events("channel-aa,fx") as ev:
        await sim.wait_for_app("fx")
        params = {
            "endpoint": "Local/1000@default",
            "app": "fx",
            "channelId": "one",
            "otherChannelId": "two",
        }
        assert (await ari.req("POST", "channels", params))[0] == 200
        start = await ev.next("StasisStart")
        assert start["channel"]["id"] == "two"
        await ari.req("POST", "channels/two/play", {"media": "sound:press-1"})
        await ev.next("PlaybackStarted")
        dials = [e for e in ev.received if e["type"] == "Dial" and e["dialstatus"]]
        assert [(d["dialstatus"], d["peer"]["id"], d["application"]) for d in dials] == [
            ("PROGRESS", "one", "fx")
        ]
        types = [e["type"] for e in ev.received]
        assert ev.received.index(dials[0]) < types.index("PlaybackStarted")
        # once answered, media is no progress any more
        await ari.req("POST", "channels/two/answer")
        await ev.next("StasisStart")  # ;1 enters fx once answered
        await ari.req("POST", "channels/two/play", {"media": "sound:or"})
        while (await ev.next("PlaybackFinished"))["playback"]["media_uri"] != "sound:or":
            pass
        statuses = [e["dialstatus"] for e in ev.received if e["type"] == "Dial" and e["dialstatus"]]
        assert statuses == ["PROGRESS", "ANSWER"]


def test_the_rules_are_named_in_the_code() -> None:
    source = {
        name: getattr(_control_thread, name)
        for name in ("EVENTS_FIRST", "QUEUED_BEHIND_MEDIA", "PROGRESS_ON_MEDIA")
    }
    assert all(source.values())
    doc = _control_thread.__doc__ or ""
    for recording in ("guide-js-", "step 54", "step 56", "step 62", "play_on_channel"):
        assert recording in doc
