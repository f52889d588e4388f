"""``/bridges`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import Param, body, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_BRIDGE = path("bridgeId", "Id of the bridge")
_E404 = (404, "No bridge has this id")
_CREATE_PARAMS: tuple[Param, ...] = (query("type"), query("name"), body("variables"))


@operation(
    "bridges",
    "/bridges",
    "GET",
    "list",
    summary="Every live bridge.",
    response_class="List[Bridge]",
)
def list_bridges(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_bridges())


@operation(
    "bridges",
    "/bridges",
    "POST",
    "create",
    summary="Make a bridge (the simulator picks the id).",
    response_class="Bridge",
    params=(query("type"), query("bridgeId"), query("name"), body("variables")),
    errors=errors((409, "A bridge with that id already exists")),
)
def create_bridge(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.create_bridge(args.get("bridgeId"), args.get("type"), args.get("name")))


@operation(
    "bridges",
    "/bridges/{bridgeId}",
    "POST",
    "createWithId",
    summary="Make a bridge under an id chosen by the client.",
    response_class="Bridge",
    params=(query("type"), _BRIDGE, query("name"), body("variables")),
    errors=errors((409, "A bridge with that id already exists")),
)
def create_bridge_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.create_bridge(args["bridgeId"], args.get("type"), args.get("name")))


@operation(
    "bridges",
    "/bridges/{bridgeId}",
    "GET",
    "get",
    summary="One bridge's snapshot.",
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
    summary="Destroy the bridge; its members leave it.",
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
    summary="Put channels into the bridge.",
    response_class="void",
    params=(
        _BRIDGE,
        query("channel", required=True, multiple=True),
        query("role"),
        query("absorbDTMF", "boolean", default=False),
        query("mute", "boolean", default=False),
    ),
    errors=errors(
        (400, "channel missing, or a listed channel does not exist"),
        _E404,
        (409, "Bridge or channel busy elsewhere (never returned here)"),
        (422, "A listed channel is not in Stasis"),
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
    summary="Take channels out of the bridge.",
    response_class="void",
    params=(_BRIDGE, query("channel", required=True, multiple=True)),
    errors=errors(
        (400, "channel missing, or a listed channel does not exist"),
        _E404,
        (409, "No app controls the bridge (never returned here)"),
        (422, "A listed channel is not a member of the bridge"),
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
    summary="Queue media on the bridge as one Playback.",
    response_class="Playback",
    params=(_BRIDGE, *_PLAY_PARAMS, query("playbackId")),
    errors=errors(_E404, (409, "No app controls the bridge (never returned here)")),
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
    summary="Queue media on the bridge, with the playback id chosen by the client.",
    response_class="Playback",
    params=(_BRIDGE, path("playbackId", "Id for the new playback"), *_PLAY_PARAMS),
    errors=errors(_E404, (409, "No app controls the bridge (never returned here)")),
)
def play_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.play_on_bridge(
        args["bridgeId"], args.get("media", []), args.get("lang"), args["playbackId"]
    )
