"""ivrkit's listener for Asterisk's outbound ARI websockets, with the simulator as the
Asterisk that connects out (both connection types), in one process on virtual time."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ivrkit.ari import AriClient, Credentials, OutboundListener, OutboundSession
from ivrkit.ivr import ATTENDANT_MENU, load_menu_file
from ivrkit.ivr.runner import MenuRunner
from ivrkit.sim import Caller, OutboundWebsocket, Simulator

CREDS = Credentials("asterisk", "asterisk")

GUIDE = [
    "Channel PJSIP/alice-00000001 has entered the application",
    "Channel PJSIP/alice-00000001 entered 1",
    "Channel PJSIP/alice-00000001 entered 2",
    "Channel PJSIP/alice-00000001 entered 8",
    "Channel PJSIP/alice-00000001 entered an invalid option!",
    "Channel PJSIP/alice-00000001 stopped paying attention...",
    "PJSIP/alice-00000001 has left the application",
]


class Served:
    """The listener with one MenuRunner per connection, as ``ivrkit run --listen``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.sessions: list[OutboundSession] = []
        self.closed: list[OutboundSession] = []
        self.runners: list[MenuRunner] = []
        self.tree = load_menu_file(ATTENDANT_MENU)

    def on_client(self, client: AriClient, session: OutboundSession) -> None:
        runner = MenuRunner(self.tree, transcript=self.lines.append)
        runner.attach(client)
        self.runners.append(runner)
        self.sessions.append(session)

    def on_closed(self, client: AriClient, session: OutboundSession) -> None:
        self.closed.append(session)

    async def on_ended(self, client: AriClient, session: OutboundSession) -> None:
        await self.runners[self.sessions.index(session)].wait_no_calls()


@asynccontextmanager
async def listening(served: Served, port: int = 0) -> AsyncIterator[OutboundListener]:
    listener = OutboundListener(
        apps=("channel-aa",),
        credentials=CREDS,
        on_client=served.on_client,
        on_closed=served.on_closed,
        on_ended=served.on_ended,
        port=port,
    )
    async with listener:
        yield listener


async def guide_scenario(caller: Caller) -> None:
    """The guide's walk: 1, 2, an invalid 8, no input, then hang up."""
    async with asyncio.timeout(120):
        for key in "128":
            await caller.wait_for_playback("sound:press-1")
            await asyncio.sleep(0.3)
            await caller.press(key)
        await caller.wait_for_playback("sound:press-1")
        await caller.wait_for_playback("sound:are-you-still-there")
        await caller.wait_for_playback("sound:press-1")
        await asyncio.sleep(1.0)
        await caller.hangup()
        await caller.wait_for_hangup()


async def until(predicate: Callable[[], object], seconds: float = 30) -> None:
    """Poll a condition that has no event of its own (counts in other components)."""
    async with asyncio.timeout(seconds):
        while not predicate():  # noqa: ASYNC110 (virtual time: polling costs nothing)
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("kind", ["persistent", "per_call_config"])
async def test_the_guide_scenario_over_an_outbound_websocket(kind: str) -> None:
    served = Served()
    async with listening(served) as listener:
        outbound = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{listener.port}/ivrkit", apps=("channel-aa",), connection_type=kind
        )
        http: list[dict[str, object]] = []
        async with Simulator(outbound=outbound, access_log=http.append) as sim:
            if kind == "persistent":
                await until(lambda: listener.clients and listener.clients[0].ready)
            caller = await sim.call("PJSIP/alice", "1000")
            await guide_scenario(caller)
            await until(lambda: served.lines[-1:] == [GUIDE[-1]])
            assert served.lines == GUIDE
            assert http == []  # no HTTP at all: every request went over the websocket
            session = served.sessions[0]
            assert session.connection_type == kind
            assert session.asterisk_id == sim.model.asterisk_id
            if kind == "per_call_config":
                assert session.application == "channel-aa:PJSIP/alice-00000001"
                # Asterisk closes the per-call socket 3 s after StasisEnd; the client goes too
                await until(lambda: served.closed == [session])
                assert listener.clients == []
            else:
                assert session.application == "channel-aa"
                assert served.closed == []


