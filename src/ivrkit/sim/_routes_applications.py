"""``/applications`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim._dispatch import SimResponse, ok
from ivrkit.sim._routetable import errors, operation, path, query

if TYPE_CHECKING:
    from ivrkit.sim._model import SimModel

_APP = path("applicationName", "Application's name")


@operation(
    "applications",
    "/applications",
    "GET",
    "list",
    summary="List all applications.",
    response_class="List[Application]",
)
def list_applications(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_applications())


@operation(
    "applications",
    "/applications/{applicationName}",
    "GET",
    "get",
    summary="Details of an application.",
    response_class="Application",
    params=(_APP,),
    errors=errors((404, "Application does not exist.")),
)
def get_application(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_application(args["applicationName"]))


@operation(
    "applications",
    "/applications/{applicationName}/subscription",
    "POST",
    "subscribe",
    summary="Subscribe an application to an event source.",
    response_class="Application",
    params=(_APP, query("eventSource", required=True, multiple=True)),
    errors=errors(
        (400, "Missing parameter."),
        (404, "Application does not exist."),
        (422, "Event source does not exist."),
    ),
)
def subscribe(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.subscribe(args["applicationName"], args.get("eventSource", []), True))


@operation(
    "applications",
    "/applications/{applicationName}/subscription",
    "DELETE",
    "unsubscribe",
    summary="Unsubscribe an application from an event source.",
    response_class="Application",
    params=(_APP, query("eventSource", required=True, multiple=True)),
    errors=errors(
        (400, "Missing parameter; event source scheme not recognized."),
        (404, "Application does not exist."),
        (409, "Application not subscribed to event source."),
        (422, "Event source does not exist."),
    ),
)
def unsubscribe(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.subscribe(args["applicationName"], args.get("eventSource", []), False))
