"""The guide's JavaScript attendant, unmodified, against ``ivrkit sim`` (issue 5, part 2).

``../shared/seed/channel-aa.js`` (a copy whose only change is its URL) runs on the pinned
official client (ari-client 2.2.0) against ``ivrkit sim`` on a free port, while something
else holds 127.0.0.1:8088 as a developer's own Asterisk would; a scripted phone presses 1, 2 and 8,
stays silent past the app's 10 s timer and hangs up (the guide's "channel-aa.js in
action"); in a second scenario it hangs up during the first ``press-1``, and in a third
it presses keys during the prompts that answer a key (type-ahead). The Python
attendant (``ivrkit run``) serves the same scripts through the same helper
(``_flows.run_flow``), so that the media the phone heard can be compared. What is
compared and why: docs/interop.md. Every difference the comparison allows is a named
constant below with its reason; nothing is compared loosely.

These tests take real time (the app's timer is JavaScript's ``setTimeout``): about a
minute for the six flows, each run once per module.
"""

from __future__ import annotations

import errno
import json
import socket
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _flows import (
    GUIDE_JS,
    GUIDE_MD,
    GUIDE_URL,
    TRACES,
    Flow,
    HeardItem,
    guide_js_copy,
    node_app,
    python_app,
    run_flow,
)

pytestmark = [pytest.mark.realtime, pytest.mark.slow]

# ------------------------------------------------------------------ the caller scripts

#: The guide's scenario, paced like the recording's driver (asterisk-traces
#: guide-js-1-2-8-timeout): each key 0.3 s into a fresh press-1, so the key always cuts
#: the menu and never an after-key prompt; then silence until the 10 s timer has played
#: are-you-still-there and the menu again, and a hang-up 1 s into that press-1. The last
#: wait keeps the simulator up while the apps settle and the test asks what is left.
GUIDE_SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
wait_for_app: channel-aa
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "1"
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "2"
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "8"
  - wait_for: sound:press-1
  - wait_for: sound:are-you-still-there
  - wait_for: sound:press-1
  - wait: 1
  - hangup
  - wait_for_hangup
  - wait: 1.5
"""

#: The caller hangs up 0.5 s into the first press-1 (asterisk-traces
#: guide-js-hangup-during-prompt).
HANGUP_SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
wait_for_app: channel-aa
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - wait: 0.5
  - hangup
  - wait_for_hangup
  - wait: 1.5
"""

#: A key during the after-key prompts: 2 while "you entered" (for 1) plays, then a
#: hang-up 0.3 s into the menu that follows.
TYPE_AHEAD_SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
wait_for_app: channel-aa
step_timeout: 30
steps:
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "1"
  - wait_for: sound:you-entered
  - wait: 0.3
  - press: "2"
  - wait_for: sound:press-1
  - wait: 0.3
  - hangup
  - wait_for_hangup
  - wait: 1.5
