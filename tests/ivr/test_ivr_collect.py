"""Input collection and escalating prompts, scripted against the engine alone."""

from __future__ import annotations

import pytest
from ivr_script import ALICE, digit, expired, finished, tm

from ivrkit.ivr import (
    CallMachine,
    CallStarted,
    CallState,
    Command,
    HandlerFinished,
    MenuDefinitionError,
    PlayPrompt,
    RunHandler,
    StartTimer,
    load_menu,
)

BANK = """
transcript:
  no_match: "bad entry"
  no_input: "silence"
menus:
  main:
    greeting: [sound:welcome]
    options:
      - key: "1"
        collect:
          into: account
          prompt: [sound:enter-account]
          length: 6
          first_digit_timeout: 5
          inter_digit_timeout: 2
          tries: 3
          no_input: {1: [sound:are-you-still-there], 2: [sound:please-enter-6-digits]}
          no_match: [sound:invalid-account]
          confirm:
            prompt: [sound:you-entered, "digits:{account}", sound:press-1-or-2]
          then: {goto: pin}
          on_fail: {goto: operator}
      - key: "2"
        collect:
          into: amount
          prompt: [sound:enter-amount]
          min_length: 2
          max_length: 5
          pattern: "Z."
          then: {handler: "bank:pay"}
  pin:
    greeting: ["sound:pin-for", "digits:{account}"]
    options:
      - {key: "#", goto: main}
      - {key: "1", hangup: true}
  operator:
    greeting: [sound:operator]
    options:
      - {key: "*", top: true}
"""


def plays(commands: tuple[Command, ...] | list[Command]) -> list[str]:
    return [c.media for c in commands if isinstance(c, PlayPrompt)]


class Call:
    """Feeds a machine and remembers the playback to finish and the timer to expire."""

    def __init__(self, text: str = BANK) -> None:
        self.m = CallMachine(load_menu(text), "c1")
        self.now = 0.0
        self.out = self.m.handle(CallStarted(channel_name=ALICE), 0)

    def feed(self, event: object) -> list[str]:
        self.now += 0.5
        self.out = self.m.handle(event, self.now)  # type: ignore[arg-type]
        return plays(self.out)

    def keys(self, keys: str) -> list[str]:
        heard: list[str] = []
        for k in keys:
            heard += self.feed(digit(k))
        return heard

    def finish(self) -> list[str]:
        """The current prompt plays out."""
        current = self.m.current_playback
        assert current is not None
        return self.feed(finished(int(current.rsplit("p", 1)[1])))

    def finish_all(self) -> list[str]:
        heard: list[str] = []
        while self.m.current_playback is not None:
            heard += self.finish()
        return heard

    def expire(self) -> list[str]:
        timer = self.m.running_timer
        assert timer is not None
        return self.feed(expired(int(timer.rsplit("t", 1)[1])))


def test_fixed_length_then_a_closing_hash_works() -> None:
    c = Call()
    assert c.keys("1") == ["sound:enter-account"]
    # digits barge in on the prompt; the sixth completes the entry at once
    assert c.keys("12345") == []
    assert c.m.state is CallState.COLLECTING
    assert c.keys("6") == ["sound:you-entered"]
    assert c.m.data["account"] == "123456"
    # the "#" a caller adds out of habit closes the entry: it is not a key for the confirm
    assert c.keys("#") == []
    assert c.m.current_playback is not None  # the confirmation still plays
    assert c.finish() == ["digits:123456"]
    assert c.keys("1") == ["sound:pin-for"]  # confirmed: then
    assert c.m.menu == "pin"
    assert c.finish() == ["digits:123456"]


def test_a_hash_long_after_the_entry_is_a_key_again() -> None:
    c = Call()
    c.keys("1123456")
    c.keys("1")  # confirm while the confirmation plays
    assert c.m.menu == "pin"
    c.finish_all()
    assert c.keys("#") == ["sound:welcome"]  # pin's "#" option: the swallow is long gone


def test_re_enter_from_the_confirmation() -> None:
    c = Call()
    c.keys("1123456")
    assert c.keys("2") == ["sound:enter-account"]  # no: ask again
    assert "account" not in c.m.data
    c.keys("654321")
    c.finish_all()
    assert c.keys("1") == ["sound:pin-for"]
    assert c.m.data["account"] == "654321"


def test_silence_escalates_then_gives_up() -> None:
    c = Call()
    c.keys("1")
    c.finish_all()
    assert c.m.state is CallState.WAITING
    assert c.out[-1] == StartTimer(timer_id=tm(1), seconds=5.0, deadline=c.now + 5)
    assert c.expire() == ["sound:are-you-still-there"]  # first no-input
    assert c.finish() == ["sound:enter-account"]  # then the prompt again
    c.finish_all()
    assert c.expire() == ["sound:please-enter-6-digits"]  # the second is firmer
    c.finish_all()
    assert c.expire() == ["sound:operator"]  # third: tries used up, on_fail
    assert c.m.menu == "operator"


