"""``ivrkit run`` as a service: stop signals, draining, and reloading the menu.

Theory of operation
-------------------
Process supervisors stop a service with SIGTERM (systemd's ``KillSignal`` default,
``docker stop``, Kubernetes), a terminal with SIGINT (Ctrl-C), and ask for a reload with
SIGHUP (systemd's ``ExecReload``, by convention). :class:`ServiceControl` turns them into
requests on the event loop (``loop.add_signal_handler``), so the handlers run between two
events, never in the middle of a call's step.

Stopping follows the :class:`StopPolicy`:

* ``continue`` (the default): every live call is handed back to the dialplan at once
  (``IVRKIT_HANDBACK=stop``, then ``POST /channels/{id}/continue``), then the process
  exits 0.
* ``drain``: the runner stops taking calls: a call that enters Stasis from now on is
  continued at once, unanswered, with ``IVRKIT_HANDBACK=drain``, so the dialplan routes
  it elsewhere. The application itself stays registered, because live calls need its
  events; unregistering it (closing the websocket) would make Asterisk's ``Stasis()``
  fail with ``STASISSTATUS=FAILED`` for new calls, but also cut the live ones off.
  Live calls go on until they end or ``drain_timeout`` passes; the rest are handed back
  as with ``continue``. A second SIGTERM/SIGINT during the drain ends it at once.

A reload re-reads the menu file with the same checks as startup. A valid file applies to
calls that arrive afterwards (live calls keep the tree they started with); a bad one is
rejected with every problem printed, and the menu in force stays.

Invariants
  1. Stopping never hangs anybody up: every live call leaves through ``continue``.
  2. Exit status is 0 after a stop by signal, and after another process took the
     application over (``ApplicationReplaced``: that process resumes the calls, so this
     one must not touch them, not even to hand them back; a supervisor's
     ``Restart=on-failure`` must not start this one again to take them back).
  3. Handlers are removed when the service stops, so a signal afterwards gets the
     default action (the process is no longer holding calls).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ivrkit.cli import CliError

if TYPE_CHECKING:  # the runner pulls in aiohttp; ``ivrkit check`` must not pay for it
    from ivrkit.ivr import MenuTree

StopMode = Literal["continue", "drain"]
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True, slots=True)
class StopPolicy:
    """What a stop request does: hand calls back now, or drain them first."""

    mode: StopMode = "continue"
    drain_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.drain_timeout < 0:
            raise ValueError(f"drain_timeout must be >= 0 seconds, got {self.drain_timeout}")


@dataclass(frozen=True, slots=True)
class StopReport:
    """How a stop went: ``ended`` calls finished during the drain, ``handed_back`` went
    to the dialplan at the end, ``refused`` arrived during the drain."""

    reason: str
    ended: int
    handed_back: int
    refused: int


class Served(Protocol):
    """What stopping and reloading need of the calls being served: a ``MenuRunner``, or
    several behind one face (one per Asterisk, cli/_cluster.py)."""

    @property
    def live_calls(self) -> int: ...

    @property
    def calls_refused(self) -> int: ...

    def replace_menu(self, tree: MenuTree, handlers: Mapping[str, Any] | None = None) -> None: ...

    def refuse_new_calls(self) -> None: ...

    async def release_calls(self) -> int: ...

    async def wait_no_calls(self) -> None: ...


class ServiceControl:
    """Signals → stop and reload requests for one ``MenuRunner`` (see the module doc)."""

    def __init__(
        self,
        runner: Served,
        policy: StopPolicy,
        *,
        reload: Callable[[], tuple[MenuTree, dict[str, Any]]] | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.runner = runner
        self.policy = policy
        self._reload = reload
        self._say = say
        self._stop_requests = 0
        self._wake = asyncio.Event()
        self.reason = ""
        self.reloads = 0

    # ---------------------------------------------------------------- requests

    def request_stop(self, reason: str) -> None:
        """Ask for a stop (what SIGTERM/SIGINT do); a second request cuts a drain short."""
        self._stop_requests += 1
        if not self.reason:
            self.reason = reason
        self._wake.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requests > 0

    def request_reload(self) -> bool:
        """Re-read the menu (what SIGHUP does); True if the new one is now in force."""
        if self._reload is None:
            self._say("ivrkit run: SIGHUP ignored: there is no menu file to reload")
            return False
        try:
            tree, handlers = self._reload()
        except CliError as exc:
            self._say(
                f"ivrkit run: reload rejected: {exc.headline}; the previous menu stays in force"
            )
            for cause in exc.causes:
                self._say(f"  Cause: {cause}")
            return False
        self.runner.replace_menu(tree, handlers)
        self.reloads += 1
        count = len(tree.menus)
        self._say(
            f"ivrkit run: reloaded {tree.source} ({count} menu{'s' * (count != 1)}, "
            f"start `{tree.start}`): new calls get it, {self.runner.live_calls} live "
            "call(s) keep theirs"
        )
        return True

    @contextlib.contextmanager
    def signals(self) -> Iterator[None]:
        """Route SIGTERM/SIGINT to ``request_stop`` and SIGHUP to ``request_reload``."""
        loop = asyncio.get_running_loop()
        installed: list[signal.Signals] = []
        try:
            handlers: list[tuple[signal.Signals, Callable[[], object]]] = [
                *((sig, functools.partial(self.request_stop, sig.name)) for sig in STOP_SIGNALS),
                (signal.SIGHUP, self.request_reload),
            ]
            for sig, handler in handlers:
                try:
                    loop.add_signal_handler(sig, handler)
                except (NotImplementedError, RuntimeError):  # no Unix signals (Windows)
                    continue
                installed.append(sig)
            yield
        finally:
            for sig in installed:  # invariant 3
                loop.remove_signal_handler(sig)

    # ---------------------------------------------------------------- serving

    async def wait(self, stopped: Callable[[], Any]) -> bool:
        """Wait for a stop request (True) or for ``stopped()`` to return (False).

        ``stopped`` is the client's ``wait_stopped``: its error (the app was taken over)
        propagates.
        """
        if self.stop_requested:
            return True
        done = asyncio.ensure_future(stopped())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({done, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            if not done.done():
                done.cancel()
        if self.stop_requested:
            return True
        done.result()
        return False

    def taken_over(self) -> None:
        """Another process registered our application: it has the calls now."""
        self._say(
            f"ivrkit run: another process took over the application and its "
            f"{self.runner.live_calls} live call(s); stopping without touching them"
        )

    async def stop(self, stopped: Callable[[], Any] | None = None) -> StopReport:
        """Carry out the policy (invariant 1); ``stopped`` ends a drain early if it returns."""
        runner = self.runner
        reason = self.reason or "stop"
        ended = 0
        refused_before = runner.calls_refused
        runner.refuse_new_calls()  # whatever arrives until the socket closes goes back too
        if self.policy.mode == "drain" and runner.live_calls:
            live = runner.live_calls
            self._say(
                f"ivrkit run: {reason}: draining {live} live call(s) for up to "
                f"{self.policy.drain_timeout:g} s; new calls go back to the dialplan"
            )
            requests = self._stop_requests
            if await self._drain(requests, stopped):
                self.taken_over()
                return StopReport(reason, live - runner.live_calls, 0, runner.calls_refused)
            ended = max(0, live - runner.live_calls)
        handed_back = await runner.release_calls()
        report = StopReport(reason, ended, handed_back, runner.calls_refused - refused_before)
        drained = f"{ended} call(s) ended during the drain, " if self.policy.mode == "drain" else ""
        refused = f", {report.refused} new call(s) sent to the dialplan" if report.refused else ""
        self._say(
            f"ivrkit run: stopped ({reason}); {drained}{handed_back} call(s) handed back "
            f"to the dialplan{refused}"
        )
        return report

    async def _drain(self, requests: int, stopped: Callable[[], Any] | None) -> bool:
        """Wait out the drain; True if the client stopped meanwhile (taken over)."""
        waits: set[asyncio.Future[Any]] = {asyncio.ensure_future(self.runner.wait_no_calls())}
        client_stopped: asyncio.Future[Any] | None = None
        if stopped is not None:
            client_stopped = asyncio.ensure_future(stopped())
            waits.add(client_stopped)
        again = asyncio.ensure_future(self._wait_more_requests(requests))
        waits.add(again)
        try:
            await asyncio.wait(
                waits, timeout=self.policy.drain_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for waiter in waits:
                waiter.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        if again.done() and not again.cancelled():
            self._say("ivrkit run: second stop request: ending the drain now")
        return (
            client_stopped is not None and client_stopped.done() and not client_stopped.cancelled()
        )

    async def _wait_more_requests(self, seen: int) -> None:
        while self._stop_requests <= seen:
            self._wake.clear()
            await self._wake.wait()


def _seconds(text: str) -> float:
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text!r}")
    return value


def add_stop_options(p: Any) -> None:
    """``--on-stop`` and ``--drain-timeout`` for ``ivrkit run``."""
    p.add_argument(
        "--on-stop",
        choices=("continue", "drain"),
        default="continue",
        help="on SIGTERM/SIGINT: hand live calls back to the dialplan at once (continue), "
        "or take no new calls and let live ones finish first (drain); default %(default)s",
    )
    p.add_argument(
        "--drain-timeout",
        type=_seconds,
        default=30.0,
        metavar="SECONDS",
        help="with --on-stop drain: how long live calls may go on before they are handed "
        "back (default %(default)g)",
    )


__all__ = [
    "STOP_SIGNALS",
    "ServiceControl",
    "StopMode",
    "StopPolicy",
    "StopReport",
    "add_stop_options",
]
