"""Caller scripts for ``ivrkit sim --script FILE``: a simulated phone call as YAML.

Format (every key optional except ``steps``)::

    call:
      from: PJSIP/alice          # tech/resource of the phone (default PJSIP/alice)
      to: "1000"                 # extension dialled (default 1000)
      context: default
      caller_id: Alice <100>
    wait_for_app: channel-aa     # wait until this ARI app has connected before dialling
    step_timeout: 60             # seconds a waiting step may take (default 60)
    steps:
      - wait_for: sound:press-1  # until a playback of that media starts
      - press: "1"               # DTMF (optional duration_ms / between_ms: see below)
      - press: {digits: "12", duration_ms: 100, between_ms: 100}
      - wait: 12                 # seconds of silence
      - heard: sound:press-2     # until that media has finished (or was cut off)
      - hangup                   # the caller hangs up
      - wait_for_hangup          # until the call ends (either side)

Every error names the file and line: ``script.yaml:7: unknown step 'presss' ...``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ivrkit.sim.control._callers import Caller, SimulatorError
from ivrkit.sim.control._simulator import Simulator

_STEP_KINDS = ("wait_for", "press", "wait", "heard", "hangup", "wait_for_hangup")
_TOP_KEYS = ("call", "wait_for_app", "step_timeout", "steps")
_CALL_KEYS = ("from", "to", "context", "caller_id")


class ScriptError(ValueError):
    """A caller script is malformed (message: ``FILE:LINE: what, how to fix``)."""


@dataclass(frozen=True, slots=True)
class ScriptStep:
    kind: str
    arg: Any
    line: int


@dataclass(slots=True)
class CallerScript:
    path: str
    tech_resource: str = "PJSIP/alice"
    exten: str = "1000"
    context: str = "default"
    caller_id: str = "Alice <100>"
    wait_for_app: str | None = None
    step_timeout: float = 60.0
    steps: list[ScriptStep] = field(default_factory=list)


def _fail(path: str, node: yaml.Node, message: str) -> ScriptError:
    return ScriptError(f"{path}:{node.start_mark.line + 1}: {message}")


def _scalar(path: str, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _fail(path, node, f"{what} must be a single value")
    return str(node.value)


def _number(path: str, node: yaml.Node, what: str) -> float:
    text = _scalar(path, node, what)
    try:
        value = float(text)
    except ValueError:
        raise _fail(path, node, f"{what} must be a number of seconds, got {text!r}") from None
    if value < 0:
        raise _fail(path, node, f"{what} must not be negative, got {text}")
    return value


def _press_arg(path: str, node: yaml.Node) -> tuple[str, int, int]:
    if isinstance(node, yaml.ScalarNode):
        return str(node.value), 100, 100
    if not isinstance(node, yaml.MappingNode):
        raise _fail(path, node, 'press takes digits ("1") or {digits, duration_ms, between_ms}')
    values = {"duration_ms": 100, "between_ms": 100}
    digits = None
    for key_node, value_node in node.value:
        key = _scalar(path, key_node, "a key")
        if key == "digits":
            digits = _scalar(path, value_node, "digits")
        elif key in values:
            values[key] = int(_number(path, value_node, key))
        else:
            raise _fail(
                path,
                key_node,
                f"unknown press option {key!r}, expected one of digits, duration_ms, between_ms",
            )
    if not digits:
        raise _fail(path, node, "press needs digits")
    return digits, values["duration_ms"], values["between_ms"]


def _step(path: str, node: yaml.Node) -> ScriptStep:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.ScalarNode):
        kind, arg_node = str(node.value), None
    elif isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key_node, arg_node = node.value[0]
        kind = _scalar(path, key_node, "a step name")
    else:
        raise _fail(path, node, f"a step is one of {', '.join(_STEP_KINDS)} (one per list item)")
    if kind not in _STEP_KINDS:
        raise _fail(path, node, f"unknown step {kind!r}, expected one of {', '.join(_STEP_KINDS)}")
    needs_arg = kind in ("wait_for", "press", "wait", "heard")
    if needs_arg and arg_node is None:
        raise _fail(path, node, f"step {kind!r} needs a value, e.g. `- {kind}: ...`")
    if not needs_arg and arg_node is not None:
        raise _fail(path, node, f"step {kind!r} takes no value: write `- {kind}`")
    arg: Any = None
    if kind in ("wait_for", "heard"):
        assert arg_node is not None
        arg = _scalar(path, arg_node, kind)
        if ":" not in arg:
            raise _fail(path, arg_node, f"{kind} takes a media URI like sound:press-1, got {arg!r}")
    elif kind == "wait":
        assert arg_node is not None
        arg = _number(path, arg_node, "wait")
    elif kind == "press":
        assert arg_node is not None
        arg = _press_arg(path, arg_node)
    return ScriptStep(kind, arg, line)


def parse_script(text: str, path: str = "<script>") -> CallerScript:
    """Parse a caller script; raises :class:`ScriptError` naming the line."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else path
        raise ScriptError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(root, yaml.MappingNode):
        raise ScriptError(f"{path}:1: a caller script is a mapping with a `steps:` list")
    script = CallerScript(path)
    seen_steps = False
    for key_node, value in root.value:
        key = _scalar(path, key_node, "a key")
        if key == "steps":
            if not isinstance(value, yaml.SequenceNode):
                raise _fail(path, value, "steps must be a list (`- wait_for: sound:press-1`)")
            script.steps = [_step(path, item) for item in value.value]
            seen_steps = True
        elif key == "call":
            if not isinstance(value, yaml.MappingNode):
                raise _fail(path, value, "call must be a mapping (from, to, context, caller_id)")
            for ck, cv in value.value:
                name = _scalar(path, ck, "a key")
                if name not in _CALL_KEYS:
                    raise _fail(
                        path,
                        ck,
                        f"unknown call key {name!r}, expected one of {', '.join(_CALL_KEYS)}",
                    )
                text_value = _scalar(path, cv, name)
                if name == "from":
                    script.tech_resource = text_value
                elif name == "to":
                    script.exten = text_value
                elif name == "context":
                    script.context = text_value
                else:
                    script.caller_id = text_value
        elif key == "wait_for_app":
            script.wait_for_app = _scalar(path, value, key)
        elif key == "step_timeout":
            script.step_timeout = _number(path, value, key)
        else:
            raise _fail(
                path, key_node, f"unknown key {key!r}, expected one of {', '.join(_TOP_KEYS)}"
            )
    if not seen_steps:
        raise ScriptError(f"{path}:1: missing `steps:` list")
    return script


