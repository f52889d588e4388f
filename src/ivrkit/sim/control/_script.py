"""Caller scripts on the simulator: ``ivrkit sim --script`` and ``ivrkit demo --script``.

The format, its parser and the rule for which playback a step means live in
``ivrkit.callscript``, shared with ``ivrkit call`` (docs/caller.md "The script format"),
so one file means the same on both. Here the steps become actions of a simulated
phone (:class:`Caller`): it dials as ``call.from``, its ears are ``caller.heard``.

As in ``ivrkit call``: ``wait_for_app`` waits before dialling; every step is bounded by
``step_timeout`` (``wait``/``silence`` get their own length on top); the first step
that fails ends the script with :class:`ScriptError` naming its line.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable

from ivrkit.callscript import QUIET_SETTLE, CallScript, MediaCursor, ScriptError, Step
from ivrkit.sim.control._callers import Caller, SimulatorError
from ivrkit.sim.control._simulator import Simulator

#: the script type, by its name in ``ivrkit.sim`` before the formats were one
CallerScript = CallScript


class _StepFailed(Exception):
    """A step cannot pass (the call ended, the far end hung up first)."""


async def run_script(
    sim: Simulator,
    script: CallScript,
    log: Callable[[str], None] = print,
    *,
    on_call: Callable[[Caller], None] | None = None,
    on_step: Callable[[Step, float], None] | None = None,
) -> Caller:
    """Place the call and run the steps; raises :class:`ScriptError` on the first failure.

    ``on_call(caller)`` is told the phone as soon as it dials (so a report can show what
    it heard even when a step fails); ``on_step(step, at)`` each step that passed.
    """
    loop = asyncio.get_running_loop()
    caller: Caller | None = None
    cursor = MediaCursor()
    for step in script.steps:
        if caller is None and step.kind != "wait_for_app":
            caller = await sim.call(
                script.phone, script.exten, context=script.context, caller_id=script.caller_id
            )
            log(f"calling {script.exten}@{script.context} as {caller.channel_name}")
            cursor.step_ended(caller.started_at)
            if on_call is not None:
                on_call(caller)
        limit = script.step_timeout + step.seconds
        where = f"{script.source}:{step.line}" if step.line else script.source
        try:
            async with asyncio.timeout(limit):
                if step.kind == "wait_for_app":
                    log(f"waiting for ARI application {step.app!r} to connect")
                    await sim.wait_for_app(step.app)
                else:
                    assert caller is not None
                    await _run_step(caller, step, cursor, log)
        except TimeoutError:
            raise ScriptError(
                f"{where}: {step.describe()}: not done within {limit:g} s ({_heard_so_far(caller)})"
            ) from None
        except (_StepFailed, SimulatorError) as exc:
            raise ScriptError(
                f"{where}: {step.describe()}: failed: {exc} ({_heard_so_far(caller)})"
            ) from exc
        cursor.step_ended(loop.time())
        if on_step is not None:
            on_step(step, loop.time())
    if caller is None:
        raise ScriptError(f"{script.source}: the script has no step that places the call")
    return caller


def _heard_so_far(caller: Caller | None) -> str:
    media = [h.media_uri for h in caller.heard[-6:]] if caller is not None else []
    more = "..., " if caller is not None and len(caller.heard) > 6 else ""
    return f"heard so far: {more}{', '.join(media) or 'nothing'}"


async def _run_step(
    caller: Caller, step: Step, cursor: MediaCursor, log: Callable[[str], None]
) -> None:
    heard = caller.heard
    if step.kind == "wait_for":
        await caller.wait_until(
            lambda: caller.hung_up or cursor.find_start(heard, step.media) is not None
        )
        index = cursor.find_start(heard, step.media)
        if index is None:
            raise _StepFailed(f"the call ended before {step.media} started")
        cursor.matched(index, by_start=True)
        log(f"heard start of {heard[index].media_uri}")
    elif step.kind == "heard":
        await caller.wait_until(
            lambda: caller.hung_up or cursor.find_heard(heard, step.media) is not None
        )
        index = cursor.find_heard(heard, step.media)
        if index is None:
            raise _StepFailed(f"the call ended before {step.media} started")
        item = heard[index]
        await caller.wait_until(lambda: caller.hung_up or item.end is not None)
        if item.end is None:
            raise _StepFailed(f"the call ended while {item.media_uri} was playing")
        cursor.matched(index, by_start=False)
        log(f"heard {item.media_uri}{' (cut off)' if item.cut_off else ''}")
    elif step.kind == "press":
        log(f"pressing {step.digits}")
        await caller.press(step.digits, duration_ms=step.duration_ms, between_ms=step.between_ms)
    elif step.kind == "wait":
        await asyncio.sleep(step.seconds)
    elif step.kind == "silence":
        quiet_since = await _wait_quiet(caller)
        delay = quiet_since + step.seconds - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
    elif step.kind == "hangup":
        if caller.hung_up:
            raise _StepFailed("the far end had already hung up")
        log("hanging up")
        await caller.hangup()
    else:
        assert step.kind == "wait_for_hangup", step.kind
        await caller.wait_for_hangup()
        log("call ended")


async def _wait_quiet(caller: Caller) -> float:
    """Until nothing has played for ``QUIET_SETTLE`` s; returns when the last prompt ended.

    The same rule as ``ivrkit call``'s: an app posts the next prompt a moment after the
    previous one finishes, so quiet is believed only after a short settle.
    """
    loop = asyncio.get_running_loop()
    while True:
        await caller.wait_until(
            lambda: caller.hung_up or all(h.end is not None for h in caller.heard)
        )
        if caller.hung_up:
            ends_now = [h.end for h in caller.heard if h.end is not None]
            return max(ends_now) if ends_now else caller.started_at
        if any(h.end is None for h in caller.heard):
            continue  # the next prompt started before we resumed
        ends = [h.end for h in caller.heard if h.end is not None]
        quiet_since = max(ends) if ends else caller.started_at
        count = len(caller.heard)
        try:
            async with asyncio.timeout(max(0.0, quiet_since + QUIET_SETTLE - loop.time())):
                await caller.wait_until(functools.partial(_more_heard, caller, count))
        except TimeoutError:
            return quiet_since
        if caller.hung_up:
            return quiet_since  # as in ivrkit call: silence passes; the next step fails


def _more_heard(caller: Caller, count: int) -> bool:
    return caller.hung_up or len(caller.heard) > count
