"""Import rules between the packages (docs/architecture.md, STYLE.md "Import rules").

Checked on the AST of every module under src/ivrkit, so a forbidden import fails here
before it becomes a layering habit:

* ``ivrkit.sim`` imports neither ``ari`` nor ``ivr``: it is an independent peer, so an
  encoding bug cannot be mirrored on both sides of a test.
* ``ivrkit.ari`` never imports ``ivr``, ``sim``, ``cli`` or ``caller``; inside it only
  ``_aiohttp.py`` imports aiohttp.
* ``ivrkit.caller`` uses the client through its public names only, never the simulator.
* Outside a package nobody imports its ``_private`` modules.
* ``ivrkit/__init__`` imports no subpackage.
* Inside ``ivrkit.sim`` the layers point one way: ``model`` (the simulated Asterisk)
  imports neither aiohttp nor ``front`` nor ``control``; ``front`` (the wire) never
  imports ``control`` (what a test holds).
* No import circles between modules, counting imports made only for type checking or
  inside functions: a circle means two parts cannot be understood (or tested) apart.
* ``ivrkit.callscript`` (the caller-script format) imports no other part of ivrkit, so
  that the simulator and the ARI caller, which may not import each other, share it.
* ``ivrkit.observe`` (the reporting hook) imports no other part of ivrkit and nothing
  outside the stdlib, so every part, the client included, may report through it.
* ``ivrkit.speedups`` (orjson, uvloop when installed) imports no other part of ivrkit and
  nothing outside the stdlib but those two, so the client and the CLI both use it.
(The ``ivr`` core's own stricter rules are in tests/ivr/test_ivr_imports.py.)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Mapping
from pathlib import Path

import ivrkit

SRC = Path(ivrkit.__file__).parent
_STDLIB = set(sys.stdlib_module_names) | {"__future__", "ivrkit"}


def _modules(root: Path = SRC) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _package(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).parts
    return parts[0] if len(parts) > 1 else ""


def _imports(path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno))
            found.extend(
                (f"{node.module}.{alias.name}", node.lineno)
                for alias in node.names
                if alias.name.startswith("_") and node.module.startswith("ivrkit")
            )
    return found


def _sim_layer(path: Path, root: Path = SRC) -> str:
    parts = path.relative_to(root).parts
    return parts[1] if len(parts) > 2 and parts[0] == "sim" else ""


def _violations(root: Path = SRC) -> list[str]:
    bad: list[str] = []
    for path in _modules(root):
        where = path.relative_to(root.parent)
        pkg = _package(path, root)
        for name, line in _imports(path):
            parts = name.split(".")
            top = parts[0]
            target = parts[1] if top == "ivrkit" and len(parts) > 1 else ""
            at = f"{where}:{line} imports {name}"
            layer = _sim_layer(path, root)
            sim_target = parts[2] if top == "ivrkit" and target == "sim" and len(parts) > 2 else ""
            if layer == "model" and (top == "aiohttp" or sim_target in {"front", "control"}):
                bad.append(f"{at}: sim/model is the pure simulated Asterisk (no HTTP, no controls)")
            if layer == "front" and sim_target == "control":
                bad.append(f"{at}: sim/front serves the model; the test controls sit above it")
            if pkg == "sim" and target in {"ari", "ivr", "caller", "cli"}:
                bad.append(f"{at}: the simulator must stay independent of the client")
            if pkg == "ari" and target in {"ivr", "sim", "cli", "caller"}:
                bad.append(f"{at}: the client must not depend on the layers above it")
            if pkg == "ari" and top == "aiohttp" and path.name != "_aiohttp.py":
                bad.append(f"{at}: only ari/_aiohttp.py may import aiohttp")
            if pkg == "caller" and target == "sim":
                bad.append(f"{at}: the caller speaks plain ARI, never the simulator's API")
            if pkg == "callscript" and top == "ivrkit" and target not in {"", "callscript"}:
                bad.append(
                    f"{at}: the caller-script format is a neutral leaf (sim and caller use it)"
                )
            if pkg == "observe" and (target not in {"", "observe"} or top not in _STDLIB):
                bad.append(f"{at}: the observer hook is a stdlib-only leaf")
            if (
                pkg == ""
                and path.name == "speedups.py"
                and (target or top not in _STDLIB | {"orjson", "uvloop"})
            ):
                bad.append(f"{at}: ivrkit.speedups is a leaf (stdlib, orjson, uvloop)")
            if pkg == "" and path.name == "__init__.py" and target:
                bad.append(f"{at}: ivrkit/__init__ must not import subpackages")
            private = [p for p in parts[2:] if p.startswith("_") and p != "__future__"]
            if top == "ivrkit" and target and target != pkg and private:
                bad.append(f"{at}: private module of another package; use its public names")
    return bad


def test_every_package_is_checked() -> None:
    packages = {_package(p) for p in _modules()}
    assert {"ari", "ivr", "sim", "cli", "testing"} <= packages


def test_no_import_breaks_the_layering() -> None:
    assert _violations() == []


def test_the_checker_catches_each_kind_of_violation(tmp_path: Path) -> None:
    root = tmp_path / "ivrkit"
    probes = {
        "cli/a.py": "from ivrkit.sim.control._script import load_script\n",
        "sim/b.py": "from ivrkit.ari import AriClient\n",
        "ari/c.py": "import aiohttp\n",
        "ari/d.py": "from ivrkit.ivr import CallMachine\n",
        "caller/e.py": "from ivrkit.sim import Simulator\n",
        "callscript/f.py": "from ivrkit.ari import AriClient\n",
        "sim/ok.py": "from ivrkit.callscript import parse_script\n",
        "observe/f.py": "from ivrkit.ari import AriClient\n",
        "observe/g.py": "import prometheus_client\n",
        "__init__.py": "import ivrkit.sim\n",
        "speedups.py": "import orjson\nimport uvloop\nfrom ivrkit.ari import AriClient\n",
        "cli/ok.py": "from ivrkit.sim import Simulator\nfrom ivrkit.cli._x import y\n",
        "sim/model/f.py": "from aiohttp import web\n",
        "sim/model/g.py": "from ivrkit.sim.front._app import SimState\n",
        "sim/model/h.py": "from ivrkit.sim.control._faults import Faults\n",
        "sim/front/i.py": "from ivrkit.sim.control._callers import Caller\n",
        "sim/front/ok.py": "import aiohttp\nfrom ivrkit.sim.model._model import SimModel\n",
        "sim/control/ok.py": "from ivrkit.sim.front._app import SimState\n",
    }
    for rel, code in probes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(code, encoding="utf-8")
    found = _violations(root)
    flagged = sorted({v.split(":")[0].removeprefix("ivrkit/") for v in found})
    assert flagged == [
        "__init__.py",
        "ari/c.py",
        "ari/d.py",
        "caller/e.py",
        "callscript/f.py",
        "cli/a.py",
        "observe/f.py",
        "observe/g.py",
        "sim/b.py",
        "sim/front/i.py",
        "sim/model/f.py",
        "sim/model/g.py",
        "sim/model/h.py",
        "speedups.py",
    ]


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _import_graph(root: Path = SRC) -> dict[str, set[str]]:
    """Module -> the project modules it imports (any import statement, anywhere in it)."""
    modules = {_module_name(p, root): p for p in _modules(root)}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                edges.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    if f"{module}.{alias.name}" in modules:  # a submodule by name
                        edges.add(f"{module}.{alias.name}")
                    elif module in modules:
                        edges.add(module)
        edges.discard(name)
        graph[name] = edges
    return graph


def _cycles(graph: Mapping[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles() -> None:
    new = [sorted(c) for c in _cycles(_import_graph())]
    assert new == [], "import circle(s): " + "; ".join(" <-> ".join(c) for c in new)


def test_the_client_core_is_layered() -> None:
    """The client's parts get narrow interfaces: none imports the client (issue 15)."""
    graph = _import_graph()
    for part in ("_dispatch", "_scope", "_supervisor", "_rest"):
        assert "ivrkit.ari._client" not in graph[f"ivrkit.ari.{part}"], part
    assert "ivrkit.ari._dispatch" not in graph["ivrkit.ari._scope"]


def test_the_cycle_finder_sees_type_checking_and_local_imports(tmp_path: Path) -> None:
    root = tmp_path / "ivrkit"
    probes = {
        "__init__.py": "",
        "p/__init__.py": "",
        "p/a.py": "import typing\nif typing.TYPE_CHECKING:\n    from ivrkit.p.b import B\n",
        "p/b.py": "def f():\n    from . import c\n",
        "p/c.py": "import ivrkit.p.a\n",
        "p/d.py": "from ivrkit.p import a\n",
        "q/__init__.py": "",
        "q/x.py": "from ivrkit.q.y import Y\n",
        "q/y.py": "from ivrkit.p.d import D\n",
    }
    for rel, code in probes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(code, encoding="utf-8")
    assert _cycles(_import_graph(root)) == [frozenset({"ivrkit.p.a", "ivrkit.p.b", "ivrkit.p.c"})]
