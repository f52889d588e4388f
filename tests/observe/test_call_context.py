"""Log lines made for a call name it (id and channel), even from a user's own logger."""

from __future__ import annotations

import asyncio
import logging
import textwrap

import pytest

from ivrkit.ari import AriClient, ConnectionConfig, Credentials
from ivrkit.ivr import load_menu
from ivrkit.ivr.runner import MenuRunner
from ivrkit.observe import CallLogRecords, current_call
from ivrkit.sim import Simulator

MENU = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:press-1]
        options:
          - {key: "5", handler: "t:chatty"}
    """
)
seen: list[object] = []


async def chatty(call: object, digits: str) -> None:
    seen.append(current_call())
    logging.getLogger("acme.billing").warning("looking up account %s", digits)


async def test_a_handlers_log_line_names_the_call(caplog: pytest.LogCaptureFixture) -> None:
    records = CallLogRecords()
    records.install()
    try:
        runner = MenuRunner(
            load_menu(MENU), transcript=lambda line: None, handlers={"t:chatty": chatty}
        )
        async with Simulator() as sim:
            config = ConnectionConfig(
                base_url=sim.url,
                apps=("channel-aa",),
                credentials=Credentials(sim.username, sim.password),
            )
            client = AriClient(config)
            runner.attach(client)
            async with client:
                caller = await sim.call("PJSIP/alice", "1000")
                async with asyncio.timeout(30):
                    await caller.wait_for_playback("sound:press-1")
                    await caller.press("5")
                    await caller.wait_for_playback("sound:press-1")
                    await caller.hangup()
                    await runner.wait_no_calls()
        logging.getLogger("acme.billing").warning("outside any call")
    finally:
        records.uninstall()
    mine = [r for r in caplog.records if r.name == "acme.billing"]
    assert [r.getMessage() for r in mine] == [
        f"call {caller.channel_id} ({caller.channel_name}): looking up account 5",
        "outside any call",
    ]
    assert getattr(mine[0], "channel", None) == caller.channel_name
    assert current_call() is None  # nothing leaks out of the call's tasks
    assert [getattr(c, "call_id", None) for c in seen] == [caller.channel_id]


def test_a_line_that_already_names_the_call_is_left_alone() -> None:
    from ivrkit.observe import CallInfo, bind_call

    records = CallLogRecords()
    records.install()
    try:

        def make(msg: str) -> str:
            return (
                logging.getLogger("x")
                .makeRecord("x", logging.INFO, "f", 1, msg, (), None)
                .getMessage()
            )

        import contextvars

        def inside() -> tuple[str, str]:
            bind_call(CallInfo("17.2", "PJSIP/bob-2", "a"))
            return make("call 17.2 (PJSIP/bob-2): hi"), make("100% sure")

        named, plain = contextvars.copy_context().run(inside)
    finally:
        records.uninstall()
    assert named == "call 17.2 (PJSIP/bob-2): hi"
    assert plain == "call 17.2 (PJSIP/bob-2): 100% sure"
    assert logging.getLogRecordFactory() is logging.LogRecord
