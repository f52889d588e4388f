"""Package hygiene: the public surface of ``ivrkit.sim`` and its import rules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import ivrkit.sim

SIM_DIR = Path(ivrkit.sim.__file__).parent


def test_all_is_sorted_and_complete() -> None:
    public = {n for n in vars(ivrkit.sim) if not n.startswith("_")}
    assert ivrkit.sim.__all__ == sorted(ivrkit.sim.__all__, key=lambda n: (not n.isupper(), n))
    assert set(ivrkit.sim.__all__) == public
    for name in ivrkit.sim.__all__:
        if not name.isupper():
            assert getattr(ivrkit.sim, name).__module__ == "ivrkit.sim"


def test_sim_imports_neither_ari_nor_ivr() -> None:
    allowed_third_party = {"aiohttp", "yaml"}
    offenders = []
    for path in SIM_DIR.glob("*.py"):
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
                    and not name.startswith(("ivrkit.sim", "ivrkit.testing"))
                ) or top not in {
                    "ivrkit",
                    "__future__",
                    *allowed_third_party,
                    *sys.stdlib_module_names,
                }:
                    offenders.append((path.name, name))
    assert offenders == []


def test_model_modules_do_not_import_aiohttp() -> None:
    """The model, dispatcher and route table are testable without HTTP."""
    for name in (
        "_model.py",
        "_objects.py",
        "_core.py",
        "_channels.py",
        "_playbacks.py",
        "_bridges.py",
        "_dispatch.py",
        "_routetable.py",
        "_json.py",
        "_sounds.py",
        "_dialplan.py",
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