async def test_persistent_calls_wait_while_the_server_is_away_and_are_served_once_back() -> None:
    """Asterisk keeps the app registered and queues its events while the socket is down
    (session_send_or_queue); they are written once ivrkit is listening again."""
    served = Served()
    async with listening(served) as first:
        port = first.port  # learn a free port, then go away
    outbound = OutboundWebsocket(
        uri=f"ws://127.0.0.1:{port}/", apps=("channel-aa",), reconnect_interval=0.2
    )
    async with Simulator(outbound=outbound) as sim:
        caller = await sim.call("PJSIP/alice", "1000")
        await asyncio.sleep(5)  # the server is away: the call waits in Stasis, unanswered
        assert caller.heard == []
        assert served.sessions == []
        async with listening(served, port):
            await guide_scenario(caller)
            await until(lambda: served.lines[-1:] == [GUIDE[-1]])
        assert served.lines == GUIDE
        assert sim._outbound[0].link.connects == 1


async def test_a_persistent_socket_lost_mid_call_reconnects_and_the_call_carries_on() -> None:
    served = Served()
    async with listening(served) as listener:
        outbound = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{listener.port}/", apps=("channel-aa",), reconnect_interval=0.2
        )
        async with Simulator(outbound=outbound) as sim:
            await until(lambda: listener.clients and listener.clients[0].ready)
            client = listener.clients[0]
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("1")
                await caller.wait_for_playback("sound:press-1")
                link = sim._outbound[0].link
                assert link.ws is not None
                await link.ws.close()  # the network drops Asterisk's socket
                await until(lambda: link.connects == 2 and client.ready)
                await asyncio.sleep(0.3)
                await caller.press("2")
                await caller.wait_for_playback("digits:2")
                await caller.hangup()
            await until(lambda: served.lines[-1:] == [GUIDE[-1]])
            # the same client (and runner) served the call across the reconnect
            assert listener.clients == [client]
            assert len(served.sessions) == 1
            assert served.lines == [*GUIDE[:3], GUIDE[-1]]


async def test_per_call_without_a_server_fails_stasis_and_the_dialplan_goes_on() -> None:
    served = Served()
    async with listening(served) as first:
        port = first.port
    outbound = OutboundWebsocket(
        uri=f"ws://127.0.0.1:{port}/",
        apps=("channel-aa",),
        connection_type="per_call_config",
        reconnect_attempts=3,
        reconnect_interval=0.5,
    )
    failed = 'GotoIf($["${STASISSTATUS}" = "FAILED"]?5)'
    steps = ("NoOp()", "Stasis(channel-aa)", failed, "Hangup()", "Playback(option-is-invalid)")
    dialplan = {"default": {"1000": (*steps, "Hangup()")}}
    async with Simulator(outbound=outbound, dialplan=dialplan) as sim:
        caller = await sim.call("PJSIP/alice", "1000")
        async with asyncio.timeout(30):
            await caller.wait_for_hangup()
        assert [h.media_uri for h in caller.heard] == ["sound:option-is-invalid"]
        async with listening(served, port):  # back: the next call is served
            caller = await sim.call("PJSIP/bob", "1000")
            async with asyncio.timeout(30):
                await caller.wait_for_playback("sound:press-1")
                await caller.hangup()
            await until(lambda: len(served.closed) == 1)
        assert served.sessions[0].application == "channel-aa:PJSIP/bob-00000002"


async def test_wrong_credentials_and_unknown_apps_are_turned_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    served = Served()
    async with listening(served) as listener:
        wrong = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{listener.port}/",
            apps=("channel-aa",),
            username="asterisk",
            password="guess",
        )
        other = OutboundWebsocket(uri=f"ws://127.0.0.1:{listener.port}/", apps=("billing",))
        async with Simulator(outbound=[wrong, other]):
            await until(lambda: listener.refused >= 4)
        assert served.sessions == []
    text = caplog.text
    assert "refused: wrong credentials" in text
    assert "is for application 'billing', but this listener serves 'channel-aa'" in text
    # Asterisk retries a refused socket at once: one line, not one per attempt
    assert text.count("is for application 'billing'") == 1, text