"""

CHANNEL = "PJSIP/alice-00000001"

# ------------------------------------------------------------------ named differences

#: The Node client prints this once while it reads the simulator's Swagger 1.1
#: description, as it does against Asterisk 20 (asterisk-traces *.stdout.txt: the same
#: three lines, console.log of a one-element array). It is the client's, not the app's.
SWAGGER_WARNING = [
    "[",
    "  'This API is using a deprecated version of Swagger!  Please see "
    "http://github.com/wordnik/swagger-core/wiki for more info'",
    "]",
]

#: guide line -> (what channel-aa.js prints instead, the line of its code that does, why)
TRANSCRIPT_DIFFERENCES: dict[str, tuple[str, str, str]] = {
    f"{CHANNEL} has left the application": (
        f"Channel {CHANNEL} has left the application",
        "console.log('Channel %s has left the application', channel.name);",
        "the guide's printed output drops 'Channel' from the last line, but the code it "
        "ships logs it in stasisEnd(), and printed it against a real Asterisk 20.20.1 "
        "(asterisk-traces/guide-js-1-2-8-timeout.stdout.txt); ivrkit run prints the "
        "guide's form (its menu file holds the guide's wording)",
    ),
}

#: (scenario, index in heard, node's (media, outcome), python's, why). Empty: in every
#: scenario the phone hears the same from both. Where the two designs could part, they
#: agree: channel-aa.js queues you-entered and the digit at once and ivrkit plays them
#: one after the other; a key during those after-key prompts is, in channel-aa.js,
#: handled after them (its cancelMenu only stops the restarted menu's queued press-1)
#: and, in ivrkit, kept as type-ahead, which then skips the greeting (scenario
#: "type-ahead"); both replay the whole menu after option-is-invalid and
#: are-you-still-there (no re-greeting in the attendant's menu file).
MEDIA_DIFFERENCES: list[tuple[str, int, tuple[str, str], tuple[str, str], str]] = []

#: how far apart (seconds) the two apps may start the same media item, counted from the
#: call's first prompt: both run against the same simulator clock, so only process
#: scheduling separates them (measured: within 10 ms on an idle machine)
START_TOLERANCE = 0.5

#: Requests in the recordings made by the lab's caller (proxy/driver.py, app ``driver``),
#: not by channel-aa.js: here the phone is the simulator's own, so they do not occur.
DRIVER_REQUESTS = {
    ("POST", "/ari/channels"),  # originate Local/1000@default
    ("POST", "/ari/channels/{id}/dtmf"),
    ("DELETE", "/ari/channels/{id}"),
}

#: answers that mean "the simulator has no such route" (Asterisk's own wording for an
#: unknown path and a known path with the wrong method); 501 = not implemented
UNSERVED = {(404, "Resource not found"), (405, "Invalid method")}


# ------------------------------------------------------------------ the flows (each runs once)


@pytest.fixture(scope="module")
def port_8088() -> Iterator[bool]:
    """Keep 127.0.0.1:8088 taken for the whole module, where a real Asterisk would listen.

    If the bind fails, something else (an Asterisk, another run of this module) already
    listens there, which is the very condition the flows must survive. Yields whether
    the module holds the port itself.
    """
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ours = True
    try:
        squatter.bind(("127.0.0.1", 8088))
        squatter.listen()
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        ours = False
    try:
        yield ours
    finally:
        squatter.close()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("interop")


@pytest.fixture(scope="module")
def node_guide(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(node_app(), GUIDE_SCRIPT, workdir / "node-guide")


@pytest.fixture(scope="module")
def python_guide(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(python_app(), GUIDE_SCRIPT, workdir / "python-guide")


@pytest.fixture(scope="module")
def node_hangup(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(node_app(), HANGUP_SCRIPT, workdir / "node-hangup")


@pytest.fixture(scope="module")
def python_hangup(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(python_app(), HANGUP_SCRIPT, workdir / "python-hangup")


@pytest.fixture(scope="module")
def node_type_ahead(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(node_app(), TYPE_AHEAD_SCRIPT, workdir / "node-type-ahead")


@pytest.fixture(scope="module")
def python_type_ahead(port_8088: bool, workdir: Path) -> Flow:
    return run_flow(python_app(), TYPE_AHEAD_SCRIPT, workdir / "python-type-ahead")


# ------------------------------------------------------------------ helpers


def guide_transcript() -> list[str]:
    """The lines under "channel-aa.js in action" in the guide."""
    text = GUIDE_MD.read_text(encoding="utf-8")
    section = text.split("### channel-aa.js in action", 1)[1]
    block = section.split("```", 2)[1]
    return [line.strip() for line in block.splitlines() if line.strip()]


def app_lines(flow: Flow) -> list[str]:
    """The app's stdout with the client's Swagger warning (if printed) set aside."""
    lines = list(flow.transcript)
    for i in range(len(lines) - len(SWAGGER_WARNING) + 1):
        if lines[i : i + len(SWAGGER_WARNING)] == SWAGGER_WARNING:
            del lines[i : i + len(SWAGGER_WARNING)]
            break
    return lines


def media(flow: Flow) -> list[tuple[str, str]]:
    return [(h.media, h.outcome) for h in flow.heard]


def offsets(heard: list[HeardItem]) -> list[float]:
    return [round(h.start - heard[0].start, 3) for h in heard]


def route(path: str) -> str:
    """``/ari/channels/1795.5/play`` -> ``/ari/channels/{id}/play`` (ids vary per run)."""
    parts = path.split("/")
    for i in range(1, len(parts)):
        if parts[i - 1] in ("channels", "playbacks", "bridges") and parts[i]:
            parts[i] = "{id}"
    return "/".join(parts)


#: method, route, query keys, auth kind, Content-Type sent, a body sent, status
Signature = tuple[str, str, tuple[str, ...], str, str | None, bool, int]


def signature(record: dict[str, Any]) -> Signature:
    return (
        record["method"],
        route(record["path"]),
        tuple(record["query"]),
        record["auth"],
        record.get("content_type"),
        record.get("body", False),
        record["status"],
    )


def recorded_app_requests(name: str) -> Counter[Signature]:
    """What channel-aa.js asked a real Asterisk 20.20.1 in a recording, with the status."""
    out: Counter[Signature] = Counter()
    for raw in (TRACES / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(raw)
        if rec["kind"] not in ("http", "ws_open"):
            continue
        query = rec.get("query") or {}
        if rec["kind"] == "ws_open" and query.get("app") != "channel-aa":
            continue  # the driver's own events socket
        if (rec.get("method", "GET"), route(rec["path"])) in DRIVER_REQUESTS:
            continue
        headers = rec.get("req_headers") or {}
        auth = (
            "basic" if headers.get("Authorization") else "api_key" if "api_key" in query else "none"
        )
        body = rec.get("req_body") not in (None, "")
        sig = (rec.get("method", "GET"), route(rec["path"]), tuple(sorted(query)), auth)
        out[(*sig, headers.get("Content-Type"), body, rec["status"])] += 1
    return out


def own_requests(flow: Flow) -> list[dict[str, Any]]:
    """The access log without the test's own leftover queries (the only api_key REST)."""
    return [
        r
        for r in flow.requests
        if not (r["path"] in ("/ari/channels", "/ari/bridges") and r["auth"] == "api_key")
    ]


