"""What the runner needs from a store of calls that outlive their process (cluster mode).

The runner owns no storage and imports none: ``MenuRunner(store=...)`` takes any object
with this shape (``ivrkit.cluster`` provides one over Redis). The runner asks it what to
do with each call that enters Stasis (start it, resume it from a checkpoint, or leave it
to the worker that owns it), tells it after each event that the call's state may have
changed (passing a way to take the checkpoint, so the store can take it only when it
writes), and tells it when the call is over. A store that finds the call was taken over
elsewhere calls ``on_lost(channel_id)``: the runner then drops the call without a word
to Asterisk.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from ivrkit.ivr._machine import CallMachine
from ivrkit.ivr._menu import MenuTree


class CallOpening(Protocol):
    """The store's answer for a new call: ``action`` is start, resume or skip."""

    @property
    def action(self) -> str: ...

    @property
    def checkpoint(self) -> Mapping[str, Any] | None: ...


class CallStore(Protocol):
    on_lost: Callable[[str], Awaitable[None]] | None

    async def open(self, channel_id: str, *, adopted: bool = False) -> CallOpening:
        """``adopted``: the call was found in our app by a re-sync (a restart, a standby
        taking the app name), not handed to us by Asterisk just now."""
        ...

    def changed(self, channel_id: str, snapshot: Callable[[], Mapping[str, Any]]) -> None: ...

    def closed(self, channel_id: str) -> None: ...


def previous_prompt(checkpoint: Mapping[str, Any]) -> str | None:
    """The id of the last prompt the checkpointed machine asked for: it may still be
    playing, so stop it before the re-greeting (or the new prompt queues behind it)."""
    issued, call_id = checkpoint.get("playbacks"), checkpoint.get("call_id")
    if isinstance(issued, int) and issued > 0 and isinstance(call_id, str):
        return f"{call_id}-p{issued}"
    return None


def resume_machine(
    tree: MenuTree, checkpoint: Mapping[str, Any], call_id: str, *, notes: bool = False
) -> tuple[CallMachine, str | None]:
    """The machine that carries on a checkpointed call in ``call_id``'s id namespace (this
    process's: ids of the old one can never be re-issued, ivr/_handover.py rule 2), and
    the old prompt to stop. Raises CheckpointError when it cannot be resumed."""
    rebased = {**checkpoint, "call_id": call_id, "playbacks": 0, "timers": 0}
    machine = CallMachine.resume(tree, rebased, notes=notes)
    return machine, previous_prompt(checkpoint)
