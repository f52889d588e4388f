"""How fast the application reacts to a key, timed by the simulator itself.

Theory of operation
-------------------
A caller presses a key; the prompt that keeps talking afterwards is what callers notice.
:class:`ReactionProbe` measures, per channel, two delays starting at the moment the
``ChannelDtmfReceived`` frame is **written to the events socket** (after the
simulator's own queueing, so the simulator's backlog is not charged to the app):

* ``stop``: until the simulator starts serving the first ``DELETE /playbacks/{id}`` of a
  playback on that channel (the app cuts the prompt off);
* ``play``: until it starts serving the first ``POST /channels/{id}/play`` on that
  channel (the app starts the next prompt).

Both doors (HTTP and REST over the websocket) reach the model synchronously on arrival,
so the model's ``play_on_channel``/``stop_playback`` are the hook points; the socket
writer calls :meth:`ReactionProbe.dtmf_written`. With no probe installed each hook is
one ``is None`` test.

Invariants:

1. each key press yields at most one ``stop`` and one ``play`` sample;
2. a press superseded by the next press on the same channel before the app reacted, or
   whose channel ended first, is counted in ``unanswered_stop``/``unanswered_play``
   (not silently dropped), so a p99 never hides missing reactions;
3. the probe only records; it never changes what the simulator does.

Times are the loop's clock (``loop.time()``), in seconds; the probe is pure and takes
``now`` as an argument, so it is testable without a loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_STOP = 1
_PLAY = 2


@dataclass(slots=True)
class ReactionProbe:
    """Samples of the app's reaction to DTMF (seconds), filled by the simulator."""

    #: key presses written to an events socket
    presses: int = 0
    #: DTMF-written → DELETE /playbacks/{id} arrived, one per answered press
    stop: list[float] = field(default_factory=list)
    #: DTMF-written → POST /channels/{id}/play arrived, one per answered press
    play: list[float] = field(default_factory=list)
    unanswered_stop: int = 0
    unanswered_play: int = 0
    # channel id -> (time the DTMF was written, reactions still awaited as a bit set)
    _pending: dict[str, tuple[float, int]] = field(default_factory=dict)

    def dtmf_written(self, channel_id: str, now: float) -> None:
        """The ``ChannelDtmfReceived`` frame for ``channel_id`` was written at ``now``."""
        self._settle(channel_id)
        self.presses += 1
        self._pending[channel_id] = (now, _STOP | _PLAY)

    def stop_requested(self, channel_id: str, now: float) -> None:
        """A ``DELETE /playbacks/{id}`` for a playback on ``channel_id`` arrived."""
        self._record(channel_id, now, _STOP, self.stop)

    def play_requested(self, channel_id: str, now: float) -> None:
        """A ``POST /channels/{channel_id}/play`` arrived."""
        self._record(channel_id, now, _PLAY, self.play)

    def channel_gone(self, channel_id: str) -> None:
        """The channel ended: a reaction still awaited will never come."""
        self._settle(channel_id)

    def _record(self, channel_id: str, now: float, kind: int, into: list[float]) -> None:
        pending = self._pending.get(channel_id)
        if pending is None or not pending[1] & kind:
            return
        written, awaited = pending
        into.append(now - written)
        awaited &= ~kind
        if awaited:
            self._pending[channel_id] = (written, awaited)
        else:
            del self._pending[channel_id]

    def _settle(self, channel_id: str) -> None:
        pending = self._pending.pop(channel_id, None)
        if pending is None:
            return
        if pending[1] & _STOP:
            self.unanswered_stop += 1
        if pending[1] & _PLAY:
            self.unanswered_play += 1

    @property
    def waiting(self) -> int:
        """Presses whose reaction is still awaited."""
        return len(self._pending)
