"""examples/bank: every path of the bank line against the simulator."""

from __future__ import annotations

import asyncio

from example_call import heard, press_after, serving


async def enter(alice: object, account: str, pin: str) -> None:
    await press_after(alice, "sound:hello", "1")  # type: ignore[arg-type]
    await press_after(alice, "sound:agent-user", account)  # type: ignore[arg-type]
    await press_after(alice, "sound:if-correct-press", "1")  # type: ignore[arg-type]
    await press_after(alice, "sound:agent-pass", pin)  # type: ignore[arg-type]


async def test_balance_with_a_closing_hash_confirmed_then_read_out_again() -> None:
    async with serving("bank/bank.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "123456#", "1234")  # six digits and the habitual "#"
            await alice.wait_for_playback("number:1500")
            await press_after(alice, "sound:digits/dollars", "1")  # hear it again
            await alice.wait_for_playback("number:1500")
            await press_after(alice, "sound:digits/dollars", "*")  # back to the top
            await alice.wait_for_playback("sound:hello")
            await alice.hangup()
    assert heard(alice) == [
        "sound:hello",
        "sound:agent-user",
        "sound:you-entered",
        "digits:123456",
        "sound:if-correct-press",
        "sound:agent-pass",
        "sound:vm-youhave",
        "number:1500",
        "sound:digits/dollars",
        "number:1500",
        "sound:digits/dollars",
        "sound:hello",
    ]
    assert not line.errors


async def test_re_entry_then_silence_escalates_then_goodbye() -> None:
    async with serving("bank/bank.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await press_after(alice, "sound:hello", "1")
            await press_after(alice, "sound:agent-user", "12")  # too short...
            await alice.wait_for_playback("sound:vm-incorrect")  # ...after 3 s: no-match
            await press_after(alice, "sound:agent-user", "111111")
            await press_after(alice, "sound:if-correct-press", "2")  # no: enter it again
            await alice.wait_for_playback("sound:agent-user")
            await alice.wait_for_playback("sound:please-try-again")  # silence
            await alice.wait_for_hangup()
    assert heard(alice)[-2:] == ["sound:agent-user", "sound:vm-goodbye"]
    assert "PJSIP/alice-00000001: not accepted" in line.transcript


async def test_a_wrong_pin_is_denied_and_the_call_starts_over() -> None:
    async with serving("bank/bank.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "123456", "9999")
            await alice.wait_for_playback("sound:auth-incorrect")
            await alice.wait_for_playback("sound:hello")  # silence: top
            await alice.hangup()
    assert "number:1500" not in heard(alice)


async def test_overdrawn_routes_to_collections_whose_line_is_busy() -> None:
    async with serving("bank/bank.yaml", endpoints={"PJSIP/collections": "busy"}) as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "654321", "4321")
            await alice.wait_for_playback("number:75")
            await alice.wait_for_playback("sound:tt-allbusy")  # the transfer failed
            await alice.wait_for_playback("sound:vm-youhave")  # the menu again
            await alice.hangup()
    assert "sound:digits/minus" in heard(alice)


async def test_a_slow_lookup_plays_the_filler() -> None:
    async with serving("bank/bank.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "777777", "7777")
            await alice.wait_for_playback("sound:one-moment-please")
            await alice.wait_for_playback("number:42")
            await alice.hangup()
    i = heard(alice).index("sound:one-moment-please")
    assert heard(alice)[i + 1 :][:2] == ["sound:vm-youhave", "number:42"]


async def test_a_broken_lookup_is_logged_and_handed_to_the_dialplan() -> None:
    async with serving("bank/bank.yaml") as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "999999", "0000")
            await alice.wait_for_playback("sound:tt-somethingwrong")
            await alice.wait_for_hangup()  # sorry's limit: continue (the dialplan hangs up)
    (error,) = line.errors
    assert "handler bank:lookup failed: ConnectionError('core banking is down')" in error
    assert alice.channel_id in error


async def test_teller_transfer_and_operator_continue() -> None:
    endpoints = {"PJSIP/teller": {"answer_after": 1}}
    async with serving("bank/bank.yaml", endpoints=endpoints) as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await press_after(alice, "sound:hello", "2")
            await line.sim.wait_for_call("PJSIP/teller", "answered")
            await alice.hangup()
        bob = await line.call()
        async with asyncio.timeout(120):
            await press_after(bob, "sound:hello", "0")
            await bob.wait_for_hangup()  # extension 0 does not exist: Asterisk hangs up
    assert heard(bob) == ["sound:hello"]


async def test_the_flow_is_reported_to_observers() -> None:
    from ivrkit.observe import Recorder, Step

    recorder = Recorder()
    async with serving("bank/bank.yaml", observer=recorder) as line:
        alice = await line.call()
        async with asyncio.timeout(120):
            await enter(alice, "123456", "1234")
            await alice.wait_for_playback("number:1500")
            await alice.hangup()
        bob = await line.call()
        async with asyncio.timeout(120):
            await enter(bob, "999999", "0000")
            await bob.wait_for_hangup()
    steps = [r for r in recorder.records if isinstance(r, Step)]
    kinds = [(s.step, s.entry) for s in steps if s.step == "collected"]
    assert kinds == [
        ("collected", "123456"),
        ("collected", "1234"),
        ("collected", "999999"),
        ("collected", "0000"),
    ]
    finished = [(s.outcome, s.action) for s in steps if s.step == "handler_finished"]
    assert finished == [("ok", "goto"), ("error", None)]
    (recovered,) = [s for s in steps if s.step == "recovered"]
    assert "core banking is down" in str(recovered.error)
