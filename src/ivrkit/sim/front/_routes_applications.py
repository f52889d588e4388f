"""``/applications`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_APP = path("applicationName", "Name of the app")


@operation(
    "applications",
    "/applications",
    "GET",
    "list",
    summary="Every app with a connected events websocket.",
    response_class="List[Application]",
)
def list_applications(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_applications())


@operation(
    "applications",
    "/applications/{applicationName}",
    "GET",
    "get",
    summary="One app with what it is subscribed to.",
    response_class="Application",
    params=(_APP,),
    errors=errors((404, "No application has this name")),
)
def get_application(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_application(args["applicationName"]))


@operation(
    "applications",
    "/applications/{applicationName}/subscription",
    "POST",
    "subscribe",
    summary="Add event sources to an app's subscriptions.",
    response_class="Application",
    params=(_APP, query("eventSource", required=True, multiple=True)),
    errors=errors(
        (400, "eventSource is missing"),
        (404, "No application has this name"),
        (422, "A listed event source does not exist"),
    ),
)
def subscribe(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.subscribe(args["applicationName"], args.get("eventSource", []), True))


@operation(
    "applications",
    "/applications/{applicationName}/subscription",
    "DELETE",
    "unsubscribe",
    summary="Drop event sources from an app's subscriptions.",
    response_class="Application",
    params=(_APP, query("eventSource", required=True, multiple=True)),
    errors=errors(
        (400, "eventSource is missing or its scheme is unknown"),
        (404, "No application has this name"),
        (409, "The app is not subscribed to that source"),
        (422, "A listed event source does not exist"),
    ),
)
def unsubscribe(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.subscribe(args["applicationName"], args.get("eventSource", []), False))
