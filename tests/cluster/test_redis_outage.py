"""A Redis outage with real worker processes: ``ivrkit run --cluster`` workers, the
simulator, a real redis-server that the test freezes (SIGSTOP), kills and restarts.

Done when (issue 15): calls in progress go on (keys answered, prompts played, data
collected, nobody hung up or handed back), checkpoints resume when Redis returns (all of
them, re-created if Redis came back empty), new claims work where possible, and the
return causes no split brain: a live worker's call is never moved, while a worker that
died during the outage still has its calls taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from _cluster_rig import Rig, Worker, broadcast_dialplan, standby_dialplan
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from _wait import until
from ivrkit.sim import Caller, Simulator
from ivrkit.testing import RedisServer

pytestmark = [pytest.mark.realtime, pytest.mark.slow, pytest.mark.timeout(60)]

TTL = 1.0
PREFIX = "ivrkit:ivr:"
AST = "02:fc:00:00:00:20"

MENU = """
menus:
  main:
    greeting: [sound:out-main]
    timeout: 30
    options:
      - key: "1"
        collect:
          into: account
          prompt: [sound:out-account]
          length: 4
          then: {goto: confirm}
  confirm:
    greeting: [sound:out-confirm, "digits:{account}"]
    timeout: 30
    options:
      - key: "2"
        continue: true
"""

DURATIONS = (
    "name\tseconds\trate\nout-main\t0.3\t8000\nout-account\t0.3\t8000\nout-confirm\t0.2\t8000\n"
)

UNREACHABLE = "cluster: Redis unreachable"
BACK = "cluster: Redis is back"


async def _sim(tmp_path: Path, dialplan: dict[str, Any], log: list[tuple[str, str]]) -> Simulator:
    durations = tmp_path / "durations.tsv"
    durations.write_text(DURATIONS)
    sim = Simulator(
        dialplan=dialplan,
        durations_file=durations,
        access_log=lambda entry: log.append((entry["method"], entry["path"])),
        asterisk_id=AST,
    )
    await sim.start()
    return sim


# -- what a caller does -----------------------------------------------------------------


async def reach_main(caller: Caller) -> None:
    async with asyncio.timeout(10):
        await caller.wait_for_playback("sound:out-main")


async def enter_account(caller: Caller, account: str) -> None:
    """1 at the main menu, four digits at the collect prompt; the confirmation names them."""
    async with asyncio.timeout(10):
        await caller.press("1")
        await caller.wait_for_playback("sound:out-account")
        await caller.press(account)
        await caller.wait_for_playback(f"digits:{account}")


async def resumed_with_their_accounts(callers: list[Caller], accounts: dict[str, str]) -> None:
    """Each caller hears, again, the account it entered (by channel id): resumed at the
    confirmation, its collected data kept."""
    for x in callers:
        async with asyncio.timeout(10):
            await x.wait_for_playback(f"digits:{accounts[x.channel_id]}")


async def leave(caller: Caller) -> None:
    """2 at the confirmation: continued into the dialplan, which hangs up."""
    async with asyncio.timeout(10):
        await caller.press("2")
        await caller.wait_for_hangup()


async def two_at_main(sim: Simulator) -> list[Caller]:
    """Two calls to 1000 (s0, s1), each at the main menu."""
    callers = [await sim.call(f"PJSIP/s{i}", "1000") for i in range(2)]
    await asyncio.gather(*(reach_main(x) for x in callers))
    return callers


def account_of(i: int) -> str:
    return f"{4000 + i * 7:04d}"


# -- what the test looks at ---------------------------------------------------------------


def cpu_seconds(worker: Worker) -> float:
    """User + system CPU time of the worker process so far (/proc/<pid>/stat)."""
    assert worker.process is not None
    fields = Path(f"/proc/{worker.process.pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def stored(redis: Redis, caller: Caller) -> dict[str, Any]:
    """The call's hash in Redis: owner, token and the decoded checkpoint ({} if none)."""
    row: dict[str, str] = await redis.hgetall(f"{PREFIX}call:{AST}/{caller.channel_id}")
    out: dict[str, Any] = dict(row)
    out["cp"] = json.loads(row["cp"]) if row.get("cp") else {}
    return out