def assert_all_served(flow: Flow) -> None:
    unserved = [
        f"{r['method']} {r['path']} -> {r['status']} {r.get('error', '')}"
        for r in own_requests(flow)
        if r["status"] == 501 or (r["status"], r.get("error")) in UNSERVED
    ]
    assert not unserved, f"{flow.app} made requests the simulator could not serve: {unserved}"


def assert_one_app_socket(flow: Flow) -> None:
    sockets = [r for r in flow.requests if r["path"] == "/ari/events"]
    assert len(sockets) == 1, (
        f"expected one events websocket (from {flow.app}), got {len(sockets)}: another "
        f"process connected to {flow.url} as an ARI app"
    )


# ------------------------------------------------------------------ (a) the transcript


def test_node_transcript_is_the_guides_line_for_line(node_guide: Flow) -> None:
    guide = guide_transcript()
    for line, (printed, source, _why) in TRANSCRIPT_DIFFERENCES.items():
        # a named difference must still be real: in the guide's output and in its code
        assert line in guide, f"stale TRANSCRIPT_DIFFERENCES entry: {line!r} not in the guide"
        assert source in GUIDE_JS.read_text(encoding="utf-8"), f"stale entry for {printed!r}"
    expected = [TRANSCRIPT_DIFFERENCES.get(line, (line, ""))[0] for line in guide]
    assert app_lines(node_guide) == expected, node_guide.describe()
    assert node_guide.app_stderr.strip() == "", node_guide.describe()


def test_python_attendant_prints_the_guides_transcript(python_guide: Flow) -> None:
    assert python_guide.transcript == guide_transcript(), python_guide.describe()


