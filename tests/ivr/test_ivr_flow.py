"""Flow from code, scripted: hooks, handler results, timeouts, on_error, call data,
templates, language and the filler (the engine alone: no event loop, no mocks)."""

from __future__ import annotations

import pytest
from ivr_script import ALICE, digit, finished, pb, tm

from ivrkit.ivr import (
    Answer,
    CallerHungUp,
    CallMachine,
    CallStarted,
    CallState,
    CancelHandler,
    CancelTimer,
    Command,
    CommandFailed,
    ContinueInDialplan,
    HandlerFinished,
    Hangup,
    MenuDefinitionError,
    PlayPrompt,
    ReportError,
    RunEndHook,
    RunHandler,
    SetLanguage,
    StartTimer,
    StopPrompt,
    TimerExpired,
    Transfer,
    load_menu,
    steps,
)

FLOW = """
on_start: {handler: {name: "shop.ivr:greet", timeout: 4}}
on_end: "shop.ivr:bye"
handler_timeout: 6
call_data:
  args: [order_id]
  variables: {account: ACCOUNT_NO}
  defaults: {balance: 0}
  fields: [status]
menus:
  main:
    greeting: [sound:welcome, "digits:{order_id}"]
    language: en
    options:
      - key: "1"
        handler: "shop.ivr:lookup"
      - key: "2"
        play: ["sound:{status}"]
      - key: "3"
        goto: fr
      - key: "4"
        handler: {name: "shop.ivr:slow", timeout: 20, filler: {play: [tone:ring], after: 2}}
      - key: "5"
        goto: oops
  fr:
    greeting: ["sound:{lang}/bonjour"]
    language: fr
    options:
      - key: "*"
        back: true
  broken:
    greeting: ["sound:{status}"]
    options:
      - {key: "1", back: true}
  oops:
    greeting: [sound:oops]
    on_error: {play: [sound:sorry]}
    options:
      - key: "1"
        handler: "shop.ivr:lookup"
"""

GREET = "shop.ivr:greet"
LOOKUP = "shop.ivr:lookup"


def plays(commands: tuple[Command, ...]) -> list[str]:
    return [c.media for c in commands if isinstance(c, PlayPrompt)]


def errors(commands: tuple[Command, ...]) -> list[str]:
    return [c.reason for c in commands if isinstance(c, ReportError)]


def start(text: str = FLOW, **facts: object) -> tuple[CallMachine, tuple[Command, ...]]:
    m = CallMachine(load_menu(text), "c1")
    out = m.handle(CallStarted(channel_name=ALICE, **facts), 0)  # type: ignore[arg-type]
    return m, out


def in_main(**facts: object) -> CallMachine:
    """A call past on_start (which returned None), its greeting playing."""
    m, _ = start(**{"args": ("A17",), **facts})
    m.handle(HandlerFinished(name=GREET), 1)
    return m


def test_on_start_runs_before_the_start_menu_bounded_by_its_timeout() -> None:
    m, out = start(args=("A17",))
    assert out == (
        Answer(),
        RunHandler(name=GREET, digits=""),
        StartTimer(timer_id=tm(1), seconds=4.0, deadline=4.0),
    )
    assert m.state is CallState.HANDLER
    out = m.handle(HandlerFinished(name=GREET), 1)
    # None: the start menu with its full greeting; its language is set on entry
    assert out == (
        CancelTimer(timer_id=tm(1)),
        SetLanguage(language="en"),
        PlayPrompt(playback_id=pb(1), media="sound:welcome"),
    )
    assert plays(m.handle(finished(1), 2)) == ["digits:A17"]  # a template from the args


def test_on_start_may_route_the_call() -> None:
    m, _ = start(args=("A17",))
    out = m.handle(HandlerFinished(name=GREET, result=steps.Goto("fr")), 1)
    assert m.menu == "fr"
    assert out[-2:] == (
        SetLanguage(language="fr"),
        PlayPrompt(playback_id=pb(1), media="sound:fr/bonjour"),
    )


def test_call_data_is_seeded_from_defaults_caller_variables_and_args() -> None:
    m = in_main(
        args=("A17", "status=late"),
        caller_number="6001",
        caller_name="Alice",
        language="de",
        variables=(("ACCOUNT_NO", "991"), ("OTHER", "x")),
    )
    assert dict(m.data) == {
        "balance": 0,
        "caller_number": "6001",
        "caller_name": "Alice",
        "lang": "en",  # the menu's language replaced the channel's "de"
        "account": "991",
        "order_id": "A17",
        "status": "late",  # name=value args set any field
    }


