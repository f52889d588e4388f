"""``StasisBroadcast()``, ``POST /events/claim`` and ``POST /channels/{id}/move``.

As Asterisk 20.20.1 does it (apps/app_stasis_broadcast.c, res/res_stasis_broadcast.c,
res/ari/resource_events.c, res/res_stasis.c; facts, not code):

* ``StasisBroadcast(timeout,app_filter,args,notify_claimed)``: timeout in ms, 0-60000,
  default 500 (an invalid value warns and uses 500); ``app_filter`` a regular
  expression over application names (longer than 256 characters, or one that does not
  compile: no filtering); ``args`` colon-delimited, given to the winner's StasisStart;
  ``notify_claimed`` (``ast_true``) sends ``CallClaimed`` to the matching apps.
  STASISSTATUS is set to "" first.
* ``CallBroadcast`` carries the channel, ``caller`` (caller id number, "" if none) and
  ``called`` (the extension), sent to every matching application in random order. With
  no application at all nothing is sent and the wait runs its whole timeout.
* The first claim wins (204); later claims get 409 "Channel has already been claimed
  by another application" for as long as the winner's Stasis session lasts; a channel
  not being broadcast (never, timed out, or its Stasis session over) gets 404 "Channel
  not found or not in broadcast state". Missing parameters: 400 "channelId parameter is
  required" / "application parameter is required". The application is not checked at
  claim time: a winner that is not connected makes STASISSTATUS=FAILED afterwards.
* No claim within the timeout: STASISSTATUS=TIMEOUT and the dialplan goes on. After a
  won Stasis session, SUCCESS (set when the channel leaves Stasis).
* ``move``: 404 "Channel not found", 409 "Channel not in Stasis application", else 204;
  the move is a command on the channel's queue, so it happens after the command in
  progress (a playing prompt) ends. Then StasisEnd to the old app and StasisStart (with
  ``appArgs`` split on commas) to the new one; when the new app is not registered or
  not connected, the old app gets ``ApplicationMoveFailed`` and keeps the channel.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass, field
from typing import Any

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._json import channel_json, event
from ivrkit.sim.model._objects import Channel
from ivrkit.sim.model._replies import AriError

DEFAULT_TIMEOUT_MS = 500
MAX_TIMEOUT_MS = 60000
MAX_REGEX_LENGTH = 256
MAX_ARGS = 128
_TRUE = {"yes", "true", "y", "t", "1", "on"}


@dataclass(slots=True)
class Broadcast:
    """One channel's broadcast context (Asterisk keeps it in a channel datastore)."""

    channel_id: str
    pattern: re.Pattern[str] | None
    notify_claimed: bool
    args: list[str]
    where: tuple[str, str, int]
    winner: str | None = None
    entered: bool = False  # the winner's Stasis session began
    timer: Any = field(default=None, repr=False)


def _leading_int(text: str) -> int | None:
    m = re.match(r"\s*([+-]?\d+)", text)
    return int(m.group(1)) if m else None


def parse_broadcast(data: str) -> tuple[int, re.Pattern[str] | None, list[str], bool]:
    """``timeout_ms, pattern, args, notify_claimed`` from the application's data."""
    parts = [*data.split(","), "", "", ""][:4]
    timeout_text, filter_text, args_text, notify_text = (p.strip() for p in parts)
    timeout = DEFAULT_TIMEOUT_MS
    if timeout_text:
        value = _leading_int(timeout_text)
        timeout = value if value is not None and 0 <= value <= MAX_TIMEOUT_MS else timeout
    pattern: re.Pattern[str] | None = None
    if filter_text and len(filter_text) <= MAX_REGEX_LENGTH:
        try:
            pattern = re.compile(filter_text)
        except re.error:
            pattern = None  # Asterisk: "proceeding without application filtering"
    args = args_text.split(":")[:MAX_ARGS] if args_text else []
    return timeout, pattern, args, notify_text.lower() in _TRUE


