"""Playback semantics on the pure model (no HTTP), on a manual clock."""

from __future__ import annotations

from typing import Any

import pytest
from _simclock import ManualClock

from ivrkit.sim.model._model import SimModel
from ivrkit.sim.model._playbacks import STOP_TAKES
from ivrkit.sim.model._replies import AriError


class Rig:
    """A model with app ``cat`` connected and one answered channel in Stasis."""

    def __init__(self, **kwargs: Any) -> None:
        self.clock = ManualClock()
        self.model = SimModel(
            self.clock, dialplan={"default": {"1000": ["NoOp()", "Stasis(cat)"]}}, **kwargs
        )
        self.events: list[dict[str, Any]] = []
        self.model.connect_app("cat", lambda app, ev: self.events.append(ev))
        self.ch = self.model.incoming_call("PJSIP/alice", "1000")
        self.model.channel_action(self.ch.id, "answer")
        self.events.clear()

    def play(self, *media: str, playback_id: str | None = None) -> dict[str, Any]:
        resp = self.model.play_on_channel(self.ch.id, list(media), None, playback_id)
        assert resp.status == 201
        body: dict[str, Any] = resp.body
        return body

    def timeline(self) -> list[tuple[float, str, str, str]]:
        """(time since start, type, media_uri, state) of playback events so far."""
        out = []
        for ev in self.events:
            if "playback" in ev:
                pb = ev["playback"]
                out.append((ev["_t"], ev["type"], pb["media_uri"], pb["state"]))
        return out


@pytest.fixture
def rig() -> Rig:
    r = Rig()
    t0 = r.clock.now
    orig = r.model._deliver

    def stamped(recipients: Any, ev: dict[str, Any]) -> None:
        ev["_t"] = round(r.clock.now - t0, 3)
        orig(recipients, ev)

    r.model._deliver = stamped  # type: ignore[method-assign]
    return r


def test_media_list_is_one_playback_with_continuing(rig: Rig) -> None:
    body = rig.play("sound:press-1", "sound:or", "sound:press-2")
    assert body["next_media_uri"] == "sound:or"
    rig.clock.advance(10)
    assert rig.timeline() == [
        (0.0, "PlaybackStarted", "sound:press-1", "playing"),
        (1.189, "PlaybackContinuing", "sound:press-1", "continuing"),
        (1.189, "PlaybackStarted", "sound:or", "playing"),
        (1.918, "PlaybackContinuing", "sound:or", "continuing"),
        (1.918, "PlaybackStarted", "sound:press-2", "playing"),
        (3.025, "PlaybackFinished", "sound:press-2", "done"),
    ]
    assert rig.model.stats()["playbacks"] == 0


def test_plays_are_queued_and_run_one_at_a_time(rig: Rig) -> None:
    rig.play("sound:you-entered")
    rig.play("digits:123")
    rig.play("number:42")
    rig.play("characters:ab")
    rig.clock.advance(20)
    finished = [(t, m) for t, kind, m, _ in rig.timeline() if kind == "PlaybackFinished"]
    # lengths: you-entered 0.972; digits 1+2+3; 40 + 2; letters a + b (shared/asterisk-sounds)
    assert finished == [
        (0.972, "sound:you-entered"),
        (3.468, "digits:123"),
        (5.163, "number:42"),
        (6.519, "characters:ab"),
    ]


def test_unknown_scheme_never_finishes_and_tone_stops_on_delete(rig: Rig) -> None:
    bogus = rig.play("bogus:foo")
    rig.play("sound:or")  # Asterisk moves on: the next play is not blocked
    rig.clock.advance(3600)
    assert [(k, m) for _, k, m, _ in rig.timeline()] == [
        ("PlaybackStarted", "bogus:foo"),
        ("PlaybackStarted", "sound:or"),
        ("PlaybackFinished", "sound:or"),
    ]
    assert rig.model.get_playback(bogus["id"])["state"] == "playing"
    rig.model.stop_playback(bogus["id"])
    assert rig.model.stats()["playbacks"] == 0
    tone = rig.play("tone:ring;tonezone=us")
    rig.clock.advance(100)
    rig.model.stop_playback(tone["id"])
    rig.clock.advance(STOP_TAKES)  # the stream loop reads the STREAM_STOP
    assert [(k, m, s) for _, k, m, s in rig.timeline()][-2:] == [
        ("PlaybackStarted", "tone:ring;tonezone=us", "playing"),
        ("PlaybackFinished", "tone:ring;tonezone=us", "done"),
    ]


