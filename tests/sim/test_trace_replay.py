"""Replay the recorded Asterisk sessions against the simulator and compare.

``shared/asterisk-traces`` holds what a real Asterisk 20.20.1 answered to the guide's
``channel-aa.js`` (three call scenarios) and to a catalogue of ~200 requests. Here the
*client side* of each recording is played again, on virtual time, against a
:class:`Simulator`:

* Guide scenarios: two clients, exactly as recorded — the app (websocket
  ``app=channel-aa`` plus its HTTP requests) and the driver (websocket ``app=driver``,
  originate ``Local/1000@default``, DTMF and hang-up on the ``;1`` half). Each recorded
  request is re-issued after the *same* event (or HTTP answer) that preceded it in the
  recording has arrived from the simulator, plus the recorded delay. Ids Asterisk made
  up are mapped to the simulator's as they appear (channels by name without the
  counter, playbacks by the answer of the request that created them); ids the client
  chose are reused.
* Compared: every status code; error bodies exactly; success bodies by shape (the
  recursive key set and JSON types), by format (ids, names, timestamps) and by value
  for the fields in ``_trace.EXACT_KEYS``; for each websocket and each channel, the
  ordered list of event types; each event paired with its recorded counterpart by
  shape, format and exact fields; every event type the simulator sent is declared in
  its own ``events.json`` (else ``ari-client`` throws on it).

Differences the simulator cannot or should not reproduce are listed in
``KNOWN_DIFFERENCES`` with the reason; nothing else is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _trace import (
    Diff,
    Record,
    compare,
    event_key,
    event_role,
    learn_roles,
    load,
    make_lab_sounds,
)

from ivrkit.sim import Simulator
from ivrkit.sim.front._event_models import EVENT_MODELS, NOT_SENT
from ivrkit.sim.model._dialplan import LAB_DIALPLAN

GUIDE_SCENARIOS = (
    "guide-js-1-2-8-timeout",
    "guide-js-hangup-during-prompt",
    "guide-js-press-during-or",
)

#: Recorded facts the simulator deliberately does not reproduce, with the reason.
#: Each entry is (scenario or "*", JSON-path or event-list prefix, reason).
KNOWN_DIFFERENCES: tuple[tuple[str, str, str], ...] = (
    (
        "*",
        "api-docs",
        "the simulator's description is its own (only what it implements, no Asterisk "
        "prose or _copyright keys); it is compared field by field in test_apidocs.py",
    ),
    # protocol-catalog: things Asterisk did that the simulator legitimately does not do
    *(
        (
            "protocol-catalog",
            f"[{step} ",
            "Asterisk bug: on a keep-alive connection that earlier got the duplicate-id 409, "
            "originate to an unknown technology returns that stale 409 (thread-local errno "
            "not reset); the simulator answers 500 Allocation failed, as Asterisk does on a "
            "fresh connection (steps 25/26, compared)",
        )
        for step in ("23", "24")
    ),
    (
        "protocol-catalog",
        "[43 play number:42] http POST /ari/channels/cat-ch1b/play $.state",
        "race in Asterisk: the answer's snapshot was taken after its playback thread had "
        "started (37 of the 38 recorded play answers say 'queued', as the simulator does)",
    ),
    *(
        (
            "protocol-catalog",
            f"[{step}] events catalog {channel}: order",
            "bus order: Asterisk sends CallBroadcast straight to the application's websocket "
            "(stasis_app_send) while channel events travel through the stasis message bus, "
            "so the broadcast overtakes the NoOp/StasisBroadcast ChannelDialplan and the "
            "STASISSTATUS varset that happened before it (0.2 ms); the simulator sends "
            "events in the order things happen",
        )
        for step, channel in (
            ("68 StasisBroadcast (1004) + POST /events/claim, second claim", "cat-bcb"),
            ("70 StasisBroadcast (1004) not claimed within 3 s", "cat-bub"),
        )
    ),
    # gaps of the simulator (reported to the simulator's owner); listed, not hidden
    (
        "protocol-catalog",
        "[64 continue cat-ch1b into default,1006,1] events catalog cat-ch1: order",
        "timing: when the dialplan ends the ;2 half after /continue, the ;1 half's caller "
        "becomes ;2's connected line; Asterisk derives that ChannelCallerId from snapshots "
        "and sent it right after ;1's ChannelHangupRequest in step 63 but after its "
        "ChannelDestroyed here; the simulator always sends it at the step-63 place",
    ),
)


#: KNOWN_DIFFERENCES entries that matched something (a stale entry fails its test).
_USED: set[tuple[str, str, str]] = set()


def _known(scenario: str, where: str) -> bool:
    hits = [k for k in KNOWN_DIFFERENCES if k[0] in ("*", scenario) and k[1] in where]
    _USED.update(hits)
    return bool(hits)


@dataclass
class Stream:
    """One replayed websocket: what the simulator sent, with loop arrival times."""

    app: str
    events: list[dict[str, Any]] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def pump(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        loop = asyncio.get_running_loop()
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            self.events.append(json.loads(msg.data))
            self.times.append(loop.time())
            self.changed.set()

    async def wait_for(self, pred: Callable[[int], bool], what: str, within: float = 60) -> int:
        """Index of the first event satisfying ``pred`` (waiting for it to arrive)."""
        checked = 0
        try:
            async with asyncio.timeout(within):
                while True:
                    while checked < len(self.events):
                        if pred(checked):
                            return checked
                        checked += 1
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            got = [e.get("type") for e in self.events]
            raise AssertionError(f"{self.app}: never received {what}; received {got}") from None


@dataclass
class Replay:
    """State of one guide-scenario replay."""

    scenario: str
    sim: Simulator
    session: aiohttp.ClientSession
    rec_roles: dict[str, str] = field(default_factory=dict)
    sim_roles: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)
    compared: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    lateness: list[float] = field(default_factory=list)
    sent_at: dict[int, float] = field(default_factory=dict)

    def expected(self, records: list[Record], index: int) -> float:
        """When recorded event ``index`` should arrive in this replay (loop time).

        Measured from the client action that last preceded it, as actually sent here:
        our own scheduling delays (a slow earlier request on a loaded machine) are not
        the simulator's.
        """
        before = [i for i in self.sent_at if i < index]
        assert before, f"record {index} precedes every client action"
        i = max(before)
        sent = records[i].get("t_req", records[i]["t"])
        return self.sent_at[i] + (records[index]["t"] - sent)

    http_done: dict[int, float] = field(default_factory=dict)
    step: str = ""

    def learn_id(self, recorded: str, simulated: str) -> None:
        """Map an id Asterisk made up to the simulator's (and the Local ``;2`` half's)."""
        if recorded in self.ids or recorded == simulated:
            return
        self.ids[recorded] = simulated
        rec_base, _, rec_n = recorded.rpartition(".")
        sim_base, _, sim_n = simulated.rpartition(".")
        if rec_n.isdigit() and sim_n.isdigit() and rec_base and sim_base:
            self.ids.setdefault(f"{rec_base}.{int(rec_n) + 1}", f"{sim_base}.{int(sim_n) + 1}")

    def map_id(self, recorded: str) -> str:
        if recorded in self.ids:
            return self.ids[recorded]
        role = self.rec_roles.get(recorded)
        if role is not None:
            for sim_id, sim_role in self.sim_roles.items():
                if sim_role == role:
                    self.ids[recorded] = sim_id
                    return sim_id
        return recorded

    def note(self, where: str, diffs: list[Diff]) -> None:
        kind = where.split("] ", 1)[-1].split(" ", 1)[0]
        self.compared[kind] = self.compared.get(kind, 0) + 1
        for d in diffs:
            if not _known(self.scenario, f"{where} {d}"):
                self.diffs.append(f"{where} {d}")


def _client_of(rec: Record, driver_ids: set[str]) -> str:
    """Which recorded client sent an HTTP request: the driver or the app."""
    if rec["path"] == "/ari/channels" and rec["query"].get("app") == "driver":
        return "driver"
    parts = rec["path"].split("/")
    return "driver" if len(parts) > 3 and parts[3] in driver_ids else "app"


async def _replay_guide(scenario: str) -> Replay:
    records = load(scenario)
    ws_conn = {
        r["query"]["app"]: r["conn"] for r in records if r["kind"] == "ws_open"
    }  # app name -> recorded connection id
    conn_app = {conn: app for app, conn in ws_conn.items()}
    driver_ids = {
        r["resp_body"]["id"]
        for r in records
        if r["kind"] == "http"
        and r["method"] == "POST"
        and r["path"] == "/ari/channels"
        and r["query"].get("app") == "driver"
    }
    for r in records:
        learn_roles(r.get("resp_body"), {})
    sim_info: dict[str, Any] = {}
    async with Simulator(host="127.0.0.1", port=0) as sim:
        token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        async with aiohttp.ClientSession() as session:
            replay = Replay(scenario, sim, session)
            for r in records:
                learn_roles(r.get("resp_body"), replay.rec_roles)
                if r["kind"] == "ws_msg":
                    learn_roles(r["data"], replay.rec_roles)
            streams = {app: Stream(app) for app in ws_conn}
            async with asyncio.TaskGroup() as tg:
                sockets = {}
                for app in ws_conn:
                    sockets[app] = await session.ws_connect(
                        f"{sim.url}/ari/events",
                        params={"app": app, "api_key": f"{sim.username}:{sim.password}"},
                    )
                    tg.create_task(streams[app].pump(sockets[app]))
                try:
                    await _drive(replay, records, streams, conn_app, driver_ids, auth)
                    await _wait_trailing(replay, records, streams, conn_app)
                finally:
                    for ws in sockets.values():
                        await ws.close()
            _compare_events(replay, records, streams, conn_app)
            sim_info["stats"] = sim.stats()
    return replay


def _sim_key_index(
    replay: Replay, stream: Stream, key: tuple[str, ...], occurrence: int
) -> Callable[[int], bool]:
    """Predicate: event ``i`` is the ``occurrence``-th simulator event with ``key``."""
    seen = [0]

    def pred(i: int) -> bool:
        ev = stream.events[i]
        learn_roles(ev, replay.sim_roles)
        if event_key(ev, replay.sim_roles) == key:
            seen[0] += 1
            return seen[0] == occurrence
        return False

    return pred


async def _await_recorded_event(
    replay: Replay,
    records: list[Record],
    idx: int,
    streams: dict[str, Stream],
    conn_app: dict[int, str],
) -> float:
    """Wait for the simulator's counterpart of recorded event ``idx``; its arrival time."""
    rec = records[idx]
    app = conn_app[rec["conn"]]
    key = event_key(rec["data"], replay.rec_roles)
    occurrence = sum(
        1
        for r in records[: idx + 1]
        if r["kind"] == "ws_msg"
        and r.get("dir") == "out"
        and r["conn"] == rec["conn"]
        and event_key(r["data"], replay.rec_roles) == key
    )
    stream = streams[app]
    i = await stream.wait_for(
        _sim_key_index(replay, stream, key, occurrence), f"{key} #{occurrence}"
    )
    return stream.times[i]


