"""docs/simulator.md's endpoints example runs as written, and its YAML file loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ivrkit.sim import load_endpoints

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _block(language: str, marker: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return next(b for b in blocks if b.startswith(marker))


async def test_endpoints_example_runs() -> None:
    namespace: dict[str, Any] = {"__name__": "docs_endpoints"}
    exec(compile(_block("python", "# docs-endpoints"), str(DOC), "exec"), namespace)
    await namespace["test_bob_answers_and_carol_is_busy"]()


def test_endpoints_file_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text(_block("yaml", "# endpoints.yaml"), encoding="utf-8")
    loaded = load_endpoints(path)
    assert sorted(loaded) == ["IAX2/branch", "PJSIP/bob", "PJSIP/carol", "PJSIP/dave", "SIP/trunk"]
    assert (loaded["PJSIP/bob"].result, loaded["PJSIP/bob"].after) == ("answer", 2)
    assert loaded["PJSIP/dave"].ring_after == 0.5
    assert loaded["SIP/trunk"].hangup_after == 30