def test_stopping_a_queued_playback(rig: Rig) -> None:
    rig.play("sound:demo-congrats", playback_id="q1")
    rig.play("sound:press-1", playback_id="q2")
    rig.clock.advance(0.5)
    assert rig.model.get_playback("q2")["state"] == "queued"
    rig.model.stop_playback("q2")
    assert rig.model.get_playback("q2")["state"] == "done"
    rig.model.stop_playback("q1")
    rig.clock.advance(STOP_TAKES)
    assert [(k, m, s) for _, k, m, s in rig.timeline()] == [
        ("PlaybackStarted", "sound:demo-congrats", "playing"),
        ("PlaybackFinished", "sound:demo-congrats", "done"),
        ("PlaybackFinished", "sound:press-1", "done"),
    ]


def test_same_playback_id_twice_is_queued_and_deleted_in_order(rig: Rig) -> None:
    rig.play("sound:demo-congrats", playback_id="pb")
    rig.play("sound:press-1", playback_id="pb")
    rig.clock.advance(0.1)
    assert rig.model.get_playback("pb")["media_uri"] == "sound:demo-congrats"
    rig.model.stop_playback("pb")
    rig.clock.advance(STOP_TAKES)
    assert rig.model.get_playback("pb")["media_uri"] == "sound:press-1"
    rig.model.stop_playback("pb")
    rig.clock.advance(STOP_TAKES)
    with pytest.raises(AriError) as err:
        rig.model.get_playback("pb")
    assert (err.value.status, err.value.message) == (404, "Playback not found")


def test_pause_unpause_restart_change_the_end_time(rig: Rig) -> None:
    rig.play("sound:press-1", playback_id="p")
    rig.clock.advance(0.5)
    rig.model.control_playback("p", "pause")
    assert rig.model.get_playback("p")["state"] == "paused"
    rig.clock.advance(10)
    rig.model.control_playback("p", "unpause")  # PlaybackStarted again, as Asterisk does
    rig.clock.advance(0.2)
    rig.model.control_playback("p", "restart")
    rig.clock.advance(5)
    assert rig.timeline() == [
        (0.0, "PlaybackStarted", "sound:press-1", "playing"),
        (10.5, "PlaybackStarted", "sound:press-1", "playing"),
        (11.889, "PlaybackFinished", "sound:press-1", "done"),
    ]


def test_control_errors(rig: Rig) -> None:
    rig.play("sound:demo-congrats", playback_id="a")
    rig.play("sound:press-1", playback_id="b")
    rig.clock.advance(0)
    cases = [
        ("b", "pause", 409, "Can only pause while media is playing"),
        ("a", "bogus", 400, "Invalid operation bogus"),
        ("a", None, 400, "Missing operation"),
        ("zz", "pause", 404, "Playback not found"),
    ]
    for pid, op, status, message in cases:
        with pytest.raises(AriError) as err:
            rig.model.control_playback(pid, op)
        assert (err.value.status, err.value.message) == (status, message)


def test_unknown_sound_fails_with_a_sounds_dir(tmp_path: Any) -> None:
    from ivrkit.sim.model._sounds import SoundLibrary

    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "hello.ulaw").write_bytes(b"\xff" * 16000)  # 2 s of ulaw
    rig = Rig(sounds=SoundLibrary(tmp_path))
    rig.play("sound:nope")
    rig.play("sound:hello")
    rig.clock.advance(5)
    kinds = [(e["type"], e["playback"]["media_uri"], e["playback"]["state"]) for e in rig.events]
    assert kinds == [
        ("PlaybackStarted", "sound:nope", "playing"),
        ("PlaybackFinished", "sound:nope", "failed"),
        ("PlaybackStarted", "sound:hello", "playing"),
        ("PlaybackFinished", "sound:hello", "done"),
    ]
    assert rig.clock.pending() == 0


def test_hangup_mid_prompt_finishes_failed_before_stasis_end(rig: Rig) -> None:
    rig.play("sound:press-1")
    rig.play("sound:or")
    rig.clock.advance(0.5)
    rig.model.caller_hangs_up(rig.ch)
    assert [e["type"] for e in rig.events] == [
        "PlaybackStarted",
        "ChannelHangupRequest",
        "PlaybackFinished",
        "StasisEnd",
    ]
    assert rig.events[2]["playback"]["state"] == "failed"
    rig.clock.advance(10)
    assert rig.model.stats() == {"channels": 0, "playbacks": 0, "bridges": 0, "timers": 0}


def test_timestamps_follow_the_model_clock() -> None:
    from datetime import UTC, datetime

    clock = ManualClock()
    model = SimModel(clock, wall_start=datetime(2026, 11, 28, 4, 21, 8, 291000, tzinfo=UTC))
    assert model.timestamp() == "2026-11-28T04:21:08.291+0000"
    clock.advance(0.7095)
    assert model.timestamp() == "2026-11-28T04:21:09.000+0000"
    clock.advance(86400.0)
    assert model.timestamp() == "2026-11-29T04:21:09.000+0000"
