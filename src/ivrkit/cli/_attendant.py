"""``ivrkit run`` and ``ivrkit check``: the menu engine on the command line.

* ``run [MENU.yaml]``: serve the menu (default: the guide's attendant) to a real Asterisk
  until SIGTERM or Ctrl-C, then hand live calls back to the dialplan (or drain them) and
  exit 0; SIGHUP reloads the menu (cli/_lifecycle.py).
* (``demo`` is ``ivrkit.cli._demo``.)
* ``check MENU.yaml``: validate a menu file and print its tree.

A bad menu file is rejected (exit 2, every problem with file:line:field) before any
connection is made, so no call is ever touched by it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import sys
from pathlib import Path
from typing import Any

from ivrkit.cli import CliError
from ivrkit.cli._cluster import add_cluster_options
from ivrkit.cli._lifecycle import ServiceControl, StopPolicy, add_stop_options
from ivrkit.cli._listen import add_listen_options, run_listening
from ivrkit.cli._loop import run_server, speedups_note
from ivrkit.cli._observability import Observability, add_observability_options
from ivrkit.ivr import (
    ATTENDANT_MENU,
    Action,
    BackAction,
    CollectAction,
    ContinueAction,
    GotoAction,
    HandlerAction,
    HangupAction,
    Menu,
    MenuDefinitionError,
    MenuTree,
    PlayAction,
    RecordAction,
    RouteAction,
    TopAction,
    TransferAction,
    load_menu_file,
    resolve_handlers,
    tree_warnings,
)

# ---------------------------------------------------------------- menus


def load_checked(path: str | Path) -> tuple[MenuTree, dict[str, Any]]:
    """Load a menu and import its handlers, or raise CliError with every problem."""
    try:
        tree = load_menu_file(path)
        handlers = resolve_handlers(tree)
    except MenuDefinitionError as exc:
        raise CliError(exc.headline, *(str(p) for p in exc.problems)) from exc
    return tree, handlers


def describe_action(action: Action) -> str:
    if isinstance(action, PlayAction):
        return "play " + ", ".join(action.prompts) + ", then the menu again"
    if isinstance(action, GotoAction):
        return f"go to menu `{action.menu}`"
    if isinstance(action, BackAction):
        return "back to the previous menu"
    if isinstance(action, TopAction):
        return "back to the start menu"
    if isinstance(action, HangupAction):
        return "hang up"
    if isinstance(action, ContinueAction):
        where = ",".join(
            str(v) for v in (action.context, action.extension, action.priority) if v is not None
        )
        return f"continue in the dialplan at {where}" if where else "continue in the dialplan"
    if isinstance(action, TransferAction):
        return f"transfer to {action.endpoint} ({action.timeout:g} s)"
    if isinstance(action, CollectAction):
        size = f"{action.min_length}" + (
            f"-{action.max_length}" if action.max_length != action.min_length else ""
        )
        return f"collect {size} digits into `{action.into}`, then {describe_action(action.then)}"
    if isinstance(action, RouteAction):
        rules = "; ".join(describe_action(r.action) for r in action.rules)
        otherwise = describe_action(action.otherwise)
        return f"route by the time in {action.zone_name or action.zone}: {rules}; else {otherwise}"
    if isinstance(action, RecordAction):
        then = describe_action(action.then)
        return f"record `{action.name}` (up to {action.max_duration:g} s), then {then}"
    assert isinstance(action, HandlerAction)
    return f"run handler {action.name}"


def describe_menu(name: str, menu: Menu, start: bool) -> list[str]:
    lines = [f"{name}{' (start)' if start else ''}"]
    if menu.greeting:
        lines.append(f"  greeting: {', '.join(menu.greeting)}")
    if menu.regreeting is not None:
        lines.append(f"  re-greeting: {', '.join(menu.regreeting) or '(nothing)'}")
    limits = []
    for what, limit in (("no input", menu.max_no_input), ("no match", menu.max_no_match)):
        if limit is not None:
            limits.append(f"{limit}× {what}")
    lines.append(
        f"  no input after {menu.timeout:g} s: {', '.join(menu.no_input) or '(silence)'}"
        f"; invalid: {', '.join(menu.invalid) or '(silence)'}"
    )
    lines.append(
        f"  barge-in {'on' if menu.barge_in else 'off'}, type-ahead "
        f"{'on' if menu.type_ahead else 'off'}, inter-digit {menu.inter_digit_timeout:g} s"
        + (f"; after {' or '.join(limits)}: {describe_action(menu.on_limit)}" if limits else "")
    )
    for option in menu.options:
        label = {"key": "key", "digits": "digits", "pattern": "pattern"}[option.kind]
        lines.append(f"  {label} {option.value}: {describe_action(option.action)}")
    return lines


def check(args: argparse.Namespace) -> int:
    tree, _ = load_checked(args.menu)
    count = len(tree.menus)
    print(f"{tree.source}: ok, {count} menu{'s' * (count != 1)}, calls start in `{tree.start}`")
    for name, menu in tree.menus.items():
        for line in describe_menu(name, menu, name == tree.start):
            print(line)
    for field, message in tree_warnings(tree):  # loads, but cannot be what was meant
        at = tree.field_lines.get(field)
        print(f"warning: {tree.source}{'' if at is None else f':{at}'}: {field}: {message}")
    return 0


# ---------------------------------------------------------------- run


def _credentials(args: argparse.Namespace) -> Any:
    from ivrkit.ari import ConfigurationError, Credentials

    try:
        if args.credentials_file:
            credentials = Credentials.from_file(args.credentials_file)
            return credentials.from_source(f"--credentials-file {args.credentials_file}")
        return Credentials.from_env()
    except ConfigurationError as exc:
        if args.credentials_file:
            raise CliError("no ARI credentials", str(exc)) from exc
        hint = "pass --credentials-file FILE (lines ARI_USER=... and ARI_PASSWORD=...)"
        raise CliError("no ARI credentials", f"{exc}, or {hint}") from exc


def connection_config(args: argparse.Namespace, **options: Any) -> Any:
    """The ``ConnectionConfig`` of ``--url``/``--app``/credentials/``--ca-file`` (+ options).

    Shared by ``ivrkit run`` and ``ivrkit call``: one place turns a bad setting into the
    same usage error (exit 2) for both.
    """
    from ivrkit.ari import ConfigurationError, ConnectionConfig

    try:
        return ConnectionConfig(
            base_url=args.url,
            apps=(args.app,),
            credentials=_credentials(args),
            ca_file=args.ca_file,
            **options,
        )
    except ConfigurationError as exc:
        raise CliError("invalid connection settings", str(exc)) from exc


def add_credential_options(p: argparse.ArgumentParser) -> None:
    """``--credentials-file`` and ``--ca-file``, as ``run`` and ``call`` both take them."""
    p.add_argument("--credentials-file", metavar="FILE", help="lines ARI_USER=... ARI_PASSWORD=...")
    p.add_argument(
        "--ca-file", metavar="PEM", help="CA bundle for an https:// URL (default: system CAs)"
    )


#: allocations between two collections of the youngest generation (CPython's default:
#: 700). The collector's share of the CPU at 1,000 calls (perf, 2026-12-01): 7.7 % at 700,
#: 5.2 % at 7,000, 3.5 % at 50,000.
GC_YOUNG_THRESHOLD = 50_000


def freeze_startup_heap() -> None:
    """Move everything alive after startup out of the collector's sight.

    A full collection walks every tracked object. Right after connecting, most of them
    are modules, aiohttp and the menu: they live as long as the process and can never be
    garbage. Frozen, they are skipped, and a full collection at 1,000 live calls took
    8-10 ms instead of 20-33 ms, the largest stall of the event loop under load (make
    bench; docs/performance.md). ``ivrkit run`` owns its process, so the choice is made
    here, not in the library. Frozen objects still die by reference counting; only a
    reference cycle among them (a call adopted during startup, say) would outlive its use.

    The youngest generation is collected every ``GC_YOUNG_THRESHOLD`` allocations instead
    of every 700: each event and request of a call allocates a few dozen tracked objects
    (futures, coroutines, events, dicts) that reference counting frees at once, and at
    700 the collector ran hundreds of times a second, each older generation in turn
    (7.7 % of the CPU at 1,000 calls in perf). Cycles wait a little longer to be freed.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


