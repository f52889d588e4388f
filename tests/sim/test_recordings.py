"""Recordings as Asterisk 20.20.1 makes them (no audio content: silence of the right length).

Sources: ``res/ari/resource_channels.c`` ``ast_ari_channels_record`` (checks and their
order), ``res/res_stasis_recording.c`` (``record_file``, the operation table, the
``LiveRecording`` JSON and its events), ``main/app.c`` ``__ast_play_and_record`` (how
it ends and how ``duration``/``talking_duration`` are counted), ``res/ari/
resource_recordings.c`` and ``res/stasis_recording/stored.c`` (stored files).
"""

from __future__ import annotations

import asyncio
import struct

from _simari import Ari, Events, ari_session

from ivrkit.sim import Caller, Simulator

PLAN = {"default": {"1000": ["NoOp()", "Stasis(rec)", "Hangup()"]}}


async def _call(sim: Simulator, ev: Events) -> Caller:
    await sim.wait_for_app("rec")
    caller = await sim.call("PJSIP/alice", "1000")
    await ev.next("StasisStart")
    return caller


async def _record(ari: Ari, cid: str, **params: str) -> tuple[int, object]:
    return await ari.req("POST", f"channels/{cid}/record", {"format": "wav", **params})


async def test_record_until_max_duration_then_a_stored_wav_file() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        caller = await _call(sim, ev)
        cid = caller.channel_id
        loop = asyncio.get_running_loop()
        async with ari.session.post(
            f"{sim.url}/ari/channels/{cid}/record",
            params={"name": "msg/one", "format": "wav", "maxDurationSeconds": "3"},
        ) as resp:
            # 201 + Location (ast_ari_response_created), the command not run yet: queued
            assert resp.status == 201
            assert resp.headers["Location"] == "/ari/recordings/live/msg%2Fone"
            assert await resp.json() == {
                "name": "msg/one",
                "format": "wav",
                "state": "queued",
                "target_uri": f"channel:{cid}",
            }
        # ast_auto_answer answers a channel that is not Up before recording
        assert (await ev.next("ChannelStateChange"))["channel"]["state"] == "Up"
        started = await ev.next("RecordingStarted")
        t0 = loop.time()
        assert started["recording"]["state"] == "recording"
        assert (await ari.req("GET", "recordings/live/msg/one"))[0] == 404  # name has a /
        assert (await ari.req("GET", "recordings/live/msg%2Fone"))[1]["state"] == "recording"
        finished = await ev.next("RecordingFinished")
        # main/app.c: `maxtime < (end - start)` on time() seconds: it stops once the
        # whole-second clock is more than 3 s past the start, i.e. after 3 to 4 s
        assert 3.0 < loop.time() - t0 <= 4.0
        assert finished["recording"] == {
            "name": "msg/one",
            "format": "wav",
            "state": "done",
            "target_uri": f"channel:{cid}",
            "duration": 3,
        }
        # no longer live (recording_cleanup unlinks it); now a stored recording
        assert (await ari.req("GET", "recordings/live/msg%2Fone"))[0] == 404
        assert await ari.req("GET", "recordings/stored") == (
            200,
            [{"name": "msg/one", "format": "wav"}],
        )
        async with ari.session.get(f"{sim.url}/ari/recordings/stored/msg%2Fone/file") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "audio/wav"  # <media type>/<extension>
            data = await resp.read()
        assert data[:4] == b"RIFF"
        assert data[8:12] == b"WAVE"
        (data_len,) = struct.unpack("<I", data[40:44])
        assert 3 * 16000 < data_len <= 4 * 16000  # 8 kHz 16-bit silence of that length
        # ifExists=fail (the default) refuses an existing file; overwrite is allowed
        assert await _record(ari, cid, name="msg/one") == (
            409,
            {"message": "Recording 'msg/one' already exists and can not be overwritten"},
        )


