"""The simulator's own Swagger 1.1 description, generated from its route table and models.

Why generated: the description is what the official Node.js client (``ari-client``
2.2.0 on ``swagger-client`` 2.0.26) bootstraps from, so it must list exactly what the
simulator serves, no more (a client would call an operation that 404s) and no less (a
client would lack a method). Reading that client's code fixed these requirements:

1. ``resources.json`` lists ``/api-docs/{name}.{format}`` paths; the resource name is the
   file stem and each file is fetched from ``basePath`` + path, so ``basePath`` must be
   the URL the client used (``http://<Host header>/ari``, as Asterisk does).
2. Each operation becomes ``client.<resource>.<nickname>(options)``; ``path`` parameters
   are substituted into ``basePath + api path``, ``query`` ones are appended, ``body`` ones
   are sent as a JSON body. A missing *required path* parameter throws in the client.
   Resource objects (``channel.play(...)``) inject their id under the parameter named
   ``channelId``/``bridgeId``/``playbackId``, so those names are Asterisk's own.
3. ``responseClass`` ``Channel``/``List[Channel]`` (and the other known types) turn the
   answer into resource objects; ``void`` means no body.
4. Every websocket message is looked up by its ``type`` in the models of
   ``events.json``: an event type without a model makes ``ari-client`` throw while
   handling the message. Properties whose ``type`` is ``Channel``, ``Playback``,
   ``Bridge``... are promoted to resource objects, which is how ``channel.on(...)`` and
   ``playback.once('PlaybackFinished', ...)`` find their events. So every event the
   simulator can send is declared here with its object-carrying fields.

Only facts are taken from Asterisk's description (names, types, codes); the structure is
built here from :mod:`ivrkit.sim.front._routetable` and the model tables below.
``tests/sim/test_apidocs.py`` checks every declared path, parameter and model field
against ``shared/ari-api-docs`` and checks that each declared field is actually produced.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ivrkit.sim.front._event_models import EVENT_MODELS, EVENT_SUBTYPES, MESSAGE_SUBTYPES
from ivrkit.sim.front._models import MODELS as OBJECT_MODELS
from ivrkit.sim.front._routetable import RESOURCES, Operation, Param, operations_by_resource

#: ``(field, swagger type, required)`` per model, the same shape as ``_models.MODELS``.
ModelTable = Mapping[str, tuple[tuple[str, str, bool], ...]]

#: Versions as served by the Asterisk 20.20.1 in the traces (resources.json says 8.0.0,
#: every resource file 2.0.0; events.json is Swagger "1.2", the others "1.1").
RESOURCES_API_VERSION = "8.0.0"
RESOURCE_API_VERSION = "2.0.0"

#: Models of ``/asterisk`` answers (the fields ``SimModel.asterisk_info``/``ping`` produce).
ASTERISK_MODELS: ModelTable = {
    "AsteriskInfo": (
        ("build", "BuildInfo", False),
        ("system", "SystemInfo", False),
        ("config", "ConfigInfo", False),
        ("status", "StatusInfo", False),
    ),
    "BuildInfo": (
        ("os", "string", True),
        ("kernel", "string", True),
        ("options", "string", True),
        ("machine", "string", True),
        ("date", "string", True),
        ("user", "string", True),
    ),
    "SystemInfo": (("version", "string", True), ("entity_id", "string", True)),
    "ConfigInfo": (
        ("name", "string", True),
        ("default_language", "string", True),
        ("setid", "SetId", True),
    ),
    "SetId": (("user", "string", True), ("group", "string", True)),
    "StatusInfo": (("startup_time", "Date", True), ("last_reload_time", "Date", True)),
    "AsteriskPing": (
        ("asterisk_id", "string", True),
        ("ping", "string", True),
        ("timestamp", "string", True),
    ),
}

#: Which api-docs file declares which model (as in Asterisk's own files).
_OWNER: Mapping[str, str] = {
    "Channel": "channels",
    "CallerID": "channels",
    "DialplanCEP": "channels",
    "Bridge": "bridges",
    "Playback": "playbacks",
    "Sound": "sounds",
    "FormatLangPair": "sounds",
    "Application": "applications",
    "Variable": "asterisk",
    "Variables": "asterisk",
    "StoredRecording": "recordings",
    "Mailbox": "mailboxes",
    "RTPstat": "channels",
    "Module": "asterisk",
    "LogChannel": "asterisk",
    "ConfigTuple": "asterisk",
    "Endpoint": "endpoints",
    "TextMessage": "endpoints",
    "LiveRecording": "recordings",
    "DeviceState": "deviceStates",
    **dict.fromkeys(ASTERISK_MODELS, "asterisk"),
    **dict.fromkeys(EVENT_MODELS, "events"),
}


def all_models() -> dict[str, tuple[tuple[str, str, bool], ...]]:
    """Every model the description declares, by name."""
    out: dict[str, tuple[tuple[str, str, bool], ...]] = {}
    for table in (OBJECT_MODELS, ASTERISK_MODELS, EVENT_MODELS):
        out.update(table)
    return out


def model_owner(name: str) -> str:
    """The api-docs resource whose file declares model ``name``."""
    return _OWNER[name]


def _param_json(param: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": param.name}
    if param.description:
        out["description"] = param.description
    out["paramType"] = param.param_type
    out["required"] = param.required
    out["allowMultiple"] = param.allow_multiple
    out["dataType"] = param.data_type
    if param.default is not None:
        out["defaultValue"] = param.default
    if param.allowed_values is not None:
        out["allowableValues"] = {"valueType": "LIST", "values": list(param.allowed_values)}
    return out


def _operation_json(op: Operation) -> dict[str, Any]:
    out: dict[str, Any] = {"httpMethod": op.http_method}
    if op.upgrade is not None:
        out["upgrade"] = op.upgrade
        out["websocketProtocol"] = "ari"
    out["summary"] = op.summary
    out["nickname"] = op.nickname
    out["responseClass"] = op.response_class
    if op.params:
        out["parameters"] = [_param_json(p) for p in op.params]
    if op.errors:
        out["errorResponses"] = [{"code": e.code, "reason": e.reason} for e in op.errors]
    return out


def _model_json(name: str, fields: Iterable[tuple[str, str, bool]]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": name}
    if name == "Message":
        out["discriminator"] = "type"
        out["subTypes"] = list(MESSAGE_SUBTYPES)
    elif name == "Event":
        out["subTypes"] = list(EVENT_SUBTYPES)
    out["properties"] = {
        field: {"type": type_, "required": required} for field, type_, required in fields
    }
    return out


def _resource_doc(resource: str, ops: tuple[Operation, ...]) -> dict[str, Any]:
    apis: list[dict[str, Any]] = []
    by_path: dict[str, dict[str, Any]] = {}
    for op in ops:
        api = by_path.get(op.api_path)
        if api is None:
            api = {"path": op.api_path, "description": op.api_path, "operations": []}
            by_path[op.api_path] = api
            apis.append(api)
        api["operations"].append(_operation_json(op))
    models = {
        name: _model_json(name, fields)
        for name, fields in all_models().items()
        if _OWNER.get(name) == resource
    }
    return {
        "apiVersion": RESOURCE_API_VERSION,
        "swaggerVersion": "1.2" if resource == "events" else "1.1",
        "basePath": "",
        "resourcePath": f"/api-docs/{resource}.{{format}}",
        "apis": apis,
        "models": models,
    }


_CACHE: dict[str, dict[str, Any]] = {}


def _documents() -> dict[str, dict[str, Any]]:
    if not _CACHE:
        grouped = operations_by_resource()
        _CACHE["resources"] = {
            "apiVersion": RESOURCES_API_VERSION,
            "swaggerVersion": "1.1",
            "basePath": "",
            "apis": [
                {"path": f"/api-docs/{name}.{{format}}", "description": description}
                for name, description in RESOURCES
            ],
        }
        for name, _ in RESOURCES:
            _CACHE[name] = _resource_doc(name, grouped.get(name, ()))
    return _CACHE


def render(resource_name: str, base_path: str) -> dict[str, Any] | None:
    """The api-docs document ``resource_name``.json, or ``None`` if there is none.

    The documents are built once; each call returns a shallow copy with ``basePath``
    set, so serving the description costs one dict copy.
    """
    doc = _documents().get(resource_name)
    if doc is None:
        return None
    out = dict(doc)
    out["basePath"] = base_path
    return out