async def all_checkpointed(
    redis: Redis, expected: Iterable[tuple[Caller, str, str | None]]
) -> bool:
    """Every (caller, owner's worker name, account or None = still at main) is in Redis
    with that owner and the checkpoint of where the caller is now."""
    for caller, worker, account in expected:
        try:
            row = await stored(redis, caller)
        except RedisConnectionError:  # our own connection, from before a restart
            return False
        if not row.get("owner", "").startswith(f"{worker}/"):
            return False
        cp = row["cp"]
        if account is None:
            if cp.get("menu") != "main":
                return False
        elif cp.get("menu") != "confirm" or cp.get("data", {}).get("account") != account:
            return False
    return True


def app_of(sim: Simulator, caller: Caller) -> str:
    return str(sim.model.channels[caller.channel_id].stasis_app)


def moves(requests: list[tuple[str, str]], callers: Iterable[Caller]) -> dict[str, int]:
    ids = {c.channel_id for c in callers}
    counted: dict[str, int] = {}
    for method, path in requests:
        parts = path.split("/")
        if method == "POST" and path.endswith("/move") and parts[3] in ids:
            counted[parts[3]] = counted.get(parts[3], 0) + 1
    return counted


def continues(requests: list[tuple[str, str]]) -> list[str]:
    return [p.split("/")[3] for m, p in requests if m == "POST" and p.endswith("/continue")]


def dialplan() -> dict[str, Any]:
    """1000: offered to every worker (a claim decides); 20N: straight into worker N's
    app, so that each worker surely has calls of its own to lose or to keep."""
    plan = broadcast_dialplan()
    for n, name in enumerate("abc"):
        plan["default"][f"20{n}"] = ("NoOp()", f"Stasis(ivr-{name})", "Hangup()")
    return plan


async def calls_to(sim: Simulator, wanted: dict[str, int]) -> dict[str, list[Caller]]:
    """``wanted``: worker name -> how many calls into its app; each has reached main."""
    owned: dict[str, list[Caller]] = {}
    for name, count in wanted.items():
        exten = f"20{'abc'.index(name)}"
        owned[name] = [await sim.call(f"PJSIP/{name}{i}", exten) for i in range(count)]
    await asyncio.gather(*(reach_main(x) for xs in owned.values() for x in xs))
    return owned


# -- what each test runs against ---------------------------------------------------------


@dataclass
class Bed:
    """The simulator (every REST request it answered, in ``requests``), the rig of
    workers and a Redis client of the test's own; ``codes``: each worker's exit status,
    once the bed is closed."""

    sim: Simulator
    rig: Rig
    redis: Redis
    requests: list[tuple[str, str]]
    codes: dict[str, int] = field(default_factory=dict)

    def stops(self, but: str) -> list[int]:
        """The exit statuses of every worker but ``but`` (the one killed -9)."""
        return [code for name, code in self.codes.items() if name != but]

    def assert_all_handed_back(self, callers: Iterable[Caller]) -> None:
        """Each caller was continued in the dialplan once it finished, none hung up by us."""
        assert sorted(continues(self.requests)) == sorted(x.channel_id for x in callers)
        assert self.rig.hangups_by_us() == []


@contextlib.asynccontextmanager
async def open_bed(
    tmp_path: Path, redis_server: RedisServer, plan: dict[str, Any]
) -> AsyncIterator[Bed]:
    requests: list[tuple[str, str]] = []
    sim = await _sim(tmp_path, plan, requests)
    rig = Rig(tmp_path, redis_server.url, [sim], requests)
    bed = Bed(sim, rig, Redis.from_url(redis_server.url, decode_responses=True), requests)
    try:
        yield bed
    finally:
        # every worker, the one killed too: a failure before its kill must not leave it
        bed.codes = {w.name: w.stop() for w in rig.workers}
        await bed.redis.aclose()
        await sim.close()