async def test_argument_checks_in_asterisks_order() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        caller = await _call(sim, ev)
        cid = caller.channel_id
        assert await _record(ari, cid, name="x", maxDurationSeconds="-1") == (
            400,
            {"message": "max_duration_seconds cannot be negative"},
        )
        assert await _record(ari, "nope", name="x") == (404, {"message": "Channel not found"})
        assert await _record(ari, cid, name="x", terminateOn="9") == (
            400,
            {"message": "terminateOn invalid"},
        )
        assert await _record(ari, cid, name="x", ifExists="keep") == (
            400,
            {"message": "ifExists invalid"},
        )
        assert await _record(ari, cid, name="x", format="mp3") == (
            422,
            {"message": "specified format is unknown on this system"},
        )
        # no name: EINVAL from stasis_app_control_record; a path out of the directory: EPERM
        assert await _record(ari, cid) == (500, {"message": "Error parsing request"})
        assert await _record(ari, cid, name="../etc/x") == (
            400,
            {"message": "Recording name invalid"},
        )
        assert (await _record(ari, cid, name="dup"))[0] == 201
        assert await _record(ari, cid, name="dup", ifExists="overwrite") == (
            409,
            {"message": "Recording 'dup' already exists and can not be overwritten"},
        )
        assert (await ari.req("POST", "recordings/live/dup/stop"))[0] == 204


async def test_silence_dtmf_stop_and_the_queue_behind_a_prompt() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        caller = await _call(sim, ev)
        cid = caller.channel_id
        await ari.req("POST", f"channels/{cid}/answer")
        # a record waits behind a playing prompt (both are commands on the channel)
        await ari.req("POST", f"channels/{cid}/play", {"media": "sound:press-1"})
        assert (await _record(ari, cid, name="talk", maxSilenceSeconds="2"))[0] == 201
        await ev.next("PlaybackFinished")
        await ev.next("RecordingStarted")
        await caller.speak(3.0)
        finished = await ev.next("RecordingFinished")
        # 3 s of talk, then silence: it ends 2 s + one 20 ms frame into the silence;
        # duration = 5.02 s written minus (2020 - 200) ms of trailing silence, whole seconds
        recording = finished["recording"]
        assert (recording["duration"], recording["talking_duration"]) == (4, 4)
        assert recording["silence_duration"] == 0
        # terminateOn: the digit is still reported, then the recording ends
        assert (await _record(ari, cid, name="dtmf", terminateOn="#"))[0] == 201
        await ev.next("RecordingStarted")
        await caller.press("1")
        await caller.press("#")
        digits = []
        while True:
            got = await ev.next()
            if got["type"] == "ChannelDtmfReceived":
                digits.append(got["digit"])
            if got["type"] == "RecordingFinished":
                break
        assert digits == ["1", "#"]
        # pause is not in session for a finished recording (it is not live at all)
        assert await ari.req("POST", "recordings/live/dtmf/pause") == (
            404,
            {"message": "Recording not found"},
        )
        # stop keeps the file, cancel deletes it (record_file still publishes "done")
        assert (await _record(ari, cid, name="kept"))[0] == 201
        await ev.next("RecordingStarted")
        assert (await ari.req("POST", "recordings/live/kept/pause"))[0] == 204
        assert (await ari.req("GET", "recordings/live/kept"))[1]["state"] == "paused"
        assert (await ari.req("POST", "recordings/live/kept/stop"))[0] == 204
        assert (await ev.next("RecordingFinished"))["recording"]["state"] == "done"
        assert (await _record(ari, cid, name="gone"))[0] == 201
        await ev.next("RecordingStarted")
        assert (await ari.req("DELETE", "recordings/live/gone"))[0] == 204
        assert (await ev.next("RecordingFinished"))["recording"]["state"] == "done"
        names = [r["name"] for r in (await ari.req("GET", "recordings/stored"))[1]]
        assert names == ["dtmf", "kept", "talk"]


