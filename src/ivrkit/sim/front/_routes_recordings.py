"""``/recordings`` operations (live and stored) and the two ``record`` operations of
channels and bridges, which share their parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ivrkit.sim.front._routetable import Param, errors, operation, path, query
from ivrkit.sim.model._replies import SimResponse, no_content, ok

if TYPE_CHECKING:
    from ivrkit.sim.model._model import SimModel

_NAME = path("recordingName", "Name of the recording")
_E404 = (404, "No recording has this name")
_E409 = (409, "The recording is not in session")

_RECORD_PARAMS: tuple[Param, ...] = (
    query("name", required=True),
    query("format", required=True),
    query("maxDurationSeconds", "int", default=0),
    query("maxSilenceSeconds", "int", default=0),
    query("ifExists", values=("fail", "overwrite", "append"), default="fail"),
    query("beep", "boolean", default=False),
    query("terminateOn", values=("none", "any", "*", "#"), default="none"),
)


def _record_kwargs(args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": args.get("name"),
        "fmt": args.get("format"),
        "max_duration": args["maxDurationSeconds"],
        "max_silence": args["maxSilenceSeconds"],
        "if_exists": args.get("ifExists"),
        "beep": args["beep"],
        "terminate_on": args.get("terminateOn"),
    }


@operation(
    "channels",
    "/channels/{channelId}/record",
    "POST",
    "record",
    summary="Record the channel's audio into a stored recording (silence: no audio content).",
    response_class="LiveRecording",
    params=(path("channelId", "Id of the channel"), *_RECORD_PARAMS),
    errors=errors(
        (400, "A limit is negative, or terminateOn/ifExists/name is not allowed"),
        (404, "No channel has this id"),
        (409, "Not in Stasis, or a recording of that name exists"),
        (422, "The format is unknown"),
    ),
)
def record_channel(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.record_channel(args["channelId"], **_record_kwargs(args))


@operation(
    "bridges",
    "/bridges/{bridgeId}/record",
    "POST",
    "record",
    summary="Record the bridge's mix through a Recorder channel.",
    response_class="LiveRecording",
    params=(
        path("bridgeId", "Id of the bridge"),
        query("name", required=True),
        query("format", required=True),
        query("recorder_format"),
        *_RECORD_PARAMS[2:],
    ),
    errors=errors(
        (400, "terminateOn/ifExists/name is not allowed"),
        (404, "No bridge has this id"),
        (409, "A recording of that name exists"),
        (422, "The format is unknown"),
    ),
)
def record_bridge(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.record_bridge(args["bridgeId"], **_record_kwargs(args))


@operation(
    "recordings",
    "/recordings/stored",
    "GET",
    "listStored",
    summary="Every recording file, by name.",
    response_class="List[StoredRecording]",
)
def list_stored(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.list_stored_recordings())


@operation(
    "recordings",
    "/recordings/stored/{recordingName}",
    "GET",
    "getStored",
    summary="One recording file.",
    response_class="StoredRecording",
    params=(_NAME,),
    errors=errors(_E404),
)
def get_stored(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_stored_recording(args["recordingName"]))


@operation(
    "recordings",
    "/recordings/stored/{recordingName}",
    "DELETE",
    "deleteStored",
    summary="Delete a recording file.",
    response_class="void",
    params=(_NAME,),
    errors=errors(_E404),
)
def delete_stored(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    model.delete_stored_recording(args["recordingName"])
    return no_content()


@operation(
    "recordings",
    "/recordings/stored/{recordingName}/file",
    "GET",
    "getStoredFile",
    summary="The recording file itself (silence of the recorded length).",
    response_class="binary",
    params=(_NAME,),
    errors=errors(_E404),
)
def get_stored_file(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return model.stored_recording_file(args["recordingName"])


@operation(
    "recordings",
    "/recordings/stored/{recordingName}/copy",
    "POST",
    "copyStored",
    summary="Copy a recording file under another name.",
    response_class="StoredRecording",
    params=(_NAME, query("destinationRecordingName", required=True)),
    errors=errors(_E404, (409, "The destination exists")),
)
def copy_stored(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(
        model.copy_stored_recording(args["recordingName"], args.get("destinationRecordingName"))
    )


@operation(
    "recordings",
    "/recordings/live/{recordingName}",
    "GET",
    "getLive",
    summary="A recording in progress (or queued).",
    response_class="LiveRecording",
    params=(_NAME,),
    errors=errors(_E404),
)
def get_live(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
    return ok(model.get_live_recording(args["recordingName"]))


def _control(nickname: str, api_path: str, method: str, operation_name: str, summary: str) -> None:
    def handler(model: SimModel, args: Mapping[str, Any]) -> SimResponse:
        return model.control_recording(args["recordingName"], operation_name)

    documented = (_E404,) if operation_name in ("stop", "cancel") else (_E404, _E409)
    operation(
        "recordings",
        api_path,
        method,
        nickname,
        summary=summary,
        response_class="void",
        params=(_NAME,),
        errors=errors(*documented),
    )(handler)


_LIVE = "/recordings/live/{recordingName}"
_control("cancel", _LIVE, "DELETE", "cancel", "Stop and discard the recording.")
_control("stop", f"{_LIVE}/stop", "POST", "stop", "Stop and keep the recording.")
_control("pause", f"{_LIVE}/pause", "POST", "pause", "Pause (the paused time is not kept).")
_control("unpause", f"{_LIVE}/pause", "DELETE", "unpause", "Go on recording.")
_control("mute", f"{_LIVE}/mute", "POST", "mute", "Record silence instead of audio.")
_control("unmute", f"{_LIVE}/mute", "DELETE", "unmute", "Record audio again.")
