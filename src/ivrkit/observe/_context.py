"""Which call the running code serves, so every log line can say it.

The runner binds a call's ``CallInfo`` in the call's own task when the call arrives
(``bind_call``). asyncio copies the context into every task and timer started from
there, so handler code, the call's timers and the client's per-call work all run with
it bound, and code that knows nothing of calls (a user's handler logging with its own
logger) is still attributable.

``ivrkit run`` installs ``CallLogRecords``: a log record made while a call is bound
gets ``call_id`` and ``channel`` attributes and, unless its text already names the
call, the prefix ``call <id> (<channel>): ``. A library user who configures logging
can do the same, or use the attributes in a format string.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from typing import Any

from ivrkit.observe._records import CallInfo

CURRENT_CALL: ContextVar[CallInfo | None] = ContextVar("ivrkit_current_call", default=None)


def bind_call(call: CallInfo) -> None:
    """Bind ``call`` in the current task (and what it starts from now on)."""
    CURRENT_CALL.set(call)


def current_call() -> CallInfo | None:
    return CURRENT_CALL.get()


class CallLogRecords:
    """A log record factory that names the bound call (see the module docstring).

    ``install()`` wraps the factory in force; ``uninstall()`` puts it back.
    """

    def __init__(self) -> None:
        self._previous: Any = None

    def install(self) -> None:
        if self._previous is None:
            self._previous = logging.getLogRecordFactory()
            logging.setLogRecordFactory(self._make)

    def uninstall(self) -> None:
        if self._previous is not None:
            logging.setLogRecordFactory(self._previous)
            self._previous = None

    def _make(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record: logging.LogRecord = self._previous(*args, **kwargs)
        call = CURRENT_CALL.get()
        if call is not None:
            record.call_id = call.call_id
            record.channel = call.channel
            text = record.getMessage()
            if call.call_id not in text:
                record.msg = f"call {call.call_id} ({call.channel}): {text}"
                record.args = None
        return record


__all__ = ["CURRENT_CALL", "CallLogRecords", "bind_call", "current_call"]
