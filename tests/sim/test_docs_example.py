"""docs/simulator.md's pytest example must run as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _example() -> dict[str, Any]:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    code = next(b for b in blocks if b.startswith("# docs-example"))
    namespace: dict[str, Any] = {"__name__": "docs_example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


async def test_docs_example_runs() -> None:
    await _example()["test_hello_app_plays_and_hangs_up_on_a_key"]()
