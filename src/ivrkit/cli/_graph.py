"""``ivrkit graph MENU.yaml --format mermaid|dot|svg``: a picture of a menu file.

The menu is validated as ``ivrkit check`` does (a bad file: exit 2 with every problem),
but its handlers are not imported: drawing a menu must not run its code. The drawing is
``ivrkit.graph``'s; ``ivrkit check`` keeps its text tree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ivrkit.cli import CliError


def graph(args: argparse.Namespace) -> int:
    from ivrkit.graph import render
    from ivrkit.ivr import MenuDefinitionError, load_menu_file

    try:
        tree = load_menu_file(args.menu)
    except MenuDefinitionError as exc:
        raise CliError(exc.headline, *(str(p) for p in exc.problems)) from exc
    text = render(tree, args.format)
    if args.output in (None, "-"):
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"can't write {args.output}", exc.strerror or str(exc)) from exc
    print(f"{args.output}: {args.format} picture of {tree.source}", file=sys.stderr)
    return 0


def register(sub: Any) -> None:
    from ivrkit.graph import FORMATS

    p = sub.add_parser(
        "graph",
        help="draw a menu file as Mermaid, Graphviz DOT or SVG",
        description="Validate MENU.yaml and draw its menus: menus and actions as boxes, "
        "keys and limits as arrows, dashed arrows back to the menu after play, a failed "
        "transfer or a handler. SVG is laid out by ivrkit itself (no Graphviz needed).",
    )
    p.add_argument("menu", metavar="MENU.yaml")
    p.add_argument("--format", choices=FORMATS, default="mermaid", help="default %(default)s")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default stdout)")
    p.set_defaults(func=graph)
