"""The channel's control thread: when a channel operation runs, and when it is answered.

In Asterisk every channel in Stasis has one control thread and one command queue
(``res/stasis/control.c``). ARI operations on the channel do not act on it from the
HTTP thread: they queue a command (``stasis_app_send_command`` and its ``_async``
variant) that the channel's own thread runs, one at a time, in the order they were
asked for. A playback is such a command too (``play_uri``, async), and it holds the
thread for as long as the prompt plays; so does a recording. Three ordering rules
follow, each seen in recordings of a real Asterisk 20.20.1:

Rule 1, **events before the answer** (``EVENTS_FIRST``). Synchronous commands
(``stasis_app_send_command``: answer in ``res/res_stasis_answer.c``, variable set,
bridge ``addChannel``/``removeChannel`` through ``app_send_command_on_condition``) make
the HTTP thread wait in ``command_join`` until the control thread has run them, and
the control thread publishes the command's events while running it; the HTTP answer
is written after that. Recorded: ``guide-js-*`` ``POST /channels/{id}/answer`` (the
app's ``ChannelStateChange`` Up arrives 0.1-1.9 ms before the 204 in all three),
protocol-catalog step 54 ``addChannel`` (``ChannelEnteredBridge`` 1.3 ms before the
204) and step 56 ``removeChannel`` (``ChannelLeftBridge`` 0.7 ms before). The front
door writes the events of such a request to every events socket before its answer.

Rule 2, **queued behind the media** (``QUEUED_BEHIND_MEDIA``). While a playback (or
recording) holds the control thread, every other command waits; a synchronous one
keeps its request unanswered until it has run. Recorded: protocol-catalog step 62,
``RESTRequest`` t5 sets a variable on ``cat-ch1b`` while ``press-1`` plays; Asterisk
answers it when the prompt ends, its ``ChannelVarset`` right after
``PlaybackFinished``. Asynchronous commands (dtmf, ring, progress, hold, mute, moh,
silence, continue, redirect, dial, move: each ``stasis_app_send_command_async`` in
``res/stasis/control.c``) are answered at once and take effect when the thread gets to
them. When the channel
leaves Stasis first, the queued commands fail (``control_flush_queue``:
``command_complete(command, -1)``), and each synchronous request gets the answer its
handler gives for -1 (answer: 500 "Failed to answer channel"; variable set: 400
"Failed to execute function"; ``addChannel``/``removeChannel``: 204).

Rule 3, **progress before media** (``PROGRESS_ON_MEDIA``, in ``_playbacks``):
``play_on_channel`` (``res/res_stasis_playback.c``) indicates
``AST_CONTROL_PROGRESS`` when the channel is not Up, and the dialling side of a Local
pair reports it (``main/dial.c``: ``ast_channel_publish_dial(..., "PROGRESS")``): a
``Dial`` event ``dialstatus: PROGRESS`` on the originated half, each time a playback
starts on the unanswered ``;2`` half.

Not modelled: bridged channels run commands through the bridge (``ast_bridge_channel``
callbacks), so here a channel in a bridge queues behind its own channel playbacks only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ivrkit.sim.model._core import ModelCore
from ivrkit.sim.model._objects import Channel, ChannelCommand, PlaybackQueue
from ivrkit.sim.model._replies import AriError, Pending, RequestHold, SimResponse

_log = logging.getLogger("ivrkit.sim")

#: Rule names, for grep: each is quoted where the rule is applied.
EVENTS_FIRST = "events before the answer"
QUEUED_BEHIND_MEDIA = "queued behind the media"
PROGRESS_ON_MEDIA = "progress before media"


class ControlThreadOps(ModelCore):
    """Runs channel operations as Asterisk's control thread would (module docstring)."""

    #: the hold of the request being served (set by ``begin_request``), else ``None``
    _request: RequestHold | None = None

    def begin_request(self) -> RequestHold:
        """The dispatcher serves one request: how its answer must wait is collected here."""
        hold = self._request = RequestHold()
        return hold

    def end_request(self) -> RequestHold | None:
        hold, self._request = self._request, None
        return hold

    def _channel_command(
        self,
        ch: Channel,
        run: Callable[[], None],
        *,
        sync: bool,
        failure: SimResponse | None = None,
        after_answer: bool = False,
    ) -> None:
        """Run ``run`` on ``ch``'s control thread: now if it is idle, else once the media
        and commands before it are done (rule 2).

        ``sync`` is ``stasis_app_send_command`` (the request waits and its answer follows
        the command's events, rule 1), else ``stasis_app_send_command_async`` (answered at
        once). ``run`` raises :class:`AriError` for a failure the request must answer;
        ``failure`` is the answer when the channel leaves Stasis before ``run`` runs
        (``None``: the handler's own answer). ``after_answer`` (asynchronous only): even
        on an idle thread ``run`` waits for the next turn of the loop, so the request is
        answered before the command's events (redirect, dial and move, whose events a
        client sees), and whatever is asked for in the meantime queues behind it.
        """
        hold = self._request
        if sync and hold is not None:
            hold.events_first = True  # rule 1: EVENTS_FIRST
            if hold.pending is not None:  # an earlier command of this request is queued
                previous, hold.pending = hold.pending, Pending()
                chained = hold.pending

                def after(outcome: SimResponse | None) -> None:
                    if outcome is not None:
                        chained.settle(outcome)
                    else:
                        self._submit(ch, run, chained, failure)

                previous.then(after)
                return
        target = ch.playbacks
        if target.idle() and not ch.gone:
            if not after_answer:
                run()  # an AriError goes straight back to the request
                return
            target.commands.append(ChannelCommand(run, next(self._media_seq)))
            self._at(ch, 0.0, self._next_playback, target)  # the thread wakes up
            return
        pending = Pending() if sync and hold is not None else None
        target.commands.append(
            ChannelCommand(run, next(self._media_seq), pending=pending, failure=failure)
        )
        if pending is not None and hold is not None:
            hold.pending = pending  # rule 2: QUEUED_BEHIND_MEDIA

    def _submit(
        self, ch: Channel, run: Callable[[], None], pending: Pending, failure: SimResponse | None
    ) -> None:
        """A chained synchronous command: run now or queue, settling ``pending``."""
        target = ch.playbacks
        if target.idle() and not ch.gone:
            self._run_command(ChannelCommand(run, 0, pending=pending, failure=failure))
            return
        target.commands.append(
            ChannelCommand(run, next(self._media_seq), pending=pending, failure=failure)
        )

    def _run_command(self, command: ChannelCommand) -> None:
        """The control thread reached ``command`` (called from the media queue)."""
        try:
            command.run()
        except AriError as exc:
            if command.pending is None:
                _log.debug("queued channel command failed: %s", exc)
            else:
                command.pending.settle(exc.response())
            return
        if command.pending is not None:
            command.pending.settle(None)

    def _flush_commands(self, target: PlaybackQueue) -> None:
        """The channel left Stasis: queued commands fail (``control_flush_queue``)."""
        commands = list(target.commands)
        target.commands.clear()
        target.on_idle = None
        for command in commands:
            if command.pending is not None:
                command.pending.settle(command.failure)
