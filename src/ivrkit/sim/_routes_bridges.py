"""``/bridges`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim._dispatch import SimResponse, no_content, ok
from ivrkit.sim._routetable import Param, body, errors, operation, path, query

if TYPE_CHECKING:
    from ivrkit.sim._model import SimModel

_BRIDGE = path("bridgeId", "Bridge's id")
_E404 = (404, "Bridge not found")
_CREATE_PARAMS: tuple[Param, ...] = (query("type"), query("name"), body("variables"))


@operation(
    "bridges",
    "/bridges",
    "GET",
    "list",
    summary="List all active bridges.",
    response_class="List[Bridge]",
)
def list_bridges(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_bridges())


@operation(
    "bridges",
    "/bridges",
    "POST",
    "create",
    summary="Create a new bridge.",
    response_class="Bridge",
    params=(query("type"), query("bridgeId"), query("name"), body("variables")),
    errors=errors((409, "Bridge with the same bridgeId already exists")),
)
def create_bridge(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.create_bridge(args.get("bridgeId"), args.get("type"), args.get("name")))


@operation(
    "bridges",
    "/bridges/{bridgeId}",
    "POST",
    "createWithId",
    summary="Create a new bridge with a client-chosen id.",
    response_class="Bridge",
    params=(query("type"), _BRIDGE, query("name"), body("variables")),
    errors=errors((409, "Bridge with the same bridgeId already exists")),
)
def create_bridge_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.create_bridge(args["bridgeId"], args.get("type"), args.get("name")))


@operation(
    "bridges",
    "/bridges/{bridgeId}",
    "GET",
    "get",
    summary="Bridge details.",
    response_class="Bridge",
    params=(_BRIDGE,),
    errors=errors(_E404),
)
def get_bridge(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_bridge(args["bridgeId"]))


@operation(
    "bridges",
    "/bridges/{bridgeId}",
    "DELETE",
    "destroy",
    summary="Shut down a bridge.",
    response_class="void",
    params=(_BRIDGE,),
    errors=errors(_E404),
)
def destroy_bridge(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.destroy_bridge(args["bridgeId"])
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/addChannel",
    "POST",
    "addChannel",
    summary="Add channels to a bridge.",
    response_class="void",
    params=(
        _BRIDGE,
        query("channel", required=True, multiple=True),
        query("role"),
        query("absorbDTMF", "boolean", default=False),
        query("mute", "boolean", default=False),
    ),
    errors=errors(
        (400, "Channel not found"),
        _E404,
        (409, "Bridge not in Stasis application; Channel currently recording"),
        (422, "Channel not in Stasis application"),
    ),
)
def add_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.add_to_bridge(args["bridgeId"], args.get("channel"))
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/removeChannel",
    "POST",
    "removeChannel",
    summary="Remove channels from a bridge.",
    response_class="void",
    params=(_BRIDGE, query("channel", required=True, multiple=True)),
    errors=errors(
        (400, "Channel not found"),
        _E404,
        (409, "Bridge not in Stasis application"),
        (422, "Channel not in this bridge"),
    ),
)
def remove_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.remove_from_bridge(args["bridgeId"], args.get("channel"))
    return no_content()


_PLAY_PARAMS: tuple[Param, ...] = (
    query("media", required=True, multiple=True),
    query("lang"),
    query("offsetms", "int", default=0),
    query("skipms", "int", default=3000),
)


@operation(
    "bridges",
    "/bridges/{bridgeId}/play",
    "POST",
    "play",
    summary="Start playback of media on a bridge.",
    response_class="Playback",
    params=(_BRIDGE, *_PLAY_PARAMS, query("playbackId")),
    errors=errors(_E404, (409, "Bridge not in a Stasis application")),
)
def play(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.play_on_bridge(
        args["bridgeId"], args.get("media", []), args.get("lang"), args.get("playbackId")
    )


@operation(
    "bridges",
    "/bridges/{bridgeId}/play/{playbackId}",
    "POST",
    "playWithId",
    summary="Start playback of media on a bridge with a client-chosen playback id.",
    response_class="Playback",
    params=(_BRIDGE, path("playbackId", "Playback ID."), *_PLAY_PARAMS),
    errors=errors(_E404, (409, "Bridge not in a Stasis application")),
)
def play_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.play_on_bridge(
        args["bridgeId"], args.get("media", []), args.get("lang"), args["playbackId"]
    )
