"""Fuzz the simulator with ARI requests generated from Asterisk's own API description.

Every operation of ``../shared/ari-api-docs`` (Asterisk 22.10's Swagger) is sent with
parameters drawn from its declared types, plus junk: numbers of thousands of digits,
wrong types, unknown parameters, bodies that are not JSON or nest 100,000 levels or
exactly as deep as Asterisk's jansson parses (2048 levels) or one level more, over
HTTP and as RESTRequest frames on an events websocket, and malformed frames. Whatever
comes, the simulator answers as Asterisk could: never its own "Internal simulator
error" 500, never a dropped socket, never a traceback in its log, and afterwards it
still serves a call.

The simulator runs on its own event loop in a thread (real sockets, real time), so one
server serves every example; each example is a few requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
import pytest
from _fuzzing import COUNTS, TRACEBACKS, fuzz_settings
from hypothesis import given
from hypothesis import strategies as st

from ivrkit.sim import Simulator

DOCS = Path(__file__).resolve().parents[3] / "shared" / "ari-api-docs" / "api-docs"
APP = "channel-aa"
SIM_BUG = "Internal simulator error"
T = TypeVar("T")


class Big(str):
    """A long input with a short repr, so hypothesis reports stay readable."""

    def __repr__(self) -> str:
        return f"<{len(self)} chars: {str.__repr__(self[:12])}...>"


DEEP = Big("[" * 100_000 + "]" * 100_000)  # a 413 over HTTP (over 40960 bytes)
#: one level deeper than jansson parses, and as deep as it does (2048 levels), small
#: enough for Asterisk's body and frame limits
TOO_DEEP = Big("[" * 2049 + "]" * 2049)


def at_the_limit(key: str) -> Big:
    """A body 2048 levels deep (jansson's most) under ``key``: handlers get it whole."""
    return Big("{" + json.dumps(key) + ": " + "[" * 2047 + "]" * 2047 + "}")


def operations() -> list[dict[str, Any]]:
    """(method, path, parameters) of every ARI operation but the events websocket."""
    ops = []
    for doc in sorted(DOCS.glob("*.json")):
        data = json.loads(doc.read_text())
        for api in data.get("apis", []):
            for op in api["operations"]:
                if op.get("upgrade") == "websocket":
                    continue
                ops.append(
                    {
                        "method": op["httpMethod"],
                        "path": api["path"],
                        "params": op.get("parameters", []),
                    }
                )
    return ops


OPERATIONS = operations()

junk_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "%",
            "%00",
            "..",
            "/",
            "a/b",
            "?x=1",
            "#",
            "\x00",
            "\x08",
            "\r",
            "\x7f",
            "é",
            "\ud800",
        ]
    ),
    st.just(Big("9" * 5000)),
    st.just(Big("-" + "9" * 5000)),
    st.just(Big("x" * 3000)),
)
int_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "abc", "12abc", " 7", "+3", "-0", "1e3", "0x10", "1.5", "inf", "NaN"]),
    st.just(Big("1" * 5000)),
)
bool_values = st.sampled_from(["true", "false", "yes", "no", "1", "0", "maybe", "", "TRUE"])
media = st.sampled_from(
    ["sound:hello-world", "sound:press-1", "digits:123", "number:42", "tone:ring",
     "recording:none", "sound:", "bogus:x", "sound:../../etc/passwd", "characters:abc"]
)  # fmt: skip
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["variables", "fields", "endpoint", "timeout", "x"]),
        json_values,
        max_size=3,
    ).map(json.dumps),
    json_values.map(json.dumps),
    st.sampled_from(
        [
            "not json",
            "{",
            '{"variables": {"A": "1"}}',
            '{"timeout": 1e400}',
            '{"timeout": NaN}',
            Big('{"n": ' + "9" * 5000 + "}"),
            DEEP,
            TOO_DEEP,
            Big('{"variables": ' + "[" * 3000 + "]" * 3000 + "}"),
            Big('{"variables": {"A": ' + "[" * 2046 + "]" * 2046 + "}}"),
            at_the_limit("variables"),
            at_the_limit("fields"),
            at_the_limit("endpoint"),
            at_the_limit("x"),
        ]
    ),
)