def load_script(path: str | Path) -> CallerScript:
    """Read and parse a script file (errors name the file)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ScriptError(f"failed to read {path}: {exc.strerror or exc}") from exc
    return parse_script(text, str(path))


async def run_script(
    sim: Simulator, script: CallerScript, log: Callable[[str], None] = print
) -> Caller:
    """Place the call and run the steps; raises :class:`ScriptError` on a stuck step."""
    if script.wait_for_app:
        log(f"waiting for ARI application {script.wait_for_app!r} to connect")
        await sim.wait_for_app(script.wait_for_app)
    caller = await sim.call(
        script.tech_resource, script.exten, context=script.context, caller_id=script.caller_id
    )
    log(f"calling {script.exten}@{script.context} as {caller.channel_name}")
    for step in script.steps:
        try:
            async with asyncio.timeout(script.step_timeout):
                await _run_step(caller, step, log)
        except SimulatorError as exc:
            raise ScriptError(f"{script.path}:{step.line}: step {step.kind} failed: {exc}") from exc
        except TimeoutError:
            raise ScriptError(
                f"{script.path}:{step.line}: step {step.kind} did not complete within "
                f"{script.step_timeout:g} s (heard so far: {[h.media_uri for h in caller.heard]})"
            ) from None
    return caller


async def _run_step(caller: Caller, step: ScriptStep, log: Callable[[str], None]) -> None:
    if step.kind == "wait_for":
        await caller.wait_for_playback(step.arg)
        log(f"heard start of {step.arg}")
    elif step.kind == "heard":
        heard = await caller.wait_until_heard(step.arg)
        log(f"heard {step.arg}{' (cut off)' if heard.cut_off else ''}")
    elif step.kind == "press":
        digits, duration_ms, between_ms = step.arg
        log(f"pressing {digits}")
        await caller.press(digits, duration_ms=duration_ms, between_ms=between_ms)
    elif step.kind == "wait":
        await asyncio.sleep(step.arg)
    elif step.kind == "hangup":
        log("hanging up")
        await caller.hangup()
    elif step.kind == "wait_for_hangup":
        await caller.wait_for_hangup()
        log("call ended")