async def _drive(
    replay: Replay,
    records: list[Record],
    streams: dict[str, Stream],
    conn_app: dict[int, str],
    driver_ids: set[str],
    auth: dict[str, str],
) -> None:
    loop = asyncio.get_running_loop()
    requests = sorted(
        (i for i, r in enumerate(records) if r["kind"] == "http"), key=lambda i: records[i]["t_req"]
    )
    for i in requests:
        rec = records[i]
        client = _client_of(rec, driver_ids)
        # the trigger: the latest thing this client had received before it sent the request
        trigger_time = loop.time()
        trigger_t = None
        for j in range(len(records) - 1, -1, -1):
            r = records[j]
            if r["t"] > rec["t_req"]:
                continue
            if (
                r["kind"] == "ws_msg"
                and r.get("dir") == "out"
                and conn_app.get(r["conn"]) == ("driver" if client == "driver" else "channel-aa")
            ):
                trigger_time = await _await_recorded_event(replay, records, j, streams, conn_app)
                trigger_t = r["t"]
                break
            if (
                r["kind"] == "http"
                and j in replay.http_done
                and _client_of(r, driver_ids) == client
            ):
                trigger_time = replay.http_done[j]
                trigger_t = r["t"]
                break
        if trigger_t is not None:
            delay = trigger_time + (rec["t_req"] - trigger_t) - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        replay.sent_at[i] = loop.time()
        await _issue(replay, rec, auth, i)


