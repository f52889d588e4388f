"""The far-side record and the cut-off inference on real Asterisk 20 event streams.

The driver of ../shared/asterisk-traces is exactly what `ivrkit call` is: an app
(`driver`) that originated `Local/1000@default`, was subscribed to both halves by
Asterisk, sent DTMF on `;1` and hung up `;1`. Its recorded events, fed to `FarSide`
with the recorded times, must give the report the guide's call really had.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ivrkit.ari import decode_event
from ivrkit.caller._farside import FarSide
from ivrkit.caller._report import outcome

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "asterisk-traces"


def replay(name: str) -> tuple[FarSide, float | None]:
    """Feed the driver's events; returns the record and when the driver hung up."""
    records = [json.loads(line) for line in (TRACES / name).read_text().splitlines()]
    originate = next(
        r
        for r in records
        if r["kind"] == "http" and r["method"] == "POST" and r["path"] == "/ari/channels"
    )
    one = originate["resp_body"]["id"]
    driver_events = [
        r
        for r in records
        if r["kind"] == "ws_msg" and r["dir"] == "out" and r["data"].get("application") == "driver"
    ]
    two = next(
        r["data"]["channel"]["id"]
        for r in driver_events
        if r["data"].get("channel", {}).get("name", "").endswith(";2")
    )
    clock = {"now": 0.0}
    far = FarSide(one, two, lambda: clock["now"])
    for r in driver_events:
        clock["now"] = r["t"]
        far.feed(decode_event(r["data"]))
    hangups = [
        r["t_req"]
        for r in records
        if r["kind"] == "http" and r["method"] == "DELETE" and r["path"] == f"/ari/channels/{one}"
    ]
    return far, (hangups[0] if hangups else None)


def outcomes(far: FarSide, hangup_at: float | None) -> list[tuple[str, str]]:
    first = min(x for x in (hangup_at, far.hangup_seen_at) if x is not None)
    return [
        (m.media_uri, outcome(m.state, m.start, m.end, far.keys_received, first)) for m in far.media
    ]


@pytest.mark.parametrize(
    ("trace", "expected"),
    [
        (
            "guide-js-1-2-8-timeout.jsonl",
            [
                ("sound:press-1", "cut_off_key"),
                ("sound:you-entered", "finished"),
                ("digits:1", "finished"),
                ("sound:press-1", "cut_off_key"),
                ("sound:you-entered", "finished"),
                ("digits:2", "finished"),
                ("sound:press-1", "cut_off_key"),
                ("sound:option-is-invalid", "finished"),
                ("sound:press-1", "finished"),
                ("sound:or", "finished"),
                ("sound:press-2", "finished"),
                ("sound:are-you-still-there", "finished"),
                ("sound:press-1", "cut_off_hangup"),
            ],
        ),
        ("guide-js-hangup-during-prompt.jsonl", [("sound:press-1", "cut_off_hangup")]),
        (
            "guide-js-press-during-or.jsonl",
            [
                ("sound:press-1", "finished"),
                ("sound:or", "cut_off_key"),
                ("sound:you-entered", "finished"),
                ("digits:1", "finished"),
                ("sound:press-1", "cut_off_hangup"),
            ],
        ),
    ],
)
def test_real_asterisk_streams_give_the_real_outcomes(
    trace: str, expected: list[tuple[str, str]]
) -> None:
    far, hangup_at = replay(trace)
    assert outcomes(far, hangup_at) == expected
    assert far.answered_at is not None
    # the caller hung up: its DELETE came before Asterisk's first hang-up event
    assert hangup_at is not None
    assert far.hangup_seen_at is not None
    assert hangup_at <= far.hangup_seen_at
    assert far.destroyed[far.two].cause == 16
    assert far.destroyed[far.two].cause_txt == "Normal Clearing"


def test_keys_reach_the_far_half_about_200_ms_after_the_request() -> None:
    far, _ = replay("guide-js-1-2-8-timeout.jsonl")
    records = [
        json.loads(line)
        for line in (TRACES / "guide-js-1-2-8-timeout.jsonl").read_text().splitlines()
    ]
    sent = [r["t_req"] for r in records if r["kind"] == "http" and r["path"].endswith("/dtmf")]
    assert [d for d, _ in far.keys_received] == ["1", "2", "8"]
    for at, (_, received) in zip(sent, far.keys_received, strict=True):
        assert received - at == pytest.approx(0.2, abs=0.05)
