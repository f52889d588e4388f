"""`ivrkit graph`: Mermaid, DOT and a pure-Python SVG layout whose edges never cross a box."""

from __future__ import annotations

import re
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from ivrkit.cli import main
from ivrkit.graph import menu_graph, render, to_svg
from ivrkit.graph._svg import Box, layout
from ivrkit.ivr import ATTENDANT_MENU, load_menu, load_menu_file

SVG_NS = "{http://www.w3.org/2000/svg}"

BUSINESS = textwrap.dedent(
    """\
    menus:
      main:
        greeting: [sound:welcome, sound:press-1-sales, sound:press-2-support]
        timeout: 5
        max_no_input: 3
        on_limit: {transfer: {endpoint: "PJSIP/operator", timeout: 20, failed: [sound:busy]}}
        options:
          - {key: "1", goto: sales}
          - {key: "2", goto: support}
          - {key: "9", hangup: true}
          - {key: "5", goto: main}
      sales:
        greeting: [sound:sales]
        options:
          - {key: "1", play: [sound:prices]}
          - {key: "*", back: true}
          - {digits: "123", continue: {context: sales, extension: "100", priority: 1}}
          - {key: "3", goto: support}
      support:
        greeting: [sound:support]
        options:
          - {key: "1", goto: main}
          - {key: "#", top: true}
          - {pattern: "XXX", play: [sound:you-entered, "digits:{digits}"]}
          - {key: "4", handler: "desk:lookup"}
    """
)


def test_the_attendant_in_mermaid() -> None:
    assert render(load_menu_file(ATTENDANT_MENU), "mermaid") == textwrap.dedent(
        """\
        flowchart TD
            m0[["main (start)<br/>press-1, or, press-2"]]
            a1("play you-entered, digits:{digits}")
            a2("play you-entered, digits:{digits}")
            m0 -->|"1"| a1
            a1 -.-> m0
            m0 -->|"2"| a2
            a2 -.-> m0
        """
    )


def test_every_action_and_limit_is_drawn() -> None:
    graph = menu_graph(load_menu(BUSINESS))
    labels = {n.id: n.lines[0] for n in graph.nodes}
    edges = {(labels[e.source], e.label, labels[e.target], e.returns) for e in graph.edges}
    assert ("main (start)", "1", "sales", False) in edges
    assert ("main (start)", "5", "main (start)", False) in edges  # a goto to itself
    assert ("main (start)", "3× no input", "transfer to PJSIP/operator", False) in edges
    assert ("transfer to PJSIP/operator", "failed", "main (start)", True) in edges
    assert ("support", "# (top)", "main (start)", False) in edges
    assert ("support", "pattern XXX", "play you-entered, digits:{digits}", False) in edges
    assert ("sales", "123", "continue in the dialplan", False) in edges
    assert ("handler desk:lookup", "", "support", True) in edges
    assert ("sales", "*", "back to the previous menu", False) in edges


def test_dot_escapes_and_names_every_node() -> None:
    tree = load_menu(BUSINESS.replace("sound:prices", 'sound:"prices"\\\\x'))
    dot = render(tree, "dot")
    assert dot.startswith('digraph "<string>" {') or dot.startswith("digraph ")
    graph = menu_graph(tree)
    for node in graph.nodes:
        assert re.search(rf"^    {node.id} \[label=", dot, re.M)
    assert dot.count(" -> ") == len(graph.edges)
    assert r"play \"prices\"\\\\x" in dot or r"play \"prices\"\\x" in dot