async def test_a_bridged_channel_fails_and_hangup_keeps_the_file() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        caller = await _call(sim, ev)
        cid = caller.channel_id
        await ari.req("POST", "bridges", {"bridgeId": "b1"})
        await ari.req("POST", "bridges/b1/addChannel", {"channel": cid})
        assert (await _record(ari, cid, name="inbridge"))[0] == 201
        failed = await ev.next("RecordingFailed")
        assert failed["recording"]["state"] == "failed"
        assert failed["recording"]["cause"] == "Cannot record channel while in bridge"
        await ari.req("POST", "bridges/b1/removeChannel", {"channel": cid})
        assert (await _record(ari, cid, name="cut", beep="true"))[0] == 201
        await ev.next("RecordingStarted")
        await asyncio.sleep(2)
        await caller.hangup()
        finished = await ev.next("RecordingFinished")
        assert finished["recording"]["state"] == "done"
        # the beep (0.425 s, shared/asterisk-sounds) is not part of the recording
        assert finished["recording"]["duration"] == 1
        await ev.next("StasisEnd")
        assert [h.media_uri for h in caller.heard] == ["sound:beep"]
        assert await ari.req("GET", "recordings/stored/cut") == (
            200,
            {"name": "cut", "format": "wav"},
        )


async def test_stored_recordings_copy_delete_and_play() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        sim.model.store_recording("greeting", "ulaw", 2.0)
        assert await ari.req(
            "POST", "recordings/stored/greeting/copy", {"destinationRecordingName": "copy"}
        ) == (200, {"name": "copy", "format": "ulaw"})
        assert await ari.req(
            "POST", "recordings/stored/greeting/copy", {"destinationRecordingName": "copy"}
        ) == (409, {"message": "A recording with the same name already exists on the system"})
        assert await ari.req(
            "POST", "recordings/stored/greeting/copy", {"destinationRecordingName": "../x"}
        ) == (403, {"message": "Destination file path is forbidden"})
        assert await ari.req("DELETE", "recordings/stored/copy") == (204, None)
        assert await ari.req("GET", "recordings/stored/copy") == (
            404,
            {"message": "Recording not found"},
        )
        async with ari.session.get(f"{sim.url}/ari/recordings/stored/greeting/file") as resp:
            assert resp.headers["Content-Type"] == "audio/ulaw"
            assert len(await resp.read()) == 16000  # 2 s of 8 kHz u-law silence
        # recording:NAME plays for the file's length
        caller = await _call(sim, ev)
        cid = caller.channel_id
        loop = asyncio.get_running_loop()
        await ari.req("POST", f"channels/{cid}/play", {"media": "recording:greeting"})
        await ev.next("PlaybackStarted")
        t0 = loop.time()
        finished = await ev.next("PlaybackFinished")
        assert finished["playback"]["state"] == "done"
        assert abs(loop.time() - t0 - 2.0) < 0.05


async def test_bridge_recording_and_appending() -> None:
    """``ast_ari_bridges_record``: the format is checked before anything else, the
    recording targets ``bridge:ID``; ``ifExists=append`` adds to the file's length."""
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("rec") as ev:
        caller = await _call(sim, ev)
        await ari.req("POST", "bridges", {"bridgeId": "b1"})
        await ari.req("POST", "bridges/b1/addChannel", {"channel": caller.channel_id})
        assert await ari.req("POST", "bridges/b1/record", {"name": "c", "format": "mp3"}) == (
            422,
            {"message": "specified format is unknown on this system"},
        )
        assert await ari.req("POST", "bridges/nope/record", {"name": "c", "format": "wav"}) == (
            404,
            {"message": "Bridge not found"},
        )
        status, body = await ari.req(
            "POST",
            "bridges/b1/record",
            {"name": "conf", "format": "ulaw", "maxDurationSeconds": "1"},
        )
        assert (status, body["target_uri"]) == (201, "bridge:b1")
        assert (await ev.next("RecordingStarted"))["recording"]["target_uri"] == "bridge:b1"
        first = await ev.next("RecordingFinished")
        assert first["recording"]["duration"] == 1
        await ari.req(
            "POST",
            "bridges/b1/record",
            {"name": "conf", "format": "ulaw", "maxDurationSeconds": "1", "ifExists": "append"},
        )
        await ev.next("RecordingFinished")
        async with ari.session.get(f"{sim.url}/ari/recordings/stored/conf/file") as resp:
            size = len(await resp.read())
        assert 2 * 8000 < size <= 4 * 8000  # two recordings of 1 to 2 s each, u-law
        await caller.hangup()
