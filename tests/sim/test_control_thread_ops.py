"""moh, silence, progress, redirect, dial and move run on the channel's control thread.

In Asterisk 20.20.1 each of these is ``stasis_app_send_command_async`` in
``res/stasis/control.c`` (``stasis_app_control_moh_start``/``_stop``,
``_silence_start``/``_stop``, ``_progress``, ``_redirect``, ``_dial``, ``_move``): the
request is answered at once (204) and the command runs when the channel's thread gets
to it, so behind a playing prompt (or a recording) it acts only when that ends. Each
test here asks for the operation while ``press-1`` plays and checks when it acted
(virtual time: ``press-1`` is 1.189 s as recorded).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from _simari import Ari, Events, ari_session

from ivrkit.sim import Caller, Simulator

PRESS_1 = 1.189
PLAN = {"default": {"1000": ["NoOp()", "Stasis(ctl)", "Hangup()"]}}


async def _in_stasis(sim: Simulator, ev: Events) -> Caller:
    await sim.wait_for_app("ctl")
    caller = await sim.call("PJSIP/alice", "1000")  # state Ring: not answered
    await ev.next("StasisStart")
    return caller


async def _playing(ari: Ari, ev: Events, channel_id: str) -> None:
    """press-1 starts on the channel (it plays for PRESS_1 s)."""
    await ari.req("POST", f"channels/{channel_id}/play", {"media": "sound:press-1"})
    await ev.next("PlaybackStarted")


def _prompt_end(caller: Caller) -> float:
    (prompt,) = [h for h in caller.heard if h.media_uri == "sound:press-1"]
    assert prompt.end is not None
    assert not prompt.cut_off
    return prompt.end


def _right_after(when: float, end: float) -> bool:
    """``when`` is the prompt's end or just after it (the virtual clock also counts
    the loop's real time, so a loaded machine adds a few ms)."""
    return end <= when < end + 0.1


async def _answered_at_once(ari: Ari, method: str, path: str, **params: str) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert await ari.req(method, path, params or None) == (204, None)
    assert loop.time() - start < 0.05  # asynchronous: not held behind the prompt


def _times(caller: Caller, what: str) -> list[float]:
    return [when for name, when in caller.indications if name == what]


@pytest.mark.parametrize("path", ["progress", "silence", "moh"])
async def test_progress_silence_and_moh_indicate_progress_when_the_prompt_ends(
    path: str,
) -> None:
    """app_control_progress indicates AST_CONTROL_PROGRESS; app_control_silence_start and
    app_control_moh_start do so first on a channel that is not Up. A playback on the
    unanswered channel indicated progress once already, as it started."""
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        await _playing(ari, ev, caller.channel_id)
        await _answered_at_once(ari, "POST", f"channels/{caller.channel_id}/{path}")
        assert len(_times(caller, "progress")) == 1
        await ev.next("PlaybackFinished")
        await asyncio.sleep(0.01)
        progress = _times(caller, "progress")
        assert len(progress) == 2
        assert _right_after(progress[1], _prompt_end(caller))


async def test_music_on_hold_starts_and_stops_after_the_prompt() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        cid = caller.channel_id
        await ari.req("POST", f"channels/{cid}/answer")
        await _playing(ari, ev, cid)
        await _answered_at_once(ari, "POST", f"channels/{cid}/moh", mohClass="default")
        await _answered_at_once(ari, "DELETE", f"channels/{cid}/moh")
        assert not [h for h in caller.heard if h.media_uri.startswith("moh:")]
        await ev.next("PlaybackFinished")
        await asyncio.sleep(0.01)
        (moh,) = [h for h in caller.heard if h.media_uri == "moh:default"]
        assert _right_after(moh.start, _prompt_end(caller))
        assert moh.end == pytest.approx(moh.start, abs=0.001)  # the stop ran next, in order


async def test_redirect_transfers_the_phone_when_the_prompt_ends() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("ctl") as ev:
        caller = await _in_stasis(sim, ev)
        cid = caller.channel_id
        await ari.req("POST", f"channels/{cid}/answer")
        await _playing(ari, ev, cid)
        await _answered_at_once(ari, "POST", f"channels/{cid}/redirect", endpoint="PJSIP/bob")
        assert _times(caller, "transfer:bob") == []
        finished = await ev.next("PlaybackFinished")
        assert finished["playback"]["state"] == "done"  # not cut off by the transfer
        await caller.wait_for_hangup()
        (transfer,) = _times(caller, "transfer:bob")
        assert _right_after(transfer, _prompt_end(caller))
        assert caller.heard[0].cut_off is False