async def _serve(
    tree: MenuTree,
    handlers: dict[str, Any],
    config: Any,
    policy: StopPolicy | None = None,
    *,
    signals: bool = False,
    menu_file: str | None = None,
    watch: Observability | None = None,
) -> int:
    """Serve until a stop (signal, or cancellation as in-process Ctrl-C) or the client
    stops by itself; the stop and reload logic is cli/_lifecycle.py's."""
    from ivrkit.ari import ApplicationReplacedError, AriClient, AriError
    from ivrkit.ivr.runner import MenuRunner

    watch = watch or Observability(None, None)  # --metrics, --journey: _observability.py
    runner = MenuRunner(
        tree, handlers=handlers, observer=watch.observer, transcript=watch.transcript
    )
    client = AriClient(config, observer=watch.observer)
    runner.attach(client)
    control = ServiceControl(
        runner,
        policy or StopPolicy(),
        reload=None if menu_file is None else (lambda: load_checked(menu_file)),
        say=_say,
    )
    interrupted = False
    try:
        accepting = {"accepting calls": lambda: not control.stop_requested}
        async with watch.serving(client, accepting), client:
            freeze_startup_heap()
            with control.signals() if signals else contextlib.nullcontext():
                _say(
                    f"ivrkit run: serving {tree.source} as ARI app {config.apps[0]!r} at "
                    f"{config.ari_url}, REST over {client.rest_transport} (Ctrl-C to stop)"
                    + speedups_note()
                )
                try:
                    stop = await control.wait(client.wait_stopped)
                except ApplicationReplacedError:
                    stop = False  # a takeover: the calls are the other process's now
                    control.taken_over()
                except asyncio.CancelledError:
                    # in-process Ctrl-C (asyncio.run cancels its main task): take the
                    # cancellation back so the client closes cleanly, hand the calls to
                    # the dialplan, then re-raise
                    task = asyncio.current_task()
                    if task is not None:
                        task.uncancel()
                    interrupted = stop = True
                    control.request_stop("cancelled")
                if stop:
                    await control.stop(client.wait_stopped)
    except AriError as exc:
        raise CliError(f"can't serve ARI app {config.apps[0]!r}", str(exc)) from exc
    if interrupted:
        raise asyncio.CancelledError
    return 0


