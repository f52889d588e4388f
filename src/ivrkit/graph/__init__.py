"""ivrkit.graph: a picture of a menu file (``ivrkit graph``; docs/operations.md).

``menu_graph(tree)`` turns a ``MenuTree`` into nodes and edges; ``render(tree, format)``
draws it as Mermaid, Graphviz DOT or SVG (laid out in pure Python: no Graphviz needed).
"""

from typing import Literal

from ivrkit.graph._model import Edge, MenuGraph, Node, menu_graph
from ivrkit.graph._svg import to_svg
from ivrkit.graph._text import to_dot, to_mermaid
from ivrkit.ivr import MenuTree

GraphFormat = Literal["mermaid", "dot", "svg"]
FORMATS: tuple[GraphFormat, ...] = ("mermaid", "dot", "svg")


def render(tree: MenuTree, format: GraphFormat) -> str:
    """``tree`` as text in ``format``; the title is the menu file's name."""
    graph = menu_graph(tree)
    if format == "mermaid":
        return to_mermaid(graph)
    if format == "dot":
        return to_dot(graph, tree.source)
    return to_svg(graph, tree.source)


__all__ = [
    "FORMATS",
    "Edge",
    "GraphFormat",
    "MenuGraph",
    "Node",
    "menu_graph",
    "render",
    "to_dot",
    "to_mermaid",
    "to_svg",
]
