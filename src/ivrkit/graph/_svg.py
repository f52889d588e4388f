"""A menu graph as SVG, laid out here in pure Python (docs/decisions.md says why).

The layout is the classic layered one, sized for menus (tens of nodes, a tree plus a few
jumps back), not for arbitrary graphs:

1. Layers: breadth-first from the start menu over the forward edges (keys, limits),
   so a menu sits one row below the first menu that leads to it and each action one row
   below its menu. Menus no call can reach start further rows of their own.
2. Order within a row: discovery order, then one barycenter pass (a node moves under the
   mean position of its parents), which keeps a menu's actions under it.
3. Boxes are sized from their text (a fixed average glyph width: no font metrics
   without a font library); rows are centred.
4. Edges never cross a box: a forward edge is an S-curve from the bottom of its source
   to the top of its target, one row down (breadth-first layers guarantee that); a
   dashed return runs beside it, back up; a jump (a goto to an earlier menu, or to one
   in the same row) climbs into the gap above its row, up a lane of its own in the right
   margin, and enters its target from below.

Output is deterministic (same file, same bytes), so tests compare it and version control
shows a menu change as a picture change.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ivrkit.graph._model import Edge, MenuGraph, Node

CHAR_WIDTH = 7.0  # average glyph width of 12 px sans-serif, generous
LINE_HEIGHT = 16.0
PAD_X, PAD_Y = 12.0, 8.0
GAP_X, GAP_Y = 28.0, 56.0
MARGIN = 24.0
LANE_START, LANE_STEP = 14.0, 10.0  # jump lanes in the right margin
LABEL_CHAR = 6.0

_STYLE = {
    "start": ('fill="#dbeafe" stroke="#1d4ed8" stroke-width="2"', 8),
    "menu": ('fill="#eff6ff" stroke="#3b82f6" stroke-width="1.5"', 8),
    "action": ('fill="#f8fafc" stroke="#64748b" stroke-width="1"', 0),
    "end": ('fill="#f1f5f9" stroke="#334155" stroke-width="1"', 14),
}


@dataclass(slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _f(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _layers(graph: MenuGraph) -> dict[str, int]:
    forward: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for edge in graph.edges:
        if not edge.returns:
            forward[edge.source].append(edge.target)
    layer: dict[str, int] = {}
    roots = [n.id for n in graph.nodes if n.kind == "start"]
    roots += [n.id for n in graph.nodes if n.kind != "start"]
    for root in roots:
        if root in layer:
            continue
        layer[root] = 0 if not layer else max(layer.values()) + 1
        queue = [root]
        while queue:
            node = queue.pop(0)
            for target in forward[node]:
                if target not in layer:
                    layer[target] = layer[node] + 1
                    queue.append(target)
    return layer


def _rows(graph: MenuGraph, layer: dict[str, int]) -> list[list[str]]:
    discovered = {n.id: i for i, n in enumerate(graph.nodes)}
    rows: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for node in sorted(layer, key=lambda n: (layer[n], discovered[n])):
        rows[layer[node]].append(node)
    parents: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for edge in graph.edges:
        if not edge.returns and layer[edge.source] < layer[edge.target]:
            parents[edge.target].append(edge.source)
    position: dict[str, float] = {n: float(i) for row in rows for i, n in enumerate(row)}
    for row in rows[1:]:

        def centre(node: str) -> tuple[float, int]:
            ps = parents[node]
            mean = sum(position[p] for p in ps) / len(ps) if ps else position[node]
            return (mean, discovered[node])

        row.sort(key=centre)
        for i, node in enumerate(row):
            position[node] = float(i)
    return rows


def layout(graph: MenuGraph) -> tuple[dict[str, Box], float, float]:
    """Boxes of every node, and the picture's width and height."""
    nodes = {n.id: n for n in graph.nodes}
    rows = _rows(graph, _layers(graph))
    size = {
        n.id: (
            max(len(line) for line in n.lines) * CHAR_WIDTH + 2 * PAD_X,
            len(n.lines) * LINE_HEIGHT + 2 * PAD_Y,
        )
        for n in nodes.values()
    }
    widths = [sum(size[n][0] for n in row) + GAP_X * (len(row) - 1) for row in rows]
    inner = max(widths)
    boxes: dict[str, Box] = {}
    y = MARGIN
    for row, width in zip(rows, widths, strict=True):
        x = MARGIN + (inner - width) / 2
        height = max(size[n][1] for n in row)
        for node in row:
            w, h = size[node]
            boxes[node] = Box(x, y + (height - h) / 2, w, h)
            x += w + GAP_X
        y += height + GAP_Y
    jumps = sum(1 for e in graph.edges if _kind(e, boxes) == "jump")
    width = MARGIN * 2 + inner + (LANE_START + LANE_STEP * jumps if jumps else 0.0)
    return boxes, width, y - GAP_Y + MARGIN


def _kind(edge: Edge, boxes: dict[str, Box]) -> str:
    """down (to the next row), return (dashed, back up to its menu), loop, or jump."""
    if edge.source == edge.target:
        return "loop"
    if edge.returns:
        return "return"
    return "down" if boxes[edge.target].y > boxes[edge.source].bottom else "jump"