async def _issue(replay: Replay, rec: Record, auth: dict[str, str], index: int) -> None:
    """Send one recorded HTTP request (ids mapped) and compare the answer."""
    parts = rec["path"].split("/")
    path = "/".join(replay.map_id(p) for p in parts)
    query = {
        k: ",".join(replay.map_id(v) for v in str(v).split(",")) for k, v in rec["query"].items()
    }
    wrong = rec["status"] == 401  # the trace redacts passwords; a recorded 401 had a wrong one
    headers = dict(auth) if "Authorization" in rec["req_headers"] else {}
    if wrong and headers:
        headers["Authorization"] = "Basic " + base64.b64encode(b"asterisk:wrong").decode()
    if "api_key" in query:
        query["api_key"] = (
            "asterisk:wrong" if wrong else f"{replay.sim.username}:{replay.sim.password}"
        )
    data = None
    if rec["req_body"] is not None:
        body_text = rec["req_body"]
        data = (body_text if isinstance(body_text, str) else json.dumps(body_text)).encode()
        headers["Content-Type"] = rec["req_headers"].get("Content-Type", "application/json")
    if "Host" in rec["req_headers"]:
        headers["Host"] = rec["req_headers"]["Host"]
    async with replay.session.request(
        rec["method"], replay.sim.url + path, params=query, data=data, headers=headers
    ) as resp:
        text = await resp.text()
        status = resp.status
        headers_back = dict(resp.headers)
    replay.http_done[index] = asyncio.get_running_loop().time()
    where = f"{replay.step}http {rec['method']} {rec['path']}"
    for name, value in rec["resp_headers"].items():
        if status != rec["status"]:
            break
        got = headers_back.get(name)
        if name == "Content-Type" and got is not None:
            got = got.split(";")[0].strip()
        if name == "Location":  # /ari/playbacks/{id} of the playback just created
            value = f"{value.rpartition('/')[0]}/{json.loads(text).get('id')}"
        if got != value:
            replay.diffs.append(f"{where}: header {name} {value!r} recorded, {got!r} simulated")
    if status != rec["status"]:
        if _known(replay.scenario, where):
            replay.skipped["http"] = replay.skipped.get("http", 0) + 1
            return
        replay.diffs.append(
            f"{where}: status {rec['status']} recorded, {status} simulated ({text})"
        )
        return
    body = json.loads(text) if text else None
    if rec["path"].startswith("/ari/api-docs/") and status == 200:
        replay.skipped["docs"] = replay.skipped.get("docs", 0) + 1
        if body is not None and body.get("basePath") != rec["resp_body"].get("basePath"):
            replay.diffs.append(f"{where}: basePath {body.get('basePath')} simulated")
        return
    learn_roles(body, replay.sim_roles)
    if isinstance(rec["resp_body"], dict) and isinstance(body, dict):
        rec_id, sim_id = rec["resp_body"].get("id"), body.get("id")
        if isinstance(rec_id, str) and isinstance(sim_id, str):
            replay.learn_id(rec_id, sim_id)
    replay.note(where, compare(rec["resp_body"], body, "$", replay.ids))