async def _rest_frames(ev: Events, *requests: dict[str, Any]) -> None:
    """Several RESTRequests written back to back, before any answer is read."""
    for n, request in enumerate(requests):
        frame = {"type": "RESTRequest", "transaction_id": f"t{n}", "request_id": f"r{n}"}
        await ev.ws.send_str(json.dumps({**frame, **request}))


async def test_dial_runs_in_order_with_the_commands_asked_for_after_it() -> None:
    """POST /dial is answered at once and queued; a variable set asked for right after it
    (synchronous) runs after it on the thread: its ChannelVarset follows the Dial event
    and its answer follows both."""
    endpoints = {"PJSIP/bob": {"answer_after": 1}}
    async with (
        Simulator(dialplan=PLAN, endpoints=endpoints) as sim,
        ari_session(sim) as ari,
        ari.events("ctl") as ev,
    ):
        await sim.wait_for_app("ctl")
        status, created = await ari.req(
            "POST", "channels/create", {"endpoint": "PJSIP/bob", "app": "ctl"}
        )
        assert status == 200
        await ev.next("StasisStart")
        cid = created["id"]
        await _rest_frames(
            ev,
            {"method": "POST", "uri": f"channels/{cid}/dial"},
            {"method": "POST", "uri": f"channels/{cid}/variable?variable=X&value=1"},
        )
        await ev.next("RESTResponse")
        await ev.next("RESTResponse")
        await ev.drain(0.1)
        order = [
            e.get("transaction_id", e["type"])
            for e in ev.received
            if e["type"] in ("RESTResponse", "Dial") or e.get("variable") == "X"
        ]
        assert order == ["t0", "Dial", "ChannelVarset", "t1"]
        assert [e["status_code"] for e in ev.received if e["type"] == "RESTResponse"] == [204, 204]


async def test_move_waits_for_a_recording_and_a_prompt_queued_behind_it() -> None:
    """A recording holds the thread like a prompt (record_file is a command): the move
    switches when it has finished. A prompt asked for after the move, while the
    recording ran, plays first, to the old application (stasis_app_exec switches only
    once control_dispatch_all has run every queued command)."""
    plan = {"default": {"1000": ["Answer()", "Stasis(ivr-a)", "Hangup()"]}}
    async with (
        Simulator(dialplan=plan) as sim,
        ari_session(sim) as ari,
        ari.events("ivr-a") as a,
        ari.events("ivr-b") as b,
    ):
        caller = await sim.call("PJSIP/alice", "1000")
        await a.next("StasisStart")
        cid = caller.channel_id
        record = {"name": "msg", "format": "wav", "maxDurationSeconds": "2"}
        assert (await ari.req("POST", f"channels/{cid}/record", record))[0] == 201
        await a.next("RecordingStarted")
        await _answered_at_once(ari, "POST", f"channels/{cid}/move", app="ivr-b", appArgs="x")
        await ari.req("POST", f"channels/{cid}/play", {"media": "sound:press-1"})
        await a.next("StasisEnd")
        kinds = [e["type"] for e in a.received]
        assert kinds.index("RecordingFinished") < kinds.index("PlaybackStarted")
        assert kinds.index("PlaybackFinished") < kinds.index("StasisEnd")
        assert (await b.next("StasisStart"))["args"] == ["x"]
        assert sim.model.channels[cid].stasis_app == "ivr-b"


async def test_move_asked_for_on_an_idle_channel_switches_at_once() -> None:
    plan = {"default": {"1000": ["Answer()", "Stasis(ivr-a)", "Hangup()"]}}
    async with (
        Simulator(dialplan=plan) as sim,
        ari_session(sim) as ari,
        ari.events("ivr-a") as a,
        ari.events("ivr-b") as b,
    ):
        caller = await sim.call("PJSIP/alice", "1000")
        await a.next("StasisStart")
        await _answered_at_once(ari, "POST", f"channels/{caller.channel_id}/move", app="ivr-b")
        await a.next("StasisEnd")
        await b.next("StasisStart")