def as_the_guide_prints(lines: list[str]) -> list[str]:
    """channel-aa.js's lines with each named difference turned back into the guide's."""
    back = {printed: line for line, (printed, _code, _why) in TRANSCRIPT_DIFFERENCES.items()}
    return [back.get(line, line) for line in lines]


# ------------------------------------------------------------------ (b) what the phone heard

SCENARIOS = ["guide", "hangup", "type_ahead"]


def assert_same_media(scenario: str, node: Flow, python: Flow) -> None:
    expected = media(node)
    for name, index, node_item, python_item, _why in MEDIA_DIFFERENCES:
        if name == scenario:
            assert expected[index] == node_item, f"stale MEDIA_DIFFERENCES entry {index}"
            expected[index] = python_item
    assert media(python) == expected, f"node heard {media(node)}\npython heard {media(python)}"
    gaps = [
        (h.media, n, p)
        for h, n, p in zip(node.heard, offsets(node.heard), offsets(python.heard), strict=True)
        if abs(n - p) > START_TOLERANCE
    ]
    assert not gaps, f"media started at different moments (media, node s, python s): {gaps}"


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_both_apps_say_and_play_the_same(scenario: str, request: pytest.FixtureRequest) -> None:
    """Same media, same outcomes, same moments; same transcript up to the named lines."""
    node: Flow = request.getfixturevalue(f"node_{scenario}")
    python: Flow = request.getfixturevalue(f"python_{scenario}")
    assert as_the_guide_prints(app_lines(node)) == python.transcript, (
        f"{node.describe()}\n{python.describe()}"
    )
    assert_same_media(scenario, node, python)


def test_guide_scenario_media(node_guide: Flow) -> None:
    assert media(node_guide) == [
        ("sound:press-1", "cut off"),  # 1
        ("sound:you-entered", "finished"),
        ("digits:1", "finished"),
        ("sound:press-1", "cut off"),  # 2
        ("sound:you-entered", "finished"),
        ("digits:2", "finished"),
        ("sound:press-1", "cut off"),  # 8
        ("sound:option-is-invalid", "finished"),
        ("sound:press-1", "finished"),  # the whole menu, then 10 s of silence
        ("sound:or", "finished"),
        ("sound:press-2", "finished"),
        ("sound:are-you-still-there", "finished"),
        ("sound:press-1", "cut off"),  # the caller hangs up
    ], node_guide.describe()
    timer = node_guide.heard[11].start - node_guide.heard[10].end  # type: ignore[operator]
    assert 9.9 <= timer <= 10.5, f"channel-aa.js's 10 s timer took {timer:.3f} s"


def test_type_ahead_scenario_media(node_type_ahead: Flow) -> None:
    assert media(node_type_ahead) == [
        ("sound:press-1", "cut off"),  # 1
        ("sound:you-entered", "finished"),  # 2 pressed here: the prompts play on
        ("digits:1", "finished"),
        ("sound:you-entered", "finished"),  # then 2 is handled; no menu in between
        ("digits:2", "finished"),
        ("sound:press-1", "cut off"),  # the caller hangs up
    ], node_type_ahead.describe()


# ------------------------------------------------------------------ (c) every request served


@pytest.mark.parametrize(
    ("scenario", "recording"),
    [("guide", "guide-js-1-2-8-timeout"), ("hangup", "guide-js-hangup-during-prompt")],
)
def test_every_node_request_was_served_as_asterisk_would(
    scenario: str, recording: str, request: pytest.FixtureRequest
) -> None:
    """Same requests, same answers, as often as against the real Asterisk.

    Compared as a multiset of (method, route, query keys, auth kind, Content-Type, body
    or not, status): ids differ per run and requests sent at the same moment may cross,
    but the guide's code is deterministic given the events, so each kind of request and
    answer must occur as many times as in the recording of the same scenario.
    """
    flow: Flow = request.getfixturevalue(f"node_{scenario}")
    assert_all_served(flow)
    assert_one_app_socket(flow)
    made = Counter(signature(r) for r in own_requests(flow))
    recorded = recorded_app_requests(recording)
    assert made - recorded == Counter(), "answers Asterisk did not give channel-aa.js"
    assert recorded - made == Counter(), "requests channel-aa.js made only against Asterisk"