async def _wait_trailing(
    replay: Replay, records: list[Record], streams: dict[str, Stream], conn_app: dict[int, str]
) -> None:
    """Wait until the simulator has sent the counterpart of every recorded event."""
    for j, r in enumerate(records):
        if r["kind"] == "ws_msg" and r.get("dir") == "out":
            await _await_recorded_event(replay, records, j, streams, conn_app)
    # and let anything extra the simulator would send arrive
    await asyncio.sleep(5)


def _compare_events(
    replay: Replay, records: list[Record], streams: dict[str, Stream], conn_app: dict[int, str]
) -> None:
    for conn, app in conn_app.items():
        recorded = [r["data"] for r in records if r["kind"] == "ws_msg" and r["conn"] == conn]
        rec_time = {
            id(r["data"]): replay.expected(records, j)
            for j, r in enumerate(records)
            if r["kind"] == "ws_msg" and r["conn"] == conn
        }
        simulated = streams[app].events
        sim_time = {id(e): t for e, t in zip(simulated, streams[app].times, strict=True)}
        for ev in simulated:
            learn_roles(ev, replay.sim_roles)
            if ev["type"] not in EVENT_MODELS or ev["type"] in NOT_SENT:
                replay.diffs.append(f"{app}: {ev['type']} is undeclared or listed as not sent")
        by_role_rec: dict[str, list[dict[str, Any]]] = {}
        by_role_sim: dict[str, list[dict[str, Any]]] = {}
        for ev in recorded:
            by_role_rec.setdefault(event_role(ev, replay.rec_roles), []).append(ev)
        for ev in simulated:
            by_role_sim.setdefault(event_role(ev, replay.sim_roles), []).append(ev)
        for role in sorted(set(by_role_rec) | set(by_role_sim)):
            rec_list = by_role_rec.get(role, [])
            sim_list = by_role_sim.get(role, [])
            rec_types = [e["type"] for e in rec_list]
            sim_types = [e["type"] for e in sim_list]
            where = f"events {app} {role or '(no channel)'}"
            if rec_types != sim_types:
                replay.diffs.append(
                    f"{where}: order\n  recorded  {rec_types}\n  simulated {sim_types}"
                )
                continue
            for n, (rec_ev, sim_ev) in enumerate(zip(rec_list, sim_list, strict=True)):
                label = f"{where} #{n} {rec_ev['type']}"
                replay.note(label, compare(rec_ev, sim_ev, "$", replay.ids))
                late = sim_time[id(sim_ev)] - rec_time[id(rec_ev)]
                replay.lateness.append(late)
                if abs(late) > TIMING_TOLERANCE:
                    replay.diffs.append(f"{label}: {late * 1000:+.0f} ms from the recorded moment")