@pytest.mark.parametrize(
    ("result", "expect_menu", "expect"),
    [
        (steps.Goto("fr"), "fr", PlayPrompt(playback_id=pb(2), media="sound:fr/bonjour")),
        (steps.Hangup(), "main", Hangup()),
        (
            steps.Continue("support", "100", 1),
            "main",
            ContinueInDialplan(context="support", extension="100", priority=1),
        ),
        (
            steps.Transfer("PJSIP/{order_id}", timeout=5),
            "main",
            Transfer(endpoint="PJSIP/A17", timeout=5),
        ),
        (
            steps.Play("sound:one", "digits:{balance}"),
            "main",
            PlayPrompt(playback_id=pb(2), media="sound:one"),
        ),
        (steps.Top(), "main", PlayPrompt(playback_id=pb(2), media="sound:welcome")),
        (steps.Back(), "main", PlayPrompt(playback_id=pb(2), media="sound:welcome")),
    ],
)
def test_a_handler_result_says_where_the_call_goes(
    result: steps.Step, expect_menu: str, expect: Command
) -> None:
    m = in_main()
    out = m.handle(digit("1"), 2)
    assert RunHandler(name=LOOKUP, digits="1") in out
    out = m.handle(HandlerFinished(name=LOOKUP, result=result), 3)
    assert expect in out
    assert m.menu == expect_menu
    assert not errors(out)


def test_handlers_write_call_data_that_templates_then_use() -> None:
    m = in_main()
    m.handle(digit("1"), 2)
    data = {**m.data, "status": "shipped", "balance": 12.0}
    out = m.handle(
        HandlerFinished(name=LOOKUP, result=steps.Play("digits:{balance}"), data=data), 3
    )
    assert plays(out) == ["digits:12"]
    assert m.data["status"] == "shipped"
    m.handle(finished(2), 4)
    m.handle(finished(3), 4)  # the re-greeting's first prompt
    assert plays(m.handle(digit("2"), 5)) == ["sound:shipped"]


@pytest.mark.parametrize(
    ("result", "data", "why"),
    [
        ("sales", None, "returned 'sales'; expected None or a step from ivrkit.ivr.steps"),
        (steps.Goto("nowhere"), None, "unknown menu `nowhere`"),
        (steps.Transfer("nobody"), None, "must look like TECH/resource"),
        (None, {"x": object()}, "left bad call data: call data field 'x' holds a object"),
    ],
)
def test_an_invalid_result_is_reported_and_the_menu_comes_back(
    result: object, data: dict[str, object] | None, why: str
) -> None:
    m = in_main()
    m.handle(digit("1"), 2)
    out = m.handle(HandlerFinished(name=LOOKUP, result=result, data=data), 3)
    (line,) = errors(out)
    assert line.startswith("call c1 in menu main: handler shop.ivr:lookup ")
    assert why in line
    assert m.state is CallState.GREETING
    assert plays(out) == ["sound:welcome"]  # no on_error here: the menu comes back


def test_a_handler_that_runs_too_long_is_cancelled_and_on_error_runs() -> None:
    m = in_main()
    m.handle(digit("5"), 2)  # oops: on_error plays sound:sorry
    m.handle(digit("1"), 3)
    assert m.running_timer == tm(2)
    out = m.handle(TimerExpired(timer_id=tm(2)), 9)  # handler_timeout: 6
    assert out[:2] == (
        CancelHandler(name=LOOKUP),
        ReportError(
            reason="call c1 in menu oops: handler shop.ivr:lookup did not return within 6 s"
        ),
    )
    assert plays(out) == ["sound:sorry"]
    # a failure (the driver reports a raise as CommandFailed) runs on_error too
    m.handle(finished(3), 10)
    m.handle(finished(4), 10)
    out = m.handle(digit("1"), 11)
    run = next(c for c in out if isinstance(c, RunHandler))
    out = m.handle(CommandFailed(command=run, reason="KeyError('x')"), 12)
    assert errors(out) == ["call c1 in menu oops: handler shop.ivr:lookup failed: KeyError('x')"]
    assert plays(out) == ["sound:sorry"]


def test_errors_in_a_row_hand_the_call_to_the_dialplan() -> None:
    # a greeting that needs a field nobody set fails every time the menu comes back;
    # without input from the caller in between, the third error hands the call back
    m = in_main()
    m.handle(digit("1"), 2)
    out = m.handle(HandlerFinished(name=LOOKUP, result=steps.Goto("broken")), 3)
    assert len(errors(out)) == 4
    assert errors(out)[-1] == "call c1: 3 errors in a row; handing the call back to the dialplan"
    assert out[-2:] == (ContinueInDialplan(), RunEndHook(name="shop.ivr:bye"))
    assert m.state is CallState.DONE


def test_a_template_field_the_call_lacks_is_reported_not_silence() -> None:
    m = in_main()
    out = m.handle(digit("2"), 2)  # sound:{status}: no handler set it
    assert errors(out) == [
        "call c1 in menu main: 'sound:{status}' needs call-data field `status`, "
        "which the call lacks"
    ]
    assert plays(out) == ["sound:welcome"]
    assert m.state is CallState.GREETING


