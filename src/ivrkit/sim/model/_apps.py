"""Dialplan applications beyond Stasis: Goto, GotoIf, GotoIfTime, Playback, Answer(delay),
Hangup(cause), Progress, Ringing, Busy, Congestion, Verbose; every step's arguments are
substituted first (``${...}``, ``$[...]``), as ``pbx_extension_helper`` does.

Sources: ``main/pbx_builtins.c`` (``pbx_builtin_goto`` → ``ast_parseable_goto``:
``[[context,]exten,]priority`` with a number, ``+N``/``-N`` or a label; ``GotoIf``:
``condition?iftrue:iffalse`` through ``pbx_checkcondition``; ``GotoIfTime``: the time
spec before ``?``, ``TESTTIME`` as the clock when set; an empty branch goes on with the
next priority), ``apps/app_playback.c`` (answers unless ``noanswer``, ``&``-separated
files, a missing one is skipped and ``PLAYBACKSTATUS=FAILED``, else ``SUCCESS``),
``indicate_busy``/``indicate_congestion`` (cause 17/34, state ``Busy`` when not Up, then
wait for the hang-up, 10 s by default).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ivrkit.sim.model._channels import ChannelOps
from ivrkit.sim.model._dialplan import Step
from ivrkit.sim.model._expr import check_condition, timing_matches
from ivrkit.sim.model._objects import Channel

_log = logging.getLogger("ivrkit.sim")

#: ``ast_str2cause`` names (main/channel.c's causes table, second column)
_CAUSE_NAMES = {
    "UNALLOCATED": 1,
    "NO_ROUTE_TRANSIT_NET": 2,
    "NO_ROUTE_DESTINATION": 3,
    "CHANNEL_UNACCEPTABLE": 6,
    "NORMAL_CLEARING": 16,
    "USER_BUSY": 17,
    "NO_USER_RESPONSE": 18,
    "NO_ANSWER": 19,
    "SUBSCRIBER_ABSENT": 20,
    "CALL_REJECTED": 21,
    "NUMBER_CHANGED": 22,
    "ANSWERED_ELSEWHERE": 26,
    "DESTINATION_OUT_OF_ORDER": 27,
    "INVALID_NUMBER_FORMAT": 28,
    "FACILITY_REJECTED": 29,
    "NORMAL_UNSPECIFIED": 31,
    "NORMAL_CIRCUIT_CONGESTION": 34,
    "NETWORK_OUT_OF_ORDER": 38,
    "NORMAL_TEMPORARY_FAILURE": 41,
    "SWITCH_CONGESTION": 42,
    "REQUESTED_CHAN_UNAVAIL": 44,
    "BEARERCAPABILITY_NOTAVAIL": 58,
    "CHAN_NOT_IMPLEMENTED": 66,
    "INTERWORKING": 127,
}


class AppOps(ChannelOps):
    """The dialplan applications (see the module docstring)."""

    def _exec(self, ch: Channel, step: Step, context: str, exten: str, priority: int) -> bool:
        """Run one (already substituted) step; ``True`` to go on (``ch.jump``: elsewhere)."""
        data = step.data
        app = step.app.lower()
        where = (context, exten, priority)
        if app in ("noop", "verbose"):
            return True
        if app == "goto":
            return self._goto(ch, data, where)
        if app == "gotoif":
            condition, _, branches = data.partition("?")
            yes, _, no = branches.partition(":")
            branch = yes if check_condition(condition.strip()) else no
            return self._goto(ch, branch, where) if branch.strip() else True
        if app == "gotoiftime":
            return self._goto_if_time(ch, data, where)
        if app == "playback":
            return self._playback_app(ch, data, where)
        if app == "answer":
            delay = _leading_int(data.split(",")[0]) if data else None
            self._answer(ch)
            if ch.gone or ch.hanging:
                return False
            if delay and delay > 0:
                self._at(ch, delay / 1000, self._resume_dialplan, ch, context, exten, priority + 1)
                return False
            return True
        if app == "hangup":
            cause = _cause(data)
            self._hangup(ch, cause, request=(cause, True))
            return False
        if app == "progress":
            self._indicate_progress(ch)
            return True
        if app == "ringing":
            self._indicate(ch, "ringing")
            if ch.half == 2 and ch.peer is not None:
                self._ring_peer(ch.peer)
            return True
        if app in ("busy", "congestion"):
            return self._refuse(ch, 17 if app == "busy" else 34, data, where)
        if app == "wait":
            seconds = _seconds(data)
            self._at(ch, seconds, self._resume_dialplan, ch, context, exten, priority + 1)
            return False
        return super()._exec(ch, step, context, exten, priority)

    def _resume_dialplan(self, ch: Channel, context: str, exten: str, priority: int) -> None:
        self._run_dialplan(ch, context, exten, priority)

    # -- Goto
    def _goto(self, ch: Channel, target: str, where: tuple[str, str, int]) -> bool:
        """``ast_parseable_goto``; a priority or label that can't be found ends the call."""
        context, exten, priority = where
        parts = [p.strip() for p in target.split(",")]
        if len(parts) == 1:
            pri_text = parts[0]
        elif len(parts) == 2:
            exten, pri_text = parts
        else:
            context, exten, pri_text = parts[0], parts[1], parts[2]
        if pri_text.startswith(("+", "-")) and pri_text[1:].isdigit():
            new_priority = priority + int(pri_text)
        elif pri_text.isdigit():
            new_priority = int(pri_text)
        else:
            found = self.dialplan.find_label(context, exten, pri_text)
            if found is None:
                _log.warning(
                    "Goto(%s) on %s: priority '%s' must be a number > 0, or valid label",
                    target,
                    ch.name,
                    pri_text,
                )
                self._hangup(ch, 16, request=(16, True))
                return False
            new_priority = found
        if new_priority < 1:
            self._hangup(ch, 16, request=(16, True))
            return False
        ch.jump = (context, exten, new_priority)
        return True

    def _goto_if_time(self, ch: Channel, data: str, where: tuple[str, str, int]) -> bool:
        spec, _, branches = data.partition("?")
        yes, _, no = branches.partition(":")
        now = self.wall_time()
        test = ch.variables.get("TESTTIME")
        if test is not None:
            value = _leading_int(test)
            if value is not None:
                now = float(value)
            else:  # "Using current time to evaluate" and TESTTIME is cleared
                self.write_variable(ch, "TESTTIME", None)
        branch = yes if timing_matches(spec, now) else no
        return self._goto(ch, branch, where) if branch.strip() else True

    # -- Playback
    def _playback_app(self, ch: Channel, data: str, where: tuple[str, str, int]) -> bool:
        files, _, options = data.partition(",")
        names = [f.strip() for f in files.split("&") if f.strip()]
        if ch.state != "Up" and "noanswer" not in options and "skip" not in options:
            self._answer(ch)
            if ch.gone or ch.hanging:
                return False
        self._play_files(ch, names, False, where)
        return False

    def _play_files(
        self, ch: Channel, names: Sequence[str], failed: bool, where: tuple[str, str, int]
    ) -> None:
        if ch.gone or ch.hanging:
            return
        while names:
            name, names = names[0], names[1:]
            seconds = self.media_seconds(f"sound:{name}", ch.language)
            if seconds is None or seconds < 0:  # "Playback failed on %s for %s"
                failed = True
                continue
            if ch.observer is not None:
                ch.observer.media_started(f"sound:{name}", self.now())
            self._at(ch, seconds, self._played_file, ch, name, names, failed, where)
            return
        self.write_variable(ch, "PLAYBACKSTATUS", "FAILED" if failed else "SUCCESS")
        context, exten, priority = where
        self._resume_dialplan(ch, context, exten, priority + 1)

    def _played_file(
        self,
        ch: Channel,
        name: str,
        names: Sequence[str],
        failed: bool,
        where: tuple[str, str, int],
    ) -> None:
        if ch.observer is not None:
            ch.observer.media_ended(f"sound:{name}", self.now(), False)
        self._play_files(ch, names, failed, where)

    # -- indications
    def _indicate(self, ch: Channel, what: str) -> None:
        if ch.observer is not None:
            ch.observer.indicated(what, self.now())

    def _indicate_progress(self, ch: Channel) -> None:
        """``AST_CONTROL_PROGRESS`` on an unanswered channel: the phone gets 183; the
        ``;1`` of a Local pair that is not Up reports ``Dial`` PROGRESS (``dial.c``)."""
        if ch.state == "Up":
            return
        self._indicate(ch, "progress")
        one = ch.peer if ch.half == 2 else None
        if one is not None and not one.gone and one.state != "Up" and not one.progress_sent:
            one.progress_sent = True
            self._dial_event(one, "PROGRESS")

    def _refuse(self, ch: Channel, cause: int, data: str, where: tuple[str, str, int]) -> bool:
        self._indicate(ch, "busy" if cause == 17 else "congestion")
        if ch.state != "Up":
            ch.hangup_cause = cause
            self._set_state(ch, "Busy")
        seconds = _seconds(data) if data.strip() else 10.0
        self._at(ch, seconds, self._refusal_over, ch, cause)
        return False

    def _refusal_over(self, ch: Channel, cause: int) -> None:
        if not (ch.gone or ch.hanging):
            self._hangup(ch, cause, request=(cause, True))


def _leading_int(text: str) -> int | None:
    text = text.strip()
    sign = -1 if text.startswith("-") else 1
    digits = ""
    for c in text.lstrip("+-"):
        if not c.isdigit():
            break
        digits += c
    return sign * int(digits) if digits else None


def _seconds(text: str) -> float:
    """``ast_app_parse_timelen(..., TIMELEN_SECONDS)``: decimals allowed, junk is 0."""
    try:
        return max(0.0, float(text.split(",")[0].strip() or 0))
    except ValueError:
        return 0.0


def _cause(data: str) -> int:
    """``Hangup(cause)``: a name (``USER_BUSY``) or number; otherwise 16."""
    text = data.strip()
    if not text:
        return 16
    if text.upper() in _CAUSE_NAMES:
        return _CAUSE_NAMES[text.upper()]
    value = _leading_int(text)
    if value is not None and value > 0:
        return value
    return 16
