"""``/events``: the events websocket (served by the HTTP app) and user events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import Operation, body, declare, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

declare(
    Operation(
        resource="events",
        api_path="/events",
        http_method="GET",
        nickname="eventWebsocket",
        summary="Events for one or more apps; also carries REST requests.",
        response_class="Message",
        params=(
            query("app", required=True, multiple=True),
            query("subscribeAll", "boolean"),
        ),
        errors=(),
        handler=None,
        upgrade="websocket",
    )
)


@operation(
    "events",
    "/events/user/{eventName}",
    "POST",
    "userEvent",
    summary="Send a ChannelUserevent to an app.",
    response_class="void",
    params=(
        path("eventName", "Name carried in the eventname field"),
        query("application", required=True),
        query("source", multiple=True),
        body("variables"),
    ),
    errors=errors(
        (404, "No application has this name"),
        (422, "A listed source does not exist"),
        (400, "application missing, or a source URI malformed"),
    ),
)
def user_event(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.user_event(
        args["eventName"], args.get("application"), args.get("source", []), args.get("variables")
    )
    return no_content()


@operation(
    "events",
    "/events/claim",
    "POST",
    "claimChannel",
    summary="Claim a channel offered by StasisBroadcast (the first claim wins).",
    response_class="void",
    params=(query("channelId", required=True), query("application", required=True)),
    errors=errors(
        (404, "No broadcast is offering this channel (never, timed out, or over)"),
        (409, "Another application won this channel first"),
    ),
)
def claim_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.claim_channel(args.get("channelId"), args.get("application"))
    return no_content()