@pytest.mark.parametrize("scenario", GUIDE_SCENARIOS)
async def test_guide_scenario_replays_like_asterisk(scenario: str) -> None:
    replay = await _replay_guide(scenario)
    records = load(scenario)
    n_http = sum(1 for r in records if r["kind"] == "http")
    n_events = sum(1 for r in records if r["kind"] == "ws_msg")
    # every request answered and every recorded event paired (api-docs are not shape-compared)
    assert not replay.diffs, f"{scenario}: {len(replay.diffs)} differences\n" + "\n".join(
        replay.diffs
    )
    skipped = replay.skipped.get("http", 0) + replay.skipped.get("docs", 0)
    assert replay.compared.get("http", 0) + skipped == n_http
    assert replay.skipped.get("http", 0) == 0  # every resource's api-docs is served
    assert replay.compared.get("events", 0) == n_events


def test_comparator_reports_shape_format_and_value_differences() -> None:
    """The harness itself can fail: each kind of difference is reported with its path."""
    recorded = {
        "type": "PlaybackStarted",
        "timestamp": "2026-11-28T04:21:53.900+0000",
        "playback": {"id": "1795839713.11", "state": "playing", "media_uri": "sound:or"},
        "channel": {"name": "Local/1000@default-00000005;2", "creationtime": "x"},
    }
    simulated = {
        "type": "PlaybackStarted",
        "timestamp": "2026-11-28 04:21:53",
        "playback": {"id": "abc", "state": "done", "media_uri": "sound:or", "extra": 1},
        "channel": {"name": "PJSIP/alice-00000001"},
    }
    found = {str(d) for d in compare(recorded, simulated)}
    assert any(d.startswith("$.timestamp:") and "format" in d for d in found)
    assert "$.playback: extra keys ['extra']" in found
    assert any(d.startswith("$.playback.state:") for d in found)
    assert any(d.startswith("$.playback.id:") for d in found)
    assert "$.channel: missing keys ['creationtime']" in found
    assert any(d.startswith("$.channel.name:") for d in found)
    assert compare(recorded, recorded) == []


# --------------------------------------------------------------------------- protocol-catalog


#: How far (seconds) from its recorded moment a replayed event may come, counted from the
#: client action that preceded it as actually sent (``Replay.expected``). On an idle
#: machine every event lands within 40 ms (Asterisk's own processing). The bound is wider
#: because the virtual clock still advances with real time while the loop works, so a
#: busy CI machine shows up as lateness; it still catches a wrong duration or timer (a
#: default 1 s sound instead of the lab's, a missed queue start).
TIMING_TOLERANCE = 0.25