def test_a_short_entry_ends_by_the_inter_digit_timeout_and_is_a_no_match() -> None:
    c = Call()
    c.keys("1")
    c.keys("123")
    assert c.m.state is CallState.COLLECTING
    assert c.expire() == ["sound:invalid-account"]  # 3 digits, 6 needed
    assert c.finish() == ["sound:enter-account"]
    # a hash with nothing entered is silence, not an entry: the first no-input (each kind
    # of miss counts on its own for its prompts, VoiceXML style; both use up tries)
    c.finish_all()
    assert c.keys("#") == ["sound:are-you-still-there"]
    c.finish_all()
    assert c.expire() == ["sound:operator"]  # the third try: on_fail


def test_variable_length_pattern_and_terminator() -> None:
    c = Call()
    c.keys("2")
    assert c.keys("0") == []  # "Z." must not start with 0, but we only know at the end
    assert c.keys("5#") == ["sound:enter-amount"]  # no_match (no prompt): ask again
    c.keys("25")
    assert c.m.state is CallState.COLLECTING
    c.keys("#")
    assert c.m.state is CallState.HANDLER
    assert RunHandler(name="bank:pay", digits="25") in c.out
    assert c.m.data["amount"] == "25"
    c.feed(HandlerFinished(name="bank:pay"))
    assert c.m.menu == "main"


def test_typed_ahead_digits_feed_the_collect() -> None:
    c = Call()
    heard = c.keys("1")
    assert heard == ["sound:enter-account"]
    c.m.handle(digit("9"), c.now)  # during the prompt: barges in
    assert c.m.state is CallState.COLLECTING


ESCALATING = """
menus:
  main:
    greeting: {1: [sound:welcome-long], 2: [sound:welcome-short], 4: [sound:last-chance]}
    invalid: {1: [sound:invalid], 2: [sound:invalid-try-1-or-2]}
    no_input: {1: [sound:still-there], 3: [sound:goodbye-soon]}
    timeout: 3
    options:
      - {key: "1", hangup: true}
"""


def test_greeting_invalid_and_no_input_escalate_by_attempt() -> None:
    c = Call(ESCALATING)
    assert plays(c.out) == ["sound:welcome-long"]
    assert c.keys("7") == ["sound:invalid"]
    assert c.finish() == ["sound:welcome-short"]
    assert c.keys("8") == ["sound:invalid-try-1-or-2"]
    assert c.finish() == ["sound:welcome-short"]  # greeting 3: still the short one
    c.finish_all()
    assert c.expire() == ["sound:still-there"]  # no-input 1
    assert c.finish() == ["sound:last-chance"]  # greeting 4
    c.finish_all()
    assert c.expire() == ["sound:still-there"]  # no-input 2 (3 and on: goodbye-soon)
    c.finish_all()
    assert c.expire() == ["sound:goodbye-soon"]


@pytest.mark.parametrize(
    ("collect", "expected"),
    [
        (
            "{into: x, then: {hangup: true}, length: 4, max_length: 5}",
            [
                "m.yaml:4: menus.m.options.0.collect.length: give `length` (a fixed length) or "
                "`min_length`/`max_length`, not both"
            ],
        ),
        (
            "{into: digits, min_length: 5, max_length: 3, terminator: '##', tries: 0, "
            "pattern: 'Q', then: {goto: nowhere}}",
            [
                "m.yaml:4: menus.m.options.0.collect.pattern: unexpected character 'Q' "
                "(use 0-9 * A-D X Z N [..] . !)",
                "m.yaml:4: menus.m.options.0.collect.terminator: key must be one character, "
                "got '##'",
            ],
        ),
        (
            "{into: digits, min_length: 5, max_length: 3, tries: 0, then: {goto: nowhere}}",
            [
                "m.yaml:4: menus.m.options.0.collect.into: 'digits' must be a field name "
                "other than digits",
                "m.yaml:4: menus.m.options.0.collect.max_length: must be from 5 to 64 "
                "(and min_length or more), got 3",
                "m.yaml:4: menus.m.options.0.collect.then.goto: unknown menu `nowhere`, "
                "expected one of `m`",
                "m.yaml:4: menus.m.options.0.collect.tries: must be from 1 to 100, got 0",
            ],
        ),
        (
            "{into: x, prompt: {0: [sound:a]}, confirm: {prompt: ['digits:{y}'], yes: '1', "
            "no: '1'}}",
            [
                "m.yaml:4: menus.m.options.0.collect.prompt: prompts by attempt take attempt "
                "numbers 1 to 100 as keys, got an integer ('0')",
                "m.yaml:4: menus.m.options.0.collect.then: missing field `then`",
            ],
        ),
        (
            "{into: x, confirm: {prompt: ['digits:{y}'], yes: '1', no: '1'}, then: {top: true}}",
            [
                "m.yaml:4: menus.m.options.0.collect.confirm.no: must differ from `yes`",
                "m.yaml:4: menus.m.options.0.collect.confirm.prompt.0: `{y}` in 'digits:{y}' "
                "is not a call-data field (known: caller_name, caller_number, digits, lang, x); "
                "declare a field a handler sets under call_data.fields",
            ],
        ),
    ],
)
def test_collect_problems_are_named(collect: str, expected: list[str]) -> None:
    text = f"menus:\n  m:\n    options:\n      - {{key: '1', collect: {collect}}}\n"
    with pytest.raises(MenuDefinitionError) as info:
        load_menu(text, "m.yaml")
    assert [str(p) for p in info.value.problems] == expected
