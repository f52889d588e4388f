"""``/sounds`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import operation, path, query
from ivrkit.sim.model._replies import SimResponse, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel


@operation(
    "sounds",
    "/sounds",
    "GET",
    "list",
    summary="Sounds the simulator knows, by language and format.",
    response_class="List[Sound]",
    params=(query("lang"), query("format")),
)
def list_sounds(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_sounds(args.get("lang"), args.get("format")))


@operation(
    "sounds",
    "/sounds/{soundId}",
    "GET",
    "get",
    summary="One sound with its languages and formats.",
    response_class="Sound",
    params=(path("soundId", "Sound name, as in sound:NAME"),),
)
def get_sound(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_sound(args["soundId"]))
