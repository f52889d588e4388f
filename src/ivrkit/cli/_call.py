"""``ivrkit call``: dial an extension over plain ARI, run a caller script, report.

    ivrkit call [--url URL] [--app APP] [--context CONTEXT] EXTEN
                (--script FILE | --press KEYS [--then-wait S] [--then-hangup])

The script (or the one ``--press`` stands for, see ``ivrkit.caller.press_script``) is
checked before any connection is made. The text report goes to stdout (to stderr when
``--json -`` takes stdout); progress lines go to stderr unless ``--quiet``. Exit status:
0 every step passed, 1 a step failed (the report and stderr name its line), 2 a usage,
script, credentials or connection problem (``ivrkit failed: ...``).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from ivrkit.cli import CliError
from ivrkit.cli._attendant import add_credential_options, connection_config

DEFAULT_APP = "ivrkit-caller"

AsyncMain = Callable[[argparse.Namespace], Coroutine[Any, Any, Any]]


def _run_with_asyncio(main: AsyncMain, args: argparse.Namespace) -> Any:
    return asyncio.run(main(args))


#: how the command's coroutine is run; tests swap in a virtual-time loop that also
#: starts an in-process simulator and points ``args.url`` at it
RUN: Callable[[AsyncMain, argparse.Namespace], Any] = _run_with_asyncio


def _script(args: argparse.Namespace) -> Any:
    from ivrkit.caller import ScriptError, load_script, press_script

    try:
        if args.script is not None:
            if args.then_wait is not None or args.then_hangup:
                raise CliError(
                    "--then-wait and --then-hangup go with --press",
                    "with --script, write `- silence: S` and `- hangup` steps instead",
                )
            script = load_script(args.script)
        else:
            script = press_script(
                args.press, then_wait=args.then_wait, then_hangup=args.then_hangup
            )
    except ScriptError as exc:
        raise CliError("invalid caller script", *exc.problems) from exc
    changes: dict[str, Any] = {"exten": args.exten}
    if args.context is not None:
        changes["context"] = args.context
    if args.caller_id is not None:
        changes["caller_id"] = args.caller_id
    if args.step_timeout is not None:
        if not args.step_timeout > 0:
            raise CliError("invalid --step-timeout", "it must be more than 0 seconds")
        changes["step_timeout"] = args.step_timeout
    return dataclasses.replace(script, **changes)


def _progress(args: argparse.Namespace) -> Callable[[str], None]:
    if args.quiet:
        return lambda line: None

    def progress(line: str) -> None:
        print(f"ivrkit call: {line}", file=sys.stderr, flush=True)

    return progress


async def _place(args: argparse.Namespace) -> Any:
    """Connect, call, run the script; returns the ``CallReport``."""
    from ivrkit.caller import CallerError, place_call

    script = _script(args)
    config = connection_config(args)
    try:
        return await place_call(config, script, progress=_progress(args))
    except CallerError as exc:
        raise CliError(exc.headline, exc.cause) from exc


def _write_report(args: argparse.Namespace, report: Any) -> None:
    from ivrkit.caller import render_text

    text = render_text(report)
    document = json.dumps(report.to_json(), indent=2) + "\n"
    if args.json == "-":
        sys.stderr.write(text)
        sys.stdout.write(document)
    else:
        sys.stdout.write(text)
        if args.json is not None:
            try:
                Path(args.json).write_text(document, encoding="utf-8")
            except OSError as exc:
                raise CliError(
                    f"can't write the JSON report to {args.json}", exc.strerror or str(exc)
                ) from exc
    sys.stdout.flush()


def call(args: argparse.Namespace) -> int:
    _script(args)  # a bad script or option is reported before anything else happens
    try:
        report = RUN(_place, args)
    except KeyboardInterrupt:
        return 130
    _write_report(args, report)
    failed = report.failed_step
    if failed is None:
        return 0
    where = f"{report.source}:{failed.line}" if failed.line else report.source
    print(
        f"ivrkit call: step failed at {where}: {failed.step}: {failed.detail}",
        file=sys.stderr,
        flush=True,
    )
    return 1


def _keys(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("give keys like 1,2,8")
    return text


def register(sub: Any) -> None:
    p = sub.add_parser(
        "call",
        help="dial an extension over ARI, press keys, report what was heard",
        description="Place a call into EXTEN through a Local channel of our own ARI app, "
        "run a caller script (or --press keys), hang up, and report the media heard "
        "(start, end, cut off or finished), the keys sent, who hung up and why, and "
        "whether each step passed. Works the same against a real Asterisk and `ivrkit "
        "sim`. Credentials come from ARI_USER/ARI_PASSWORD, ARI_CREDENTIALS_FILE or "
        "--credentials-file, never from the command line. See docs/caller.md.",
    )
    p.add_argument("exten", metavar="EXTEN", help="extension to dial, e.g. 1000")
    p.add_argument("--url", default="http://localhost:8088", help="default %(default)s")
    p.add_argument(
        "--app", default=DEFAULT_APP, help="our own Stasis app name (default %(default)s)"
    )
    p.add_argument(
        "--context", default=None, help="dialplan context (default: the script's, else default)"
    )
    p.add_argument(
        "--caller-id", metavar="CID", default=None, help='e.g. "Alice <100>" (the default)'
    )
    add_credential_options(p)
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--script", metavar="FILE", help="caller script (docs/caller.md)")
    what.add_argument(
        "--press",
        metavar="KEYS",
        type=_keys,
        help="comma-separated keys: wait for the first prompt, press the first key; press "
        "each next key when that first prompt starts again",
    )
    p.add_argument(
        "--then-wait",
        metavar="S",
        type=float,
        help="after the last key, once the far side stops playing, stay silent S seconds",
    )
    p.add_argument(
        "--then-hangup",
        action="store_true",
        help="then hang up (default: wait for the far end to hang up)",
    )
    p.add_argument(
        "--step-timeout", metavar="S", type=float, help="seconds a step may take (default 60)"
    )
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON (- = stdout)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=call)