def _points(d: str) -> list[tuple[float, float]]:
    """Sample points along our path syntax (M, C, H, V)."""
    tokens = re.findall(r"[MCHV]|-?[\d.]+", d)
    points: list[tuple[float, float]] = []
    x = y = 0.0
    i = 0
    while i < len(tokens):
        op = tokens[i]
        if op == "M":
            x, y = float(tokens[i + 1]), float(tokens[i + 2])
            points.append((x, y))
            i += 3
        elif op in "HV":
            end = float(tokens[i + 1])
            nx, ny = (end, y) if op == "H" else (x, end)
            points.extend((x + (nx - x) * k / 20, y + (ny - y) * k / 20) for k in range(1, 21))
            x, y = nx, ny
            i += 2
        else:  # C x1 y1 x2 y2 x y
            c = [float(v) for v in tokens[i + 1 : i + 7]]
            for k in range(1, 41):
                t = k / 40
                u = 1 - t
                px = u**3 * x + 3 * u * u * t * c[0] + 3 * u * t * t * c[2] + t**3 * c[4]
                py = u**3 * y + 3 * u * u * t * c[1] + 3 * u * t * t * c[3] + t**3 * c[5]
                points.append((px, py))
            x, y = c[4], c[5]
            i += 7
    return points


def _inside(box: Box, x: float, y: float, inset: float = 1.0) -> bool:
    return box.x + inset < x < box.right - inset and box.y + inset < y < box.bottom - inset


@pytest.mark.parametrize("menu", [BUSINESS, ATTENDANT_MENU.read_text(encoding="utf-8")])
def test_the_svg_is_valid_and_no_edge_crosses_a_box(menu: str) -> None:
    tree = load_menu(menu)
    graph = menu_graph(tree)
    svg = to_svg(graph, "menu")
    assert svg == to_svg(menu_graph(tree), "menu")  # deterministic
    root = ET.fromstring(svg)
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    boxes, _, _ = layout(graph)
    nodes = root.findall(f".//{SVG_NS}g[@class]")
    drawn = {g.get("id") for g in nodes if "node" in (g.get("class") or "").split()}
    assert drawn == {n.id for n in graph.nodes}
    texts = {t.text for t in root.iter(f"{SVG_NS}text")}
    for node in graph.nodes:
        assert set(node.lines) <= texts
    for edge in graph.edges:
        if edge.label:
            assert edge.label in texts
    listed = list(boxes.values())
    for i, a in enumerate(listed):
        assert min(a.x, a.y) >= 0
        assert a.right <= width
        assert a.bottom <= height
        for b in listed[i + 1 :]:
            apart = a.right <= b.x or b.right <= a.x or a.bottom <= b.y or b.bottom <= a.y
            assert apart, (a, b)
    paths = root.findall(f".//{SVG_NS}path[@class='edge']")
    assert len(paths) == len(graph.edges)
    for path in paths:
        for x, y in _points(path.get("d", "")):
            assert 0 <= x <= width
            assert 0 <= y <= height
            for box in listed:
                assert not _inside(box, x, y), (path.get("data-source"), path.get("data-target"))


def test_cli_graph_writes_each_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "menu.yaml"
    menu.write_text(BUSINESS, encoding="utf-8")
    assert main(["graph", str(menu)]) == 0
    assert capsys.readouterr().out.startswith("flowchart TD\n")
    assert main(["graph", str(menu), "--format", "dot"]) == 0
    assert capsys.readouterr().out.startswith(f'digraph "{menu}" {{')
    out = tmp_path / "menu.svg"
    assert main(["graph", str(menu), "--format", "svg", "-o", str(out)]) == 0
    assert f"{out}: svg picture of {menu}" in capsys.readouterr().err
    ET.fromstring(out.read_text(encoding="utf-8"))


def test_cli_graph_rejects_a_bad_menu_and_never_imports_handlers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("menus:\n  main:\n    options:\n      - {key: '1', goto: nowhere}\n")
    assert main(["graph", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ivrkit failed:")
    assert "nowhere" in err
    # a handler module that does not exist: check would fail, graph only draws
    menu = tmp_path / "menu.yaml"
    menu.write_text("menus:\n  main:\n    options:\n      - {key: '1', handler: 'nomod:f'}\n")
    assert main(["graph", str(menu)]) == 0
    assert "handler nomod:f" in capsys.readouterr().out


def test_the_documented_picture_is_what_graph_prints() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    match = re.search(r"```mermaid\n(.*?)```", doc, re.S)
    assert match, "docs/operations.md lost its Mermaid example"
    assert match.group(1) == render(load_menu_file(ATTENDANT_MENU), "mermaid")
