"""Reconnecting: fast when Asterisk is back, one TCP connection per attempt, "ready" only
once the re-sync is done.

A counting TCP relay stands between the client and the simulator, so the test sees every
connection the client opens; the simulator's access log shows every websocket handshake.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from ivrkit.ari import AriClient, ConnectionConfig, Credentials, Disconnected, Reconnected
from ivrkit.sim import Simulator

APP = "channel-aa"


class Relay:
    """127.0.0.1:0 → the simulator, byte for byte; records when each connection came."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.accepted: list[float] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Relay:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted.append(asyncio.get_running_loop().time())
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except OSError:
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_reconnect_is_fast_one_connection_per_attempt_and_ready_after_resync(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused: list[float] = []  # a 101 is logged when its socket closes; a 503 at once

    def log(record: dict[str, Any]) -> None:
        if record["path"] == "/ari/events" and record["status"] == 503:
            refused.append(asyncio.get_running_loop().time())

    async with Simulator(access_log=log) as sim, Relay(int(sim.url.rsplit(":", 1)[1])) as relay:
        config = ConnectionConfig(
            base_url=f"http://127.0.0.1:{relay.port}",
            apps=(APP,),
            credentials=Credentials(sim.username, sim.password),
        )
        signals: list[tuple[float, Any]] = []
        async with AriClient(config, random=lambda: 1.0) as client:
            loop = asyncio.get_running_loop()
            client.on((Disconnected, Reconnected), lambda e: signals.append((loop.time(), e)))
            caller = await sim.call("PJSIP/alice", "1000")

            async def wait_reconnected() -> float:
                async with asyncio.timeout(60):
                    while len(signals) < 2:  # noqa: ASYNC110 - a handler list, no event
                        await asyncio.sleep(0.01)
                at, event = signals[1]
                assert isinstance(event, Reconnected)
                return at

            # 1. a plain drop, Asterisk still there: back within 100 ms, one connection
            before = len(relay.accepted)
            dropped = loop.time()
            sim.faults.drop_websockets(APP)
            back = await wait_reconnected()
            new = relay.accepted[before:]
            assert len(new) == 1
            # The first retry comes within 50 ms of jitter (it was 0.25-0.5 s of backoff);
            # the clock also counts the loop's real time, ~0.1 s on a loaded machine,
            # so the bounds sit between the two.
            assert new[0] - dropped <= 0.2  # the first retry
            assert back - dropped <= 0.3  # and ready again (re-sync included)

            # 2. Asterisk refuses three handshakes, then the re-sync fails twice: four
            #    attempts, four connections, no attempt silently repeated by the HTTP
            #    library, and "ready" only once the re-sync is done
            signals.clear()
            caplog.clear()
            before = len(relay.accepted)
            sim.faults.refuse_requests(3, path="events")
            sim.faults.fail_requests(500, count=2, path="applications", method="GET")
            with caplog.at_level(logging.INFO, logger="ivrkit.ari"):
                sim.faults.drop_websockets(APP)
                await wait_reconnected()
            assert len(refused) == 3
            assert len(relay.accepted) - before == 4  # the re-sync reuses its HTTP pool
            messages = [r.getMessage() for r in caplog.records]
            reconnected = [m for m in messages if m.startswith("ARI websocket reconnected")]
            ready = [m for m in messages if m.startswith("ARI ready again")]
            assert len(reconnected) == 1
            # each refusal cost one attempt of ours: none was repeated behind our back
            assert len([m for m in messages if m.startswith("ARI reconnect attempt")]) == 3
            assert "(attempt 4)" in reconnected[0]
            assert len(ready) == 1
            failed = [i for i, m in enumerate(messages) if "re-sync after reconnect failed" in m]
            assert len(failed) == 2
            assert messages.index(reconnected[0]) < failed[0]
            assert messages.index(ready[0]) > failed[-1]
            assert "re-sync took 3 attempt(s)" in ready[0]
            assert client.ready
            await caller.hangup()