async def _refused_upgrade(replay: Replay, rec: Record, auth: dict[str, str]) -> None:
    """A websocket handshake Asterisk refused: the simulator must refuse it the same way."""
    query = dict(rec["query"])
    wrong = rec["status"] == 401
    if "api_key" in query:
        query["api_key"] = (
            "asterisk:wrong" if wrong else f"{replay.sim.username}:{replay.sim.password}"
        )
    headers = dict(auth) if "Authorization" in rec["req_headers"] else {}
    where = f"{replay.step}ws upgrade {rec['path']}?{'&'.join(sorted(rec['query']))}"
    try:
        ws = await replay.session.ws_connect(
            replay.sim.url + rec["path"], params=query, headers=headers
        )
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status != rec["status"]:
            replay.diffs.append(f"{where}: status {rec['status']} recorded, {exc.status} simulated")
        replay.compared["http"] = replay.compared.get("http", 0) + 1
        return
    await ws.close()
    replay.diffs.append(f"{where}: recorded {rec['status']}, the simulator accepted the upgrade")


def _group_by_channel(replay: Replay, ev: dict[str, Any], recorded: bool) -> str:
    """The (simulator) channel id an event is about, for per-channel ordering."""
    channel = ev.get("channel") or ev.get("peer")
    ident = ""
    if isinstance(channel, dict):
        ident = str(channel.get("id", ""))
    elif isinstance(ev.get("playback"), dict):
        ident = str(ev["playback"].get("target_uri", "")).partition(":")[2]
    return replay.map_id(ident) if recorded else ident


async def _replay_catalog(sounds: Path) -> tuple[Replay, list[Record]]:
    records = load("protocol-catalog")
    loop = asyncio.get_running_loop()
    async with Simulator(
        host="127.0.0.1", port=0, dialplan=LAB_DIALPLAN, sounds_dir=make_lab_sounds(sounds)
    ) as sim:
        token = base64.b64encode(f"{sim.username}:{sim.password}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
        async with aiohttp.ClientSession() as session:
            replay = Replay("protocol-catalog", sim, session)
            streams: dict[int, Stream] = {}
            sockets: dict[int, aiohttp.ClientWebSocketResponse] = {}
            t0 = records[0].get("t_req", records[0]["t"])
            start = loop.time()
            async with asyncio.TaskGroup() as tg:
                for i, rec in enumerate(records):
                    kind = rec["kind"]
                    if kind == "mark":
                        replay.step = f"[{rec['label']}] "
                        continue
                    if kind in ("ws_msg", "ws_close") and rec.get("dir") != "in":
                        continue  # what Asterisk sent: compared afterwards
                    if kind == "ws_ctrl" or (kind == "ws_close" and rec.get("eof")):
                        continue  # pings and TCP teardown are the transport's business
                    delay = start + (rec.get("t_req", rec["t"]) - t0) - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)  # the recorded pace, on virtual time
                    conn = rec.get("conn")
                    replay.sent_at[i] = loop.time()
                    if kind == "http" and rec.get("upgrade") == "websocket":
                        await _refused_upgrade(replay, rec, auth)
                    elif kind == "http":
                        await _issue(replay, rec, auth, i)
                    elif kind == "ws_open":
                        assert isinstance(conn, int)
                        query = dict(rec["query"])
                        if "api_key" in query:
                            query["api_key"] = f"{sim.username}:{sim.password}"
                        headers = dict(auth) if "Authorization" in rec["req_headers"] else {}
                        if "Host" in rec["req_headers"]:
                            headers["Host"] = rec["req_headers"]["Host"]
                        sockets[conn] = await session.ws_connect(
                            f"{sim.url}/ari/events", params=query, headers=headers
                        )
                        streams[conn] = Stream(query["app"])
                        tg.create_task(streams[conn].pump(sockets[conn]))
                    elif kind == "ws_msg":
                        assert isinstance(conn, int)
                        text = rec["text"] if "text" in rec else json.dumps(rec["data"])
                        await sockets[conn].send_str(text)
                    elif kind == "ws_close":
                        assert isinstance(conn, int)
                        await sockets[conn].close()
                await asyncio.sleep(5)
                for ws in sockets.values():
                    await ws.close()
            replay.step = ""
            _compare_catalog_events(replay, records, streams)
    return replay, records


