"""Bad input on every resource: Asterisk's status codes and exact messages (traces).

After all of it the simulator must still be serving and hold no leaked call.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from _simari import ari_session

from ivrkit.sim import Simulator
from ivrkit.sim.front._dispatch import dispatch
from ivrkit.sim.model._model import SimModel

PLAN = {"default": {"1002": ["NoOp()", "Stasis(cat,foo,bar)", "Hangup()"]}}

# (method, path, query, status, body); c1/c1b: a Local pair, c1b in Stasis(cat), c1 Down
CASES: list[tuple[str, str, dict[str, str], int, Any]] = [
    ("GET", "no/such/path", {}, 404, {"message": "Resource not found"}),
    ("PUT", "channels", {}, 405, {"message": "Invalid method"}),
    ("GET", "channels/c1b/play", {}, 405, {"message": "Invalid method"}),
    ("GET", "channels/nope", {}, 404, {"message": "Channel not found"}),
    ("POST", "channels", {"app": "cat"}, 400, {"message": "Endpoint must be specified"}),
    (
        "POST",
        "channels",
        {"endpoint": "Local/1002@default"},
        400,
        {"message": "Application or extension must be specified"},
    ),
    (
        "POST",
        "channels",
        {"endpoint": "nonsense", "app": "cat"},
        400,
        {"message": "Invalid endpoint specified"},
    ),
    (
        "POST",
        "channels",
        {"endpoint": "Bogus/x", "app": "cat"},
        500,
        {"error": "Allocation failed"},
    ),
    (
        "POST",
        "channels",
        {"endpoint": "SIP/nobody", "app": "cat"},
        500,
        {"error": "Allocation failed"},
    ),
    (
        "POST",
        "channels",
        {"endpoint": "Local/1002@default", "app": "cat", "channelId": "c1"},
        409,
        {"message": "Channel with given unique ID already exists"},
    ),
    (
        "DELETE",
        "channels/c1b",
        {"reason": "nonsense"},
        400,
        {"message": "Invalid reason for hangup reason provided"},
    ),
    ("DELETE", "channels/nope", {}, 404, {"message": "Channel not found"}),
    (
        "POST",
        "channels/c1b/mute",
        {"direction": "sideways"},
        400,
        {"message": "Invalid direction specified"},
    ),
    ("GET", "channels/c1b/variable", {}, 400, {"message": "Variable name is required"}),
    (
        "GET",
        "channels/c1b/variable",
        {"variable": "NOT_SET"},
        404,
        {"message": "Provided variable was not found"},
    ),
    ("GET", "channels/c1b/variable", {"variable": "CALLERID(num)"}, 200, {"value": "100"}),
    (
        "POST",
        "channels/nope/play",
        {"media": "sound:press-1"},
        404,
        {"message": "Channel not found"},
    ),
    ("POST", "channels/c1b/play", {}, 500, {"message": "Failed to queue media for playback"}),
    (
        "POST",
        "channels/c1/play",
        {"media": "sound:x"},
        409,
        {"message": "Channel not in Stasis application"},
    ),
    (
        "POST",
        "channels/c1/dtmf",
        {"dtmf": "1"},
        409,
        {"message": "Channel not in Stasis application"},
    ),
    ("POST", "channels/c1b/dtmf", {}, 400, {"message": "DTMF is required"}),
    ("POST", "channels/c1b/dtmf", {"dtmf": "XYZ", "duration": "abc"}, 204, None),
    ("POST", "channels/c1/continue", {}, 409, {"message": "Channel not in Stasis application"}),
    ("POST", "channels/c1/answer", {}, 409, {"message": "Channel not in Stasis application"}),
    ("GET", "playbacks/nope", {}, 404, {"message": "Playback not found"}),
    ("DELETE", "playbacks/nope", {}, 404, {"message": "Playback not found"}),
    (
        "POST",
        "playbacks/nope/control",
        {"operation": "pause"},
        404,
        {"message": "Playback not found"},
    ),
    (
        "POST",
        "bridges",
        {"type": "nonsense"},
        500,
        {"message": "Unable to create bridge. Possible duplicate bridge id '(null)'"},
    ),
    ("GET", "bridges/nope", {}, 404, {"message": "Bridge not found"}),
    ("DELETE", "bridges/nope", {}, 404, {"message": "Bridge not found"}),
    ("POST", "bridges/nope/addChannel", {"channel": "c1b"}, 404, {"message": "Bridge not found"}),
    ("POST", "bridges/br/addChannel", {}, 400, {"message": "Missing parameter channel"}),
    ("POST", "bridges/br/addChannel", {"channel": "nope"}, 400, {"message": "Channel not found"}),
    (
        "POST",
        "bridges/br/addChannel",
        {"channel": "c1"},
        422,
        {"message": "Channel not in Stasis application"},
    ),
    (
        "POST",
        "bridges/br/removeChannel",
        {"channel": "c1b"},
        422,
        {"message": "Channel not in this bridge"},
    ),
    ("POST", "bridges/nope/play", {"media": "sound:x"}, 404, {"message": "Bridge not found"}),
    ("POST", "events/user/ev", {}, 400, {"message": "Missing parameter application"}),
    ("POST", "events/user/ev", {"application": "nope"}, 404, {"message": "Application not found"}),
    ("GET", "applications/nope", {}, 404, {"message": "Application not found"}),
    ("GET", "asterisk/variable", {}, 400, {"message": "Variable name is required"}),
    ("GET", "asterisk/variable", {"variable": "UNSET"}, 200, {"value": ""}),
    ("GET", "sounds/no-such-sound", {}, 404, {"message": "Sound not found"}),
    (
        "GET",
        "sounds",
        {"lang": "en", "format": "wav"},
        404,
        {"message": "No sounds found that matched the query"},
    ),
]


async def test_bad_input_answers_like_asterisk_and_leaks_nothing() -> None:
    async with Simulator(dialplan=PLAN) as sim, ari_session(sim) as ari, ari.events("cat") as ev:
        await sim.wait_for_app("cat")
        params = {"endpoint": "Local/1002@default", "app": "cat", "callerId": "Alice <100>"}
        status, _ = await ari.req(
            "POST", "channels", {**params, "channelId": "c1", "otherChannelId": "c1b"}
        )
        assert status == 200
        await ev.next("StasisStart")
        assert (await ari.req("POST", "bridges/br"))[0] == 200
        failures = []
        for method, path, query, want_status, want_body in CASES:
            got = await ari.req(method, path, query)
            if got != (want_status, want_body):
                failures.append((method, path, query, got))
        assert failures == []
        malformed = await ari.req(
            "POST",
            "bridges/b9",
            {"type": "mixing"},
            data=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert malformed == (400, {"message": "Error parsing request body"})
        phrases = [
            ("GET", "channels/c1b/variable?variable=NOPE", "Variable Not Found"),
            ("DELETE", "channels/c1b?reason=nonsense", "Invalid Reason"),
            ("POST", "bridges?type=nonsense", "Internal Error"),
            ("DELETE", "bridges/nope", "Not found"),
            ("GET", "bridges/nope", "Not Found"),
        ]
        for method, path, phrase in phrases:
            async with ari.session.request(method, f"{sim.ari_url}/{path}") as resp:
                assert resp.reason == phrase, path
        assert (await ari.req("DELETE", "channels/c1b"))[0] == 204
        assert (await ari.req("DELETE", "channels/c1b"))[0] == 404
        assert (await ari.req("DELETE", "bridges/br"))[0] == 204
        assert sim.stats() == {
            "channels": 0,
            "playbacks": 0,
            "bridges": 0,
            "timers": 0,
            "websockets": 1,
        }


class _Clock:
    def time(self) -> float:
        return 0.0

    def call_at(self, when: float, callback: Any, *args: Any) -> Any:
        class H:
            def cancel(self) -> None:
                pass

        return H()


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_SEGMENTS = st.sampled_from(
    [
        "channels",
        "bridges",
        "playbacks",
        "x",
        "c1",
        "play",
        "dtmf",
        "variable",
        "control",
        "addChannel",
        "applications",
        "sounds",
        "asterisk",
        "info",
        "events",
        "user",
        "",
        "%",
        "..",
    ]
)


@hypothesis.settings(max_examples=150, deadline=None)
@hypothesis.given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "BREW"]),
    segments=st.lists(_SEGMENTS, max_size=4),
    query=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "media",
                    "dtmf",
                    "channel",
                    "operation",
                    "endpoint",
                    "app",
                    "timeout",
                    "variable",
                    "reason",
                    "type",
                    "only",
                    "eventSource",
                ]
            ),
            st.text(max_size=8),
        ),
        max_size=4,
    ),
    body=st.one_of(st.none(), st.binary(max_size=20), st.just(b'{"variables": 3}')),
)
def test_dispatch_never_crashes(
    method: str, segments: list[str], query: list[tuple[str, str]], body: bytes | None
) -> None:
    """Random requests get an ARI answer (never the internal-error fallback)."""
    model = SimModel(_Clock())
    resp = dispatch(model, method, "/".join(segments), query, body, "application/json")
    assert resp.status in (200, 201, 204, 400, 404, 405, 409, 422, 500)
    if resp.status == 500:
        assert resp.body != {"message": "Internal simulator error"}
    json.dumps(resp.body)
