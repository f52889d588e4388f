"""Where a call goes next: the typed values a Python handler may return.

Why typed values and not strings: a typo in ``"sales"`` vs ``Goto("sales")`` is the same
runtime error, but ``Goto`` cannot be confused with a menu's prompt, a transfer target or
a dialplan context, and the machine checks every field when it gets one (an unknown menu
is reported with the call and runs the menu's ``on_error``). Returning ``None`` keeps the
old behaviour: the menu comes back with its re-greeting.

>>> from ivrkit.ivr import steps
>>> async def order_status(call, digits):
...     call.data["status"] = "shipped"
...     return steps.Play("sound:your-order", "sound:{status}")

These are the same actions a menu file can name (``goto``, ``back``, ...), spelled for
Python: positional where there is one obvious argument.
"""

from __future__ import annotations

from dataclasses import dataclass

from ivrkit.ivr._menu import (
    Action,
    BackAction,
    ContinueAction,
    GotoAction,
    HangupAction,
    PlayAction,
    TopAction,
    TransferAction,
)


class Step:
    """Base of every next step; use one of the subclasses."""

    __slots__ = ()

    def action(self) -> Action:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Goto(Step):
    """Enter ``menu`` (remembered, so ``Back()`` returns to the current one)."""

    menu: str

    def action(self) -> Action:
        return GotoAction(menu=self.menu)


@dataclass(frozen=True, slots=True)
class Back(Step):
    """Return to the menu that entered this one."""

    def action(self) -> Action:
        return BackAction()


@dataclass(frozen=True, slots=True)
class Top(Step):
    """Return to the start menu, forgetting the way back."""

    def action(self) -> Action:
        return TopAction()


@dataclass(frozen=True, slots=True)
class Hangup(Step):
    """Hang the call up."""

    def action(self) -> Action:
        return HangupAction()


@dataclass(frozen=True, slots=True)
class Continue(Step):
    """Leave the application into the dialplan; unset fields mean "next priority"."""

    context: str | None = None
    extension: str | None = None
    priority: int | None = None

    def action(self) -> Action:
        return ContinueAction(
            context=self.context, extension=self.extension, priority=self.priority
        )


@dataclass(frozen=True, slots=True)
class Transfer(Step):
    """Originate ``endpoint`` and bridge it with the caller; ``failed`` plays if it can't."""

    endpoint: str
    timeout: float = 30.0
    caller_id: str | None = None
    failed: tuple[str, ...] = ()

    def action(self) -> Action:
        return TransferAction(
            endpoint=self.endpoint,
            timeout=self.timeout,
            caller_id=self.caller_id,
            failed=tuple(self.failed),
        )


@dataclass(frozen=True, slots=True, init=False)
class Play(Step):
    """Play these media (call-data templates allowed), then the menu comes back."""

    media: tuple[str, ...]

    def __init__(self, *media: str) -> None:
        object.__setattr__(self, "media", media)

    def action(self) -> Action:
        return PlayAction(prompts=self.media)


__all__ = ["Back", "Continue", "Goto", "Hangup", "Play", "Step", "Top", "Transfer"]
