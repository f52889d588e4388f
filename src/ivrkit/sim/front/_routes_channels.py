"""``/channels`` operations: thin adapters from request arguments to the model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import Param, body, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok
from ivrkit.sim.model._variables import plain_variables

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_CHANNEL = path("channelId", "Id of the channel")
_E404 = (404, "No channel has this id")
_E409 = (409, "The channel is not in Stasis (no app controls it)")
_E412 = (412, "The channel's state does not allow it")

_ORIGINATE_PARAMS: tuple[Param, ...] = (
    query("endpoint", required=True),
    query("extension"),
    query("context"),
    query("priority", "long"),
    query("label"),
    query("app"),
    query("appArgs"),
    query("callerId"),
    query("timeout", "int", default=30),
    body("variables"),
)

HANGUP_REASONS = (
    "normal",
    "busy",
    "congestion",
    "no_answer",
    "timeout",
    "rejected",
    "unallocated",
    "normal_unspecified",
    "number_incomplete",
    "codec_mismatch",
    "interworking",
    "failure",
    "answered_elsewhere",
)


def _originate_response(
    model: SimModel, args: Mapping[str, Any], channel_id: str | None
) -> SimResponse:
    return ok(
        model.originate(
            endpoint=args.get("endpoint"),
            extension=args.get("extension"),
            context=args.get("context"),
            priority=args.get("priority"),
            label=args.get("label"),
            app=args.get("app"),
            app_args=args.get("appArgs"),
            caller_id=args.get("callerId"),
            timeout=args.get("timeout", 30),
            # json_to_ast_variables runs first in ast_ari_channels_originate(_with_id)
            variables=plain_variables(args.get("variables")),
            channel_id=channel_id,
            other_channel_id=args.get("otherChannelId"),
        )
    )


@operation(
    "channels",
    "/channels",
    "GET",
    "list",
    summary="Every live channel.",
    response_class="List[Channel]",
)
def list_channels(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_channels())


@operation(
    "channels",
    "/channels",
    "POST",
    "originate",
    summary="Originate a Local channel into an app or the dialplan.",
    response_class="Channel",
    params=(*_ORIGINATE_PARAMS, query("channelId"), query("otherChannelId")),
    errors=errors(
        (400, "Endpoint, app or extension missing or malformed"),
        (409, "A channel with that id already exists"),
    ),
)
def originate(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return _originate_response(model, args, args.get("channelId"))


@operation(
    "channels",
    "/channels/{channelId}",
    "GET",
    "get",
    summary="One channel's snapshot.",
    response_class="Channel",
    params=(_CHANNEL,),
    errors=errors(_E404),
)
def get_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_channel(args["channelId"]))


@operation(
    "channels",
    "/channels/{channelId}",
    "POST",
    "originateWithId",
    summary="Originate, with the channel id chosen by the client.",
    response_class="Channel",
    params=(_CHANNEL, *_ORIGINATE_PARAMS, query("otherChannelId")),
    errors=errors(
        (400, "Endpoint, app or extension missing or malformed"),
        (409, "A channel with that id already exists"),
    ),
)
def originate_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return _originate_response(model, args, args["channelId"])


@operation(
    "channels",
    "/channels/{channelId}",
    "DELETE",
    "hangup",
    summary="End the channel, with an optional cause.",
    response_class="void",
    params=(_CHANNEL, query("reason_code"), query("reason", values=HANGUP_REASONS)),
    errors=errors((400, "reason is not one of the allowed values"), _E404),
)
def hangup(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.hangup_channel(
        args["channelId"], reason_code=args.get("reason_code"), reason=args.get("reason")
    )
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/continue",
    "POST",
    "continueInDialplan",
    summary="Return the channel from Stasis to its dialplan.",
    response_class="void",
    params=(
        _CHANNEL,
        query("context"),
        query("extension"),
        query("priority", "int"),
        query("label"),
    ),
    errors=errors(_E404, _E409, _E412),
)
def continue_in_dialplan(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.continue_in_dialplan(
        args["channelId"],
        context=args.get("context"),
        extension=args.get("extension"),
        priority=args.get("priority"),
        label=args.get("label"),
    )
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/move",
    "POST",
    "move",
    summary="Hand a channel in Stasis over to another application (StasisEnd, StasisStart).",
    response_class="void",
    params=(_CHANNEL, query("app", required=True), query("appArgs")),
    # 404 and 409 as for continue; Asterisk's own description lists them with string
    # codes ("404"), which a description of integer codes cannot repeat
    errors=(),
)
def move_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.move_channel(args["channelId"], args.get("app"), args.get("appArgs"))
    return no_content()


def _simple(nickname: str, api_path: str, method: str, summary: str, action: str) -> None:
    def handler(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
        model.channel_action(args["channelId"], action)
        return no_content()

    operation(
        "channels",
        api_path,
        method,
        nickname,
        summary=summary,
        response_class="void",
        params=(_CHANNEL,),
        errors=errors(_E404, _E409, _E412),
    )(handler)


_simple("answer", "/channels/{channelId}/answer", "POST", "Move the channel to Up.", "answer")
_simple(
    "ring",
    "/channels/{channelId}/ring",
    "POST",
    "Start ringing (the caller side of a Local pair rings).",
    "ring",
)
_simple(
    "ringStop",
    "/channels/{channelId}/ring",
    "DELETE",
    "End ringing (accepted, no other effect here).",
    "ring_stop",
)
_simple(
    "hold",
    "/channels/{channelId}/hold",
    "POST",
    "Put on hold (accepted, no other effect here).",
    "hold",
)
_simple(
    "unhold",
    "/channels/{channelId}/hold",
    "DELETE",
    "Take off hold (accepted, no other effect here).",
    "unhold",
)


@operation(
    "channels",
    "/channels/{channelId}/dtmf",
    "POST",
    "sendDTMF",
    summary="Digits for the far side (the other half of a Local pair).",
    response_class="void",
    params=(
        _CHANNEL,
        query("dtmf"),
        query("before", "int", default=0),
        query("between", "int", default=100),
        query("duration", "int", default=100),
        query("after", "int", default=0),
    ),
    errors=errors((400, "No dtmf digits given"), _E404, _E409, _E412),
)
def send_dtmf(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.send_dtmf(
        args["channelId"],
        args.get("dtmf"),
        before=args["before"],
        between=args["between"],
        duration=args["duration"],
        after=args["after"],
    )
    return no_content()


def _mute(nickname: str, method: str, summary: str, on: bool) -> None:
    def handler(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
        model.mute(args["channelId"], args.get("direction", "both"), on)
        return no_content()

    operation(
        "channels",
        "/channels/{channelId}/mute",
        method,
        nickname,
        summary=summary,
        response_class="void",
        params=(_CHANNEL, query("direction", values=("both", "in", "out"), default="both")),
        errors=errors(_E404, _E409, _E412),
    )(handler)


_mute("mute", "POST", "Mute (accepted, no other effect here).", True)
_mute("unmute", "DELETE", "Unmute (accepted, no other effect here).", False)

_PLAY_PARAMS: tuple[Param, ...] = (
    query("media", required=True, multiple=True),
    query("lang"),
    query("offsetms", "int"),
    query("skipms", "int", default=3000),
)


@operation(
    "channels",
    "/channels/{channelId}/play",
    "POST",
    "play",
    summary="Queue media on the channel as one Playback.",
    response_class="Playback",
    params=(_CHANNEL, *_PLAY_PARAMS, query("playbackId")),
    errors=errors(_E404, _E409, _E412),
)
def play(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.play_on_channel(
        args["channelId"], args.get("media", []), args.get("lang"), args.get("playbackId")
    )


@operation(
    "channels",
    "/channels/{channelId}/play/{playbackId}",
    "POST",
    "playWithId",
    summary="Queue media on the channel, with the playback id chosen by the client.",
    response_class="Playback",
    params=(_CHANNEL, path("playbackId", "Id for the new playback"), *_PLAY_PARAMS),
    errors=errors(_E404, _E409, _E412),
)
def play_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.play_on_channel(
        args["channelId"], args.get("media", []), args.get("lang"), args["playbackId"]
    )


@operation(
    "channels",
    "/channels/{channelId}/variable",
    "GET",
    "getChannelVar",
    summary="Read a channel variable or dialplan function.",
    response_class="Variable",
    params=(_CHANNEL, query("variable", required=True)),
    errors=errors(
        (400, "The variable parameter is missing"),
        (404, "No such channel, or the variable is not set"),
    ),
)
def get_channel_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok({"value": model.get_channel_var(args["channelId"], args.get("variable"))})


@operation(
    "channels",
    "/channels/{channelId}/variable",
    "POST",
    "setChannelVar",
    summary="Write a channel variable or dialplan function (no value: unset it).",
    response_class="void",
    params=(
        _CHANNEL,
        query("variable", required=True),
        query("value"),
        query("report_events", "boolean", default=False),
    ),
    errors=errors((400, "The variable parameter is missing"), _E404, _E409),
)
def set_channel_var(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_channel_var(
        args["channelId"], args.get("variable"), args.get("value"), args["report_events"]
    )
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/variables",
    "GET",
    "getChannelVars",
    summary="Read several channel variables or functions at once.",
    response_class="Variables",
    params=(_CHANNEL, query("variables", required=True, multiple=True)),
    errors=errors(
        (400, "The variables parameter is missing"),
        (404, "No such channel, or a variable is not set"),
    ),
)
def get_channel_vars(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    values = model.get_channel_vars(args["channelId"], args.get("variables", []))
    return ok({"variables": values})


@operation(
    "channels",
    "/channels/{channelId}/variables",
    "POST",
    "setChannelVars",
    summary="Write several channel variables or functions from a JSON body.",
    response_class="void",
    params=(_CHANNEL, body("variables", required=True)),
    errors=errors((400, "The variables body is missing or malformed"), _E404, _E409),
)
def set_channel_vars(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.set_channel_vars(args["channelId"], args.get("variables"))
    return no_content()
