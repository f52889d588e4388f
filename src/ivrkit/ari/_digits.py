"""A call's keys in the order pressed, and ``gather``: collect digits like Asterisk's Read().

Why a buffer: ``call.expect(ChannelDtmfReceived)`` sees only keys that arrive after it
is armed, so a loop of ``expect`` drops every key pressed while the code between two
waits runs (a prompt's request, a database look-up): of "1234" typed fast, only "1"
was seen (issue 11). Each :class:`~ivrkit.ari.CallScope` therefore files every
``ChannelDtmfReceived`` of its channel in a :class:`DigitBuffer`, in the consumer's
order, from the call's start; ``next_digit()`` and ``gather()`` read from it, so a
key is never lost between waits, and keys typed ahead of a prompt are kept for it.

The buffer is bounded (:data:`DIGIT_LIMIT` keys nobody has read; the oldest go first,
counted in ``dropped``) so that a call nobody reads keys from costs a few bytes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ivrkit.ari._events import PlaybackFinished
from ivrkit.ari._models import Playback

logger = logging.getLogger("ivrkit.ari")

#: keys kept unread per call before the oldest are dropped
DIGIT_LIMIT = 256

#: every key Asterisk reports in ChannelDtmfReceived.digit
DTMF_KEYS = frozenset("0123456789*#ABCD")


class DigitBuffer:
    """The unread keys of one call, oldest first; filled by the call's consumer task."""

    __slots__ = ("_closed", "_digits", "_limit", "_make_error", "_waiters", "dropped")

    def __init__(self, make_error: Callable[[], BaseException], limit: int = DIGIT_LIMIT) -> None:
        self._digits: deque[str] = deque()
        self._waiters: set[asyncio.Future[None]] = set()
        self._limit = limit
        self._make_error = make_error  # what a waiter gets once the call has ended
        self._closed = False
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._digits)

    @property
    def pending(self) -> str:
        """The unread keys, oldest first, without taking them."""
        return "".join(self._digits)

    def put(self, digit: str) -> None:
        if self._closed:
            return
        self._digits.append(digit)
        if len(self._digits) > self._limit:
            self._digits.popleft()
            self.dropped += 1
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def take(self) -> str | None:
        """The oldest unread key, or None if there is none (never waits)."""
        return self._digits.popleft() if self._digits else None

    def clear(self) -> str:
        """Forget the unread keys (e.g. before a question that must not be typed ahead)."""
        taken = "".join(self._digits)
        self._digits.clear()
        return taken

    async def wait(self) -> None:
        """Until a key is unread; raises the call's CallEnded once it has ended."""
        while not self._digits:
            if self._closed:
                raise self._make_error()
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)

    async def get(self) -> str:
        """The oldest unread key, waiting for one (bound it with ``asyncio.timeout``)."""
        await self.wait()
        return self._digits.popleft()

    def close(self) -> None:
        """The call has ended: waiters fail, later keys are ignored."""
        self._closed = True
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(self._make_error())


GatherEnd = Literal["max_digits", "terminator", "timeout"]


@dataclass(frozen=True, slots=True)
class Gathered:
    """What :meth:`CallScope.gather` collected and why it stopped.

    ``ended_by``: ``max_digits`` (enough keys), ``terminator`` (the terminator key was
    pressed; it is not in ``digits``) or ``timeout`` (``first_timeout`` with no key at
    all, then ``digits`` is empty, or ``inter_timeout`` after the last one).
    """

    digits: str
    ended_by: GatherEnd


class _Call(Protocol):
    """What ``gather`` needs of a CallScope (kept as a protocol: no import of _scope)."""

    digits: DigitBuffer

    def new_id(self, kind: str = ...) -> str: ...

    def expect(self, types: Any, predicate: Any = ...) -> asyncio.Future[Any]: ...

    async def play(self, media: str, *, playback_id: str | None = ...) -> Playback: ...

    async def stop_playback_quietly(self, playback_id: str) -> bool: ...


def check_gather(max_digits: int, terminator: str, first: float, inter: float) -> None:
    if max_digits < 1:
        raise ValueError(f"gather: max_digits must be at least 1, not {max_digits}")
    if any(key not in DTMF_KEYS for key in terminator):
        raise ValueError(f"gather: terminator {terminator!r} is not made of DTMF keys")
    if first < 0 or inter < 0:
        raise ValueError(f"gather: timeouts must not be negative ({first:g}, {inter:g})")


async def gather(
    call: _Call,
    max_digits: int,
    terminator: str,
    first_timeout: float,
    inter_timeout: float,
    prompt: str | Sequence[str] | None,
    interrupt: bool,
) -> Gathered:
    """See :meth:`CallScope.gather` (this is its body)."""
    check_gather(max_digits, terminator, first_timeout, inter_timeout)
    prompts = [prompt] if isinstance(prompt, str) else list(prompt or ())
    for media in prompts:
        if interrupt and len(call.digits):
            break  # typed ahead: the caller already answers, the prompt is skipped
        interrupted = await _play(call, media, interrupt)
        if interrupted:
            break
    digits = ""
    timeout = first_timeout
    while True:
        try:
            async with asyncio.timeout(timeout):
                key = await call.digits.get()
        except TimeoutError:
            return Gathered(digits, "timeout")
        if key in terminator:
            return Gathered(digits, "terminator")
        digits += key
        if len(digits) >= max_digits:
            return Gathered(digits, "max_digits")
        timeout = inter_timeout


async def _play(call: _Call, media: str, interrupt: bool) -> bool:
    """Play ``media`` to its end, or (``interrupt``) until a key; True if a key cut it."""
    pid = call.new_id("pb")
    finished = call.expect(PlaybackFinished, lambda e: e.playback.id == pid)
    try:
        await call.play(media, playback_id=pid)
        if not interrupt:
            await finished
            return False
        key = asyncio.ensure_future(call.digits.wait())
        try:
            await asyncio.wait({finished, key}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            key.cancel()
        if finished.done():
            finished.result()  # a CallEnded surfaces here
            return False
        if key.done() and not key.cancelled():
            key.result()
        await call.stop_playback_quietly(pid)
        return True
    finally:
        finished.cancel()