async def serving(rig: Rig, names: str) -> list[Worker]:
    """A worker per letter of ``names`` (MENU, lease TTL), each started and serving."""
    workers = [rig.worker(n, lease_ttl=TTL, menu_text=MENU) for n in names]
    for w in workers:
        w.start(rig.env())
    for w in workers:
        await w.wait_serving()
    return workers


async def standby_pair(rig: Rig) -> tuple[Worker, Worker]:
    """Active/standby: a serves the app name, then b starts and stands by for it."""
    active = rig.worker("a", "--cluster-mode", "standby", lease_ttl=TTL, menu_text=MENU)
    standby = rig.worker("b", "--cluster-mode", "standby", lease_ttl=TTL, menu_text=MENU)
    active.start(rig.env())
    await active.wait_serving()
    standby.start(rig.env())
    await until(lambda: "standby for ARI app 'ivr'" in standby.output, "no standby", 30)
    return active, standby


async def hold_frozen(frozen_at: float) -> None:
    """Redis's TTLs run on wall time: keep it frozen until every lease has lapsed there."""
    await until(lambda: time.monotonic() - frozen_at > 2.5 * TTL, "the freeze", 10)


# -- the tests ----------------------------------------------------------------------------


async def test_redis_freezes_calls_go_on_and_its_return_moves_no_live_call(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Redis hangs (SIGSTOP) longer than the lease TTL while calls collect digits, and
    worker c is killed -9 meanwhile. During the freeze a and b serve on (their callers
    enter an account and hear it back; two new calls are claimed and served). When Redis
    returns, every lease key has expired by Redis's wall clock; a and b re-assert theirs
    and re-write every checkpoint; c's calls, and only c's, are taken over and moved."""
    async with open_bed(tmp_path, redis_server, dialplan()) as bed:
        sim, rig, redis, requests = bed.sim, bed.rig, bed.redis, bed.requests
        a, b, c = await serving(rig, "abc")
        owned = await calls_to(sim, {"a": 2, "b": 2, "c": 2})
        live = owned["a"] + owned["b"]
        everyone = live + owned["c"]
        at_main = [(x, n, None) for n, xs in owned.items() for x in xs]
        await until(lambda: all_checkpointed(redis, at_main), "first checkpoints", 15)

        redis_server.pause()
        frozen_at = time.monotonic()
        cpu_before = {w.name: cpu_seconds(w) for w in (a, b)}
        c.kill()
        accounts = {x.channel_id: account_of(i) for i, x in enumerate(everyone)}
        # calls in progress go on: keys answered, the collect prompt played, data collected
        await asyncio.gather(*(enter_account(x, accounts[x.channel_id]) for x in live))
        # new calls are claimed through Asterisk, so they are served too
        newcomers = [await sim.call(f"PJSIP/n{i}", "1000") for i in range(2)]
        for i, x in enumerate(newcomers):
            accounts[x.channel_id] = account_of(100 + i)
        await asyncio.gather(*(reach_main(x) for x in newcomers))
        await asyncio.gather(*(enter_account(x, accounts[x.channel_id]) for x in newcomers))
        assert {app_of(sim, x) for x in newcomers} <= {"ivr-a", "ivr-b"}
        await until(
            lambda: all(UNREACHABLE in w.output for w in (a, b)), "the outage went unnoticed"
        )
        await hold_frozen(frozen_at)
        frozen_for = time.monotonic() - frozen_at
        cpu = {w.name: cpu_seconds(w) - cpu_before[w.name] for w in (a, b)}
        assert continues(requests) == []  # nobody was handed back for the outage

        redis_server.resume()
        back_at = time.monotonic()
        after_live = [
            (x, app_of(sim, x).removeprefix("ivr-"), accounts[x.channel_id])
            for x in live + newcomers
        ]
        await until(lambda: all_checkpointed(redis, after_live), "checkpoints after return", 15)
        rewritten_after = time.monotonic() - back_at
        await until(
            lambda: all(app_of(sim, x) in ("ivr-a", "ivr-b") for x in owned["c"]),
            "the dead worker's calls were not taken over",
            15,
        )
        taken_after = time.monotonic() - back_at
        # c's callers hear the main menu again (their checkpoint) and carry on
        for x in owned["c"]:
            await reach_main(x)
            await enter_account(x, accounts[x.channel_id])
        await asyncio.gather(*(leave(x) for x in everyone + newcomers))
    stops = bed.stops(but="c")

    print(
        f"frozen {frozen_for:.2f} s; worker CPU meanwhile {cpu}; checkpoints re-written "
        f"{rewritten_after:.2f} s and c's calls taken over {taken_after:.2f} s after return"
    )
    # the safety margin of the return: every live worker re-asserted its leases within
    # the grace (one TTL) during which no peer scans for orphans
    assert rewritten_after < TTL
    # no live call of a healthy worker moved; each of the dead worker's calls moved once
    assert moves(requests, live + newcomers) == {}
    assert moves(requests, owned["c"]) == {x.channel_id: 1 for x in owned["c"]}
    bed.assert_all_handed_back(everyone + newcomers)
    for w in (a, b):
        # once when it goes, once when it is back: not a line per checkpoint
        assert w.output.count(UNREACHABLE) == 1, w.output[-3000:]
        assert w.output.count(BACK) == 1, w.output[-3000:]
        assert "Traceback" not in w.output, w.output[-3000:]
        # no busy loop while Redis does not answer
        assert cpu[w.name] < 0.25 * frozen_for, cpu
    assert stops == [0, 0], [w.output[-2000:] for w in rig.workers]


async def test_redis_restarts_empty_every_live_call_is_written_again(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Redis dies and comes back on the same port with no data. Each worker re-asserts
    its leases and re-writes the checkpoint of every live call, also the ones that do
    not change afterwards; then a kill -9 still hands the dead worker's calls to the
    survivor at their latest checkpoint, collected data kept."""
    async with open_bed(tmp_path, redis_server, dialplan()) as bed:
        sim, rig, redis = bed.sim, bed.rig, bed.redis
        a, b = await serving(rig, "ab")
        owned = await calls_to(sim, {"a": 3, "b": 2})
        everyone = owned["a"] + owned["b"]
        accounts = {x.channel_id: account_of(i) for i, x in enumerate(everyone)}
        await asyncio.gather(*(enter_account(x, accounts[x.channel_id]) for x in everyone))
        expected = [(x, n, accounts[x.channel_id]) for n, xs in owned.items() for x in xs]
        await until(lambda: all_checkpointed(redis, expected), "checkpoints before", 15)

        await asyncio.to_thread(redis_server.stop)
        await until(
            lambda: all(UNREACHABLE in w.output for w in (a, b)), "the outage went unnoticed"
        )
        # a call that arrives while Redis is down is claimed and served
        late = await sim.call("PJSIP/late", "1000")
        accounts[late.channel_id] = account_of(50)
        await reach_main(late)
        await enter_account(late, accounts[late.channel_id])
        late_owner = app_of(sim, late).removeprefix("ivr-")

        await asyncio.to_thread(redis_server.start)  # same port, empty
        back_at = time.monotonic()
        expected.append((late, late_owner, accounts[late.channel_id]))
        await until(lambda: all_checkpointed(redis, expected), "checkpoints after return", 15)
        rewritten_after = time.monotonic() - back_at
        owners = await redis.smembers(f"{PREFIX}owners")
        assert {o.partition("/")[0] for o in owners} == {"a", "b"}
        assert await redis.exists(*(f"{PREFIX}alive:{o}" for o in owners)) == 2
        mine = [x for x, n, _ in expected if n == "a"]
        assert mine, "worker a has no call to lose"

        a.kill()
        killed_at = time.monotonic()
        await until(lambda: all(app_of(sim, x) == "ivr-b" for x in mine), "no takeover after", 15)
        taken_after = time.monotonic() - killed_at
        # resumed at the confirmation, the account it collected before the outage kept
        await resumed_with_their_accounts(mine, accounts)
        await asyncio.gather(*(leave(x) for x, _, _ in expected))
    stops = bed.stops(but="a")

    print(
        f"checkpoints re-written {rewritten_after:.2f} s after Redis came back empty; "
        f"kill -9 to takeover {taken_after:.2f} s"
    )
    bed.assert_all_handed_back(x for x, _, _ in expected)
    assert b.output.count(UNREACHABLE) == 1, b.output[-3000:]
    assert b.output.count(BACK) == 1, b.output[-3000:]
    assert stops == [0], [w.output[-2000:] for w in rig.workers]


async def test_standby_the_active_worker_keeps_its_app_through_an_outage(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Active/standby: Redis freezes past the lease TTL. The active worker serves on,
    new calls included (they come to its one app name), and when Redis returns it
    re-asserts the name's lease: the standby does not take the name from a live worker.
    Only once the active worker really dies does the standby take over, and the call that
    arrived during the outage resumes from the checkpoint written after it."""
    async with open_bed(tmp_path, redis_server, standby_dialplan()) as bed:
        sim, rig, redis = bed.sim, bed.rig, bed.redis
        active, standby = await standby_pair(rig)
        callers = await two_at_main(sim)

        redis_server.pause()
        frozen_at = time.monotonic()
        accounts = {x.channel_id: account_of(i) for i, x in enumerate(callers)}
        await asyncio.gather(*(enter_account(x, accounts[x.channel_id]) for x in callers))
        late = await sim.call("PJSIP/late", "1000")
        accounts[late.channel_id] = account_of(9)
        await reach_main(late)
        await enter_account(late, accounts[late.channel_id])
        callers.append(late)
        await until(lambda: UNREACHABLE in active.output, "the outage went unnoticed")
        await hold_frozen(frozen_at)

        redis_server.resume()
        expected = [(x, "a", accounts[x.channel_id]) for x in callers]
        await until(lambda: all_checkpointed(redis, expected), "checkpoints after return", 15)
        # watch three lease TTLs: the name stays with the live active worker
        watched_from = time.monotonic()
        while time.monotonic() - watched_from < 3 * TTL:
            holder = await redis.get(f"{PREFIX}app:ivr")
            assert holder is not None
            assert holder.startswith("a/"), holder
            assert "ivrkit run: serving" not in standby.output, standby.output[-2000:]
            await asyncio.sleep(0.05)
        assert {app_of(sim, x) for x in callers} == {"ivr"}

        active.kill()
        await standby.wait_serving()
        await resumed_with_their_accounts(callers, accounts)
        await asyncio.gather(*(leave(x) for x in callers))
    bed.assert_all_handed_back(callers)
    assert bed.stops(but="a") == [0], [w.output[-2000:] for w in rig.workers]


async def test_standby_the_active_worker_dies_during_the_outage(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The active worker of a standby pair is killed while Redis hangs: nobody can take
    the name then (its lease is in Redis). Once Redis is back and the grace is over, the
    standby takes it, and the calls resume from their checkpoints, data kept."""
    async with open_bed(tmp_path, redis_server, standby_dialplan()) as bed:
        sim, rig, redis = bed.sim, bed.rig, bed.redis
        active, standby = await standby_pair(rig)
        callers = await two_at_main(sim)
        accounts = {x.channel_id: account_of(i) for i, x in enumerate(callers)}
        await asyncio.gather(*(enter_account(x, accounts[x.channel_id]) for x in callers))
        expected = [(x, "a", accounts[x.channel_id]) for x in callers]
        await until(lambda: all_checkpointed(redis, expected), "checkpoints before", 15)

        redis_server.pause()
        frozen_at = time.monotonic()
        active.kill()
        await hold_frozen(frozen_at)
        assert "ivrkit run: serving" not in standby.output  # it cannot know yet
        redis_server.resume()
        await standby.wait_serving(20)
        await resumed_with_their_accounts(callers, accounts)
        await asyncio.gather(*(leave(x) for x in callers))
    bed.assert_all_handed_back(callers)
    assert bed.stops(but="a") == [0], [w.output[-2000:] for w in rig.workers]