def _compare_catalog_events(
    replay: Replay, records: list[Record], streams: dict[int, Stream]
) -> None:
    """Per websocket and channel: order, then each event (shape and when it came).

    Each event must come within :data:`TIMING_TOLERANCE` of when Asterisk sent it,
    counted from the client action that preceded it (:meth:`Replay.expected`).
    """
    step = ""
    recorded_by_conn: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    rec_time: dict[int, float] = {}
    for j, rec in enumerate(records):
        if rec["kind"] == "mark":
            step = rec["label"]
        elif rec["kind"] == "ws_msg" and rec.get("dir") == "out":
            recorded_by_conn.setdefault(rec["conn"], []).append((step, rec["data"]))
            rec_time[id(rec["data"])] = replay.expected(records, j)
    for conn, stream in streams.items():
        for ev in stream.events:
            if ev["type"] not in EVENT_MODELS or ev["type"] in NOT_SENT:
                replay.diffs.append(f"{stream.app}: {ev['type']} undeclared or listed as not sent")
        rec_groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        sim_groups: dict[str, list[dict[str, Any]]] = {}
        for step, ev in recorded_by_conn.get(conn, []):
            rec_groups.setdefault(_group_by_channel(replay, ev, True), []).append((step, ev))
        sim_time = {id(ev): t for ev, t in zip(stream.events, stream.times, strict=True)}
        for ev in stream.events:
            sim_groups.setdefault(_group_by_channel(replay, ev, False), []).append(ev)
        for group in sorted(set(rec_groups) | set(sim_groups)):
            rec_list = rec_groups.get(group, [])
            sim_list = sim_groups.get(group, [])
            where = f"events {stream.app} {group or '(no channel)'}"
            rec_types = [ev["type"] for _, ev in rec_list]
            sim_types = [ev["type"] for ev in sim_list]
            if rec_types != sim_types:
                first = next(
                    (
                        n
                        for n, pair in enumerate(zip(rec_types, sim_types, strict=False))
                        if pair[0] != pair[1]
                    ),
                    min(len(rec_types), len(sim_types)),
                )
                step = rec_list[first][0] if first < len(rec_list) else rec_list[-1][0]
                if _known(replay.scenario, f"[{step}] {where}: order"):
                    replay.skipped["events"] = replay.skipped.get("events", 0) + len(
                        rec_list[first:]
                    )
                else:
                    replay.diffs.append(
                        f"[{step}] {where}: order differs from #{first}\n"
                        f"  recorded  {rec_types[first:]}\n  simulated {sim_types[first:]}"
                    )
                # the events before the first difference are still compared one by one
                rec_list, sim_list = rec_list[:first], sim_list[:first]
            for n, ((step, rec_ev), sim_ev) in enumerate(zip(rec_list, sim_list, strict=True)):
                label = f"[{step}] {where} #{n} {rec_ev['type']}"
                replay.note(label, compare(rec_ev, sim_ev, "$", replay.ids))
                late = sim_time[id(sim_ev)] - rec_time[id(rec_ev)]
                replay.lateness.append(late)
                if abs(late) > TIMING_TOLERANCE and not _known(replay.scenario, f"{label} time"):
                    replay.diffs.append(f"{label}: {late * 1000:+.0f} ms from the recorded moment")


async def test_protocol_catalog_replays_like_asterisk(tmp_path: Path) -> None:
    replay, records = await _replay_catalog(tmp_path / "sounds")
    assert not replay.diffs, f"protocol-catalog: {len(replay.diffs)} differences\n" + "\n".join(
        replay.diffs
    )
    # every request and every recorded event was compared, except the api-docs documents
    # (compared in test_apidocs.py) and what KNOWN_DIFFERENCES lists
    http = sum(1 for r in records if r["kind"] == "http")
    assert replay.compared["http"] + replay.skipped["http"] + replay.skipped["docs"] == http
    # 2 stale 409s
    assert replay.skipped["http"] == 2
    out = sum(1 for r in records if r["kind"] == "ws_msg" and r.get("dir") == "out")
    assert replay.compared["events"] + replay.skipped["events"] == out
    # 21 of the two StasisBroadcast calls whose CallBroadcast overtook their dialplan
    # events (bus order), 4 of cat-ch1 from its step-64 ChannelCallerId (timing) on
    assert replay.skipped["events"] == 25, replay.skipped
    # every event came within TIMING_TOLERANCE of its recorded moment (one listed exception)
    assert len(replay.lateness) == replay.compared["events"]
    assert sorted(abs(x) for x in replay.lateness)[-2] <= TIMING_TOLERANCE
    stale = [k[1] for k in KNOWN_DIFFERENCES if k[0] == "protocol-catalog" and k not in _USED]
    assert not stale, f"KNOWN_DIFFERENCES entries that no longer match anything: {stale}"