class SimThread:
    """A Simulator, an HTTP session and an events websocket on a loop in a thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.history: list[str] = []  # the HTTP requests so far, for a dropped socket
        self.run(self._start())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> None:
        self.sim = Simulator()
        await self.sim.__aenter__()
        self.session = aiohttp.ClientSession()
        self.auth = {
            "Authorization": aiohttp.encode_basic_auth(self.sim.username, self.sim.password)
        }
        self.ws = await self.session.ws_connect(
            f"{self.sim.url}/ari/events", params={"app": APP}, headers=self.auth
        )
        self.reader = asyncio.get_running_loop().create_task(self._read())
        self.callers: list[Any] = []

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if data.get("type") == "RESTResponse":
                future = self.pending.pop(data.get("request_id") or "", None)
                if future is not None and not future.done():
                    future.set_result(data)
                elif not data.get("request_id"):
                    for future in list(self.pending.values()):  # a parse error has no id
                        if not future.done():
                            future.set_result(data)
                    self.pending.clear()
            else:
                COUNTS["sim events received"] += 1

    async def stop(self) -> None:
        self.reader.cancel()
        await self.ws.close()
        await self.session.close()
        await self.sim.__aexit__(None, None, None)
        # connection handlers the server has just closed finish on the next iterations;
        # let them, so that stopping the loop destroys no pending task
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    async def ids(self) -> dict[str, list[str]]:
        """Live ids to aim path parameters at, with a live call in the app."""
        if not any(not c.hung_up for c in self.callers):
            self.callers.append(await self.sim.call("PJSIP/fuzz", "1000"))
        model = self.sim.model
        return {
            "channelId": list(model.channels)[:4],
            "bridgeId": list(model.bridges)[:2],
            "playbackId": list(model.playbacks)[:2],
        }

    async def http(
        self, method: str, path: str, query: list[tuple[str, str]], body: str | None
    ) -> tuple[int, Any]:
        headers = dict(self.auth)
        if body is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, f"{self.sim.url}/ari{path}", params=query, data=body, headers=headers,
            timeout=aiohttp.ClientTimeout(total=10),
        ) as resp:  # fmt: skip
            text = await resp.text()
            try:
                return resp.status, json.loads(text) if text else None
            except ValueError:
                return resp.status, text

    async def frame(self, text: str, request_id: str) -> dict[str, Any]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[request_id] = future
        await self.ws.send_str(text)
        return await asyncio.wait_for(future, 10)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimThread]:
    thread = SimThread()
    try:
        yield thread
    finally:
        thread.run(thread.stop())
        thread.loop.call_soon_threadsafe(thread.loop.stop)
        thread.thread.join(10)
        thread.loop.close()


def fill_path(
    path: str, params: list[dict[str, Any]], data: st.DataObject, ids: dict[str, list[str]]
) -> str:
    for p in params:
        if p["paramType"] != "path":
            continue
        # the strategy's shape must not depend on the live ids (hypothesis replays)
        pick = data.draw(st.integers(0, 3) | junk_text)
        if isinstance(pick, int):
            pool = ids.get(p["name"]) or ["none-live"]
            value = pool[pick % len(pool)]
        else:
            value = pick
        path = path.replace(
            "{" + p["name"] + "}", quote(value.encode("utf-8", "surrogatepass"), safe="")
        )
    return path


def draw_query(params: list[dict[str, Any]], data: st.DataObject) -> list[tuple[str, str]]:
    query: list[tuple[str, str]] = []
    for p in params:
        if p["paramType"] != "query" or not data.draw(st.booleans()):
            continue
        kind = p["dataType"]
        allowed = (p.get("allowableValues") or {}).get("values")
        if allowed:
            value = data.draw(st.sampled_from(allowed) | junk_text)
        elif kind in ("int", "long", "double"):
            value = data.draw(int_values)
        elif kind == "boolean":
            value = data.draw(bool_values)
        elif p["name"] in ("media", "mediaUri"):
            value = data.draw(media)
        else:
            value = data.draw(junk_text)
        query.append((p["name"], value))
    if data.draw(st.integers(0, 5)) == 0:
        query.append((data.draw(st.text(min_size=1, max_size=6)), data.draw(junk_text)))
    return [
        (
            k.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
            v.encode("utf-8", "surrogatepass").decode("utf-8", "replace"),
        )
        for k, v in query
    ]


def check_answer(status: int, body: Any, what: str) -> None:
    COUNTS[f"sim answers {status}"] += 1
    assert 200 <= status < 600, what
    if status == 500:
        message = body.get("message") if isinstance(body, dict) else body
        COUNTS[f"sim answers 500: {str(message)[:40]}"] += 1
        assert message != SIM_BUG, what


@fuzz_settings(examples=200)
@given(data=st.data())
def test_generated_ari_requests(sim: SimThread, data: st.DataObject) -> None:
    before = TRACEBACKS.seen
    ids = sim.run(sim.ids())
    for n in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(OPERATIONS))
        path = fill_path(op["path"], op["params"], data, ids)
        query = draw_query(op["params"], data)
        body = data.draw(bodies) if op["method"] in ("POST", "PUT") else None
        what = f"{op['method']} {path[:80]} {query!r:.200} {body!r:.80}"
        if data.draw(st.booleans()):
            try:
                status, answer = sim.run(sim.http(op["method"], path, query, body))
            except aiohttp.ServerDisconnectedError as exc:
                COUNTS["dropped sockets"] += 1
                raise AssertionError(f"dropped: {what}; before: {sim.history[-3:]}") from exc
            sim.history.append(what)
            COUNTS["sim HTTP requests"] += 1
            check_answer(status, answer, what)
        else:
            rid = f"r{COUNTS['sim websocket frames']}-{n}"
            frame: dict[str, Any] = {
                "type": "RESTRequest", "request_id": rid, "transaction_id": rid,
                "method": op["method"], "uri": path.lstrip("/"),
                "query_strings": [{"name": k, "value": v} for k, v in query],
            }  # fmt: skip
            if body is not None and len(body) < 10_000:
                frame["content_type"] = "application/json"
                frame["message_body"] = body
            COUNTS["sim websocket frames"] += 1
            answer = sim.run(sim.frame(json.dumps(frame), rid))
            body_text = answer.get("message_body")
            check_answer(answer["status_code"], json.loads(body_text) if body_text else None, what)
        assert not sim.ws.closed, what
    assert TRACEBACKS.seen == before, TRACEBACKS.last


MALFORMED_FRAMES = [
    # (a frame over 65527 bytes closes the socket, as Asterisk does: not fuzzed here)
    Big("[" * 2049),
    TOO_DEEP,
    Big('{"type": "RESTRequest", "x": ' + "[" * 2048 + "]" * 2048 + "}"),
    '{"type": "RESTRequest"}',
    '{"type": ["RESTRequest"]}',
    '{"type": "RESTRequest", "method": 7, "uri": {}}',
    '{"type": "RESTRequest", "method": "GET", "uri": "asterisk/info", "query_strings": 5}',
    '{"type": "RESTRequest", "method": "GET", "uri": "asterisk/info", '
    '"query_strings": [1, null, {"name": 2}]}',
    '{"type": "RESTRequest", "method": "POST", "uri": "channels", "message_body": 12}',
]


@fuzz_settings(examples=40)
@given(
    st.one_of(json_values.map(json.dumps), st.text(max_size=40), st.sampled_from(MALFORMED_FRAMES))
)
def test_malformed_frames_keep_the_socket(sim: SimThread, text: str) -> None:
    before = TRACEBACKS.seen
    COUNTS["sim malformed frames"] += 1
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        data = None
    rid = data.get("request_id") if isinstance(data, dict) else None
    answer = sim.run(sim.frame(text, rid if isinstance(rid, str) and rid else ""))
    check_answer(answer["status_code"], None, text[:100])
    assert not sim.ws.closed
    ping = json.dumps(
        {"type": "RESTRequest", "request_id": "ping", "method": "GET", "uri": "asterisk/ping"}
    )
    assert sim.run(sim.frame(ping, "ping"))["status_code"] == 200
    assert TRACEBACKS.seen == before, TRACEBACKS.last


def test_a_call_is_still_served_after_the_fuzzing(sim: SimThread) -> None:
    async def serve() -> None:
        caller = await sim.sim.call("PJSIP/after", "1000")
        status, _ = await sim.http("POST", f"/channels/{caller.channel_id}/answer", [], None)
        assert status == 204
        status, _ = await sim.http(
            "POST", f"/channels/{caller.channel_id}/play", [("media", "sound:hello-world")], None
        )
        assert status == 201
        await asyncio.wait_for(caller.wait_for_playback("sound:hello-world"), 10)
        await caller.hangup()

    sim.run(serve())
    assert sim.run(sim.http("GET", "/asterisk/ping", [], None))[0] == 200


request_lines = st.one_of(
    st.sampled_from(
        [
            "GET /ari/events?app=channel-aa HTTP/1.1",
            "GET /ari/events HTTP/1.1",
            "GET /ari/events?app= HTTP/1.1",
            "GET /ari/events?app=channel-aa&subscribeAll=maybe HTTP/1.1",
            "POST /ari/events?app=channel-aa HTTP/1.1",
            "GET /ari/asterisk/info HTTP/1.0",
            "GET /ari/" + "x" * 9000 + " HTTP/1.1",
            "GET /ari/events?app=%ff%fe HTTP/1.1",
            "GET /ari/events?app=channel-aa HTTP/2.0",
            "GET /ari/events?app=channel-aa HTTP/1.1 extra",
            "G\x00T / HTTP/1.1",
            "GET",
            "",
        ]
    ),
    st.text(max_size=30).map(lambda t: f"GET /ari/{t} HTTP/1.1"),
)
upgrade_headers = st.tuples(
    st.lists(
        st.sampled_from(
            [
                "Upgrade: websocket",
                "Upgrade: WebSocket",
                "Upgrade: h2c",
                "Connection: Upgrade",
                "Connection: keep-alive, Upgrade",
                "Connection: close",
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Key: not base64!",
                "Sec-WebSocket-Key: ",
                "Sec-WebSocket-Version: 13",
                "Sec-WebSocket-Version: 8",
                "Sec-WebSocket-Version: banana",
                "Sec-WebSocket-Protocol: ari",
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=99",
                "Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=",
                "Authorization: Basic !!!",
                "Authorization: Bearer x",
                "Content-Length: 5",
                "Transfer-Encoding: chunked",
            ]
        ),
        max_size=8,
    ),
    st.sampled_from(
        [
            None,
            None,
            None,
            "Content-Length: -1",
            "Content-Length: 99999999999999999999",
            "X-Long: " + "y" * 9000,
            "Bad Header",
            ": empty name",
        ]
    ),
).map(lambda t: ["Host: 127.0.0.1", *t[0], *([t[1]] if t[1] else [])])


async def raw_exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` on a fresh connection; the first line answered (b"" if none)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.readline(), 0.5)
        except TimeoutError:
            # an incomplete request (blank lines only, a body shorter than its
            # Content-Length): the server waits for the rest, as any HTTP server does;
            # ending our side must then close the connection
            COUNTS["sim raw HTTP incomplete, server waited"] += 1
            writer.write_eof()
            return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


@fuzz_settings(examples=40)
@given(request_lines, upgrade_headers, st.binary(max_size=20))
def test_malformed_http_and_websocket_upgrades(
    sim: SimThread, line: str, headers: list[str], body: bytes
) -> None:
    before = TRACEBACKS.seen
    data = "\r\n".join([line, *headers, "", ""]).encode("utf-8", "surrogatepass") + body
    COUNTS["sim raw HTTP requests"] += 1
    first = sim.run(raw_exchange(sim.sim.port, data))
    if not first:
        COUNTS["sim raw HTTP closed without an answer"] += 1
    else:
        assert first.startswith(b"HTTP/"), first  # aiohttp echoes the version asked for
        status = first.split()[1].decode()
        COUNTS[f"sim raw HTTP answers {status}"] += 1
        assert status != "500", first
    assert not sim.ws.closed
    assert sim.run(sim.http("GET", "/asterisk/ping", [], None))[0] == 200
    assert TRACEBACKS.seen == before, TRACEBACKS.last
