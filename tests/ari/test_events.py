"""Decoding against every event frame Asterisk 20 sent in the shared traces."""

import json
from pathlib import Path

from ivrkit.ari import (
    ChannelDtmfReceived,
    Dial,
    PlaybackFinished,
    StasisStart,
    UnknownEvent,
    decode_event,
)
from ivrkit.ari._events import KNOWN_EVENT_TYPES

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
TRACES = SHARED / "asterisk-traces"


def _frames() -> list[dict]:  # type: ignore[type-arg]
    out = []
    for path in sorted(TRACES.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            if rec["kind"] == "ws_msg" and rec["dir"] == "out" and "type" in rec["data"]:
                out.append(rec["data"])
    return out


def test_every_traced_frame_decodes_to_its_type() -> None:
    frames = _frames()
    assert len(frames) > 200
    known = 0
    for data in frames:
        event = decode_event(data)
        assert event.raw is data
        assert event.type == data["type"]
        if data["type"] in KNOWN_EVENT_TYPES:
            assert type(event).__name__ == data["type"], data
            known += 1
        else:
            assert isinstance(event, UnknownEvent)
    assert known > 100


def test_fields() -> None:
    by_type = {d["type"]: d for d in _frames()}
    start = decode_event(by_type["StasisStart"])
    assert isinstance(start, StasisStart)
    assert isinstance(start.args, tuple)
    assert start.channel.caller.number == by_type["StasisStart"]["channel"]["caller"]["number"]
    dtmf = decode_event(by_type["ChannelDtmfReceived"])
    assert isinstance(dtmf, ChannelDtmfReceived)
    assert isinstance(dtmf.duration_ms, int)
    fin = decode_event(by_type["PlaybackFinished"])
    assert isinstance(fin, PlaybackFinished)
    assert fin.playback.channel_id == fin.playback.target_uri.removeprefix("channel:")
    dial = decode_event(by_type["Dial"])
    assert isinstance(dial, Dial)
    assert dial.peer.id


def test_unknown_type_and_fields_pass_through() -> None:
    data = {"type": "FutureThing", "application": "a", "timestamp": "t", "zap": [1]}
    event = decode_event(data)
    assert isinstance(event, UnknownEvent)
    assert event.raw["zap"] == [1]
    dtmf = {
        "type": "ChannelDtmfReceived",
        "digit": "5",
        "duration_ms": 90,
        "channel": {"id": "c", "new_field": 1},
        "also_new": True,
    }
    decoded = decode_event(dtmf)
    assert isinstance(decoded, ChannelDtmfReceived)
    assert decoded.raw["also_new"] is True
    assert decoded.channel.raw["new_field"] == 1


def test_malformed_known_event_becomes_unknown() -> None:
    assert isinstance(decode_event({"type": "StasisStart"}), UnknownEvent)


def test_broadcast_and_claimed_decode_with_the_fields_of_the_swagger() -> None:
    from ivrkit.ari import CallBroadcast, CallClaimed

    channel = {"id": "1700.1", "name": "PJSIP/alice-1", "state": "Ring"}
    offer = decode_event(
        {
            "type": "CallBroadcast",
            "application": "ivr-w1",
            "asterisk_id": "02:fc:00:00:00:02",
            "channel": channel,
            "caller": "6001",
            "called": "1000",
        }
    )
    assert isinstance(offer, CallBroadcast)
    assert (offer.channel.id, offer.caller, offer.called) == ("1700.1", "6001", "1000")
    assert offer.raw["asterisk_id"] == "02:fc:00:00:00:02"
    won = decode_event({"type": "CallClaimed", "channel": channel, "winner_app": "ivr-w2"})
    assert isinstance(won, CallClaimed)
    assert won.winner_app == "ivr-w2"
    # caller/called are optional in the model ("s?" in Asterisk's json pack)
    bare = decode_event({"type": "CallBroadcast", "channel": channel})
    assert isinstance(bare, CallBroadcast)
    assert bare.caller == ""
