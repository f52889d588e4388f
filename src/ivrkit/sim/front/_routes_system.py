"""``/asterisk`` modules, logging and dynamic configuration; applications' event filter;
bridge variables, music on hold and video source."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import body, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_MODULE = path("moduleName", "A module's file name, e.g. res_ari.so")
_LOG = path("logChannelName", "A log channel: console, syslog... or a file")
_CONFIG = (
    path("configClass", "The sorcery class (res_pjsip)"),
    path("objectType", "The object type (endpoint, aor)"),
    path("id", "The object's id"),
)
_BRIDGE = path("bridgeId", "Id of the bridge")
_NO_BRIDGE = (404, "No bridge has this id")


@operation(
    "asterisk",
    "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
    "GET",
    "getObject",
    summary="A sorcery object's fields (res_pjsip endpoints and aors of the simulation).",
    response_class="List[ConfigTuple]",
    params=_CONFIG,
    errors=errors((404, "No such class, type or object")),
)
def get_object(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_config_object(args["configClass"], args["objectType"], args["id"]))


@operation(
    "asterisk",
    "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
    "PUT",
    "updateObject",
    summary="Refused as for objects kept in pjsip.conf (403).",
    response_class="List[ConfigTuple]",
    params=(*_CONFIG, body("fields")),
    errors=errors(
        (400, "An update without fields"),
        (403, "The objects are not writable"),
        (404, "No such class or type"),
    ),
)
def update_object(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(
        model.update_config_object(
            args["configClass"], args["objectType"], args["id"], args.get("fields")
        )
    )


@operation(
    "asterisk",
    "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
    "DELETE",
    "deleteObject",
    summary="Refused as for objects kept in pjsip.conf (403).",
    response_class="void",
    params=_CONFIG,
    errors=errors((403, "The objects are not writable"), (404, "No such object")),
)
def delete_object(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.delete_config_object(args["configClass"], args["objectType"], args["id"])
    return no_content()


@operation(
    "asterisk",
    "/asterisk/modules",
    "GET",
    "listModules",
    summary="The modules the simulated Asterisk runs.",
    response_class="List[Module]",
)
def list_modules(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_modules())


@operation(
    "asterisk",
    "/asterisk/modules/{moduleName}",
    "GET",
    "getModule",
    summary="One running module.",
    response_class="Module",
    params=(_MODULE,),
    errors=errors((404, "Not running")),
)
def get_module(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_module(args["moduleName"]))


@operation(
    "asterisk",
    "/asterisk/modules/{moduleName}",
    "POST",
    "loadModule",
    summary="Load a module that was unloaded (nothing else changes).",
    response_class="void",
    params=(_MODULE,),
    errors=errors((409, "Already loaded, or not available")),
)
def load_module(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.load_module(args["moduleName"])
    return no_content()


@operation(
    "asterisk",
    "/asterisk/modules/{moduleName}",
    "DELETE",
    "unloadModule",
    summary="Mark a module unloaded (nothing else changes).",
    response_class="void",
    params=(_MODULE,),
    errors=errors((404, "Not running")),
)
def unload_module(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.unload_module(args["moduleName"])
    return no_content()


@operation(
    "asterisk",
    "/asterisk/modules/{moduleName}",
    "PUT",
    "reloadModule",
    summary="Reload a running module (nothing changes).",
    response_class="void",
    params=(_MODULE,),
    errors=errors((404, "Not running")),
)
def reload_module(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.reload_module(args["moduleName"])
    return no_content()


@operation(
    "asterisk",
    "/asterisk/logging",
    "GET",
    "listLogChannels",
    summary="The log channels (a default logger.conf, plus those added here).",
    response_class="List[LogChannel]",
)
def list_log_channels(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_log_channels())


@operation(
    "asterisk",
    "/asterisk/logging/{logChannelName}",
    "POST",
    "addLog",
    summary="Add a log channel with the given levels (nothing is written).",
    response_class="void",
    params=(_LOG, query("configuration", required=True)),
    errors=errors((400, "No levels"), (409, "It exists")),
)
def add_log(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.add_log(args["logChannelName"], args.get("configuration"))
    return no_content()


@operation(
    "asterisk",
    "/asterisk/logging/{logChannelName}",
    "DELETE",
    "deleteLog",
    summary="Remove a log channel added over ARI.",
    response_class="void",
    params=(_LOG,),
    errors=errors((404, "No such channel added over ARI")),
)
def delete_log(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.delete_log(args["logChannelName"])
    return no_content()


@operation(
    "asterisk",
    "/asterisk/logging/{logChannelName}/rotate",
    "PUT",
    "rotateLog",
    summary="Rotate a file log channel (nothing is written).",
    response_class="void",
    params=(_LOG,),
    errors=errors((404, "No such file channel")),
)
def rotate_log(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.rotate_log(args["logChannelName"])
    return no_content()


@operation(
    "applications",
    "/applications/{applicationName}/eventFilter",
    "PUT",
    "filter",
    summary="Let only some event types through to the app's websocket, or hold some back.",
    response_class="Application",
    params=(path("applicationName", "The app"), body("filter", "object")),
    errors=errors((400, "Not {allowed: [{type}], disallowed: [...]}"), (404, "No such app")),
)
def event_filter(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.set_event_filter(args["applicationName"], args.get("filter")))


@operation(
    "bridges",
    "/bridges/{bridgeId}/variable",
    "GET",
    "getBridgeVar",
    summary="Read a bridge variable.",
    response_class="Variable",
    params=(_BRIDGE, query("variable", required=True)),
    errors=errors((400, "No variable name"), (404, "No such bridge or variable")),
)
def get_bridge_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok({"value": model.get_bridge_var(args["bridgeId"], args.get("variable"))})


@operation(
    "bridges",
    "/bridges/{bridgeId}/variable",
    "POST",
    "setBridgeVar",
    summary="Write a bridge variable (no value: unset it).",
    response_class="void",
    params=(
        _BRIDGE,
        query("variable", required=True),
        query("value"),
        query("report_events", "boolean", default=False),
    ),
    errors=errors((400, "No variable name"), _NO_BRIDGE),
)
def set_bridge_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_bridge_var(args["bridgeId"], args.get("variable"), args.get("value"))
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/variables",
    "GET",
    "getBridgeVars",
    summary="Read several bridge variables.",
    response_class="Variables",
    params=(_BRIDGE, query("variables", required=True, multiple=True)),
    errors=errors((400, "No variable names"), (404, "No such bridge or variable")),
)
def get_bridge_vars(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    values = model.get_bridge_vars(args["bridgeId"], args.get("variables", []))
    return ok({"variables": values})


@operation(
    "bridges",
    "/bridges/{bridgeId}/variables",
    "POST",
    "setBridgeVars",
    summary="Write several bridge variables from a JSON body.",
    response_class="void",
    params=(_BRIDGE, body("variables", required=True)),
    errors=errors((400, "No or malformed variables"), _NO_BRIDGE),
)
def set_bridge_vars(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_bridge_vars(args["bridgeId"], args.get("variables"))
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/moh",
    "POST",
    "startMoh",
    summary="Music on hold into the bridge (its members hear moh:CLASS).",
    response_class="void",
    params=(_BRIDGE, query("mohClass")),
    errors=errors(_NO_BRIDGE),
)
def start_bridge_moh(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.start_bridge_moh(args["bridgeId"], args.get("mohClass"))
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/moh",
    "DELETE",
    "stopMoh",
    summary="End the bridge's music on hold.",
    response_class="void",
    params=(_BRIDGE,),
    errors=errors(_NO_BRIDGE, (409, "No music is playing")),
)
def stop_bridge_moh(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.stop_bridge_moh(args["bridgeId"])
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/videoSource/{channelId}",
    "POST",
    "setVideoSource",
    summary="One member's video for everyone (video_mode single; no video flows).",
    response_class="void",
    params=(_BRIDGE, path("channelId", "A member of the bridge")),
    errors=errors(
        (404, "No such bridge or channel"),
        (409, "The channel is not in Stasis"),
        (422, "The channel is not in this bridge"),
    ),
)
def set_video_source(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_video_source(args["bridgeId"], args["channelId"])
    return no_content()


@operation(
    "bridges",
    "/bridges/{bridgeId}/videoSource",
    "DELETE",
    "clearVideoSource",
    summary="Back to the talker's video (video_mode talker).",
    response_class="void",
    params=(_BRIDGE,),
    errors=errors(_NO_BRIDGE),
)
def clear_video_source(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.clear_video_source(args["bridgeId"])
    return no_content()
