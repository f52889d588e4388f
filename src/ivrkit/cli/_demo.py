"""``ivrkit demo``: a menu, the embedded Asterisk and a scripted caller in one process.

The menu (default: the guide's attendant) is served as ARI app ``channel-aa``, which the
simulator's dialplan runs on extension 1000 (``--dialplan`` replaces it). A simulated
phone, ``PJSIP/alice``, calls and runs a caller script (``--script``, the format of
``ivrkit call``: docs/caller.md). Without one it runs the guide's scenario for the
guide's attendant, and for any other menu one call per option of the start menu: wait
for the greeting, dial the option, listen until the menu has answered. Printed: the
menu's transcript as it happens, then for each call what the caller heard and did, as
``ivrkit call`` reports it. Virtual time unless ``--realtime``: a minute of prompts
takes a moment. Exit 0 when every step passed, 1 when one failed, 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivrkit.cli import CliError
from ivrkit.cli._attendant import describe_action, load_checked
from ivrkit.ivr import ATTENDANT_MENU, MenuTree, Option

if TYPE_CHECKING:  # imported when a demo runs (the CLI starts without the simulator)
    from ivrkit.callscript import CallScript, Step
    from ivrkit.sim import Caller

APP, EXTEN = "channel-aa", "1000"

# The guide's scenario as a caller script: press 1 during press-1, 2 during the
# restarted press-1, 8 likewise, stay silent past the 10 s timeout, and hang up one
# second into the menu that follows "are you still there?".
DEMO_SCRIPT = """\
call: {from: PJSIP/alice, to: "1000"}
wait_for_app: channel-aa
steps:
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "1"
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "2"
  - wait_for: sound:press-1
  - wait: 0.3
  - press: "8"
  - wait_for: sound:press-1
  - wait_for: sound:are-you-still-there
  - wait_for: sound:press-1
  - wait: 1
  - hangup
  - wait_for_hangup
