"""A menu file as a graph: menus and actions are nodes, keys and limits are edges.

This is the one place that knows how each action looks in a picture; the renderers
(``_text.py`` for Mermaid and DOT, ``_svg.py``) only draw nodes and edges. Actions that
lead to another menu (goto, top) are edges between menus; actions that end or leave the
menu (hang up, continue, transfer, handler, play, back) are small nodes of their own,
and those after which the menu comes back (play, a failed transfer, a handler) get a
dashed "return" edge to it. An action type this module does not know yet (new flow
features) is drawn by its name, with an edge to its ``menu`` if it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ivrkit.ivr import (
    Action,
    BackAction,
    ContinueAction,
    GotoAction,
    HandlerAction,
    HangupAction,
    Menu,
    MenuTree,
    Option,
    PlayAction,
    TopAction,
    TransferAction,
)

NodeKind = Literal["start", "menu", "action", "end"]
_MAX_LABEL = 48


@dataclass(frozen=True, slots=True)
class Node:
    id: str
    lines: tuple[str, ...]
    kind: NodeKind


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str = ""
    returns: bool = False  # dashed: the menu comes back after the action


@dataclass(slots=True)
class MenuGraph:
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


def _prompts(prompts: tuple[str, ...]) -> str:
    return ", ".join(p.removeprefix("sound:") for p in prompts)


def _option_label(option: Option) -> str:
    return option.value if option.kind != "pattern" else f"pattern {option.value}"


class _Builder:
    def __init__(self, tree: MenuTree) -> None:
        self.tree = tree
        self.graph = MenuGraph()
        self.menu_ids = {name: f"m{i}" for i, name in enumerate(tree.menus)}
        self._count = 0

    def build(self) -> MenuGraph:
        for name, menu in self.tree.menus.items():
            lines = [f"{name} (start)" if name == self.tree.start else name]
            if menu.greeting:
                lines.append(_short(_prompts(menu.greeting)))
            kind: NodeKind = "start" if name == self.tree.start else "menu"
            self.graph.nodes.append(Node(self.menu_ids[name], tuple(lines), kind))
        for name, menu in self.tree.menus.items():
            for option in menu.options:
                self._action(name, option.action, _option_label(option))
            limit = self._limit_label(menu)
            if limit:
                self._action(name, menu.on_limit, limit)
        return self.graph

    @staticmethod
    def _limit_label(menu: Menu) -> str:
        parts = []
        if menu.max_no_input is not None:
            parts.append(f"{menu.max_no_input}× no input")
        if menu.max_no_match is not None:
            parts.append(f"{menu.max_no_match}× no match")
        return " or ".join(parts)

    def _node(self, lines: tuple[str, ...], kind: NodeKind = "action") -> str:
        self._count += 1
        node = Node(f"a{self._count}", tuple(_short(line) for line in lines), kind)
        self.graph.nodes.append(node)
        return node.id

    def _edge(self, source: str, target: str, label: str = "", returns: bool = False) -> None:
        self.graph.edges.append(Edge(source, target, label, returns))

    def _action(self, menu: str, action: Action, label: str) -> None:
        here = self.menu_ids[menu]
        if isinstance(action, GotoAction):
            self._edge(here, self.menu_ids[action.menu], label)
        elif isinstance(action, TopAction):
            self._edge(here, self.menu_ids[self.tree.start], f"{label} (top)")
        elif isinstance(action, PlayAction):
            node = self._node(("play " + _prompts(action.prompts),))
            self._edge(here, node, label)
            self._edge(node, here, returns=True)
        elif isinstance(action, HangupAction):
            self._edge(here, self._node(("hang up",), "end"), label)
        elif isinstance(action, BackAction):
            self._edge(here, self._node(("back to the previous menu",), "end"), label)
        elif isinstance(action, ContinueAction):
            at = ",".join(
                str(v) for v in (action.context, action.extension, action.priority) if v is not None
            )
            self._edge(
                here,
                self._node(
                    ("continue in the dialplan", at) if at else ("continue in the dialplan",), "end"
                ),
                label,
            )
        elif isinstance(action, TransferAction):
            node = self._node((f"transfer to {action.endpoint}", f"{action.timeout:g} s"))
            self._edge(here, node, label)
            self._edge(node, here, "failed", returns=True)
        elif isinstance(action, HandlerAction):
            node = self._node((f"handler {action.name}",))
            self._edge(here, node, label)
            self._edge(node, here, returns=True)
        else:  # a newer action type: its name, and its menu if it names one
            name = type(action).__name__.removesuffix("Action").lower()
            target = getattr(action, "menu", None)
            if isinstance(target, str) and target in self.menu_ids:
                self._edge(here, self.menu_ids[target], f"{label} ({name})")
            else:
                self._edge(here, self._node((name,)), label)


def menu_graph(tree: MenuTree) -> MenuGraph:
    """The graph of ``tree``: every menu in file order, then the action nodes."""
    return _Builder(tree).build()


__all__ = ["Edge", "MenuGraph", "Node", "NodeKind", "menu_graph"]
