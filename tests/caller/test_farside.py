"""The far-side record and the cut-off inference, fed with ARI events directly."""

from __future__ import annotations

from typing import Any

import pytest

from ivrkit.ari import decode_event
from ivrkit.caller._farside import FarSide
from ivrkit.caller._report import outcome


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def playback(kind: str, pid: str, media: str, target: str = "two", **extra: Any) -> Any:
    pb = {"id": pid, "media_uri": media, "target_uri": f"channel:{target}", "state": "playing"}
    pb.update(extra)
    return decode_event({"type": kind, "playback": pb})


def channel_event(kind: str, cid: str, **extra: Any) -> Any:
    return decode_event({"type": kind, "channel": {"id": cid, "name": f"Local/x;{cid}"}, **extra})


def test_a_media_list_is_one_record_per_item() -> None:
    clock = Clock()
    far = FarSide("one", "two", clock)
    far.feed(playback("PlaybackStarted", "p1", "sound:a", next_media_uri="sound:b"))
    far.feed(playback("PlaybackStarted", "p1", "sound:a"))  # a repeat: ignored
    clock.now = 1.0
    far.feed(playback("PlaybackContinuing", "p1", "sound:a", next_media_uri="sound:b"))
    far.feed(playback("PlaybackStarted", "p1", "sound:b"))  # the simulator also says so
    clock.now = 2.5
    far.feed(playback("PlaybackFinished", "p1", "sound:b", state="done"))
    assert [(m.media_uri, m.start, m.end, m.state) for m in far.media] == [
        ("sound:a", 0.0, 1.0, "done"),
        ("sound:b", 1.0, 2.5, "done"),
    ]
    assert not far.playing


def test_only_the_far_halfs_playbacks_count() -> None:
    far = FarSide("one", "two", Clock())
    far.feed(playback("PlaybackStarted", "p1", "sound:a", target="elsewhere"))
    far.feed(playback("PlaybackFinished", "p9", "sound:z"))  # never started: nothing heard
    assert far.media == []


def test_keys_answer_and_hangup_are_recorded() -> None:
    clock = Clock()
    far = FarSide("one", "two", clock)
    clock.now = 0.5
    far.feed(channel_event("StasisStart", "one", args=[]))
    clock.now = 1.0
    far.feed(channel_event("ChannelDtmfReceived", "two", digit="5", duration_ms=100))
    far.feed(channel_event("ChannelDtmfReceived", "one", digit="6", duration_ms=100))
    clock.now = 2.0
    far.feed(channel_event("ChannelHangupRequest", "two", cause=16))
    assert not far.ended
    clock.now = 2.1
    far.feed(channel_event("ChannelDestroyed", "two", cause=17, cause_txt="User busy"))
    assert (far.answered_at, far.keys_received, far.hangup_seen_at) == (0.5, [("5", 1.0)], 2.0)
    assert far.ended
    assert far.destroyed["two"].cause_txt == "User busy"


@pytest.mark.parametrize(
    ("state", "end", "keys", "hangup", "expected"),
    [
        ("done", 3.0, [], None, "finished"),
        ("done", 1.2, [("1", 1.0)], None, "cut_off_key"),
        ("done", 3.0, [("1", 1.0)], None, "finished"),  # ended long after the key
        ("done", 3.0, [("1", 4.0)], None, "finished"),  # the key came after it ended
        ("failed", 1.5, [], 1.5, "cut_off_hangup"),
        ("failed", 0.0, [], None, "failed"),  # a missing sound
        ("failed", 0.0, [], 9.0, "failed"),  # long before the hang-up
        ("", None, [], 5.0, "no_end"),
    ],
)
def test_outcome(
    state: str,
    end: float | None,
    keys: list[tuple[str, float]],
    hangup: float | None,
    expected: str,
) -> None:
    assert outcome(state, 0.0, end, keys, hangup) == expected
