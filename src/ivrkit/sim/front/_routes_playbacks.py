"""``/playbacks`` operations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_PLAYBACK = path("playbackId", "Id of the playback")
_E404 = (404, "No playback has this id")

CONTROL_OPERATIONS = ("restart", "pause", "unpause", "reverse", "forward")


@operation(
    "playbacks",
    "/playbacks/{playbackId}",
    "GET",
    "get",
    summary="One playback's state.",
    response_class="Playback",
    params=(_PLAYBACK,),
    errors=errors(_E404),
)
def get_playback(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_playback(args["playbackId"]))


@operation(
    "playbacks",
    "/playbacks/{playbackId}",
    "DELETE",
    "stop",
    summary="Stop a playback (queued or playing).",
    response_class="void",
    params=(_PLAYBACK,),
    errors=errors(_E404),
)
def stop_playback(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.stop_playback(args["playbackId"])
    return no_content()


@operation(
    "playbacks",
    "/playbacks/{playbackId}/control",
    "POST",
    "control",
    summary="Pause, unpause, restart, rewind or skip ahead in a playback.",
    response_class="void",
    params=(_PLAYBACK, query("operation", required=True, values=CONTROL_OPERATIONS)),
    errors=errors(
        (400, "operation is not one of the allowed values"),
        _E404,
        (409, "Not possible in the state the playback is in"),
    ),
)
def control_playback(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.control_playback(args["playbackId"], args.get("operation"))
    return no_content()
