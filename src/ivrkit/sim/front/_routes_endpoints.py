"""``/endpoints``, ``/deviceStates`` and ``/mailboxes`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import Param, body, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

# Asterisk declares these two path parameters as not required
_TECH = Param("tech", "path", "string", description="Technology of the endpoints (PJSIP)")
_RESOURCE = Param("resource", "path", "string", description="The endpoint's name")
_E404 = (404, "No such endpoint")
_DEVICE = path("deviceName", "Stasis:NAME, or a device such as PJSIP/bob")
_MAILBOX = path("mailboxName", "The mailbox, e.g. 100@default")


@operation(
    "endpoints",
    "/endpoints",
    "GET",
    "list",
    summary="Every endpoint: configured ones and those the simulated callers use.",
    response_class="List[Endpoint]",
)
def list_endpoints(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_endpoints())


@operation(
    "endpoints",
    "/endpoints/sendMessage",
    "PUT",
    "sendMessage",
    summary="Send an out-of-call message (kept by the simulated endpoint).",
    response_class="void",
    params=(
        query("to", required=True),
        query("from", required=True),
        query("body"),
        body("variables"),
    ),
    errors=errors((400, "No destination"), (404, "No message technology for it")),
)
def send_message(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.send_message(
        args.get("to"), args.get("from"), args.get("body"), args.get("variables")
    )


@operation(
    "endpoints",
    "/endpoints/refer",
    "POST",
    "refer",
    summary="Send an out-of-dialog REFER.",
    response_class="void",
    params=(
        query("to", required=True),
        query("from", required=True),
        query("refer_to", required=True),
        query("to_self", "boolean", default=False),
        body("variables"),
    ),
    errors=errors((400, "No destination"), (404, "No REFER technology for it")),
)
def refer(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.refer(
        args.get("to"), args.get("from"), args.get("refer_to"), args.get("variables")
    )


@operation(
    "endpoints",
    "/endpoints/{tech}",
    "GET",
    "listByTech",
    summary="The endpoints of one technology.",
    response_class="List[Endpoint]",
    params=(_TECH,),
    errors=errors((404, "Unknown technology")),
)
def list_by_tech(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_endpoints_by_tech(args["tech"]))


@operation(
    "endpoints",
    "/endpoints/{tech}/{resource}",
    "GET",
    "get",
    summary="One endpoint, with its state and channels.",
    response_class="Endpoint",
    params=(_TECH, _RESOURCE),
    errors=errors(_E404),
)
def get_endpoint(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_endpoint(args["tech"], args["resource"]))


@operation(
    "endpoints",
    "/endpoints/{tech}/{resource}/sendMessage",
    "PUT",
    "sendMessageToEndpoint",
    summary="Send an out-of-call message to one endpoint.",
    response_class="void",
    params=(_TECH, _RESOURCE, query("from", required=True), query("body"), body("variables")),
    errors=errors(_E404),
)
def send_message_to_endpoint(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.send_message_to_endpoint(
        args["tech"], args["resource"], args.get("from"), args.get("body"), args.get("variables")
    )


@operation(
    "endpoints",
    "/endpoints/{tech}/{resource}/refer",
    "POST",
    "referToEndpoint",
    summary="Send an out-of-dialog REFER to one endpoint.",
    response_class="void",
    params=(
        _TECH,
        _RESOURCE,
        query("from", required=True),
        query("refer_to", required=True),
        query("to_self", "boolean", default=False),
        body("variables"),
    ),
    errors=errors(_E404),
)
def refer_to_endpoint(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.refer_to_endpoint(
        args["tech"],
        args["resource"],
        args.get("from"),
        args.get("refer_to"),
        args.get("variables"),
    )


@operation(
    "deviceStates",
    "/deviceStates",
    "GET",
    "list",
    summary="The device states ARI controls (Stasis:NAME).",
    response_class="List[DeviceState]",
)
def list_device_states(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_device_states())


@operation(
    "deviceStates",
    "/deviceStates/{deviceName}",
    "GET",
    "get",
    summary="Any device's state (PJSIP/bob is derived from its channels).",
    response_class="DeviceState",
    params=(_DEVICE,),
)
def get_device_state(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_device_state(args["deviceName"]))


_STATES = ("NOT_INUSE", "INUSE", "BUSY", "INVALID", "UNAVAILABLE", "RINGING", "RINGINUSE", "ONHOLD")


@operation(
    "deviceStates",
    "/deviceStates/{deviceName}",
    "PUT",
    "update",
    summary="Set a Stasis:NAME device state (sends DeviceStateChanged).",
    response_class="void",
    params=(_DEVICE, query("deviceState", required=True, values=_STATES)),
    errors=errors((404, "No name after Stasis:"), (409, "Not a Stasis: device")),
)
def update_device_state(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.update_device_state(args["deviceName"], args.get("deviceState"))
    return no_content()


@operation(
    "deviceStates",
    "/deviceStates/{deviceName}",
    "DELETE",
    "delete",
    summary="Forget a Stasis:NAME device state.",
    response_class="void",
    params=(_DEVICE,),
    errors=errors((404, "No name after Stasis:"), (409, "Not a Stasis: device")),
)
def delete_device_state(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.delete_device_state(args["deviceName"])
    return no_content()


@operation(
    "mailboxes",
    "/mailboxes",
    "GET",
    "list",
    summary="Every mailbox (message waiting counts).",
    response_class="List[Mailbox]",
)
def list_mailboxes(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_mailboxes())


@operation(
    "mailboxes",
    "/mailboxes/{mailboxName}",
    "GET",
    "get",
    summary="One mailbox.",
    response_class="Mailbox",
    params=(_MAILBOX,),
    errors=errors((404, "No such mailbox")),
)
def get_mailbox(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_mailbox(args["mailboxName"]))


@operation(
    "mailboxes",
    "/mailboxes/{mailboxName}",
    "PUT",
    "update",
    summary="Create or change a mailbox's counts.",
    response_class="void",
    params=(
        _MAILBOX,
        query("oldMessages", "int", required=True),
        query("newMessages", "int", required=True),
    ),
    errors=errors((404, "No such mailbox")),
)
def update_mailbox(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.update_mailbox(
        args["mailboxName"], args.get("oldMessages", 0), args.get("newMessages", 0)
    )
    return no_content()


@operation(
    "mailboxes",
    "/mailboxes/{mailboxName}",
    "DELETE",
    "delete",
    summary="Delete a mailbox.",
    response_class="void",
    params=(_MAILBOX,),
    errors=errors((404, "No such mailbox")),
)
def delete_mailbox(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.delete_mailbox(args["mailboxName"])
    return no_content()