def _edge_path(
    edge: Edge, boxes: dict[str, Box], lane: int, right: float
) -> tuple[str, float, float]:
    """SVG path data and the label's anchor point; nothing crosses a node's box.

    Down and return edges stay in the gap between two rows. A jump (a goto to an earlier
    menu, or one in the same row) climbs out of its row through the gap above it, runs up
    a lane of its own in the right margin, and enters its target from below.
    """
    s, t = boxes[edge.source], boxes[edge.target]
    kind = _kind(edge, boxes)
    if kind == "loop":  # above the node, in its right half
        x0, x1, top = s.cx + s.w / 6, s.right - 6, s.y - GAP_Y * 0.4
        path = f"M{_f(x0)},{_f(s.y)} C{_f(x0)},{_f(top)} {_f(x1)},{_f(top)} {_f(x1)},{_f(s.y)}"
        return path, (x0 + x1) / 2, s.y - GAP_Y * 0.3
    if kind == "down":
        x0, y0, x1, y1 = s.cx, s.bottom, t.cx, t.y
        mid = (y0 + y1) / 2
        path = f"M{_f(x0)},{_f(y0)} C{_f(x0)},{_f(mid)} {_f(x1)},{_f(mid)} {_f(x1)},{_f(y1)}"
        return path, (x0 + x1) / 2, mid
    if kind == "return":  # beside the down edge it answers: right quarters of both boxes
        x0, y0 = s.cx + min(s.w / 4, 24.0), s.y
        x1, y1 = t.cx + min(t.w / 4, 24.0), t.bottom
        mid = (y0 + y1) / 2
        path = f"M{_f(x0)},{_f(y0)} C{_f(x0)},{_f(mid)} {_f(x1)},{_f(mid)} {_f(x1)},{_f(y1)}"
        return path, (x0 + x1) / 2 + 10, mid
    x = right + LANE_START + LANE_STEP * lane
    above = s.y - GAP_Y * (0.25 + 0.05 * (lane % 4))
    below = t.bottom + GAP_Y * (0.25 + 0.05 * (lane % 4))
    x0, x1 = s.cx - min(s.w / 4, 24.0), t.cx - min(t.w / 4, 24.0)
    path = f"M{_f(x0)},{_f(s.y)} V{_f(above)} H{_f(x)} V{_f(below)} H{_f(x1)} V{_f(t.bottom)}"
    return path, (x0 + x) / 2, above


def _node_svg(node: Node, box: Box) -> list[str]:
    style, radius = _STYLE[node.kind]
    out = [
        f'<g class="node {node.kind}" id={quoteattr(node.id)}>',
        f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" height="{_f(box.h)}" '
        f'rx="{radius}" {style}/>',
    ]
    top = box.y + PAD_Y + LINE_HEIGHT * 0.75
    for i, line in enumerate(node.lines):
        weight = ' font-weight="bold"' if i == 0 and node.kind in ("start", "menu") else ""
        out.append(
            f'<text x="{_f(box.cx)}" y="{_f(top + i * LINE_HEIGHT)}"{weight}>{escape(line)}</text>'
        )
    out.append("</g>")
    return out


def to_svg(graph: MenuGraph, title: str = "menu") -> str:
    boxes, width, height = layout(graph)
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" '
        f'width="{_f(width)}" height="{_f(height)}" viewBox="0 0 {_f(width)} {_f(height)}" '
        'font-family="Helvetica, Arial, sans-serif" font-size="12" text-anchor="middle">',
        f"<title>{escape(title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#475569"/></marker></defs>',
        f'<rect width="{_f(width)}" height="{_f(height)}" fill="#ffffff"/>',
        '<g class="edges" fill="none" stroke="#475569" stroke-width="1.2">',
    ]
    labels: list[str] = []
    lane = 0
    right = max(box.right for box in boxes.values())
    for edge in graph.edges:
        path, lx, ly = _edge_path(edge, boxes, lane, right)
        lane += _kind(edge, boxes) == "jump"
        dash = ' stroke-dasharray="5,4"' if edge.returns else ""
        parts.append(
            f'<path class="edge" data-source="{edge.source}" data-target="{edge.target}" '
            f'd="{path}"{dash} marker-end="url(#arrow)"/>'
        )
        if edge.label:
            w = len(edge.label) * LABEL_CHAR + 8
            labels.append(
                f'<rect x="{_f(lx - w / 2)}" y="{_f(ly - 9)}" width="{_f(w)}" height="16" '
                'rx="3" fill="#ffffff" fill-opacity="0.9"/>'
                f'<text class="edge-label" x="{_f(lx)}" y="{_f(ly + 3)}" font-size="11" '
                f'fill="#1e293b">{escape(edge.label)}</text>'
            )
    parts.append("</g>")
    parts.append('<g class="nodes">')
    for node in graph.nodes:
        parts.extend(_node_svg(node, boxes[node.id]))
    parts.append("</g>")
    parts.append('<g class="labels">')
    parts.extend(labels)
    parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


__all__ = ["Box", "layout", "to_svg"]
