"""The simulator's declarative route table: every ARI operation it implements, as data.

Why data and not aiohttp routes: the same declarations drive three consumers —
the request dispatcher (``_dispatch``: path matching, parameter merging and
conversion), the generated Swagger 1.1 description (``_apidocs``) and REST over the
events websocket (``_restws``). One table means the description can never claim an
operation that the dispatcher does not serve, or the reverse.

Names, parameter names, ``paramType`` and ``dataType`` strings are Asterisk's own, as in
``rest-api/api-docs/*.json`` (shared/ari-api-docs). Only what the simulator implements is
declared. Route modules (``_routes_*.py``) register operations with :func:`operation`;
:func:`all_operations` imports them and returns the complete, ordered table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

ParamType = Literal["path", "query", "body"]

#: Handler signature: ``handler(model, args) -> SimResponse``. ``args`` maps parameter
#: names to values already converted by declared ``data_type`` (absent when not given
#: and without default). The model is the simulator's ``SimModel``; typed ``Any`` here
#: so the table does not import the model.
Handler = Callable[[Any, Mapping[str, Any]], Any]


@dataclass(frozen=True, slots=True)
class Param:
    """One operation parameter, spelled as in Asterisk's Swagger description."""

    name: str
    param_type: ParamType
    data_type: str
    required: bool = False
    allow_multiple: bool = False
    allowed_values: tuple[str, ...] | None = None
    default: object = None
    description: str = ""


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    """A documented error status of an operation (``errorResponses`` in Swagger)."""

    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One (path, HTTP method) the simulator serves.

    ``resource`` is the api-docs file stem (``channels``); ``api_path`` is Swagger style
    (``/channels/{channelId}/play``); ``upgrade`` is ``"websocket"`` for the events
    socket, whose ``handler`` is ``None`` because the HTTP front door serves it.
    """

    resource: str
    api_path: str
    http_method: str
    nickname: str
    summary: str
    response_class: str
    params: tuple[Param, ...]
    errors: tuple[ErrorResponse, ...]
    handler: Handler | None
    upgrade: str | None = None


#: Operations in registration order (route modules append here on import).
OPERATIONS: list[Operation] = []

#: Route modules, in the order of Asterisk's resources.json.
_ROUTE_MODULES = (
    "ivrkit.sim.front._routes_asterisk",
    "ivrkit.sim.front._routes_channels",
    "ivrkit.sim.front._routes_channel_ops",
    "ivrkit.sim.front._routes_bridges",
    "ivrkit.sim.front._routes_sounds",
    "ivrkit.sim.front._routes_playbacks",
    "ivrkit.sim.front._routes_events",
    "ivrkit.sim.front._routes_applications",
    "ivrkit.sim.front._routes_recordings",
    "ivrkit.sim.front._routes_endpoints",
    "ivrkit.sim.front._routes_system",
)

#: The api-docs resources the simulator describes, in resources.json order, each with
#: a one-line description of our own (what the simulator offers there).
RESOURCES: tuple[tuple[str, str], ...] = (
    ("asterisk", "Info, ping and global variables"),
    ("endpoints", "Simulated PJSIP/SIP/IAX2 endpoints and out-of-call messages"),
    ("channels", "Calls: originate, answer, play, DTMF, hang up"),
    ("bridges", "Mixing channels together"),
    ("recordings", "Live and stored recordings (silence: no audio content)"),
    ("sounds", "The prompts the simulator can play"),
    ("playbacks", "Queued and playing media"),
    ("deviceStates", "Device states: Stasis:NAME ones and the endpoints'"),
    ("mailboxes", "Message waiting counts (res_mwi_external)"),
    ("events", "The events websocket and user events"),
    ("applications", "Apps and their subscriptions"),
)


def operation(
    resource: str,
    api_path: str,
    http_method: str,
    nickname: str,
    *,
    summary: str,
    response_class: str,
    params: tuple[Param, ...] = (),
    errors: tuple[ErrorResponse, ...] = (),
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of one operation."""

    def register(handler: Handler) -> Handler:
        OPERATIONS.append(
            Operation(
                resource=resource,
                api_path=api_path,
                http_method=http_method,
                nickname=nickname,
                summary=summary,
                response_class=response_class,
                params=params,
                errors=errors,
                handler=handler,
            )
        )
        return handler

    return register


def declare(op: Operation) -> None:
    """Register an operation without a handler (the events websocket)."""
    OPERATIONS.append(op)


def all_operations() -> tuple[Operation, ...]:
    """Import every route module and return the complete table."""
    for name in _ROUTE_MODULES:
        importlib.import_module(name)
    return tuple(OPERATIONS)


def operations_by_resource() -> Mapping[str, tuple[Operation, ...]]:
    """The table grouped by api-docs resource, for the description generator."""
    grouped: dict[str, list[Operation]] = {name: [] for name, _ in RESOURCES}
    for op in all_operations():
        grouped.setdefault(op.resource, []).append(op)
    return {name: tuple(ops) for name, ops in grouped.items()}


# Shorthands used by the route modules (keep declarations one line each).
def path(name: str, description: str = "") -> Param:
    """A required string path parameter."""
    return Param(name, "path", "string", required=True, description=description)


def query(
    name: str,
    data_type: str = "string",
    *,
    required: bool = False,
    multiple: bool = False,
    values: tuple[str, ...] | None = None,
    default: object = None,
    description: str = "",
) -> Param:
    """A query parameter (also accepted from a JSON body, as Asterisk does)."""
    return Param(
        name,
        "query",
        data_type,
        required=required,
        allow_multiple=multiple,
        allowed_values=values,
        default=default,
        description=description,
    )


def body(name: str, data_type: str = "containers", *, required: bool = False) -> Param:
    """A body parameter (``variables`` and friends)."""
    return Param(name, "body", data_type, required=required)


def errors(*pairs: tuple[int, str]) -> tuple[ErrorResponse, ...]:
    """``errors((404, "No channel has this id"), ...)``: documented error statuses."""
    return tuple(ErrorResponse(code, reason) for code, reason in pairs)