"""


@dataclass
class _Run:
    """One scripted call and what it showed."""

    title: str
    script: CallScript
    caller: Caller | None = None  # once dialled
    passed: list[tuple[Step, float]] = field(default_factory=list)  # with the loop time
    failure: str = ""
    hung_up_by_us: bool = False


# ---------------------------------------------------------------- the default caller


def example_digits(option: Option) -> str:
    """Digits that select ``option``: its key or digits, or a match of its pattern."""
    if option.kind != "pattern":
        return option.value
    out, i, text = [], 0, option.value
    while i < len(text):
        c = text[i]
        if c in "XZN":
            out.append("2")
        elif c == "[":
            close = text.index("]", i)
            out.append(text[i + 1])
            i = close
        elif c == ".":
            out.append("1")
        elif c != "!":
            out.append(c)
        i += 1
    return "".join(out)


def explore_scripts(tree: MenuTree) -> list[tuple[str, CallScript]]:
    """One call per option of the start menu: wait for the greeting, dial, listen."""
    from ivrkit.callscript import CallScript, Step

    menu = tree.menus[tree.start]
    options: list[Option | None] = [*menu.options] or [None]
    runs = []
    for n, option in enumerate(options, 1):
        steps = [Step("wait_for_app", app=APP)]
        steps.append(Step("wait_for", media="first") if menu.greeting else Step("wait", seconds=1))
        if option is None:
            title = f"call 1 of 1: the menu `{tree.start}` has no options; listen"
        else:
            digits = example_digits(option)
            steps.append(Step("press", digits=digits))
            title = (
                f"call {n} of {len(options)}: dial {digits} "
                f"({option.kind} {option.value}: {describe_action(option.action)})"
            )
        steps.append(Step("silence", seconds=1))
        script = CallScript(source="explore", steps=tuple(steps))
        runs.append((title, script))
    return runs


# ---------------------------------------------------------------- the report


def report_lines(run: _Run) -> list[str]:
    """What the caller heard and did, laid out as ``ivrkit call`` prints it."""
    script, caller = run.script, run.caller
    head = f"call {script.exten}@{script.context}"
    title = [run.title] if run.title else []
    if caller is None:
        return [*title, f"{head}: not placed", f"  {run.failure}", "result: FAILED"]
    t0 = caller.started_at

    def t(at: float) -> str:
        return f"{at - t0:.3f}"

    lines = [*title, f"{head} from {caller.channel_name}, script {script.source}"]
    lines.append("media heard (seconds from the start of the call):")
    width = max((len(h.media_uri) for h in caller.heard), default=0)
    for h in caller.heard:
        end = t(h.end) if h.end is not None else "..."
        how = "playing" if h.end is None else "cut off" if h.cut_off else "finished"
        lines.append(f"  {t(h.start):>8} - {end:>8}  {h.media_uri:<{width}}  {how}")
    if not caller.heard:
        lines.append("  (nothing)")
    lines.append("keys pressed:")
    keys = [(step, at) for step, at in run.passed if step.kind == "press"]
    lines.extend(f"  {t(at):>8}  {step.digits}" for step, at in keys)
    if not keys:
        lines.append("  (none)")
    by_caller = run.hung_up_by_us or any(step.kind == "hangup" for step, _ in run.passed)
    if caller.ended_at is None:
        lines.append("hang-up: not seen")
    else:
        who = "the caller" if by_caller else "the far end"
        after = " (after the script)" if run.hung_up_by_us else ""
        lines.append(f"hang-up: by {who}{after} at {t(caller.ended_at)} s")
    lines.append("steps:")
    for step, at in run.passed:
        when = "" if step.kind == "wait_for_app" else f" at {t(at)} s"
        lines.append(f"  {_where(script, step)}: {step.describe()}: passed{when}")
    rest = script.steps[len(run.passed) :]
    if run.failure:
        lines.append(f"  {run.failure}")
        rest = rest[1:]
    lines.extend(f"  {_where(script, step)}: {step.describe()}: not run" for step in rest)
    total = len(script.steps)
    verdict = "FAILED" if run.failure else "PASSED"
    lines.append(f"result: {verdict} ({len(run.passed)} of {total} steps passed)")
    return lines


def _where(script: CallScript, step: Step) -> str:
    return f"{script.source}:{step.line}" if step.line else script.source


# ---------------------------------------------------------------- the run


async def _serve(
    tree: MenuTree,
    handlers: dict[str, Any],
    dialplan: Any,  # a dialplan spec, or None for the default
    runs: list[_Run],
    out: Callable[[str], None],
) -> int:
    from ivrkit.ari import AriClient, ConnectionConfig, Credentials
    from ivrkit.ivr.runner import MenuRunner
    from ivrkit.sim import ScriptError, Simulator, run_script

    printed = False

    def transcript(line: str) -> None:
        nonlocal printed
        printed = True
        out(line)

    runner = MenuRunner(tree, transcript=transcript, handlers=handlers)
    failed = False
    async with Simulator(dialplan=dialplan) as sim:
        config = ConnectionConfig(
            base_url=sim.url, apps=(APP,), credentials=Credentials(sim.username, sim.password)
        )
        client = AriClient(config)
        runner.attach(client)
        async with client:
            for run in runs:

                def placed(caller: Caller, run: _Run = run) -> None:
                    run.caller = caller

                def passed(step: Step, at: float, run: _Run = run) -> None:
                    run.passed.append((step, at))

                try:
                    await run_script(
                        sim, run.script, lambda m: None, on_call=placed, on_step=passed
                    )
                except ScriptError as exc:
                    run.failure = str(exc)
                    failed = True
                if run.caller is not None and not run.caller.hung_up:
                    run.hung_up_by_us = True  # the call never outlives its script
                    await run.caller.hangup()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):
                        await runner.wait_no_calls()
                if printed:
                    out("")
                for line in report_lines(run):
                    transcript(line)
    return 1 if failed else 0


def demo(args: argparse.Namespace) -> int:
    from ivrkit.sim import DialplanError, ScriptError, load_dialplan, load_script, parse_script

    tree, handlers = load_checked(args.menu)
    dialplan = None
    if args.dialplan:
        try:
            dialplan = load_dialplan(args.dialplan)
        except DialplanError as exc:
            raise CliError("invalid dialplan", str(exc)) from exc
    guide = Path(args.menu).resolve() == Path(ATTENDANT_MENU).resolve()
    try:
        if args.script:
            runs = [_Run("", load_script(args.script))]
        elif guide:
            runs = [_Run("", parse_script(DEMO_SCRIPT, "demo"))]
        else:
            runs = [_Run(title, s) for title, s in explore_scripts(tree)]
    except ScriptError as exc:
        raise CliError("invalid caller script", *exc.problems) from exc
    where = (
        f"the dialplan {args.dialplan}" if args.dialplan else f"extension {EXTEN} (context default)"
    )
    print(
        f"ivrkit demo: {args.menu} is served as ARI app {APP!r}, run by {where} of the "
        f"embedded Asterisk; {len(runs)} call{'s' * (len(runs) != 1)} from PJSIP/alice",
        file=sys.stderr,
        flush=True,
    )

    def out(line: str) -> None:
        print(line, flush=True)

    coro = _serve(tree, handlers, dialplan, runs, out)
    if args.realtime:
        return asyncio.run(coro)
    from ivrkit.testing import run_virtual

    return run_virtual(coro)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="a menu and scripted callers against the embedded Asterisk",
        description="Serve MENU (default: the guide's attendant) as ARI app channel-aa on "
        "extension 1000 of the embedded Asterisk and call it from PJSIP/alice with a caller "
        "script (default: the guide's scenario for the guide's attendant; for another menu, "
        "one call per option of its start menu). Prints the menu's transcript and what each "
        "caller heard and did. Virtual time (a moment) unless --realtime. Exit 1 if a step "
        "failed.",
    )
    p.add_argument("--menu", default=str(ATTENDANT_MENU), metavar="FILE")
    p.add_argument(
        "--dialplan",
        metavar="FILE",
        help="the simulator's dialplan (YAML, see docs/simulator.md); default: exten 1000 "
        "runs Stasis(channel-aa)",
    )
    p.add_argument(
        "--script", metavar="FILE", help="caller script (the format of ivrkit call: docs/caller.md)"
    )
    p.add_argument("--realtime", action="store_true", help="pace the calls on the wall clock")
    p.set_defaults(func=demo)
