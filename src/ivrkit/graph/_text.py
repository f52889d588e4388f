"""Mermaid and Graphviz DOT text for a menu graph.

Mermaid renders in GitHub and GitLab Markdown, and in most wikis; DOT is for Graphviz
(``ivrkit graph menu.yaml --format dot | dot -Tpng``). Labels are escaped for each:
Mermaid's ``#quot;`` entity inside quoted labels, DOT's backslash escapes.
"""

from __future__ import annotations

from ivrkit.graph._model import MenuGraph, Node

_MERMAID_SHAPES = {
    "start": ('[["', '"]]'),
    "menu": ('["', '"]'),
    "action": ('("', '")'),
    "end": ('(["', '"])'),
}


def _mermaid_text(text: str) -> str:
    return (
        text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    )


def to_mermaid(graph: MenuGraph) -> str:
    lines = ["flowchart TD"]
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES[node.kind]
        label = "<br/>".join(_mermaid_text(line) for line in node.lines)
        lines.append(f"    {node.id}{opening}{label}{closing}")
    for edge in graph.edges:
        arrow = "-.->" if edge.returns else "-->"
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrow}{label} {edge.target}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_node(node: Node) -> str:
    label = "\\n".join(_dot_text(line) for line in node.lines)
    style = {
        "start": 'shape=box, style="rounded,bold,filled", fillcolor="#dbeafe"',
        "menu": 'shape=box, style="rounded,filled", fillcolor="#eff6ff"',
        "action": 'shape=box, style="filled", fillcolor="#f8fafc"',
        "end": 'shape=box, style="rounded,filled", fillcolor="#f1f5f9", peripheries=2',
    }[node.kind]
    return f'    {node.id} [label="{label}", {style}];'


def to_dot(graph: MenuGraph, name: str = "menu") -> str:
    lines = [
        f'digraph "{_dot_text(name)}" {{',
        "    rankdir=TB;",
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=10];',
    ]
    lines.extend(_dot_node(node) for node in graph.nodes)
    for edge in graph.edges:
        attrs = []
        if edge.label:
            attrs.append(f'label="{_dot_text(edge.label)}"')
        if edge.returns:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"    {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


__all__ = ["to_dot", "to_mermaid"]
