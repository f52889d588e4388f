"""Package hygiene: the public surface of ``ivrkit.sim`` and its import rules."""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path

import ivrkit.sim

SIM_DIR = Path(ivrkit.sim.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    public = {
        n
        for n, v in vars(ivrkit.sim).items()
        if not n.startswith("_") and not isinstance(v, types.ModuleType)  # model/front/control
    }
    assert ivrkit.sim.__all__ == sorted(ivrkit.sim.__all__, key=lambda n: (not n.isupper(), n))
    assert set(ivrkit.sim.__all__) == public
    for name in ivrkit.sim.__all__:
        if not name.isupper():
            module = getattr(ivrkit.sim, name).__module__
            assert module in ("ivrkit.sim", "ivrkit.callscript"), name


def test_sim_imports_neither_ari_nor_ivr() -> None:
    allowed_third_party = {"aiohttp", "yaml"}
    offenders = []
    for path in SIM_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if (
                    name.startswith("ivrkit.")
                    # the caller-script format is shared with ivrkit call (a neutral leaf)
                    and not name.startswith(("ivrkit.sim", "ivrkit.testing", "ivrkit.callscript"))
                ) or top not in {
                    "ivrkit",
                    "__future__",
                    *allowed_third_party,
                    *sys.stdlib_module_names,
                }:
                    offenders.append((path.name, name))
    assert offenders == []


def test_the_layers_are_folders() -> None:
    """model / front / control, each a package (the rules between them: test_import_rules)."""
    layers = sorted(p.parent.name for p in SIM_DIR.glob("*/__init__.py"))
    assert layers == ["control", "front", "model"]
    assert sorted(p.name for p in SIM_DIR.glob("*.py")) == ["__init__.py"]


def test_dispatch_and_route_table_do_not_import_aiohttp() -> None:
    """The model, dispatcher and route table are testable without HTTP."""
    for name in (
        "front/_dispatch.py",
        "front/_routetable.py",
        *(str(p.relative_to(SIM_DIR)) for p in (SIM_DIR / "model").glob("*.py")),
    ):
        tree = ast.parse((SIM_DIR / name).read_text(encoding="utf-8"))
        modules = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert not any(m.startswith("aiohttp") for m in modules), name
