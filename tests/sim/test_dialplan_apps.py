"""The dialplan applications the simulator runs, as Asterisk 20.20.1 runs them.

Sources: ``main/pbx_builtins.c`` (Goto, GotoIf, GotoIfTime, Answer, Hangup, Busy),
``main/pbx_variables.c`` (``${}`` substitution, substrings), ``main/ast_expr2.y`` (``$[]``),
``main/pbx_timing.c`` (time specs), ``apps/app_playback.c``, ``apps/app_dial.c`` (DIALSTATUS,
Dial events with the caller), ``main/pbx.c`` (``pbx_findapp``: an application the
simulator does not know is refused when the dialplan loads, never skipped).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from _simari import Ari, ari_session, eventually

from ivrkit.sim import Caller, DialplanError, Simulator
from ivrkit.sim.model._expr import check_condition, evaluate, substitute, timing_matches


def test_unknown_applications_are_refused_at_load_naming_them() -> None:
    with pytest.raises(
        DialplanError, match=r"unknown dialplan application 'Playbak' at default,1,2"
    ):
        Simulator(dialplan={"default": {"1": ["Answer()", "Playbak(hello)"]}})
    # names are case-insensitive, as pbx_findapp compares them
    Simulator(dialplan={"default": {"1": ["answer()", "GOTOIF(1?2)", "noop()"]}})


def test_expressions_as_ast_expr2_evaluates_them() -> None:
    assert evaluate("1 + 2 * 3") == "7"
    assert evaluate("(1 + 2) * 3") == "9"
    assert evaluate('"abc" = "abc"') == "1"
    assert evaluate("10 > 9") == "1"  # numeric when both are numbers
    assert evaluate("abc < abd") == "1"  # else a string comparison
    assert evaluate("5 / 2") == "2.5"
    assert evaluate("0 | fallback") == "fallback"
    assert evaluate("x & 0") == "0"
    assert evaluate("!0") == "1"
    assert evaluate("1 ? yes :: no") == "yes"
    assert evaluate("12345 : 12") == "2"  # anchored match length
    assert evaluate('"abc123" : "[a-z]*([0-9]*)"') == "123"  # a group returns what it matched
    assert evaluate("1 +") == ""  # a syntax error substitutes nothing
    lookup = {"X": "1", "NAME": "Alice", "CALLERID(num)": "100"}.get
    assert substitute("${NAME:1:3}-${NAME:-2}", lambda n: lookup(n) or "") == "lic-ce"
    assert substitute('$["${X}" = "1"]', lambda n: lookup(n) or "") == "1"
    assert substitute("${CALLERID(num)}", lambda n: lookup(n) or "") == "100"
    # pbx_checkcondition: "" false, a number its value, other text true
    assert [check_condition(c) for c in ("", "0", "1", "0.5", "abc")] == [
        False,
        False,
        True,
        False,
        True,
    ]


def test_time_specs_as_pbx_timing_builds_them() -> None:
    monday_noon = datetime(2026, 11, 30, 12, 0, tzinfo=UTC).timestamp()
    assert timing_matches("09:00-17:00,mon-fri,*,*,UTC", monday_noon)
    assert not timing_matches("09:00-11:59,mon-fri,*,*,UTC", monday_noon)
    assert timing_matches("09:00-12:00,*,*,*,UTC", monday_noon)  # the end minute counts
    assert not timing_matches("*,sat&sun,*,*,UTC", monday_noon)
    assert timing_matches("*,fri-mon,*,*,UTC", monday_noon)  # ranges are cyclic
    assert timing_matches("*,*,30,nov,UTC", monday_noon)
    assert timing_matches("22:00-02:00,*,*,*,UTC", monday_noon - 12 * 3600)  # over midnight


PLAN: dict[str, dict[str, Any]] = {
    "default": {
        "100": [
            "Set(TESTTIME=1796040000)",  # 2026-11-30 12:00 UTC, a Monday
            "GotoIfTime(09:00-17:00,mon-fri,*,*,UTC?open,s,1:closed,s,1)",
        ],
        "200": [
            "Set(N=0)",
            "(again) Set(N=$[${N} + 1])",
            "GotoIf($[${N} < 3]?again)",
            "Goto(result,${N},1)",
        ],
        "300": ["Playback(press-1&no-such-sound&or)", "Set(AFTER=${PLAYBACKSTATUS})", "Echo()"],
        "400": ["Dial(PJSIP/carol,5)", "Set(RESULT=${DIALSTATUS})", "Echo()"],
        "401": ["Dial(PJSIP/erin,2)", "Set(RESULT=${DIALSTATUS})", "Echo()"],
        "402": ["Dial(PJSIP/nobody)", "Set(RESULT=${DIALSTATUS}:${HANGUPCAUSE})", "Echo()"],
        "403": ["Dial(PJSIP/bob,10)", "Set(NOT_REACHED=1)"],
        "404": ["Dial(PJSIP/bob,10,g)", "Set(AFTER=${DIALSTATUS})", "Echo()"],
        "410": ["Dial(PJSIP/carol&PJSIP/ann,10)", "Set(NOT_REACHED=1)"],
        "411": ["Dial(PJSIP/carol&PJSIP/dave,10)", "Set(RESULT=${DIALSTATUS})", "Echo()"],
        "420": ["Dial(Local/2000@default,10)", "Set(NOT_REACHED=1)"],
        "421": ["Dial(Local/2999@default,10)", "Set(RESULT=${DIALSTATUS})", "Echo()"],
        "2000": ["Answer()", "Echo()"],
        "500": ["Answer()", "Hangup(USER_BUSY)"],
    },
    "open": {"s": ["Set(BRANCH=open)", "Echo()"]},
    "closed": {"s": ["Set(BRANCH=closed)", "Echo()"]},
    "result": {"3": ["Set(LOOPED=three)", "Echo()"]},
}
ENDPOINTS = {
    "PJSIP/ann": {"answer_after": 1},
    "PJSIP/dave": "congestion",
    "PJSIP/bob": {"answer_after": 1, "hangup_after": 2},
    "PJSIP/carol": "busy",
    "PJSIP/erin": "noanswer",
}


def _all_events(ari: Ari) -> Any:
    """A websocket that sees every event (``subscribeAll``)."""
    params = {"app": "all", "subscribeAll": "true"}
    return ari.session.ws_connect(f"{ari.sim.url}/ari/events", params=params)


async def _var(sim: Simulator, caller: Caller, name: str) -> str:
    async with ari_session(sim) as ari:
        status, body = await ari.req(
            "GET", f"channels/{caller.channel_id}/variable", {"variable": name}
        )
    assert status == 200, (name, body)
    value: str = body["value"]
    return value


async def test_goto_gotoif_gotoiftime_and_substitution() -> None:
    async with Simulator(dialplan=PLAN, endpoints=ENDPOINTS) as sim:
        caller = await sim.call("PJSIP/alice", "100")
        assert await _var(sim, caller, "BRANCH") == "open"
        assert (await _var(sim, caller, "CONTEXT"), await _var(sim, caller, "EXTEN")) == (
            "open",
            "s",
        )
        await caller.hangup()
        looped = await sim.call("PJSIP/alice", "200")
        assert await _var(sim, looped, "LOOPED") == "three"
        assert await _var(sim, looped, "N") == "3"
        await looped.hangup()


async def test_playback_plays_files_and_skips_a_missing_one() -> None:
    async with Simulator(dialplan=PLAN) as sim:
        caller = await sim.call("PJSIP/alice", "300")
        async with asyncio.timeout(10):
            await caller.wait_until_heard("sound:or")
        await asyncio.sleep(0)
        assert [h.media_uri for h in caller.heard] == ["sound:press-1", "sound:or"]
        assert await _var(sim, caller, "AFTER") == "FAILED"
        # Playback answers an unanswered channel first
        assert await _var(sim, caller, "CHANNEL(state)") == "Up"
        await caller.hangup()


async def test_dial_reports_dialstatus_and_connects_the_caller() -> None:
    async with Simulator(dialplan=PLAN, endpoints=ENDPOINTS) as sim:
        busy = await sim.call("PJSIP/alice", "400")
        await sim.wait_for_call("PJSIP/carol", "busy")
        assert await _var(sim, busy, "RESULT") == "BUSY"
        await busy.hangup()
        unanswered = await sim.call("PJSIP/alice", "401")
        async with asyncio.timeout(10):
            await sim.wait_for_call("PJSIP/erin", "noanswer")
        assert await _var(sim, unanswered, "RESULT") == "NOANSWER"
        await unanswered.hangup()
        # no such endpoint: no channel, CHANUNAVAIL, the caller's cause 3 (app_dial.c)
        nobody = await sim.call("PJSIP/alice", "402")
        assert await _var(sim, nobody, "RESULT") == "CHANUNAVAIL:3"
        await nobody.hangup()
        # answered: the caller is answered and connected; when bob hangs up after 2 s the
        # caller's call ends too (no g option), so the next priority never runs
        connected = await sim.call("PJSIP/alice", "403")
        async with asyncio.timeout(10):
            await connected.wait_for_hangup()
        what = [w for w, _ in connected.indications]
        assert what[0] == "ringing"
        assert what[1].startswith("connected:PJSIP/bob-")
        assert [c[1] for c in sim.endpoint("PJSIP/bob").calls] == ["hungup"]
        assert sim.stats()["channels"] == 0
        # with the g option the caller goes on in the dialplan when bob hangs up
        goes_on = await sim.call("PJSIP/alice", "404")
        await sim.wait_for_call("PJSIP/bob", "answered")
        await eventually(lambda: sim.endpoint("PJSIP/bob").calls[-1][1] == "hungup")
        assert await _var(sim, goes_on, "AFTER") == "ANSWER"
        await goes_on.hangup()


async def test_dial_calls_every_destination_and_local_channels() -> None:
    async with Simulator(dialplan=PLAN, endpoints=ENDPOINTS) as sim:
        # carol is busy at once, ann answers after 1 s: ann wins, DIALSTATUS=ANSWER
        both = await sim.call("PJSIP/alice", "410")
        async with asyncio.timeout(10):
            await sim.wait_for_call("PJSIP/ann", "answered")
        assert [c[1] for c in sim.endpoint("PJSIP/carol").calls] == ["busy"]
        assert await _var(sim, both, "DIALSTATUS") == "ANSWER"
        await both.hangup()
        # every destination refused: handle_cause counts busy before congestion
        refused = await sim.call("PJSIP/alice", "411")
        assert await _var(sim, refused, "RESULT") == "BUSY"
        await refused.hangup()
        # Dial(Local/...): the ;2 half runs 2000 (Answer, Echo) and the caller is connected
        local = await sim.call("PJSIP/alice", "420")
        await eventually(
            lambda: any(w.startswith("connected:Local/") for w, _ in local.indications)
        )
        assert await _var(sim, local, "DIALSTATUS") == "ANSWER"
        await local.hangup()
        await local.wait_for_hangup()
        missing = await sim.call("PJSIP/alice", "421")
        assert await _var(sim, missing, "RESULT") == "CHANUNAVAIL"
        await missing.hangup()
        await eventually(lambda: sim.stats()["channels"] == 0)


async def test_dial_events_name_the_caller_for_a_subscribed_app() -> None:
    async with (
        Simulator(dialplan=PLAN, endpoints=ENDPOINTS) as sim,
        ari_session(sim) as ari,
        _all_events(ari) as ws,
    ):
        await sim.wait_for_app("all")
        caller = await sim.call("PJSIP/alice", "400")
        dials: list[dict[str, Any]] = []
        async with asyncio.timeout(10):
            while len(dials) < 2:
                msg = await ws.receive_json()
                if msg["type"] == "Dial":
                    dials.append(msg)
        assert [d["dialstatus"] for d in dials] == ["", "BUSY"]
        assert dials[0]["caller"]["name"] == caller.channel_name
        assert dials[0]["peer"]["name"].startswith("PJSIP/carol-")
        assert dials[0]["dialstring"] == "carol"
        await caller.hangup()


async def test_hangup_with_a_cause_name() -> None:
    async with (
        Simulator(dialplan=PLAN) as sim,
        ari_session(sim) as ari,
        ari.session.ws_connect(
            f"{sim.url}/ari/events", params={"app": "all", "subscribeAll": "true"}
        ) as ws,
    ):
        await sim.wait_for_app("all")
        caller = await sim.call("PJSIP/alice", "500")
        async with asyncio.timeout(10):
            while True:
                msg = await ws.receive_json()
                if msg["type"] == "ChannelDestroyed":
                    break
        assert (msg["cause"], msg["cause_txt"]) == (17, "User busy")
        assert caller.hung_up
