"""Which playback a ``wait_for`` or ``heard`` step means: one rule for every runner.

The runners (the simulator's phone, the ARI caller) each record the far side's media
in order, as items with ``media_uri``, ``start`` and ``end`` (loop clock; ``end`` is
None while playing). A :class:`MediaCursor` walks those records for one call:

* ``wait_for: MEDIA`` matches the first playback of MEDIA that **starts after the
  previous step ended** (and after the playback the previous ``wait_for``/``heard``
  matched). A prompt that started earlier, before a ``silence`` say, never satisfies a
  later ``wait_for`` (issue 11: docs/caller.md's guide.yaml passed against an attendant
  that never played are-you-still-there, by matching a press-1 from before the silence).
* ``heard: MEDIA`` matches the first playback of MEDIA that is **still playing when the
  previous step ended, or starts later**, and passes when it ends. Right after a
  ``wait_for`` it may match that same playback (``wait_for: X`` then ``heard: X`` waits
  for X to end, not for a second X).

MEDIA is a URI, ``any`` (any media) or ``first`` (the media of the call's first
playback; ``any`` until something has played).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ivrkit.callscript._format import ANY_MEDIA, FIRST_MEDIA


class Played(Protocol):
    """One media item as a runner records it."""

    @property
    def media_uri(self) -> str: ...

    @property
    def start(self) -> float: ...

    @property
    def end(self) -> float | None: ...


def media_matches(pattern: str, uri: str, records: Sequence[Played]) -> bool:
    if pattern == FIRST_MEDIA:
        pattern = records[0].media_uri if records else ANY_MEDIA
    return pattern == ANY_MEDIA or uri == pattern


@dataclass(slots=True)
class MediaCursor:
    """Where one call's ``wait_for``/``heard`` steps have got to (see the module doc)."""

    #: the record the previous wait_for/heard matched (-1: none yet)
    pos: int = -1
    #: whether it was matched by its start (a wait_for), so a heard may take it again
    pos_started: bool = False
    #: when the previous step ended (loop clock); playbacks before it are the past
    mark: float = float("-inf")

    def step_ended(self, at: float) -> None:
        self.mark = at

    def find_start(self, records: Sequence[Played], pattern: str) -> int | None:
        """The record a ``wait_for`` would match now, or None (not yet)."""
        for index in range(self.pos + 1, len(records)):
            record = records[index]
            if record.start >= self.mark and media_matches(pattern, record.media_uri, records):
                return index
        return None

    def find_heard(self, records: Sequence[Played], pattern: str) -> int | None:
        """The record a ``heard`` would match now (it may still be playing), or None."""
        first = self.pos if self.pos_started else self.pos + 1
        for index in range(max(first, 0), len(records)):
            record = records[index]
            current = record.end is None or record.end >= self.mark
            if current and media_matches(pattern, record.media_uri, records):
                return index
        return None

    def matched(self, index: int, *, by_start: bool) -> None:
        self.pos, self.pos_started = index, by_start
