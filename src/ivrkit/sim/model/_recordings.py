"""Live and stored recordings: ``POST /channels/{id}/record``, ``POST
/bridges/{id}/record``, ``/recordings/live/...`` and ``/recordings/stored/...``.

Theory of operation (Asterisk 20.20.1: ``res/res_stasis_recording.c``,
``res/ari/resource_recordings.c``, ``res/stasis_recording/stored.c`` and
``__ast_play_and_record`` in ``main/app.c``):

1. ``record`` checks its arguments (``max*Seconds`` < 0: 400; ``terminateOn``/``ifExists``
   not allowed: 400; an unknown format: 422; an empty name: 500 "Error parsing
   request"; a name that climbs out of the recordings directory: 400 "Recording name
   invalid"; a live recording of that name, or a stored one with ``ifExists=fail``: 409)
   and answers 201 with the recording ``queued``. The work itself is a command on the
   channel's queue, so it waits behind a playing prompt (``PlaybackQueue``).
2. When it runs: a channel in a bridge fails (``RecordingFailed``, cause "Cannot record
   channel while in bridge"); otherwise the channel is answered if it is not Up
   (``ast_auto_answer``), ``RecordingStarted`` is published, the beep plays when asked
   (the caller hears ``sound:beep``; no playback events) and then audio is written.
3. It ends on the first of: ``maxDurationSeconds`` (checked with ``time()``: the loop
   stops once the whole-second wall clock has moved more than that many seconds past
   the start), ``maxSilenceSeconds`` of continuous silence (the simulated phone is
   silent except while ``Caller.speak()`` says it talks; the detector needs one more
   20 ms frame past the limit), a ``terminateOn`` digit, ``stop``, ``cancel`` or the
   channel hanging up. Then ``RecordingFinished`` with ``duration`` (whole seconds of
   audio written) and, when silence detection was on, ``talking_duration`` and
   ``silence_duration``, computed as ``__ast_play_and_record`` does (the trailing
   silence beyond 200 ms is cut off).
4. ``record_file`` publishes the final state as ``done`` whatever happened: a cancelled
   recording also ends ``done`` (its file is deleted), and ``stop`` on a queued one only
   marks it ``canceled`` until it runs and records anyway (the ``recording_disregard``
   entries of Asterisk's operation table change the state, nothing else).
5. A finished recording is no longer live (404); its file is a stored recording until
   deleted. Audio content is not simulated: the file holds silence of the recorded
   length in the chosen format (real headers for ``wav``).
"""

from __future__ import annotations

import math
import posixpath
import struct
from urllib.parse import quote

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._json import event
from ivrkit.sim.model._objects import (
    Bridge,
    Channel,
    JsonDict,
    LiveRecording,
    PlaybackQueue,
    StoredRecording,
)
from ivrkit.sim.model._replies import AriError, SimResponse, no_content

#: file extensions Asterisk's default format modules register, with their media type
#: (``ast_get_format_for_file_ext``; the ``Content-Type`` of a stored file is
#: ``<type>/<ext>``, ``resource_recordings.c``)
FORMATS: dict[str, str] = {
    **dict.fromkeys(
        (
            "wav",
            "wav16",
            "WAV",
            "wav49",
            "gsm",
            "pcm",
            "ulaw",
            "ul",
            "mu",
            "ulw",
            "alaw",
            "al",
            "alw",
            "au",
            "g722",
            "g719",
            "g723",
            "g723sf",
            "g726-40",
            "g726-32",
            "g726-24",
            "g726-16",
            "g729",
            "ilbc",
            "sln",
            "raw",
            "sln12",
            "sln16",
            "sln24",
            "sln32",
            "sln44",
            "sln48",
            "sln96",
            "sln192",
            "siren7",
            "siren14",
            "vox",
        ),
        "audio",
    ),
    "h263": "video",
    "h264": "video",
    "jpg": "image",
    "jpeg": "image",
}
#: ``terminateOn`` → DTMF that ends the recording (``stasis_app_recording_termination_parse``
#: is case-insensitive; ``any`` is ``#*0123456789abcd``)
_TERMINATE = {"none": "", "any": "#*0123456789abcd", "#": "#", "*": "*"}
_IF_EXISTS = ("fail", "overwrite", "append")
#: one 20 ms frame: the silence detector sees silence grow a frame at a time
_FRAME = 0.02
#: a silent GSM frame (33 bytes per 20 ms)
_GSM_SILENCE = bytes.fromhex(
    "d820a2e15a5000492492492450004924924924500049249249245000492492492400"
)[:33]


