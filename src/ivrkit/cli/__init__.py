"""The ``ivrkit`` command line.

Each subcommand lives in its own module with a ``register(subparsers)`` function that
adds its parser and sets ``func`` (a callable taking the parsed namespace and returning
an exit code). Output style follows ruff: one headline, causes on their own lines, no
traceback; exit 0 ok, 1 findings / failed call, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand modules, in the order they appear in --help
_COMMAND_MODULES = (
    "ivrkit.cli._attendant",  # run, check
    "ivrkit.cli._demo",  # demo
    "ivrkit.cli._graph",  # graph
    "ivrkit.cli._sim",  # sim
    "ivrkit.cli._call",  # call
)


class CliError(Exception):
    """A failure to report as ``ivrkit failed`` plus causes, exit status 2."""

    def __init__(self, headline: str, *causes: str, status: int = 2) -> None:
        super().__init__(headline)
        self.headline = headline
        self.causes = causes
        self.status = status


def build_parser() -> argparse.ArgumentParser:
    from ivrkit import __version__

    parser = argparse.ArgumentParser(
        prog="ivrkit",
        description="Voice applications on the Asterisk REST Interface.",
    )
    from ivrkit import speedups

    version = f"ivrkit {__version__} (speed-ups: {speedups.describe()})"
    parser.add_argument("--version", action="version", version=version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in _COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _check_speedups() -> None:
    from ivrkit import speedups

    problem = speedups.problem()
    if problem is not None:
        raise CliError(f"invalid {speedups.ENV}", problem)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        _check_speedups()
        status: int = args.func(args)
    except CliError as exc:
        print(f"ivrkit failed: {exc.headline}", file=sys.stderr)
        for cause in exc.causes:
            print(f"  Cause: {cause}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    return status


__all__ = ["CliError", "build_parser", "main"]
