"""Where a call's checkpoint is kept so that the next process can take the call over.

Why: a call outlives the process serving it (a restart, a crash, a second process that
replaces the first). Asterisk is the one party that survives all of these, so the
checkpoint (``CallMachine.checkpoint()``, ivr/_checkpoint.py) is kept *on the channel*,
as the channel variable ``IVRKIT_CALL`` (``POST /channels/{id}/variable``), and read
back (``GET``) by whichever process adopts the call. No store of our own, nothing to
clean up: the variable dies with the channel.

Rules (the runner applies them; this module is pure):

1. The checkpoint is written when the part of it that a resume uses changes (menu, way
   back, counters, call data), not on every event: a prompt, a timer or a key that
   leads to a prompt does not cost a request. The last entry (``digits``, for a
   ``{digits}`` prompt) is written along but does not trigger a write by itself; the id
   counters are left out of the comparison on purpose:
2. every process gives the calls it serves an id namespace of its own (``call_id`` =
   ``{channel_id}-{process token}``), so a resumed machine starts its numbering afresh
   in its namespace, and a playback of the old process can never be mistaken for one of
   the new machine's, however stale the checkpoint.
3. A call whose variable is missing or unreadable starts from the top (``CallStarted``):
   either nobody served it yet (it entered Stasis while no process was connected), or
   its checkpoint cannot be trusted (another format, a menu the new file lacks).
4. So the state a call starts in is not written: a start from the top rebuilds it (the
   start menu, no counts, the call data seeded from the channel). The first write is
   the first change (a menu entered, a no-input or no-match counted, call data set):
   in the guide's scenario, two writes per call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ivrkit.ivr._checkpoint import Checkpoint
from ivrkit.ivr._exceptions import CheckpointError

CHECKPOINT_VARIABLE = "IVRKIT_CALL"

# what a resume uses (rule 1); "state", "digits", "playbacks", "timers" and "call_id"
# are left out
_RESUME_FIELDS = ("menu", "stack", "no_input", "no_match", "errors", "data")


def resume_key(checkpoint: Mapping[str, Any]) -> str:
    """A value that changes exactly when a resume would do something different."""
    return json.dumps([checkpoint.get(f) for f in _RESUME_FIELDS], sort_keys=True)


def encode_checkpoint(checkpoint: Mapping[str, Any]) -> str:
    return json.dumps(checkpoint, separators=(",", ":"), sort_keys=True)


def decode_checkpoint(text: str, call_id: str) -> dict[str, Any]:
    """The checkpoint in ``text``, moved into ``call_id``'s id namespace (rule 2).

    Raises CheckpointError (naming the problem) if it is not a readable checkpoint.
    """
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise CheckpointError(f"{CHECKPOINT_VARIABLE} is not JSON: {exc}") from exc
    Checkpoint.from_json(raw)  # validate before touching it
    assert isinstance(raw, dict)
    return {**raw, "call_id": call_id, "playbacks": 0, "timers": 0}


__all__ = ["CHECKPOINT_VARIABLE", "decode_checkpoint", "encode_checkpoint", "resume_key"]
