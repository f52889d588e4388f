"""Placeholder: filled in by the issue that owns these subcommands."""

from __future__ import annotations

import argparse
from typing import Any


def _todo(args: argparse.Namespace) -> int:
    print(f"ivrkit {args.command}: not implemented yet")
    return 2


def register(sub: Any) -> None:
    sub.add_parser("sim", help="(not implemented yet)").set_defaults(func=_todo)
