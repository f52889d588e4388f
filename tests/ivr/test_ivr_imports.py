"""Import rules for ivrkit.ivr (STYLE.md "Import rules" 1, 2 and 6), checked on the AST."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import ivrkit.ivr

IVR = Path(ivrkit.ivr.__file__).parent
FORBIDDEN = {"asyncio", "time", "random", "uuid", "aiohttp", "threading", "socket"}
STDLIB = set(sys.stdlib_module_names)
YAML_MODULES = {"_loader.py", "_yamlsource.py"}  # the menu loader and its YAML front


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def core_modules() -> list[Path]:
    return [p for p in sorted(IVR.glob("*.py")) if p.name != "runner.py"]


def test_the_core_imports_only_the_stdlib_and_never_io_or_clocks() -> None:
    assert len(core_modules()) >= 8
    for path in core_modules():
        for name in imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "yaml":
                assert path.name in YAML_MODULES, f"only the loader may import yaml ({path.name})"
            elif name == "ivrkit.observe":
                # the reporting hook: a stdlib-only leaf with no I/O (test_import_rules)
                assert path.name == "_observing.py", f"only _observing reports ({path.name})"
            elif top == "ivrkit":
                # the private core, and steps: the public core module of handler results
                assert name.startswith("ivrkit.ivr._") or name == "ivrkit.ivr.steps", (
                    f"{path.name} imports {name}"
                )
            else:
                assert top in STDLIB or top == "__future__", f"{path.name} imports {name}"


def test_runner_imports_only_public_ari_names() -> None:
    runner = IVR / "runner.py"
    if not runner.exists():  # pragma: no cover - phase 2 adds it
        return
    import ivrkit.ari

    tree = ast.parse(runner.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("ivrkit.ari")
        ):
            assert node.module == "ivrkit.ari", f"runner imports private {node.module}"
            for alias in node.names:
                assert alias.name in ivrkit.ari.__all__, f"runner imports {alias.name}"
        if isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith("ivrkit.ari."), alias.name
                assert alias.name.split(".")[0] != "aiohttp"


def test_importing_ivr_pulls_in_neither_asyncio_users_nor_aiohttp() -> None:
    code = (
        "import sys, ivrkit.ivr; "
        "bad = [m for m in ('aiohttp', 'ivrkit.ari', 'ivrkit.sim', 'ivrkit.ivr.runner') "
        "if m in sys.modules]; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
