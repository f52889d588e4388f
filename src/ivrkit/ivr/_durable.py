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

    async def open(self, channel_id: str) -> CallOpening: ...

    def changed(self, channel_id: str, snapshot: Callable[[], Mapping[str, Any]]) -> None: ...

    def closed(self, channel_id: str) -> None: ...


def resume_machine(
    tree: MenuTree, checkpoint: Mapping[str, Any], *, notes: bool = False
) -> tuple[CallMachine, str | None]:
    """The machine that carries on a checkpointed call, and the id of the prompt that may
    still be playing from before (stop it before the re-greeting, or the new prompt
    would queue behind it). Raises CheckpointError when it cannot be resumed."""
    machine = CallMachine.resume(tree, checkpoint, notes=notes)
    issued = checkpoint.get("playbacks")
    channel = checkpoint.get("call_id")
    previous = f"{channel}-p{issued}" if isinstance(issued, int) and issued > 0 else None
    return machine, previous
