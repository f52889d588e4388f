"""What a Python handler is given: the call's scope, its data and the digits entered.

Why a wrapper and not the scope itself: handlers read and write the call data, and the
machine must get the data back with the handler's result (sans-I/O: the machine learns
it from HandlerFinished, never by sharing a dict with running code). Anything else is the
call's ``ivrkit.ari.CallScope``, reachable as ``call.scope`` and also directly
(``call.play_and_wait(...)``), so handlers written for the scope keep working.
"""

from __future__ import annotations

from typing import Any

from ivrkit.ivr._checkpoint import DataValue


class HandlerCall:
    """One handler run: ``data`` (read and write; JSON scalars), ``digits``, ``menu``,
    ``language`` (setting it sets the channel's language), ``scope`` (the CallScope)."""

    __slots__ = ("data", "digits", "menu", "scope")

    def __init__(self, scope: Any, *, data: dict[str, DataValue], digits: str, menu: str) -> None:
        self.scope = scope
        self.data = data
        self.digits = digits
        self.menu = menu

    @property
    def channel_id(self) -> str:
        return str(self.scope.channel_id)

    @property
    def language(self) -> str:
        """The call's language (call data ``lang``); set it to change what Asterisk plays."""
        value = self.data.get("lang")
        return value if isinstance(value, str) else ""

    @language.setter
    def language(self, value: str) -> None:
        self.data["lang"] = value

    def __getattr__(self, name: str) -> Any:
        # only reached for names HandlerCall lacks: the scope's API (play_and_wait, ...)
        return getattr(self.scope, name)

    def __repr__(self) -> str:
        return f"HandlerCall(channel={self.channel_id!r}, menu={self.menu!r})"


__all__ = ["HandlerCall"]
