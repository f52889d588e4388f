"""ivrkit.observe: the hook through which the runner, the client and the process report.

A leaf package (stdlib only, imports no other part of ivrkit), so every part may report
through it: ``ivrkit.ari`` reports requests (``AriRequest``), the runner reports each
call's ``Step``s, the CLI reports the websocket's ``Connection``. Consumers implement
``Observer.observe(record)``: the metrics exporter (``ivrkit.metrics``) and the journey
log (``ivrkit.journey``) are two. docs/operations.md lists every record and field.
"""

import contextlib

from ivrkit.observe._context import CallLogRecords, bind_call, current_call
from ivrkit.observe._observer import Observer, Observers, Recorder
from ivrkit.observe._records import (
    CALL_OUTCOMES,
    STEP_KINDS,
    TURN_AWAY_REASONS,
    AriRequest,
    CallInfo,
    Connection,
    Observation,
    Step,
)

__all__ = [
    "CALL_OUTCOMES",
    "STEP_KINDS",
    "TURN_AWAY_REASONS",
    "AriRequest",
    "CallInfo",
    "CallLogRecords",
    "Connection",
    "Observation",
    "Observer",
    "Observers",
    "Recorder",
    "Step",
    "bind_call",
    "current_call",
]

for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type):
        with contextlib.suppress(AttributeError, TypeError):
            _obj.__module__ = "ivrkit.observe"
del _name, _obj, contextlib