def run(args: argparse.Namespace) -> int:
    tree, handlers = load_checked(args.menu)
    policy = StopPolicy(mode=args.on_stop, drain_timeout=args.drain_timeout)
    if args.listen:  # Asterisk connects to us (outbound websockets): cli/_listen.py
        reload = lambda: load_checked(args.menu)  # noqa: E731
        creds = _credentials(args)
        return run_listening(args, tree, handlers, policy, creds, reload, freeze_startup_heap)
    args.url = args.url or ["http://localhost:8088"]
    if len(args.url) > 1 or args.cluster:  # several Asterisks, a cluster: cli/_cluster.py
        return _run_cluster(args, tree, handlers, policy)
    args.url = args.url[0]
    config = connection_config(args, rest_transport=args.rest_transport)
    watch = Observability.from_args(args)
    try:
        return run_server(
            _serve(tree, handlers, config, policy, signals=True, menu_file=args.menu, watch=watch),
        )
    except KeyboardInterrupt:  # Ctrl-C before the signal handlers were in place
        return 130


def _run_cluster(
    args: argparse.Namespace, tree: MenuTree, handlers: dict[str, Any], policy: StopPolicy
) -> int:
    from ivrkit.cli import _cluster

    opts = _cluster.options_from(args)
    app = _cluster.app_name(opts)
    configs = [
        connection_config(
            argparse.Namespace(**{**vars(args), "url": url, "app": app}),
            rest_transport=args.rest_transport,
        )
        for url in opts.urls
    ]
    watch = Observability.from_args(args)  # --metrics/--journey: cli/_observability.py
    try:
        return run_server(
            _cluster.serve(
                tree,
                handlers,
                configs,
                opts,
                policy,
                reload=lambda: load_checked(args.menu),
                started=freeze_startup_heap,
                watch=watch,
            )
        )
    except KeyboardInterrupt:
        return 130
    finally:
        watch.close_journey()


# ---------------------------------------------------------------- registration


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="serve a menu (default: the guide's attendant) to a real Asterisk",
        description="Serve a menu to an Asterisk over ARI until SIGTERM or Ctrl-C, which "
        "hand live calls back to the dialplan (or drain them, --on-stop drain); SIGHUP "
        "reloads the menu file. Credentials come from ARI_USER/ARI_PASSWORD, "
        "ARI_CREDENTIALS_FILE or --credentials-file, never from the command line. "
        "See docs/operations.md.",
    )
    p.add_argument("menu", nargs="?", default=str(ATTENDANT_MENU), metavar="MENU.yaml")
    p.add_argument(
        "--url",
        action="append",
        help="ARI base URL (default http://localhost:8088); repeat it for several Asterisks",
    )
    p.add_argument("--app", default="channel-aa", help="Stasis app name (default %(default)s)")
    add_credential_options(p)
    add_cluster_options(p)
    add_listen_options(p)
    p.add_argument(
        "--rest-transport",
        choices=("http", "websocket", "auto"),
        default="auto",
        help="how REST requests travel: HTTP, RESTRequest frames on the events websocket "
        "(Asterisk 20.13+/22.3+), or auto (websocket if a probe is answered within 2 s, "
        "else HTTP); default %(default)s",
    )
    add_stop_options(p)
    add_observability_options(p)
    p.set_defaults(func=run)

    p = sub.add_parser(
        "check",
        help="validate a menu file and print its tree",
        description="Validate MENU.yaml (exit 2 listing every problem) and print its menus.",
    )
    p.add_argument("menu", metavar="MENU.yaml")
    p.set_defaults(func=check)
