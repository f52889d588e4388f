"""Handler modules beside the menu file or in the cwd are found, as ``python -m`` finds them.

Issue 11: ``ivrkit run/check/demo menu.yaml`` said ``No module named 'mybiz'`` unless
``PYTHONPATH=.`` was set. Each test uses a module name of its own and restores
``sys.path`` and ``sys.modules``.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivrkit.ivr import MenuDefinitionError, load_menu_file, resolve_handlers

DOC = Path(__file__).resolve().parents[2] / "docs" / "menus.md"
HANDLER = "async def order_status(call, digits):\n    return None\n"


def menu_text(module: str) -> str:
    return (
        f'menus:\n  main:\n    options:\n      - {{key: "1", handler: "{module}:order_status"}}\n'
    )


@pytest.fixture
def module() -> Iterator[str]:
    name = f"mybiz_{uuid.uuid4().hex[:8]}"
    saved = list(sys.path)
    yield name
    sys.path[:] = saved
    sys.modules.pop(name, None)


def test_a_module_beside_the_menu_file_is_found_from_another_cwd(
    tmp_path: Path, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ivr").mkdir()
    (tmp_path / "ivr" / f"{module}.py").write_text(HANDLER)
    (tmp_path / "ivr" / "menu.yaml").write_text(menu_text(module))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    handlers = resolve_handlers(load_menu_file("../ivr/menu.yaml"))
    assert list(handlers) == [f"{module}:order_status"]
    assert handlers[f"{module}:order_status"].__name__ == "order_status"


def test_a_module_in_the_cwd_is_found(
    tmp_path: Path, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "menu.yaml").write_text(menu_text(module))
    (tmp_path / f"{module}.py").write_text(HANDLER)
    monkeypatch.chdir(tmp_path)
    assert list(resolve_handlers(load_menu_file("menus/menu.yaml"))) == [f"{module}:order_status"]


def test_a_missing_module_says_where_it_looked(
    tmp_path: Path, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "menus").mkdir()
    (tmp_path / "menus" / "menu.yaml").write_text(menu_text(module))
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    with pytest.raises(MenuDefinitionError) as info:
        resolve_handlers(load_menu_file("menus/menu.yaml"))
    [problem] = info.value.problems
    assert str(problem) == (
        f"menus/menu.yaml:4: menus.main.options.0.handler: cannot import `{module}`: "
        f"No module named '{module}' (looked in the installed packages, then "
        f"{tmp_path.resolve() / 'menus'}, {tmp_path.resolve()}; put {module}.py or a "
        f"{module}/ package beside the menu file)"
    )
    assert sys.path == path_before  # nothing found, nothing added


def test_an_import_error_inside_the_handler_module_is_not_called_missing(
    tmp_path: Path, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / f"{module}.py").write_text("import no_such_dependency_q\n" + HANDLER)
    (tmp_path / "menu.yaml").write_text(menu_text(module))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(MenuDefinitionError) as info:
        resolve_handlers(load_menu_file("menu.yaml"))
    assert str(info.value.problems[0]).endswith(
        f"cannot import `{module}`: No module named 'no_such_dependency_q'"
    )


def docs_example() -> dict[str, str]:
    """docs/menus.md's `# handlers-example: NAME` blocks, by file name."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:yaml|python)\n# handlers-example: (\S+)\n(.*?)```", text, re.S)
    return dict(blocks)


def test_ivrkit_check_finds_the_docs_module_beside_the_menu(tmp_path: Path) -> None:
    """The installed script and ``python -m ivrkit``, from ``/``, without PYTHONPATH."""
    files = docs_example()
    assert set(files) == {"mybiz.yaml", "mybiz.py"}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    script = Path(sys.executable).with_name("ivrkit")
    for argv in ([str(script)], [sys.executable, "-m", "ivrkit"]):
        result = subprocess.run(
            [*argv, "check", str(tmp_path / "mybiz.yaml")],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "  key 1: run handler mybiz:order_status" in result.stdout.splitlines()
