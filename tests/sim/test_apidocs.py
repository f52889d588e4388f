"""The simulator's API description against Asterisk's, and against the simulator itself.

1. Everything the description declares exists in Asterisk 22's own description
   (``shared/ari-api-docs``) with the same name and type: every path and method (with
   its nickname, response class and documented error codes), every parameter (name,
   paramType, dataType, required, allowMultiple, allowed values), every model field
   (name, type).
2. The description cannot lie: every operation is served (no 404/405 from routing),
   every declared model field is actually produced by the simulator's encoders, and
   every field the simulator produces is declared.
3. It is served like Asterisk serves it: auth required, ``basePath`` from the Host
   header, ``swaggerVersion`` 1.1 (events 1.2), ``upgrade: websocket`` on the events
   operation.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import aiohttp
import pytest
from _trace import API_DOCS

from ivrkit.sim import DEFAULT_DIALPLAN, Simulator
from ivrkit.sim.front._apidocs import all_models, model_owner
from ivrkit.sim.front._event_models import (
    CLIENT_MESSAGES,
    EVENT_MODELS,
    FIELDS_NOT_SENT,
    NOT_SENT,
    PART_MODELS,
)
from ivrkit.sim.front._routetable import RESOURCES, all_operations

NAMES = ("resources", *(name for name, _ in RESOURCES))


def _asterisk(name: str) -> dict[str, Any]:
    path = (
        API_DOCS / "resources.json"
        if name == "resources"
        else API_DOCS / "api-docs" / f"{name}.json"
    )
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _asterisk_models() -> dict[str, dict[str, Any]]:
    models: dict[str, dict[str, Any]] = {}
    for file in sorted((API_DOCS / "api-docs").glob("*.json")):
        models.update(json.loads(file.read_text(encoding="utf-8")).get("models", {}))
    return models


def _auth(sim: Simulator) -> dict[str, str]:
    token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def _fetch_all(sim: Simulator, host: str) -> dict[str, dict[str, Any]]:
    docs: dict[str, dict[str, Any]] = {}
    headers = {**_auth(sim), "Host": host}
    async with aiohttp.ClientSession() as session:
        for name in NAMES:
            async with session.get(f"{sim.url}/ari/api-docs/{name}.json", headers=headers) as r:
                assert r.status == 200, name
                assert r.content_type == "application/json"
                docs[name] = await r.json()
    return docs


async def test_description_is_a_subset_of_asterisks_with_the_same_names_and_types() -> None:
    async with Simulator() as sim:
        docs = await _fetch_all(sim, "pbx.example:8088")
    problems: list[str] = []
    ours_listed = [api["path"] for api in docs["resources"]["apis"]]
    theirs_listed = [api["path"] for api in _asterisk("resources")["apis"]]
    problems += [f"resources.json lists {p}" for p in ours_listed if p not in theirs_listed]
    assert ours_listed == [f"/api-docs/{name}.{{format}}" for name, _ in RESOURCES]
    for name, _ in RESOURCES:
        ours, theirs = docs[name], _asterisk(name)
        assert ours["resourcePath"] == theirs["resourcePath"]
        assert ours["swaggerVersion"] == ("1.2" if name == "events" else "1.1")
        their_ops = {
            (api["path"], op["httpMethod"]): op
            for api in theirs["apis"]
            for op in api["operations"]
        }
        for api in ours["apis"]:
            for op in api["operations"]:
                where = f"{name}: {op['httpMethod']} {api['path']}"
                their = their_ops.get((api["path"], op["httpMethod"]))
                if their is None:
                    problems.append(f"{where} does not exist in Asterisk")
                    continue
                for key in ("nickname", "responseClass", "upgrade", "websocketProtocol"):
                    if op.get(key) != their.get(key):
                        problems.append(
                            f"{where} {key}={op.get(key)!r}, Asterisk {their.get(key)!r}"
                        )
                their_codes = {e["code"] for e in their.get("errorResponses", [])}
                for err in op.get("errorResponses", []):
                    if err["code"] not in their_codes:
                        problems.append(f"{where} error {err['code']} not documented by Asterisk")
                their_params = {p["name"]: p for p in their.get("parameters", [])}
                for param in op.get("parameters", []):
                    tp = their_params.get(param["name"])
                    if tp is None:
                        problems.append(f"{where} parameter {param['name']} not in Asterisk")
                        continue
                    for key in ("paramType", "dataType", "required", "allowMultiple"):
                        default = False if key in ("required", "allowMultiple") else None
                        if param.get(key, default) != tp.get(key, default):
                            problems.append(
                                f"{where} {param['name']}.{key}={param.get(key)!r}, "
                                f"Asterisk {tp.get(key)!r}"
                            )
                    if "allowableValues" in param:
                        allowed = set(tp.get("allowableValues", {}).get("values", []))
                        extra = set(param["allowableValues"]["values"]) - allowed
                        if extra:
                            problems.append(f"{where} {param['name']} allows {sorted(extra)}")
    their_models = _asterisk_models()
    for name in NAMES:
        for model_name, model in docs[name].get("models", {}).items():
            their = their_models.get(model_name)
            if their is None:
                problems.append(f"model {model_name} not in Asterisk")
                continue
            for field, spec in model["properties"].items():
                tf = their["properties"].get(field)
                if tf is None:
                    problems.append(f"model {model_name}.{field} not in Asterisk")
                elif spec["type"] != tf["type"]:
                    problems.append(f"{model_name}.{field}: {spec['type']}, Asterisk {tf['type']}")
    assert not problems, "\n".join(problems)


async def test_events_json_declares_every_model_of_asterisks_field_for_field() -> None:
    """Issue 14 item 1: all 57 models of Asterisk 22.10's events.json, same fields, types,
    required flags and subtypes, so Swagger-driven clients hand events over alike."""
    async with Simulator() as sim:
        ours = (await _fetch_all(sim, "pbx.example:8088"))["events"]["models"]
    theirs = _asterisk("events")["models"]
    assert list(ours) == list(theirs)
    for name, model in theirs.items():
        expected = {
            field: (spec["type"], spec.get("required", False))
            for field, spec in model["properties"].items()
        }
        got = {
            field: (spec["type"], spec["required"])
            for field, spec in ours[name]["properties"].items()
        }
        assert got == expected, name
        assert list(got) == list(expected), f"{name}: field order"
        for key in ("discriminator", "subTypes"):
            assert ours[name].get(key) == model.get(key), f"{name}.{key}"
    # the handover rule of ari-py/aioari/asyncari: two Channel fields -> a dict
    channels = [f for f, s in ours["StasisStart"]["properties"].items() if s["type"] == "Channel"]
    assert channels == ["channel", "replace_channel"]


def test_what_is_not_sent_is_declared_and_says_why() -> None:
    for name in NOT_SENT:
        assert name in EVENT_MODELS, name
    for (name, field), why in FIELDS_NOT_SENT.items():
        assert name not in NOT_SENT, f"{name} is not sent at all"
        assert field in {f for f, _, _ in EVENT_MODELS[name]}, f"{name}.{field}"
        assert why
    assert all(NOT_SENT.values())


async def test_description_is_served_like_asterisk_serves_it() -> None:
    async with Simulator() as sim, aiohttp.ClientSession() as session:
        for name in NAMES:
            async with session.get(f"{sim.url}/ari/api-docs/{name}.json") as r:
                assert r.status == 401, name
                assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
                assert await r.json() == {"message": "Authentication required"}
        key = {"api_key": f"{sim.username}:{sim.password}"}
        async with session.get(f"{sim.url}/ari/api-docs/channels.json", params=key) as r:
            assert r.status == 200
            assert (await r.json())["basePath"] == f"http://127.0.0.1:{sim.port}/ari"
        for host in ("localhost:8088", "example.invalid:1234"):
            headers = {**_auth(sim), "Host": host}
            for name in ("resources", "asterisk"):
                async with session.get(f"{sim.url}/ari/api-docs/{name}.json", headers=headers) as r:
                    assert (await r.json())["basePath"] == f"http://{host}/ari"
        async with session.get(f"{sim.url}/ari/api-docs/nothing.json", headers=_auth(sim)) as r:
            assert r.status == 404
            assert await r.json() == {"message": "Resource not found"}
        async with session.get(f"{sim.url}/ari/api-docs/events.json", headers=_auth(sim)) as r:
            events = await r.json()
    (socket_op,) = [
        op for api in events["apis"] if api["path"] == "/events" for op in api["operations"]
    ]
    assert socket_op["upgrade"] == "websocket"
    assert socket_op["websocketProtocol"] == "ari"
    assert events["models"]["Message"]["discriminator"] == "type"


async def test_all_109_operations_of_asterisk_are_described_and_served() -> None:
    """Issue 14: the simulator describes (and so serves) every operation Asterisk 22.10's
    description has, in every one of its resources."""
    theirs = {
        (api["path"], op["httpMethod"], op["nickname"])
        for name in NAMES[1:]
        for api in _asterisk(name)["apis"]
        for op in api["operations"]
    }
    assert len(theirs) == 109
    async with Simulator() as sim:
        docs = await _fetch_all(sim, "pbx.example:8088")
    ours = {
        (api["path"], op["httpMethod"], op["nickname"])
        for name in NAMES[1:]
        for api in docs[name]["apis"]
        for op in api["operations"]
    }
    assert sorted(theirs - ours) == []
    assert ours == theirs
    assert [api["path"] for api in docs["resources"]["apis"]] == [
        api["path"] for api in _asterisk("resources")["apis"]
    ]


async def test_every_declared_operation_is_served() -> None:
    """Routing finds every (path, method) the description declares (no 404/405 from it)."""
    async with Simulator() as sim, aiohttp.ClientSession(headers=_auth(sim)) as session:
        for op in all_operations():
            path = op.api_path
            for param in op.params:
                path = path.replace("{" + param.name + "}", "no-such-id")
            if op.upgrade == "websocket":
                ws = await session.ws_connect(f"{sim.url}/ari{path}", params={"app": "probe"})
                await ws.close()
                continue
            async with session.request(op.http_method, f"{sim.url}/ari{path}") as r:
                text = await r.text()
            routing_errors = ('{"message": "Resource not found"}', '{"message": "Invalid method"}')
            assert not (
                r.status in (404, 405)
                and text.replace(" ", "") in {e.replace(" ", "") for e in routing_errors}
            ), f"{op.http_method} {op.api_path} ({op.nickname}) is not served: {r.status} {text}"


# --------------------------------------------------------------------------- produced fields


#: Models of other resources declared only because events refer to them.
REFERENCED_ONLY = frozenset({"Endpoint", "TextMessage", "DeviceState"})


def _walk(model: str, value: Any, seen: dict[str, set[str]], undeclared: set[str]) -> None:
    """Record which fields of ``model`` appear in ``value``, recursing into model fields."""
    models = all_models()
    if model.startswith("List[") and isinstance(value, list):
        for item in value:
            _walk(model[5:-1], item, seen, undeclared)
        return
    if model not in models or not isinstance(value, dict):
        return
    fields = {name: type_ for name, type_, _ in models[model]}
    inherited: set[str] = set()
    if model_owner(model) == "events" and model not in CLIENT_MESSAGES | PART_MODELS:
        inherited = {"type", "asterisk_id", "application", "timestamp"}
    for key, item in value.items():
        if key in fields:
            seen.setdefault(model, set()).add(key)
            _walk(fields[key], item, seen, undeclared)
        elif key not in inherited:
            undeclared.add(f"{model}.{key}")
    if inherited:
        seen.setdefault("Message", set()).update({"type", "asterisk_id"} & value.keys())
        seen.setdefault("Event", set()).update({"application", "timestamp"} & value.keys())


async def _exercise(sim: Simulator) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """Drive the simulator through every encoder; (response class, body) pairs and events."""
    answers: list[tuple[str, Any]] = []
    events: list[dict[str, Any]] = []
    key = f"{sim.username}:{sim.password}"
    async with aiohttp.ClientSession(headers=_auth(sim)) as session:
        base = f"{sim.url}/ari"

        async def call(method: str, path: str, model: str, **params: str) -> Any:
            async with session.request(method, f"{base}/{path}", params=params) as r:
                text = await r.text()
                assert r.status < 300, f"{method} {path}: {r.status} {text}"
                body = json.loads(text) if text else None
                answers.append((model, body))
                return body

        # the dialplan's 1000 runs Stasis(channel-aa); the second socket replaces the first
        apps = {"app": "channel-aa", "api_key": key}
        first = await session.ws_connect(f"{base}/events", params=apps)
        apps = {"app": "channel-aa,fx", "api_key": key}
        ws = await session.ws_connect(f"{base}/events", params=apps)
        await call("GET", "asterisk/info", "AsteriskInfo")
        await call("GET", "asterisk/ping", "AsteriskPing")
        await call("GET", "asterisk/variable", "Variable", variable="X")
        await call("GET", "sounds", "List[Sound]")
        await call("GET", "sounds/press-1", "Sound")
        one = await call(
            "POST",
            "channels",
            "Channel",
            endpoint="Local/1000@default",
            app="fx",
            callerId="Alice <100>",
            channelId="fx-1",
            otherChannelId="fx-2",
        )
        await call("POST", "channels/fx-2/answer", "void")
        await call("GET", f"channels/{one['id']}", "Channel")
        await call("GET", "channels", "List[Channel]")
        await call("POST", "channels/fx-1/variable", "void", variable="V", value="1")
        await call("GET", "channels/fx-1/variable", "Variable", variable="V")
        await call(
            "POST", "channels/fx-1/variable", "void", variable="R", value="1", report_events="1"
        )
        await call("GET", "channels/fx-1/variables", "Variables", variables="V,R")
        await call("GET", "channels/fx-1", "Channel")  # with channelvars
        await call("POST", "channels/fx-1/play/fx-pb", "Playback", media="sound:press-1,sound:or")
        await call("GET", "playbacks/fx-pb", "Playback")
        await call("POST", "channels/fx-1/dtmf", "void", dtmf="1")
        await call("POST", "bridges", "Bridge", bridgeId="fx-br", name="b")
        await call("POST", "bridges/fx-br/addChannel", "void", channel="fx-1")
        await call("POST", "bridges/fx-br/videoSource/fx-1", "void")
        await call("GET", "bridges/fx-br", "Bridge")  # with video_source_id
        await call("DELETE", "bridges/fx-br/videoSource", "void")
        await call("GET", "bridges", "List[Bridge]")
        await call("POST", "bridges/fx-br/removeChannel", "void", channel="fx-1")
        # queued behind fx-pb; ends on 1 s of silence: talking/silence durations
        await call(
            "POST",
            "channels/fx-1/record",
            "LiveRecording",
            name="fx-rec",
            format="wav",
            maxSilenceSeconds="1",
        )
        await call("GET", "recordings/live/fx-rec", "LiveRecording")
        await call("GET", "applications", "List[Application]")
        await call("GET", "applications/fx", "Application")
        await call("POST", "events/user/ev", "void", application="fx", source="channel:fx-1")
        await call("POST", "events/user/ev", "void", application="fx", source="bridge:fx-br")
        await ws.send_str(json.dumps({"type": "RESTRequest", "method": "GET", "uri": "x"}))
        # StasisBroadcast (1008): CallBroadcast, the claim, CallClaimed; then two moves,
        # one to an app nobody holds (ApplicationMoveFailed) and one that succeeds
        await call(
            "POST",
            "channels",
            "Channel",
            endpoint="Local/1008@default",
            app="fx",
            channelId="fx-b1",
            otherChannelId="fx-b2",
        )
        await asyncio.sleep(0.1)
        await call("POST", "events/claim", "void", channelId="fx-b2", application="fx")
        await asyncio.sleep(0.1)
        await call("POST", "channels/fx-b2/move", "void", app="nobody-has-it", appArgs="a,b")
        await asyncio.sleep(0.1)
        await call("POST", "channels/fx-b2/move", "void", app="channel-aa", appArgs="moved")
        await asyncio.sleep(5)  # let the multi-media playback run (virtual time)
        await call("PUT", "mailboxes/fx-mb", "void", oldMessages="1", newMessages="2")
        await call("GET", "mailboxes/fx-mb", "Mailbox")
        await call("GET", "mailboxes", "List[Mailbox]")
        await call("GET", "endpoints", "List[Endpoint]")
        await call("GET", "endpoints/PJSIP/fx-busy", "Endpoint")
        # a busy PJSIP endpoint: tech_cause 486 on the hang-up request and destroyed
        await call(
            "POST", "applications/fx/subscription", "Application", eventSource="endpoint:PJSIP"
        )
        sim.send_text("PJSIP/fx-ok", "hello", variables={"K": "v"})
        await call("POST", "channels", "Channel", endpoint="PJSIP/fx-busy", app="fx")
        await call(
            "POST", "channels", "Channel", endpoint="PJSIP/fx-ok", app="fx", channelId="fx-pj"
        )
        await call("GET", "channels/fx-pj/rtp_statistics", "RTPstat")
        await call("GET", "asterisk/modules", "List[Module]")
        await call("GET", "asterisk/modules/res_ari.so", "Module")
        await call("GET", "asterisk/logging", "List[LogChannel]")
        await call("GET", "asterisk/config/dynamic/res_pjsip/endpoint/fx-ok", "List[ConfigTuple]")
        await call("POST", "channels/fx-pj/snoop", "Channel", app="fx", spy="in")
        await call("POST", "channels/create", "Channel", endpoint="PJSIP/fx-ok", app="fx")
        await call(
            "POST",
            "channels/externalMedia",
            "Channel",
            app="fx",
            external_host="127.0.0.1:4000",
            format="ulaw",
        )
        await call("GET", "recordings/stored", "List[StoredRecording]")
        await call("GET", "recordings/stored/fx-rec", "StoredRecording")
        await call(
            "POST",
            "recordings/stored/fx-rec/copy",
            "StoredRecording",
            destinationRecordingName="fx-copy",
        )
        # deleted with a member: BridgeDestroyed follows that member's ChannelDestroyed
        await call("POST", "bridges/fx-br/addChannel", "void", channel="fx-1")
        # a bridged channel can't record: RecordingFailed with its cause
        await call("POST", "channels/fx-1/record", "LiveRecording", name="fx-no", format="wav")
        await asyncio.sleep(0.1)
        await call("DELETE", "bridges/fx-br", "void")
        await call("DELETE", "channels/fx-1", "void")
        await asyncio.sleep(1)
        for sock in (first, ws):
            while True:  # everything sent so far is buffered by the client
                try:
                    msg = await sock.receive(timeout=1)
                except TimeoutError:
                    break
                events.append(json.loads(msg.data))
            await sock.close()
    return answers, events


async def _dial_from_the_dialplan() -> list[dict[str, Any]]:
    """``Dial()`` to a busy endpoint, seen by a subscribeAll app: Dial events with caller."""
    plan = {"default": {"400": ["Dial(PJSIP/carol,5)", "Hangup()"]}}
    async with Simulator(dialplan=plan, endpoints={"PJSIP/carol": "busy"}) as sim:
        key = f"{sim.username}:{sim.password}"
        params = {"app": "all", "subscribeAll": "true", "api_key": key}
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(f"{sim.url}/ari/events", params=params)
            await sim.wait_for_app("all")
            caller = await sim.call("PJSIP/alice", "400")
            await caller.wait_for_hangup()
            events = []
            while True:
                try:
                    msg = await ws.receive(timeout=1)
                except TimeoutError:
                    break
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                events.append(json.loads(msg.data))
            await ws.close()
    assert any("caller" in ev for ev in events if ev["type"] == "Dial")
    return events


async def test_every_declared_model_field_is_produced_and_every_produced_field_declared() -> None:
    dialplan = {
        "default": {
            **DEFAULT_DIALPLAN["default"],
            "1008": ("NoOp()", "StasisBroadcast(2000,^fx$,a:b,yes)", "Hangup()"),
        }
    }
    async with Simulator(
        dialplan=dialplan, endpoints={"PJSIP/fx-busy": "busy", "PJSIP/fx-ok": {"answer_after": 0}}
    ) as sim:
        answers, events = await _exercise(sim)
    events += await _dial_from_the_dialplan()
    seen: dict[str, set[str]] = {}
    undeclared: set[str] = set()
    for model, body in answers:
        _walk(model, body, seen, undeclared)
    types = {ev["type"] for ev in events}
    assert types <= set(all_models()), f"events without a model: {types - set(all_models())}"
    for ev in events:
        _walk(ev["type"], ev, seen, undeclared)
    assert not undeclared, f"produced but not declared: {sorted(undeclared)}"
    assert {
        "ApplicationReplaced",
        "RESTResponse",
        "PlaybackContinuing",
        "ChannelUserevent",
    } <= types
    assert not types & NOT_SENT.keys(), f"sent, but listed as not sent: {types & NOT_SENT.keys()}"
    missing = []
    for model, fields in all_models().items():
        if model in CLIENT_MESSAGES or model in NOT_SENT or model in PART_MODELS:
            continue  # accepted from clients (test_restws.py), or listed as not sent
        if model in REFERENCED_ONLY and model not in seen:
            continue
        declared = {name for name, _, _ in fields}
        unsent = {f for (m, f) in FIELDS_NOT_SENT if m == model}
        assert not unsent & seen.get(model, set()), f"{model}: sent, but listed as not sent"
        declared -= unsent
        if model not in seen and declared:
            missing.append(f"{model} (never produced)")
        elif declared - seen.get(model, set()):
            missing.append(f"{model}: {sorted(declared - seen.get(model, set()))}")
    assert not missing, "declared but never produced:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", ["ApplicationReplaced"])
def test_events_without_own_fields_are_still_declared(name: str) -> None:
    """ari-client throws on an event type that has no model, even one with no fields."""
    assert name in all_models()
    assert all_models()[name] == ()
