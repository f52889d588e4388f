"""README's test example must run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"


def _example_source() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    return next(b for b in blocks if b.startswith("# readme-example"))


def _example() -> dict[str, Any]:
    code = _example_source()
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


async def test_readme_example_runs() -> None:
    await _example()["test_pressing_1_interrupts_the_menu"]()


# ------------------------------------------------------------------ in a project of one's own


def _run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """pytest, as the user's project runs it: its own folder, no PYTHONPATH, no -p."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _new_project(tmp_path: Path) -> Path:
    project = tmp_path / "my-ivr"
    project.mkdir()
    assert REPO not in project.resolve().parents, "the project must be outside the repo"
    (project / "pytest.ini").write_text("[pytest]\n")  # no config of ours leaks in from above
    (project / "test_attendant.py").write_text(_example_source(), encoding="utf-8")
    return project


def test_readme_example_runs_in_a_new_project_with_only_the_installed_package(
    tmp_path: Path,
) -> None:
    result = _run_pytest(_new_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout


def test_the_plugin_can_be_switched_off(tmp_path: Path) -> None:
    result = _run_pytest(_new_project(tmp_path), "-p", "no:ivrkit.testing.pytest_plugin")
    assert result.returncode != 0
    assert "async def functions are not natively supported" in result.stdout, result.stdout


def test_an_explicit_p_is_no_double_registration(tmp_path: Path) -> None:
    result = _run_pytest(_new_project(tmp_path), "-p", "ivrkit.testing.pytest_plugin")
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------ the optional speed-ups


CLI = "import sys; from ivrkit.cli import main; sys.exit(main())"


def test_readme_speedups_example_prints_what_it_says() -> None:
    """Each ``[VAR=value] ivrkit ...`` line of the block prints the ``# `` line after it
    (versions may differ: any version number matches). ``make install`` installs the
    extra, so ``pip install`` has already been done here."""
    (block,) = re.findall(r"```sh\n# readme-speedups\n(.*?)```", README.read_text(), re.S)
    lines = block.splitlines()
    assert lines[0] == "pip install 'ivrkit[speedups]'"
    checked = 0
    for command, expected in zip(lines[1::2], lines[2::2], strict=True):
        *assignments, program, arg = command.split()
        assert program == "ivrkit"
        env = {k: v for k, v in os.environ.items() if k != "IVRKIT_SPEEDUPS"}
        env.update(a.split("=", 1) for a in assignments)
        out = subprocess.run(
            [sys.executable, "-c", CLI, arg],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        pattern = re.escape(expected.removeprefix("# ")).replace(r"0\.1\.0", r"\d[\w.]*")
        pattern = re.sub(r"\\ \d+\\\.\d+\\\.\d+", r" \\d[\\w.]*", pattern)
        assert re.fullmatch(pattern, out), (out, expected)
        checked += 1
    assert checked == 2


def test_the_readme_menu_plays_only_prompts_a_real_asterisk_ships() -> None:
    """A new user copies the README's menu to a real Asterisk: every prompt must be one of
    its English core prompts, or one of the five extra-set prompts of the guide's
    attendant that the README names (not a made-up ``sound:welcome``)."""
    import yaml

    section = README.read_text(encoding="utf-8").split("## A menu of your own", 1)[1]
    menu = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    sounds = set(re.findall(r"sound:([\w/-]+)", yaml.safe_dump(yaml.safe_load(menu))))
    tsv = REPO.parent / "shared" / "asterisk-sounds" / "en-core-durations.tsv"
    core = {line.split("\t", 1)[0] for line in tsv.read_text(encoding="utf-8").splitlines()}
    guide = {"press-1", "or", "press-2", "option-is-invalid", "are-you-still-there"}
    assert sounds
    assert sounds <= core | guide, sounds - core - guide
    for name in sounds & guide:  # the README says which they are
        assert f"`{name}`" in section, name