def test_the_filler_plays_round_while_a_slow_handler_runs_and_stops_when_it_returns() -> None:
    m = in_main()
    out = m.handle(digit("4"), 2)
    assert out[-1] == StartTimer(timer_id=tm(2), seconds=2.0, deadline=4.0)  # filler after 2 s
    out = m.handle(TimerExpired(timer_id=tm(2)), 4)
    assert out == (
        StartTimer(timer_id=tm(3), seconds=18.0, deadline=22.0),  # the rest of its 20 s
        PlayPrompt(playback_id=pb(2), media="tone:ring"),
    )
    assert plays(m.handle(finished(2), 6)) == ["tone:ring"]  # round again
    assert m.state is CallState.HANDLER
    out = m.handle(HandlerFinished(name="shop.ivr:slow"), 7)
    assert out[:2] == (CancelTimer(timer_id=tm(3)), StopPrompt(playback_id=pb(3)))
    assert plays(out) == ["sound:welcome"]


def test_a_quick_handler_never_hears_the_filler() -> None:
    m = in_main()
    m.handle(digit("4"), 2)
    out = m.handle(HandlerFinished(name="shop.ivr:slow"), 3)
    assert out[0] == CancelTimer(timer_id=tm(2))
    assert not any(isinstance(c, StopPrompt) for c in out)


def test_a_handler_may_change_the_language() -> None:
    m = in_main()
    m.handle(digit("1"), 2)
    out = m.handle(HandlerFinished(name=LOOKUP, data={**m.data, "lang": "es"}), 3)
    assert SetLanguage(language="es") in out
    assert m.data["lang"] == "es"


def test_on_end_runs_however_the_call_ends() -> None:
    m = in_main()
    assert m.handle(CallerHungUp(), 3) == (RunEndHook(name="shop.ivr:bye"),)
    m = in_main()
    m.handle(digit("1"), 2)
    out = m.handle(HandlerFinished(name=LOOKUP, result=steps.Hangup()), 3)
    assert out[-1] == RunEndHook(name="shop.ivr:bye")
    # a call that never started has nothing to end
    idle = CallMachine(load_menu(FLOW), "c2")
    assert idle.handle(CallerHungUp(), 0) == ()


def test_unknown_template_fields_are_load_errors_with_file_line_and_field() -> None:
    text = FLOW.replace('play: ["sound:{status}"]', 'play: ["sound:{statsu}"]').replace(
        "language: fr", "language: 'f r'"
    )
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "shop.yaml")
    assert [str(p) for p in info.value.problems] == [
        "shop.yaml:18: menus.main.options.1.play.0: `{statsu}` in 'sound:{statsu}' is not a "
        "call-data field (known: account, balance, caller_name, caller_number, digits, lang, "
        "order_id, status); declare a field a handler sets under call_data.fields",
        "shop.yaml:27: menus.fr.language: language 'f r' must look like en, fr or en_GB",
    ]


def test_flow_fields_are_checked_all_at_once() -> None:
    text = """
on_start: {goto: nowhere}
on_end: "not a handler"
handler_timeout: 0
filler: {play: [], after: -1}
call_data: {args: ["1x"], defaults: {ok: [1]}}
menus:
  main:
    on_error: {handler: {timeout: 3}}
    options:
      - {key: "1", handler: {name: "a.b:c", timeout: "soon"}}
"""
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "f.yaml")
    assert [str(p) for p in info.value.problems] == [
        "f.yaml:2: on_start.goto: unknown menu `nowhere`, expected one of `main`",
        "f.yaml:3: on_end: handler 'not a handler' must look like package.module:function",
        "f.yaml:4: handler_timeout: must be a number of seconds above 0 and at most 3600, got 0",
        "f.yaml:5: filler.after: must be a number of seconds, 0 or more",
        "f.yaml:5: filler.play: a filler needs at least one media URI to `play`, or a `moh` class",
        "f.yaml:6: call_data.args.0: '1x' must be a field name (a-z, 0-9, _)",
        "f.yaml:6: call_data.defaults.ok: expected a string, number, boolean or null, got a list",
        "f.yaml:9: menus.main.on_error.handler.name: missing field `name` "
        "(package.module:function)",
        "f.yaml:11: menus.main.options.0.handler.timeout: expected a number of seconds, got a "
        "string ('soon')",
    ]


def test_music_on_hold_as_the_filler() -> None:
    from ivrkit.ivr import StartMusicOnHold, StopMusicOnHold

    text = FLOW.replace("filler: {play: [tone:ring], after: 2}", "filler: {moh: jazz, after: 2}")
    m, _ = start(text, args=("A17",))
    m.handle(HandlerFinished(name=GREET), 1)
    m.handle(digit("4"), 2)
    out = m.handle(TimerExpired(timer_id=tm(2)), 4)
    assert out == (
        StartTimer(timer_id=tm(3), seconds=18.0, deadline=22.0),
        StartMusicOnHold(moh_class="jazz"),
    )
    out = m.handle(HandlerFinished(name="shop.ivr:slow"), 7)
    assert out[:2] == (CancelTimer(timer_id=tm(3)), StopMusicOnHold())
    assert plays(out) == ["sound:welcome"]
