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
