"""The simulator's and caller's own YAML inputs refuse bad files cleanly (issue 16).

Caller scripts, dialplans and endpoint files are read by ``ivrkit sim`` and ``ivrkit
call``; like menu files they must end in the tool's error, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivrkit.sim import (
    DialplanError,
    EndpointConfigError,
    ScriptError,
    load_dialplan,
    load_endpoints,
    parse_script,
)

DEEP = "[" * 1000 + "]" * 1000


def test_a_caller_script_nested_1000_deep() -> None:
    with pytest.raises(ScriptError, match=r"^s\.yaml: not valid YAML \(nested too deeply\)$"):
        parse_script(f"steps: {DEEP}\n", "s.yaml")


@pytest.mark.parametrize(
    ("load", "error"), [(load_dialplan, DialplanError), (load_endpoints, EndpointConfigError)]
)
@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"default: {DEEP}\n", "nested too deeply"),
        ("default:\n  '1000': !!int ten\n", "invalid literal for int"),
        ('default: !!float ""\n', "string index out of range|could not convert"),
        ("default: !!bool maybe\n", "maybe"),
    ],
)
def test_dialplan_and_endpoint_files_with_bad_values(
    tmp_path: Path,
    load: Callable[[Path], Any],
    error: type[Exception],
    text: str,
    why: str,
) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(text)
    with pytest.raises(error, match=rf"^failed to parse {path}: .*({why})"):
        load(path)