class BroadcastOps(ModelCore):
    """The broadcast half of the model (see the module docstring)."""

    broadcasts: dict[str, Broadcast]

    def _broadcast_table(self) -> dict[str, Broadcast]:
        table = self.__dict__.get("broadcasts")
        if table is None:
            table = self.broadcasts = {}
        return table

    def _matching_apps(self, pattern: re.Pattern[str] | None) -> list[str]:
        return [
            name
            for name, app in self.apps.items()
            if app.sink is not None and (pattern is None or pattern.search(name))
        ]

    def _stasis_broadcast(
        self, ch: Channel, data: str, context: str, exten: str, priority: int
    ) -> None:
        """Run ``StasisBroadcast(data)`` on ``ch``; the dialplan waits for its outcome."""
        table = self._broadcast_table()
        for cid in [c for c in table if c not in self.channels]:
            del table[cid]  # channels destroyed mid-broadcast (Asterisk: datastore destroy)
        timeout, pattern, args, notify = parse_broadcast(data)
        ch.variables["STASISSTATUS"] = ""
        self._varset(ch, "STASISSTATUS", "")
        bc = Broadcast(ch.id, pattern, notify, args, (context, exten, priority))
        table[ch.id] = bc
        recipients = self._matching_apps(pattern)
        random.shuffle(recipients)
        for name in recipients:
            self._deliver(
                [name],
                event(
                    "CallBroadcast",
                    self.timestamp(),
                    self.asterisk_id,
                    channel=channel_json(ch),
                    caller=ch.caller_number,
                    called=ch.exten,
                ),
            )
        bc.timer = self._at(ch, timeout / 1000, self._broadcast_timeout, ch, bc)

    def _broadcast_timeout(self, ch: Channel, bc: Broadcast) -> None:
        table = self._broadcast_table()
        if table.get(ch.id) is bc and bc.winner is None:
            del table[ch.id]
            self._set_status(ch, "TIMEOUT")
            context, exten, priority = bc.where
            self._run_dialplan(ch, context, exten, priority + 1)

    def claim_channel(self, channel_id: str | None, application: str | None) -> None:
        if not channel_id:
            raise AriError(400, "channelId parameter is required")
        if not application:
            raise AriError(400, "application parameter is required")
        table = self._broadcast_table()
        bc = table.get(channel_id)
        ch = self.channels.get(channel_id)
        if bc is not None and (ch is None or ch.gone or (bc.entered and ch.stasis_app is None)):
            del table[channel_id]  # the channel went, or its Stasis session is over
            bc = None
        if bc is None or ch is None:
            raise AriError(404, "Channel not found or not in broadcast state")
        if bc.winner is not None:
            raise AriError(409, "Channel has already been claimed by another application")
        bc.winner = application
        if bc.timer is not None:
            bc.timer.cancel()
            ch.timers.discard(bc.timer)
        if bc.notify_claimed:
            snapshot = channel_json(ch)
            for name in self._matching_apps(bc.pattern):
                self._deliver(
                    [name],
                    event(
                        "CallClaimed",
                        self.timestamp(),
                        self.asterisk_id,
                        channel=snapshot,
                        winner_app=application,
                    ),
                )
        # the dialplan thread wakes on the claim: Stasis with the winner follows at once
        self._at(ch, 0.0, self._broadcast_won, ch, bc)

    def _broadcast_won(self, ch: Channel, bc: Broadcast) -> None:
        if ch.gone or ch.hanging:
            return
        assert bc.winner is not None
        if not self.app_connected(bc.winner):
            self._broadcast_table().pop(ch.id, None)
            self._set_status(ch, "FAILED")
            context, exten, priority = bc.where
            self._run_dialplan(ch, context, exten, priority + 1)
            return
        bc.entered = True
        self._enter_stasis(ch, bc.winner, bc.args)

    def _set_status(self, ch: Channel, status: str) -> None:
        ch.variables["STASISSTATUS"] = status
        self._varset(ch, "STASISSTATUS", status)

    # -- move --------------------------------------------------------------------------

    def move_channel(self, channel_id: str, app: str | None, app_args: str | None) -> None:
        """``stasis_app_control_move``: a command on the channel's control thread
        (``stasis_app_send_command_async(control, app_control_move, ...)`` in
        res/stasis/control.c), so it waits behind a playing prompt or a recording and is
        answered at once. The command only records the next application
        (``control->next_app``); ``stasis_app_exec`` (res/res_stasis.c) switches at the
        top of its loop, once ``control_dispatch_all`` has run every queued command: a
        prompt queued behind the move still plays, to the old application, first."""
        ch = self._stasis_channel(channel_id)
        if not app:
            # Asterisk declares app required but does not check it; refuse clearly
            raise AriError(400, "app parameter is required")
        # app_control_move splits app_args with strtok_r on ",": empty ones are dropped
        args = [a for a in (app_args or "").split(",") if a]
        command = functools.partial(self._move_queued, ch, app, args)
        self._channel_command(ch, command, sync=False, after_answer=True)

    def _move_queued(self, ch: Channel, app: str, args: list[str]) -> None:
        """``app_control_move`` replaces ``next_app`` but appends to ``next_app_args``:
        two moves run in one pass of the thread switch once, to the last application,
        with the arguments of both."""
        if ch.next_app is None or ch.playbacks.on_idle is None:  # none pending
            ch.next_app = (app, args)
            ch.playbacks.on_idle = functools.partial(self._move, ch)
        else:
            ch.next_app = (app, ch.next_app[1] + args)

    def _move(self, ch: Channel) -> None:
        if ch.next_app is None:
            return
        (app, args), ch.next_app = ch.next_app, None
        if ch.gone or ch.stasis_app is None:
            return
        if not self.app_connected(app):
            self._stasis_event(ch, "ApplicationMoveFailed", destination=app, args=args)
            return
        self._stasis_event(ch, "StasisEnd")
        ch.stasis_app = app
        self._stasis_event(ch, "StasisStart", args=args)

    # -- provided by ChannelOps (declared here so this part type-checks alone) ---------

    def _enter_stasis(self, ch: Channel, app: str, args: list[str]) -> None:
        raise NotImplementedError

    def _run_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        raise NotImplementedError
