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
5. The process that adopts a call stops the old process's prompt before re-greeting
   (on Asterisk a new prompt queues behind a playing one, and the caller would hear the
   old one to its end first). ARI cannot list a channel's playbacks, and a checkpoint
   is written only while none of ours plays (a variable set waits behind the prompt),
   so the checkpoint cannot name the prompt playing now; it names the old id namespace
   (``call_id``) and the prompts issued so far (``playbacks``: n), and the one that may
   still play is among the next few: the adopter stops ``{call_id}-p{n}`` to
   ``-p{n + PROMPT_WINDOW}`` (``foreign_prompts``; the ended and the never-issued answer
   404). To keep the one playing inside that window, a writer also writes when its
   count has run ``PROMPT_WINDOW // 2`` past the last written one (rule 1's exception),
   which a menu that changes nothing but plays on (an option that only plays) needs.
   Only ids of this channel's namespace, never this process's own, are stopped.
6. A menu entered is the exception to writing only while nothing plays: its checkpoint
   goes out after the batch's stop and before its greeting's play (awaited, at most
   0.5 s), since the greeting may last long and a takeover during it would otherwise
   resume the menu before. One round trip more before a new menu's greeting; no more
   writes than before (the same change was written when the greeting ended).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from ivrkit.ivr._checkpoint import Checkpoint
from ivrkit.ivr._exceptions import CheckpointError

CHECKPOINT_VARIABLE = "IVRKIT_CALL"

# rule 5: the old prompt is one of the last written count's next ids. 6: a chain of
# prompts played back to back (a 3-prompt greeting after a 1-prompt option) after up to
# two more without a write (the writer writes at 3 past the count).
PROMPT_WINDOW = 6

_TOKEN = re.compile(r"[0-9a-z]+")  # a process token (os.urandom(4).hex())

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


def foreign_prompts(text: str, call_id: str) -> tuple[str, ...]:
    """The ids of the old process's prompts that may still play on this channel (rule 5),
    from the checkpoint ``text`` that ``decode_checkpoint`` accepted, for the adopting
    machine ``call_id`` (``{channel_id}-{token}``). Empty unless the checkpoint's own
    namespace is this channel's, of another process."""
    raw = json.loads(text)
    old, issued = raw.get("call_id"), raw.get("playbacks")
    channel_id = call_id.rpartition("-")[0]
    if not isinstance(old, str) or type(issued) is not int or issued < 0 or old == call_id:
        return ()
    channel, _, token = old.rpartition("-")
    if channel != channel_id or not _TOKEN.fullmatch(token):
        return ()
    return tuple(f"{old}-p{n}" for n in range(max(issued, 1), issued + PROMPT_WINDOW + 1))


__all__ = [
    "CHECKPOINT_VARIABLE",
    "PROMPT_WINDOW",
    "decode_checkpoint",
    "encode_checkpoint",
    "foreign_prompts",
    "resume_key",
]
