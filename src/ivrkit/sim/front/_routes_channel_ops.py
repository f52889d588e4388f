"""More ``/channels`` operations: create and dial, external media, progress, music on
hold, silence, redirect, snoop, RTP statistics and transfer progress."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import body, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok
from ivrkit.sim.model._variables import plain_variables

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_CHANNEL = path("channelId", "Id of the channel")
_E404 = (404, "No channel has this id")
_E409 = (409, "The channel is not in Stasis (no app controls it)")
_E412 = (412, "The channel is still being set up (Down, Rsrvd, Ringing)")
_DIRECTIONS = ("none", "both", "out", "in")


@operation(
    "channels",
    "/channels/create",
    "POST",
    "create",
    summary="Make a channel in Stasis (state Down) to dial later with /dial.",
    response_class="Channel",
    params=(
        query("endpoint", required=True),
        query("app", required=True),
        query("appArgs"),
        query("channelId"),
        query("otherChannelId"),
        query("originator"),
        query("formats"),
        body("variables"),
    ),
    errors=errors((409, "A channel with that id already exists")),
)
def create(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(
        model.create_channel(
            endpoint=args.get("endpoint"),
            app=args.get("app"),
            app_args=args.get("appArgs"),
            channel_id=args.get("channelId"),
            other_channel_id=args.get("otherChannelId"),
            originator=args.get("originator"),
            formats=args.get("formats"),
            variables=plain_variables(args.get("variables")),
        )
    )


@operation(
    "channels",
    "/channels/{channelId}/dial",
    "POST",
    "dial",
    summary="Call the endpoint a created channel was made for.",
    response_class="void",
    params=(_CHANNEL, query("caller"), query("timeout", "int", default=0)),
    errors=errors((404, "No channel has this id"), (409, "Not Down, or not made by create")),
)
def dial(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.dial_channel(args["channelId"], args.get("caller"), args["timeout"])
    return no_content()


@operation(
    "channels",
    "/channels/externalMedia",
    "POST",
    "externalMedia",
    summary="A media channel (UnicastRTP, AudioSocket, WebSocket) in Stasis; no media flows.",
    response_class="Channel",
    params=(
        query("channelId"),
        query("app", required=True),
        body("variables"),
        query("external_host"),
        query("encapsulation", values=("rtp", "audiosocket", "none"), default="rtp"),
        query("transport", values=("udp", "tcp", "websocket"), default="udp"),
        query("connection_type", values=("client", "server"), default="client"),
        query("format", required=True),
        query("direction", values=("both",), default="both"),
        query("data"),
        query("transport_data"),
    ),
    errors=errors((400, "Parameters that do not fit together")),
)
def external_media(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(
        model.external_media(
            app=args.get("app"),
            channel_id=args.get("channelId"),
            external_host=args.get("external_host"),
            encapsulation=args.get("encapsulation"),
            transport=args.get("transport"),
            connection_type=args.get("connection_type"),
            fmt=args.get("format"),
            direction=args.get("direction"),
            data=args.get("data"),
            transport_data=args.get("transport_data"),
            variables=plain_variables(args.get("variables")),
        )
    )


@operation(
    "channels",
    "/channels/{channelId}/progress",
    "POST",
    "progress",
    summary="Early media (183): a Local ;1 reports Dial PROGRESS.",
    response_class="void",
    params=(_CHANNEL,),
    errors=errors(_E404, _E409, _E412),
)
def progress(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.channel_action(args["channelId"], "progress")
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/moh",
    "POST",
    "startMoh",
    summary="Music on hold (the phone hears moh:CLASS).",
    response_class="void",
    params=(_CHANNEL, query("mohClass")),
    errors=errors(_E404, _E409, _E412),
)
def start_moh(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.start_moh(args["channelId"], args.get("mohClass"))
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/moh",
    "DELETE",
    "stopMoh",
    summary="End the music on hold.",
    response_class="void",
    params=(_CHANNEL,),
    errors=errors(_E404, _E409, _E412),
)
def stop_moh(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.stop_moh(args["channelId"])
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/silence",
    "POST",
    "startSilence",
    summary="Send silence (state only: no audio is simulated).",
    response_class="void",
    params=(_CHANNEL,),
    errors=errors(_E404, _E409, _E412),
)
def start_silence(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.start_silence(args["channelId"])
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/silence",
    "DELETE",
    "stopSilence",
    summary="Stop sending silence.",
    response_class="void",
    params=(_CHANNEL,),
    errors=errors(_E404, _E409, _E412),
)
def stop_silence(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.stop_silence(args["channelId"])
    return no_content()


@operation(
    "channels",
    "/channels/{channelId}/redirect",
    "POST",
    "redirect",
    summary="Transfer the phone elsewhere (REFER or 302); the call then ends here.",
    response_class="void",
    params=(_CHANNEL, query("endpoint", required=True)),
    errors=errors(
        (400, "No endpoint"),
        _E404,
        _E409,
        (422, "The endpoint's technology is not the channel's"),
        _E412,
    ),
)
def redirect(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.redirect(args["channelId"], args.get("endpoint"))
    return no_content()


def _snoop(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(
        model.snoop(
            args["channelId"],
            spy=args.get("spy"),
            whisper=args.get("whisper"),
            app=args.get("app"),
            app_args=args.get("appArgs"),
            snoop_id=args.get("snoopId"),
        )
    )


_SNOOP_PARAMS = (
    query("spy", values=_DIRECTIONS, default="none"),
    query("whisper", values=_DIRECTIONS, default="none"),
    query("app", required=True),
    query("appArgs"),
)


@operation(
    "channels",
    "/channels/{channelId}/snoop",
    "POST",
    "snoopChannel",
    summary="A Snoop channel in Stasis that listens to (or whispers into) this one.",
    response_class="Channel",
    params=(_CHANNEL, *_SNOOP_PARAMS, query("snoopId")),
    errors=errors((400, "No direction or no app"), _E404),
)
def snoop(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return _snoop(model, args)


@operation(
    "channels",
    "/channels/{channelId}/snoop/{snoopId}",
    "POST",
    "snoopChannelWithId",
    summary="A Snoop channel with the id chosen by the client.",
    response_class="Channel",
    params=(_CHANNEL, path("snoopId", "Id for the snoop channel"), *_SNOOP_PARAMS),
    errors=errors((400, "No direction or no app"), _E404),
)
def snoop_with_id(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return _snoop(model, args)


@operation(
    "channels",
    "/channels/{channelId}/rtp_statistics",
    "GET",
    "rtpstatistics",
    summary="Packet counts of the channel's RTP (20 ms packets since it was answered).",
    response_class="RTPstat",
    params=(_CHANNEL,),
    errors=errors(_E404),
)
def rtp_statistics(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.rtp_statistics(args["channelId"]))


@operation(
    "channels",
    "/channels/{channelId}/transfer_progress",
    "POST",
    "transfer_progress",
    summary="Tell the phone how the transfer it asked for is going.",
    response_class="void",
    params=(_CHANNEL, query("states", required=True)),
    errors=errors((400, "No or unknown states"), _E404, _E409),
)
def transfer_progress(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.transfer_progress(args["channelId"], args.get("states"))
    return no_content()