def test_a_repeated_refusal_is_logged_once_a_minute_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from ivrkit.ari._listener import _Refusals

    now = [0.0]
    refusals = _Refusals(60.0, clock=lambda: now[0])
    for _ in range(500):
        refusals.warn(("application", "billing", "10.0.0.1"), "refused %s", "billing")
        now[0] += 0.01  # 5 s of attempts, 100 a second
    refusals.warn(("application", "sales", "10.0.0.1"), "refused %s", "sales")  # another
    now[0] = 61.0
    refusals.warn(("application", "billing", "10.0.0.1"), "refused %s", "billing")
    assert caplog.messages == [
        "refused billing",
        "refused sales",
        "refused billing (499 more like it in the last 61 s)",
    ]


async def test_a_restarted_server_takes_a_persistent_call_over_at_its_menu() -> None:
    """ivrkit goes away mid-call and a new one listens on the same port: Asterisk's
    queued events and the new client's re-sync hand it the call, which resumes at its
    menu (the takeover of docs/operations.md), the keys pressed before kept."""
    served = Served()
    outbound_of = lambda port: OutboundWebsocket(  # noqa: E731
        uri=f"ws://127.0.0.1:{port}/", apps=("channel-aa",), reconnect_interval=0.2
    )
    async with listening(served) as listener:
        port = listener.port
        sim = Simulator(outbound=outbound_of(port))
        await sim.start()
        try:
            await until(lambda: listener.clients and listener.clients[0].ready)
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("1")
                await caller.wait_for_playback("digits:1")
        except BaseException:
            await sim.close()
            raise
    # the first ivrkit is gone (its client closed without touching the call)
    try:
        assert served.lines == GUIDE[:2]
        second = Served()
        async with listening(second, port) as back:
            await until(lambda: back.clients and back.clients[0].ready)
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")  # the re-greeting
                await asyncio.sleep(0.3)
                await caller.press("2")
                await caller.wait_for_playback("digits:2")
                await caller.hangup()
            await until(lambda: second.lines[-1:] == [GUIDE[-1]])
        assert second.lines[-2:] == [GUIDE[2], GUIDE[-1]]
        assert second.sessions[0].connection_type == "persistent"
    finally:
        await sim.close()


async def test_wss_with_a_verified_certificate(tls_cert: tuple[Path, Path]) -> None:
    cert, key = tls_cert
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    client_tls = ssl.create_default_context(cafile=str(cert))
    served = Served()
    listener = OutboundListener(
        apps=("channel-aa",),
        credentials=CREDS,
        on_client=served.on_client,
        on_ended=served.on_ended,
        ssl_context=server_tls,
    )
    async with listener:
        assert listener.scheme == "wss"
        outbound = OutboundWebsocket(
            uri=f"wss://127.0.0.1:{listener.port}/",
            apps=("channel-aa",),
            connection_type="per_call_config",
            ssl_context=client_tls,
            connection_timeout=5,
        )
        async with Simulator(outbound=outbound) as sim:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await caller.hangup()
            await until(lambda: served.lines[-1:] == [GUIDE[-1]])


async def test_a_per_call_socket_lost_mid_call_is_reopened_and_the_call_resumes() -> None:
    """Asterisk reconnects a per-call socket that drops (reconnect_attempts tries); the
    new socket's client adopts the call, which resumes at its menu."""
    served = Served()
    async with listening(served) as listener:
        outbound = OutboundWebsocket(
            uri=f"ws://127.0.0.1:{listener.port}/",
            apps=("channel-aa",),
            connection_type="per_call_config",
            reconnect_interval=0.2,
        )
        async with Simulator(outbound=outbound) as sim:
            caller = await sim.call("PJSIP/alice", "1000")
            async with asyncio.timeout(60):
                await caller.wait_for_playback("sound:press-1")
                await asyncio.sleep(0.3)
                await caller.press("1")
                await caller.wait_for_playback("digits:1")
                (link,) = sim._outbound[0]._links  # type: ignore[union-attr]
                assert link.ws is not None
                await link.ws.close()  # the network drops this call's socket
                await caller.wait_for_playback("sound:press-1")  # the re-greeting
                await asyncio.sleep(0.3)
                await caller.press("2")
                await caller.wait_for_playback("digits:2")
                await caller.hangup()
            await until(lambda: len(served.closed) == 2)
        assert [s.application for s in served.sessions] == ["channel-aa:PJSIP/alice-00000001"] * 2
        assert served.lines[:2] == GUIDE[:2]
        assert served.lines[-2:] == [GUIDE[2], GUIDE[-1]]
