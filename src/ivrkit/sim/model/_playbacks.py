"""Playbacks: one queue per channel or bridge, media lists, stop, control, and what a
simulated caller hears.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._json import (
    event,
    playback_json,
)
from ivrkit.sim.model._objects import (
    Bridge,
    Channel,
    JsonDict,
    Playback,
    PlaybackQueue,
)
from ivrkit.sim.model._replies import AriError, SimResponse
from ivrkit.sim.model._sounds import FOREVER, UNKNOWN_SCHEME

#: seconds from a DELETE of a playing prompt to its end and PlaybackFinished: the five
#: stops recorded on Asterisk 20.20.1 took 0.87, 1.83, 2.35, 3.93 and 4.7 ms (the
#: guide-js-press-during-or and protocol-catalog traces), each answered first
STOP_TAKES = 0.002


class PlaybackOps(ModelCore):
    """Playback behaviour of the model."""

    def play_on_channel(
        self, channel_id: str, media: Sequence[str], lang: str | None, playback_id: str | None
    ) -> SimResponse:
        ch = self._controlled(channel_id)
        if self.reaction is not None:
            self.reaction.play_requested(ch.id, self.now())
        return self._play(
            ch, ch.playbacks, f"channel:{ch.id}", media, lang or ch.language, playback_id
        )

    def play_on_bridge(
        self, bridge_id: str, media: Sequence[str], lang: str | None, playback_id: str | None
    ) -> SimResponse:
        br = self._bridge(bridge_id)
        return self._play(br, br.playbacks, f"bridge:{br.id}", media, lang or "en", playback_id)

    def _play(
        self,
        owner: Channel | Bridge,
        target: PlaybackQueue,
        target_uri: str,
        media: Sequence[str],
        lang: str,
        playback_id: str | None,
    ) -> SimResponse:
        media = [m for m in media if m]
        if not media:
            raise AriError(500, "Failed to queue media for playback")
        pb = Playback(
            id=playback_id or str(uuid.uuid4()),
            media=list(media),
            target_uri=target_uri,
            language=lang,
            target=owner,
            seq=next(self._media_seq),
        )
        self.playbacks.setdefault(pb.id, []).append(pb)
        body = playback_json(pb)
        target.queue.append(pb)
        if target.current is None:
            self._at(None, 0.0, self._next_playback, target)
        return SimResponse(201, body, {"Location": f"/ari/playbacks/{pb.id}"})

    def _playback_recipients(self, pb: Playback) -> list[str]:
        owner = pb.target
        if isinstance(owner, Channel):
            return self._channel_recipients(owner)
        names = list(owner.subscribers)
        for ch in owner.channels:
            names += [n for n in self._channel_recipients(ch) if n not in names]
        return names

    def _playback_event(self, pb: Playback, type_: str) -> None:
        recipients = self._playback_recipients(pb)
        if recipients:
            ev = event(type_, self.timestamp(), self.asterisk_id, playback=playback_json(pb))
            self._deliver(recipients, ev)

    def _next_playback(self, target: PlaybackQueue) -> None:
        """Start the next queued playback or recording of a target if it is idle (one
        queue in the order asked for, see ``PlaybackQueue``)."""
        if target.current is not None or target.recording is not None:
            return
        while target.queue or target.waiting or target.commands:
            heads = [q[0].seq for q in (target.queue, target.waiting, target.commands) if q]
            first = min(heads)
            if target.commands and target.commands[0].seq == first:
                # another operation asked for after the media (_control_thread, rule 2)
                self._run_command(target.commands.popleft())
                if target.current is not None or target.recording is not None:
                    return
                continue
            if target.waiting and target.waiting[0].seq == first:
                self._start_recording(target, target.waiting.popleft())
                if target.recording is not None:
                    return
                continue
            pb = target.queue.popleft()
            if pb.stopped_while_queued:
                pb.state = "done"
                self._playback_event(pb, "PlaybackFinished")
                self._forget(pb)
                continue
            if isinstance(pb.target, Channel) and (pb.target.gone or pb.target.hanging):
                self._forget(pb)
                continue
            target.current = pb
            self._start_item(pb)
            return
        if target.on_idle is not None:  # the thread has run everything (a move switches)
            done, target.on_idle = target.on_idle, None
            done()

    def _start_item(self, pb: Playback) -> None:
        if isinstance(pb.target, Bridge) and pb.index == 0:
            # Asterisk plays into a bridge through an Announcer channel (traces, step 55)
            self._bridge_peer_vars(pb.target, f"Announcer/ARI-{self._name_suffix()};2")
        if isinstance(pb.target, Channel) and pb.index == 0 and pb.target.state != "Up":
            self._progress(pb.target)
        seconds = self.media_seconds(pb.media[pb.index], pb.language)
        pb.state = "playing"
        pb.elapsed = 0.0
        pb.started_at = self.now()
        self._playback_event(pb, "PlaybackStarted")
        self._observe(pb, started=True)
        if seconds is None:
            # A media that cannot be played (missing sound, bad number): Asterisk's
            # playback_final_update marks the last item FAILED, an earlier one CONTINUING
            # and moves on (res/res_stasis_playback.c; recorded: protocol-catalog step 40).
            if pb.index + 1 < len(pb.media):
                self._observe(pb, started=False)
                pb.state = "continuing"
                self._playback_event(pb, "PlaybackContinuing")
                pb.index += 1
                self._start_item(pb)
                return
            self._finish(pb, "failed")
            return
        if seconds == UNKNOWN_SCHEME:
            target = pb.target.playbacks
            target.orphans.append(pb)
            if target.current is pb:
                target.current = None
                self._next_playback(target)
            return
        pb.item_seconds = seconds
        if seconds != FOREVER:
            pb.timer = self._at(None, seconds, self._item_done, pb)

    def _progress(self, ch: Channel) -> None:
        """Media on an unanswered channel (_control_thread, PROGRESS_ON_MEDIA).

        ``play_on_channel`` indicates ``AST_CONTROL_PROGRESS`` first when the channel is
        not Up (res/res_stasis_playback.c); on the ``;2`` half of a Local pair that frame
        reaches the ``;1`` half, whose originate is still dialling, and ``main/dial.c``
        publishes ``Dial`` ``dialstatus: PROGRESS`` for it, once per playback.
        """
        if ch.observer is not None:  # the phone gets it (a 183 Session Progress)
            ch.observer.indicated("progress", self.now())
        one = ch.peer if ch.half == 2 else None
        if one is None or one.gone or one.state == "Up":
            return
        if one.pending_app is not None or one.pending_dialplan is not None:
            self._dial_event(one, "PROGRESS")

    def _observe(self, pb: Playback, *, started: bool, cut_off: bool = False) -> None:
        owner = pb.target
        targets: list[Channel] = []
        targets = [owner] if isinstance(owner, Channel) else list(owner.channels)
        for ch in targets:
            if ch.observer is not None:
                if started:
                    ch.observer.media_started(pb.media[pb.index], self.now())
                else:
                    ch.observer.media_ended(pb.media[pb.index], self.now(), cut_off)

    def _item_done(self, pb: Playback) -> None:
        pb.timer = None
        self._observe(pb, started=False)
        if pb.index + 1 < len(pb.media):
            pb.state = "continuing"
            self._playback_event(pb, "PlaybackContinuing")
            pb.index += 1
            self._start_item(pb)
            return
        self._finish(pb, "done", observed=True)

    def _finish(self, pb: Playback, state: str, *, observed: bool = False) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if not observed:
            self._observe(pb, started=False, cut_off=False)
        pb.state = state
        self._playback_event(pb, "PlaybackFinished")
        if isinstance(pb.target, Bridge):
            self._bridge_peer_vars(pb.target)
        self._forget(pb)
        target = pb.target.playbacks
        if target.current is pb:
            target.current = None
            owner = pb.target
            if not (isinstance(owner, Channel) and (owner.gone or owner.hanging)):
                self._next_playback(target)

    def _forget(self, pb: Playback) -> None:
        same = self.playbacks.get(pb.id)
        if same is not None:
            if pb in same:
                same.remove(pb)
            if not same:
                del self.playbacks[pb.id]

    def _stop_target_playbacks(self, target: PlaybackQueue, state: str) -> None:
        """Channel leaving: the current playback finishes with ``state``; queued ones vanish."""
        queued = list(target.queue) + target.orphans
        target.queue.clear()
        target.orphans.clear()
        for pb in queued:
            self._forget(pb)
        current = target.current
        if current is not None:
            target.current = None
            if current.timer is not None:
                current.timer.cancel()
                current.timer = None
            self._observe(current, started=False, cut_off=True)
            current.state = state
            self._playback_event(current, "PlaybackFinished")
            self._forget(current)
        self._stop_target_recordings(target)
        self._flush_commands(target)

    def _playback(self, playback_id: str) -> Playback:
        same = self.playbacks.get(playback_id)
        if not same:
            raise AriError(404, "Playback not found")
        return same[0]

    def get_playback(self, playback_id: str) -> JsonDict:
        return playback_json(self._playback(playback_id))

    def stop_playback(self, playback_id: str) -> None:
        pb = self._playback(playback_id)
        if self.reaction is not None and isinstance(pb.target, Channel):
            self.reaction.stop_requested(pb.target.id, self.now())
        target = pb.target.playbacks
        if target.current is pb:
            # res/res_stasis_playback.c playback_stop: the state is STOPPED ("done") at
            # once, and an AST_CONTROL_STREAM_STOP is queued on the channel; the prompt
            # ends, and PlaybackFinished goes out, when the channel's stream loop reads
            # it, after the DELETE has been answered (recorded: 0.87-4.7 ms later)
            if pb.state == "done":  # only a stopping prompt is current and done
                return  # a second DELETE meanwhile: another STREAM_STOP, the same end
            if pb.timer is not None:
                pb.timer.cancel()
            pb.state = "done"
            pb.timer = self._at(None, STOP_TAKES, self._stopped, pb)
            return
        if pb in target.orphans:  # an abandoned unknown-scheme playback: just forget it
            target.orphans.remove(pb)
            self._forget(pb)
            return
        # queued: marked done now (GET shows it), PlaybackFinished when the queue reaches it
        pb.stopped_while_queued = True
        pb.state = "done"

    def _stopped(self, pb: Playback) -> None:
        """The stream loop has handled a stopped prompt's STREAM_STOP: it ends now."""
        pb.timer = None
        target = pb.target.playbacks
        if target.current is not pb:
            return
        self._observe(pb, started=False, cut_off=True)
        self._playback_event(pb, "PlaybackFinished")
        self._forget(pb)
        target.current = None
        self._next_playback(target)

    def control_playback(self, playback_id: str, operation: str | None) -> None:
        if not operation:
            raise AriError(400, "Missing operation")
        pb = self._playback(playback_id)
        if operation not in ("restart", "pause", "unpause", "reverse", "forward"):
            raise AriError(400, f"Invalid operation {operation}")
        if pb.state not in ("playing", "paused"):
            raise AriError(409, f"Can only {operation} while media is playing")
        now = self.now()
        if operation == "pause":
            if pb.state == "playing":
                pb.elapsed += now - pb.started_at
                if pb.timer is not None:
                    pb.timer.cancel()
                    pb.timer = None
                pb.state = "paused"
            return
        if operation == "unpause":
            if pb.state == "paused":
                pb.state = "playing"
                pb.started_at = now
                self._playback_event(pb, "PlaybackStarted")
                self._reschedule(pb)
            return
        if pb.state == "playing":
            pb.elapsed += now - pb.started_at
            pb.started_at = now
        if operation == "restart":
            pb.elapsed = 0.0
        elif operation == "forward":
            pb.elapsed += 3.0
        else:
            pb.elapsed = max(0.0, pb.elapsed - 3.0)
        if pb.state == "playing":
            self._reschedule(pb)

    def _reschedule(self, pb: Playback) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        if pb.item_seconds == FOREVER:
            return
        pb.timer = self._at(None, max(0.0, pb.item_seconds - pb.elapsed), self._item_done, pb)