def _c_div(a: int, b: int) -> int:
    """C integer division (truncates toward zero), as ``(totalsilence - 200) / 1000``."""
    return int(a / b)


def silence_file(fmt: str, seconds: float) -> bytes:
    """A file of ``seconds`` of silence in ``fmt`` (audio content is not simulated)."""
    samples = max(0, round(seconds * 8000))
    if fmt == "wav":
        data = bytes(samples * 2)
        header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
        header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        return header + b"data" + struct.pack("<I", len(data)) + data
    if fmt in ("sln", "raw"):
        return bytes(samples * 2)
    if fmt in ("pcm", "ulaw", "ul", "mu", "ulw"):
        return b"\xff" * samples
    if fmt in ("alaw", "al", "alw"):
        return b"\xd5" * samples
    if fmt == "gsm":
        return _GSM_SILENCE * (samples // 160)
    return b""


def recording_json(rec: LiveRecording) -> JsonDict:
    """The ARI ``LiveRecording`` (``stasis_app_recording_to_json``; ``cause`` is added to
    a failure's event only)."""
    out: JsonDict = {
        "name": rec.name,
        "format": rec.format,
        "state": rec.state,
        "target_uri": rec.target_uri,
    }
    if rec.duration is not None:
        out["duration"] = rec.duration
    if rec.talking is not None and rec.duration is not None:
        out["talking_duration"] = rec.talking
        out["silence_duration"] = rec.duration - rec.talking
    return out


def stored_json(stored: StoredRecording) -> JsonDict:
    """The ARI ``StoredRecording``."""
    return {"name": stored.name, "format": stored.format}


def _escapes(name: str) -> bool:
    """Whether a recording path leaves the recordings directory."""
    norm = posixpath.normpath(name.lstrip("/"))
    return norm == ".." or norm.startswith("../")


class RecordingOps(ModelCore):
    """Recording behaviour of the model (see the module docstring)."""

    # -- starting one
    def record_channel(
        self,
        channel_id: str,
        *,
        name: str | None,
        fmt: str | None,
        max_duration: int,
        max_silence: int,
        if_exists: str | None,
        beep: bool,
        terminate_on: str | None,
    ) -> SimResponse:
        """``POST /channels/{id}/record``, checks in ``ast_ari_channels_record``'s order."""
        if max_duration < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if max_silence < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")
        ch = self._stasis_channel(channel_id)
        accept, exists = self._record_options(terminate_on, if_exists)
        if not fmt or fmt not in FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        rec = self._new_recording(
            name, fmt, f"channel:{ch.id}", ch, max_duration, max_silence, accept, exists, beep
        )
        return self._queue_recording(ch.playbacks, rec)

    def record_bridge(
        self,
        bridge_id: str,
        *,
        name: str | None,
        fmt: str | None,
        max_duration: int,
        max_silence: int,
        if_exists: str | None,
        beep: bool,
        terminate_on: str | None,
    ) -> SimResponse:
        """``POST /bridges/{id}/record``: a Recorder channel joins the bridge and records
        what it hears (``ast_ari_bridges_record``: the format is checked first, a
        negative limit is the EINVAL of ``stasis_app_control_record``)."""
        br = self._bridge(bridge_id)
        if not fmt or fmt not in FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        accept, exists = self._record_options(terminate_on, if_exists)
        if max_duration < 0 or max_silence < 0:
            raise AriError(500, "Error parsing request")
        rec = self._new_recording(
            name, fmt, f"bridge:{br.id}", br, max_duration, max_silence, accept, exists, beep
        )
        return self._queue_recording(br.playbacks, rec)

    @staticmethod
    def _record_options(terminate_on: str | None, if_exists: str | None) -> tuple[str, str]:
        accept = _TERMINATE.get((terminate_on or "none").lower())
        if accept is None:
            raise AriError(400, "terminateOn invalid")
        exists = (if_exists or "fail").lower()
        if exists not in _IF_EXISTS:
            raise AriError(400, "ifExists invalid")
        return accept, exists

    def _new_recording(
        self,
        name: str | None,
        fmt: str,
        target_uri: str,
        owner: Channel | Bridge,
        max_duration: int,
        max_silence: int,
        accept: str,
        if_exists: str,
        beep: bool,
    ) -> LiveRecording:
        """``stasis_app_control_record``: EINVAL, EPERM, EEXIST as Asterisk maps them."""
        if not name or max_duration < 0 or max_silence < 0:
            raise AriError(500, "Error parsing request")
        if "/" in name and _escapes(name):
            raise AriError(400, "Recording name invalid")
        key = self._stored_key(name)
        if if_exists == "fail" and key in self.stored_recordings:
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        if name in self.live_recordings:
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        rec = LiveRecording(
            name=name,
            format=fmt,
            target_uri=target_uri,
            target=owner,
            max_duration=max_duration,
            max_silence=max_silence,
            accept_dtmf=accept,
            if_exists=if_exists,
            beep=beep,
            seq=next(self._media_seq),
        )
        self.live_recordings[name] = rec
        return rec

    def _queue_recording(self, target: PlaybackQueue, rec: LiveRecording) -> SimResponse:
        body = recording_json(rec)
        target.waiting.append(rec)
        if target.current is None and target.recording is None:
            self._at(None, 0.0, self._next_playback, target)
        location = f"/ari/recordings/live/{quote(rec.name, safe='')}"
        return SimResponse(201, body, {"Location": location})

    @staticmethod
    def _stored_key(name: str) -> str:
        return posixpath.normpath(name.lstrip("/"))

    # -- running one (called from the media queue)
    def _start_recording(self, target: PlaybackQueue, rec: LiveRecording) -> None:
        """Run a recording from the media queue; if it ends at once (``target.recording``
        stays ``None``) the caller goes on with the queue."""
        owner = rec.target
        if isinstance(owner, Channel) and (owner.gone or owner.hanging):
            self.live_recordings.pop(rec.name, None)
            return
        target.recording = rec
        if isinstance(owner, Channel):
            if owner.bridge is not None:
                self._recording_over(
                    rec, "failed", cause="Cannot record channel while in bridge", next_media=False
                )
                return
            if owner.state != "Up":
                self._answer(owner)
        rec.state = "recording"
        self._recording_event(rec, "RecordingStarted")
        beep = self.media_seconds("sound:beep", "en") if rec.beep else 0.0
        if beep is None:  # no beep file: ast_stream_and_wait fails, nothing is written
            self._recording_over(rec, "done", next_media=False)
            return
        if beep > 0:
            self._hear(owner, "sound:beep", started=True)
            rec.timer = self._at(None, beep, self._after_beep, rec)
        else:
            self._begin_writing(rec)

    def _after_beep(self, rec: LiveRecording) -> None:
        rec.timer = None
        self._hear(rec.target, "sound:beep", started=False)
        self._begin_writing(rec)

    def _begin_writing(self, rec: LiveRecording) -> None:
        rec.started_at = self.now()
        rec.started_wall = self._wall0.timestamp() + (rec.started_at - self._t0)
        key = self._stored_key(rec.name)
        old = self.stored_recordings.get(key)
        base = old.seconds if old is not None and rec.if_exists == "append" else 0.0
        self.stored_recordings[key] = StoredRecording(key, rec.format, base)
        self._schedule_end(rec)

    def _schedule_end(self, rec: LiveRecording) -> None:
        """Arm the timer for whichever limit comes first (none while paused)."""
        if rec.timer is not None:
            rec.timer.cancel()
            rec.timer = None
        if rec.paused_at is not None or rec.state not in ("recording", "canceled"):
            return
        now = self.now()
        deadlines: list[float] = []
        if rec.max_duration > 0:
            # main/app.c: `maxtime < (end - start - paused_secs)` with time() seconds
            first = math.floor(rec.started_wall)
            stop_wall = first + rec.max_duration + 1 + math.floor(rec.paused_total)
            deadlines.append(rec.started_at + (stop_wall - rec.started_wall))
        if rec.max_silence > 0:
            deadlines.append(self._silence_start(rec, now) + rec.max_silence + _FRAME)
        if deadlines:
            rec.timer = self._at(None, max(0.0, min(deadlines) - now), self._limit_reached, rec)

    def _silence_start(self, rec: LiveRecording, now: float) -> float:
        """When the current run of silence began (in the future while the phone talks)."""
        start = rec.started_at
        owner = rec.target
        spans = owner.talk_spans if isinstance(owner, Channel) else []
        for begin, end in spans:
            if begin <= max(now, start) and end > start:
                start = max(start, end)
        return start

    def _limit_reached(self, rec: LiveRecording) -> None:
        rec.timer = None
        self._recording_over(rec, "done")

    def caller_speaks(self, ch: Channel, seconds: float) -> float:
        """The phone talks for ``seconds`` from now (energy only: no audio content);
        returns when it stops."""
        now = self.now()
        ch.talk_spans.append((now, now + max(0.0, seconds)))
        rec = ch.playbacks.recording
        if rec is not None and rec.started_at:
            self._schedule_end(rec)
        return now + seconds

    def _recording_hears_dtmf(self, ch: Channel, digit: str) -> None:
        """A ``terminateOn`` digit ends it, paused or not; during the beep
        (``ast_stream_and_wait`` with no escape digits) digits are ignored."""
        rec = ch.playbacks.recording
        if rec is None or not rec.started_at:
            return
        if digit.lower() in rec.accept_dtmf.lower():
            self._recording_over(rec, "done")

    def _stop_target_recordings(self, target: PlaybackQueue) -> None:
        """The owner leaves Stasis or goes: the running recording ends (``done``, the
        file kept: a hang-up ends ``__ast_play_and_record`` normally); queued ones are
        dropped without events (their command never runs)."""
        for queued in list(target.waiting):
            self.live_recordings.pop(queued.name, None)
        target.waiting.clear()
        running = target.recording
        if running is not None:
            self._recording_over(running, "done", next_media=False)

    def _recording_over(
        self, rec: LiveRecording, state: str, *, cause: str | None = None, next_media: bool = True
    ) -> None:
        if rec.timer is not None:
            rec.timer.cancel()
            rec.timer = None
        target = rec.target.playbacks
        cancelled = rec.state == "canceled" and rec.started_at > 0
        if rec.started_at:
            self._account(rec)
        elif rec.beep and state == "done":  # ended during the beep
            self._hear(rec.target, "sound:beep", started=False)
        rec.state = state
        rec.cause = cause
        if cancelled:
            self.stored_recordings.pop(self._stored_key(rec.name), None)
        self._recording_event(rec, "RecordingFailed" if state == "failed" else "RecordingFinished")
        self.live_recordings.pop(rec.name, None)
        if target.recording is rec:
            target.recording = None
            owner = rec.target
            if next_media and not (isinstance(owner, Channel) and (owner.gone or owner.hanging)):
                self._next_playback(target)

    def _account(self, rec: LiveRecording) -> None:
        """``duration``, ``talking_duration`` and the file length, as main/app.c counts."""
        now = self.now()
        paused = rec.paused_total + (now - rec.paused_at if rec.paused_at is not None else 0.0)
        written = max(0.0, now - rec.started_at - paused)
        duration = int(written)  # ast_tellstream() / 8000
        kept = written
        if rec.max_silence > 0:
            total_ms, last_ms = self._silence_ms(rec, now)
            sound = duration
            if total_ms > 0:
                sound -= _c_div(total_ms - 200, 1000)
            if last_ms > 0:
                duration -= _c_div(last_ms - 200, 1000)
                kept = max(0.0, written - max(0, last_ms - 200) / 1000)
            rec.talking = max(0, sound)
        rec.duration = max(0, duration)
        stored = self.stored_recordings.get(self._stored_key(rec.name))
        if stored is not None:
            stored.seconds += kept

    def _silence_ms(self, rec: LiveRecording, now: float) -> tuple[int, int]:
        """Total silence and the trailing run, in ms, over the written interval."""
        owner = rec.target
        spans = sorted(owner.talk_spans) if isinstance(owner, Channel) else []
        cursor, total, last = rec.started_at, 0.0, 0.0
        for begin, end in spans:
            if end <= cursor or begin >= now:
                continue
            if begin > cursor:
                total += begin - cursor
            cursor = max(cursor, min(end, now))
        if cursor < now:
            last = now - cursor
            total += last
        return round(total * 1000), round(last * 1000)

    def _hear(self, owner: Channel | Bridge, uri: str, *, started: bool) -> None:
        members = [owner] if isinstance(owner, Channel) else list(owner.channels)
        for ch in members:
            if ch.observer is not None:
                if started:
                    ch.observer.media_started(uri, self.now())
                else:
                    ch.observer.media_ended(uri, self.now(), False)

    def _recording_event(self, rec: LiveRecording, type_: str) -> None:
        owner = rec.target
        if isinstance(owner, Channel):
            recipients = self._channel_recipients(owner)
        else:
            recipients = list(owner.subscribers)
            for ch in owner.channels:
                recipients += [n for n in self._channel_recipients(ch) if n not in recipients]
        if not recipients:
            return
        body = recording_json(rec)
        if rec.cause is not None:
            body["cause"] = rec.cause
        self._deliver(recipients, event(type_, self.timestamp(), self.asterisk_id, recording=body))

    # -- /recordings/live
    def _live(self, name: str) -> LiveRecording:
        rec = self.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return rec

    def get_live_recording(self, name: str) -> JsonDict:
        return recording_json(self._live(name))

    def control_recording(self, name: str, operation: str) -> SimResponse:
        """stop, cancel, pause, unpause, mute, unmute by Asterisk's operation table:
        anything not in it for the state is 409 "Recording not in session"."""
        rec = self._live(name)
        state = rec.state
        if state == "queued":
            if operation not in ("stop", "cancel"):
                raise AriError(409, "Recording not in session")
            rec.state = "canceled"  # recording_disregard: nothing else happens
            return no_content()
        if state not in ("recording", "paused"):
            raise AriError(409, "Recording not in session")
        now = self.now()
        if operation == "stop":
            self._recording_over(rec, "done")
        elif operation == "cancel":
            rec.state = "canceled"
            self._recording_over(rec, "done")
        elif operation == "pause":
            if state == "recording":
                rec.state = "paused"
                if rec.started_at:
                    rec.paused_at = now
                    self._schedule_end(rec)
        elif operation == "unpause":
            if state == "paused":
                rec.state = "recording"
                if rec.paused_at is not None:
                    rec.paused_total += now - rec.paused_at
                    rec.paused_at = None
                self._schedule_end(rec)
        elif operation in ("mute", "unmute"):
            rec.muted = operation == "mute"
        return no_content()

    # -- /recordings/stored
    def list_stored_recordings(self) -> list[JsonDict]:
        return [stored_json(self.stored_recordings[k]) for k in sorted(self.stored_recordings)]

    def _stored(self, name: str) -> StoredRecording:
        stored = None if _escapes(name) else self.stored_recordings.get(self._stored_key(name))
        if stored is None:
            raise AriError(404, "Recording not found")
        return stored

    def get_stored_recording(self, name: str) -> JsonDict:
        return stored_json(self._stored(name))

    def stored_recording_file(self, name: str) -> SimResponse:
        """``GET .../file``: the bytes with ``Content-Type: <media type>/<extension>``."""
        stored = self._stored(name)
        data = silence_file(stored.format, stored.seconds)
        kind = FORMATS.get(stored.format, "binary")
        return SimResponse(200, data, {"Content-Type": f"{kind}/{stored.format}"})

    def copy_stored_recording(self, name: str, destination: str | None) -> JsonDict:
        """``copyStored`` in ``ast_ari_recordings_copy_stored``'s order: source 404,
        destination 409 (exists), 400 (no name), 403 (outside the directory)."""
        src = self._stored(name)
        if destination is None:
            raise AriError(400, "Invalid destination recording name", phrase="Bad request")
        if _escapes(destination):
            raise AriError(403, "Destination file path is forbidden")
        if self._stored_key(destination) in self.stored_recordings:
            raise AriError(409, "A recording with the same name already exists on the system")
        dest = posixpath.splitext(destination)[0]  # "the core drops the extension"
        if not dest:
            raise AriError(500, "Copy failed")
        key = self._stored_key(dest)
        copy = StoredRecording(key, src.format, src.seconds)
        self.stored_recordings[key] = copy
        return stored_json(copy)

    def delete_stored_recording(self, name: str) -> None:
        stored = self._stored(name)
        del self.stored_recordings[stored.name]

    def store_recording(self, name: str, fmt: str, seconds: float) -> None:
        """Put a recording file in place (a test's fixture: ``sim.model.store_recording``)."""
        if fmt not in FORMATS:
            raise ValueError(f"unknown recording format {fmt!r}: use one of {sorted(FORMATS)}")
        key = self._stored_key(name)
        self.stored_recordings[key] = StoredRecording(key, fmt, seconds)