@pytest.mark.parametrize(
    ("app", "scenario"),
    [("node", "type_ahead"), *(("python", scenario) for scenario in SCENARIOS)],
)
def test_other_flows_made_only_served_requests(
    app: str, scenario: str, request: pytest.FixtureRequest
) -> None:
    flow: Flow = request.getfixturevalue(f"{app}_{scenario}")
    assert_all_served(flow)
    assert_one_app_socket(flow)


# ------------------------------------------------------------------ (d) hang-up mid-prompt


@pytest.mark.parametrize("app", ["node", "python"])
def test_hangup_during_press_1_leaves_nothing(app: str, request: pytest.FixtureRequest) -> None:
    flow: Flow = request.getfixturevalue(f"{app}_hangup")
    assert media(flow) == [("sound:press-1", "cut off")], flow.describe()
    assert as_the_guide_prints(app_lines(flow)) == [
        f"Channel {CHANNEL} has entered the application",
        f"{CHANNEL} has left the application",
    ], flow.describe()
    assert (flow.channels_after, flow.bridges_after) == ([], [])
    assert flow.left_after == {
        "channels": 0,
        "playbacks": 0,
        "bridges": 0,
        "timers": 0,
        "websockets": 1,  # the app is still connected, and nothing else
    }


@pytest.mark.parametrize("app", ["node", "python"])
@pytest.mark.parametrize("scenario", ["guide", "type_ahead"])
def test_other_scenarios_leave_nothing(
    app: str, scenario: str, request: pytest.FixtureRequest
) -> None:
    flow: Flow = request.getfixturevalue(f"{app}_{scenario}")
    assert (flow.channels_after, flow.bridges_after) == ([], [])
    left = {k: v for k, v in flow.left_after.items() if k != "websockets"}
    assert left == {"channels": 0, "playbacks": 0, "bridges": 0, "timers": 0}


# ------------------------------------------------------------------ how it fails


def test_an_unserved_request_fails_naming_method_and_path() -> None:
    flow = Flow("channel-aa.js")
    flow.requests = [
        {"method": "DELETE", "path": "/ari/playbacks/p1", "query": [], "auth": "basic"}
        | {"status": 404, "error": "Playback not found"},  # gone: Asterisk answers so too
        {"method": "GET", "path": "/ari/endpoints", "query": [], "auth": "basic"}
        | {"status": 404, "error": "Resource not found"},
    ]
    with pytest.raises(AssertionError, match=r"GET /ari/endpoints -> 404 Resource not found"):
        assert_all_served(flow)


def test_without_node_the_test_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"Node\.js is required.*make node"):
        node_app()


# ------------------------------------------------------------------ no fixed port (issue 11)


def test_flows_ran_on_a_free_port_while_8088_was_taken(node_guide: Flow, port_8088: bool) -> None:
    if port_8088:  # ours: still listening (else someone else held it when the module began)
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            with pytest.raises(OSError, match="in use"):
                probe.bind(("127.0.0.1", 8088))
        finally:
            probe.close()
    assert node_guide.url.startswith("http://127.0.0.1:")
    assert not node_guide.url.endswith(":8088"), node_guide.url


def test_the_node_app_is_the_guides_file_but_for_its_url(tmp_path: Path) -> None:
    copy = guide_js_copy("http://127.0.0.1:41234", tmp_path)
    original = GUIDE_JS.read_text(encoding="utf-8").splitlines()
    changed = copy.read_text(encoding="utf-8").splitlines()
    assert len(original) == len(changed)
    diffs = [(a, b) for a, b in zip(original, changed, strict=True) if a != b]
    assert diffs == [(a, a.replace(GUIDE_URL, "http://127.0.0.1:41234")) for a, _ in diffs]
    assert len(diffs) == 1
    assert "ari.connect(" in diffs[0][1]
