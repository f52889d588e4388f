"""Which old prompts an adopter stops (ivr/_handover.py rule 5): only the old process's
ids on this channel, never its own, never another channel's, never from a malformed
checkpoint."""

from __future__ import annotations

import json

import pytest

from ivrkit.ivr._handover import PROMPT_WINDOW, foreign_prompts

CHANNEL = "1796150000.7"
MINE = f"{CHANNEL}-0a1b2c3d"


def checkpoint(call_id: object, playbacks: object) -> str:
    return json.dumps({"call_id": call_id, "playbacks": playbacks})


def test_the_last_issued_prompt_and_the_next_ones_of_the_old_namespace() -> None:
    old = f"{CHANNEL}-deadbeef"
    ids = foreign_prompts(checkpoint(old, 4), MINE)
    assert ids == tuple(f"{old}-p{n}" for n in range(4, 4 + PROMPT_WINDOW + 1))
    assert foreign_prompts(checkpoint(old, 0), MINE)[0] == f"{old}-p1"  # none issued yet


def test_a_channel_id_with_dashes_is_kept_whole() -> None:
    channel = "my-own-id"  # ids chosen by an originate may hold dashes
    ids = foreign_prompts(checkpoint(f"{channel}-deadbeef", 1), f"{channel}-0a1b2c3d")
    assert ids[0] == f"{channel}-deadbeef-p1"


@pytest.mark.parametrize(
    ("call_id", "playbacks"),
    [
        (MINE, 3),  # this process's own namespace: never
        ("1796150000.8-deadbeef", 3),  # another channel's
        (f"{CHANNEL}-DEAD BEEF", 3),  # not a token
        (f"{CHANNEL}-", 3),
        (CHANNEL, 3),
        (f"{CHANNEL}-deadbeef", -1),
        (f"{CHANNEL}-deadbeef", True),
        (f"{CHANNEL}-deadbeef", "3"),
        (None, 3),
    ],
)
def test_nothing_outside_this_channel_s_old_namespace(call_id: object, playbacks: object) -> None:
    assert foreign_prompts(checkpoint(call_id, playbacks), MINE) == ()
