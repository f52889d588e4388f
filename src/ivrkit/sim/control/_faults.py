"""Fault hooks: break the simulator on purpose, from a test.

``sim.faults`` lets a test make the server misbehave the way networks and overloaded
Asterisks do, at an exact moment:

* ``fail_requests(status=500, count=1, path=None, method=None, message=...)`` — the next
  matching requests (over HTTP, or as RESTRequest frames on a websocket) are answered
  with ``status`` and ``{"message": message}``;
* ``delay_requests(seconds, count=None, path=None, method=None)`` — matching requests
  wait ``seconds`` of loop time before being served;
* ``refuse_requests(count=1, path=None, method=None)`` — the connection is closed
  without an answer;
* ``drop_websockets(app=None)`` — cut events websockets (all, or those carrying ``app``)
  without a close frame; returns how many were cut;
* ``hang_up(caller, after=0.0)`` — the caller hangs up now or ``after`` seconds later;
* ``clear()`` — remove every request rule.

``path`` matches the request path relative to ``/ari`` by prefix (``"channels"``,
``"events"`` for the websocket handshake); ``method`` matches exactly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from ivrkit.sim.control._callers import Caller
from ivrkit.sim.front._app import SimState
from ivrkit.sim.front._wire import compact


@dataclass(eq=False, slots=True)
class _Rule:
    kind: str  # "fail" | "delay" | "refuse"
    remaining: int | None
    path: str | None
    method: str | None
    status: int = 500
    message: str = ""
    seconds: float = 0.0

    def matches(self, method: str, rel_path: str) -> bool:
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or rel_path.startswith(self.path.strip("/"))


class Faults:
    """The fault switchboard of one simulator (``sim.faults``)."""

    def __init__(self) -> None:
        self._rules: list[_Rule] = []
        self._state: SimState | None = None

    def bind(self, state: SimState) -> None:
        self._state = state

    def _add(self, rule: _Rule) -> None:
        if rule.remaining is not None and rule.remaining < 1:
            raise ValueError(f"count must be at least 1, got {rule.remaining}")
        self._rules.append(rule)

    def fail_requests(
        self,
        status: int = 500,
        count: int | None = 1,
        *,
        path: str | None = None,
        method: str | None = None,
        message: str = "Internal Server Error",
    ) -> None:
        """Answer the next ``count`` matching requests (None = all) with ``status``."""
        self._add(_Rule("fail", count, path, method, status=status, message=message))

    def delay_requests(
        self,
        seconds: float,
        count: int | None = None,
        *,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Hold matching requests for ``seconds`` of loop time before serving them."""
        if seconds < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {seconds}")
        self._add(_Rule("delay", count, path, method, seconds=seconds))

    def refuse_requests(
        self, count: int | None = 1, *, path: str | None = None, method: str | None = None
    ) -> None:
        """Close the connection of the next ``count`` matching requests without answering."""
        self._add(_Rule("refuse", count, path, method))

    def clear(self) -> None:
        """Remove every request rule."""
        self._rules.clear()

    def drop_websockets(self, app: str | None = None) -> int:
        """Cut events websockets (all, or those carrying ``app``); how many were cut."""
        if self._state is None:
            return 0
        cut = 0
        for sock in list(self._state.sockets):
            if app is None or app in sock.apps:
                sock.drop()
                cut += 1
        return cut

    def hang_up(self, caller: Caller, after: float = 0.0) -> None:
        """The caller hangs up now, or ``after`` seconds of loop time from now."""
        caller.hangup_nowait(after)

    def _take(self, method: str, rel: str, kinds: tuple[str, ...]) -> _Rule | None:
        """The first rule of ``kinds`` that matches, used up once; None if none does."""
        for rule in self._rules:
            if rule.kind not in kinds or not rule.matches(method, rel):
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self._rules.remove(rule)
            return rule
        return None

    def frame_failure(self, method: str, rel_path: str) -> tuple[int, str] | None:
        """For a RESTRequest frame: the status and message of the first matching
        ``fail_requests`` rule (used up as over HTTP), or None. Delay and refuse rules
        are HTTP's only: a frame has no connection of its own to hold or cut."""
        rule = self._take(method, rel_path.strip("/"), ("fail",))
        return None if rule is None else (rule.status, rule.message)

    async def apply(self, request: web.Request) -> web.StreamResponse | None:
        """Run the first matching rule; a response means "answer this instead"."""
        rel = request.path[len("/ari") :].strip("/")
        rule = self._take(request.method, rel, ("fail", "delay", "refuse"))
        if rule is None:
            return None
        if rule.kind == "delay":
            await asyncio.sleep(rule.seconds)
            return None
        if rule.kind == "refuse":
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        return web.Response(
            status=rule.status,
            text=compact({"message": rule.message}),
            content_type="application/json",
        )
