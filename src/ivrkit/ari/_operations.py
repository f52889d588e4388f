"""Name a REST request by its route, for metrics: "POST /channels/{channelId}/play".

A metric label must have few values, so a request is labelled with the route template
of ``ari-api-docs`` (the contract) and its method, never the URL: ids would make one
series per call. ``ROUTES`` is every path of the ARI 22 api-docs (a test checks the list
against ../shared/ari-api-docs); a path that matches none (``client.request`` on
something newer) is labelled ``"{METHOD} other"``.
"""

from __future__ import annotations

from typing import Any

from ivrkit.ari._exceptions import AriError
from ivrkit.observe import AriRequest, Observer

ROUTES = (
    "/applications",
    "/applications/{applicationName}",
    "/applications/{applicationName}/eventFilter",
    "/applications/{applicationName}/subscription",
    "/asterisk/config/dynamic/{configClass}/{objectType}/{id}",
    "/asterisk/info",
    "/asterisk/logging",
    "/asterisk/logging/{logChannelName}",
    "/asterisk/logging/{logChannelName}/rotate",
    "/asterisk/modules",
    "/asterisk/modules/{moduleName}",
    "/asterisk/ping",
    "/asterisk/variable",
    "/bridges",
    "/bridges/{bridgeId}",
    "/bridges/{bridgeId}/addChannel",
    "/bridges/{bridgeId}/moh",
    "/bridges/{bridgeId}/play",
    "/bridges/{bridgeId}/play/{playbackId}",
    "/bridges/{bridgeId}/record",
    "/bridges/{bridgeId}/removeChannel",
    "/bridges/{bridgeId}/variable",
    "/bridges/{bridgeId}/variables",
    "/bridges/{bridgeId}/videoSource",
    "/bridges/{bridgeId}/videoSource/{channelId}",
    "/channels",
    "/channels/create",
    "/channels/externalMedia",
    "/channels/{channelId}",
    "/channels/{channelId}/answer",
    "/channels/{channelId}/continue",
    "/channels/{channelId}/dial",
    "/channels/{channelId}/dtmf",
    "/channels/{channelId}/hold",
    "/channels/{channelId}/moh",
    "/channels/{channelId}/move",
    "/channels/{channelId}/mute",
    "/channels/{channelId}/play",
    "/channels/{channelId}/play/{playbackId}",
    "/channels/{channelId}/progress",
    "/channels/{channelId}/record",
    "/channels/{channelId}/redirect",
    "/channels/{channelId}/ring",
    "/channels/{channelId}/rtp_statistics",
    "/channels/{channelId}/silence",
    "/channels/{channelId}/snoop",
    "/channels/{channelId}/snoop/{snoopId}",
    "/channels/{channelId}/transfer_progress",
    "/channels/{channelId}/variable",
    "/channels/{channelId}/variables",
    "/deviceStates",
    "/deviceStates/{deviceName}",
    "/endpoints",
    "/endpoints/refer",
    "/endpoints/sendMessage",
    "/endpoints/{tech}",
    "/endpoints/{tech}/{resource}",
    "/endpoints/{tech}/{resource}/refer",
    "/endpoints/{tech}/{resource}/sendMessage",
    "/events",
    "/events/claim",
    "/events/user/{eventName}",
    "/mailboxes",
    "/mailboxes/{mailboxName}",
    "/playbacks/{playbackId}",
    "/playbacks/{playbackId}/control",
    "/recordings/live/{recordingName}",
    "/recordings/live/{recordingName}/mute",
    "/recordings/live/{recordingName}/pause",
    "/recordings/live/{recordingName}/stop",
    "/recordings/stored",
    "/recordings/stored/{recordingName}",
    "/recordings/stored/{recordingName}/copy",
    "/recordings/stored/{recordingName}/file",
    "/sounds",
    "/sounds/{soundId}",
)

# keys no path segment can be (a segment never contains "/")
_PARAM = "/{}"
_END = "/"


def _compile(routes: tuple[str, ...]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for route in routes:
        node = root
        for segment in route.strip("/").split("/"):
            node = node.setdefault(_PARAM if segment.startswith("{") else segment, {})
        node[_END] = route
    return root


_TREE = _compile(ROUTES)


def _match(node: dict[str, Any], segments: list[str], i: int) -> str | None:
    if i == len(segments):
        found: str | None = node.get(_END)
        return found
    literal = node.get(segments[i])  # a literal beats a parameter: /channels/create
    if literal is not None:
        found = _match(literal, segments, i + 1)
        if found is not None:
            return found
    param = node.get(_PARAM)
    if param is not None and segments[i]:  # an empty id is no id
        return _match(param, segments, i + 1)
    return None


def operation(method: str, path: str) -> str:
    """``"POST /channels/{channelId}/play"`` for ``("POST", "/channels/17.3/play")``."""
    route = _match(_TREE, path.partition("?")[0].strip("/").split("/"), 0)
    return f"{method} {route or 'other'}"


def report(observer: Observer, method: str, path: str, status: str, seconds: float) -> None:
    """Tell ``observer`` of one request (``AriRest.request`` times it inline)."""
    observer.observe(AriRequest(operation=operation(method, path), status=status, seconds=seconds))


def failure_status(exc: AriError) -> str:
    """The status label of a request that got no HTTP status: the error's class."""
    status = getattr(exc, "status", None)
    return str(status) if status else type(exc).__name__


__all__ = ["ROUTES", "failure_status", "operation", "report"]
