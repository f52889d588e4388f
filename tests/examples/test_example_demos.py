"""Each example runs with `ivrkit demo --menu FILE --script caller.yaml` (its README line)."""

from __future__ import annotations

import pytest
from example_call import EXAMPLES

from ivrkit.cli import main


@pytest.mark.parametrize(
    ("menu", "expected"),
    [
        (
            "bank/bank.yaml",
            ["PJSIP/alice-00000001 called the bank", "PJSIP/alice-00000001 pressed #"],
        ),
        (
            "voicemail/voicemail.yaml",
            ["PJSIP/alice-00000001 is leaving a message", "PJSIP/alice-00000001 pressed 1"],
        ),
        ("business/business.yaml", ["PJSIP/alice-00000001 called"]),
    ],
)
def test_demo_runs_the_example_with_its_caller_script(
    menu: str, expected: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = EXAMPLES / menu
    assert main(["demo", "--menu", str(path), "--script", str(path.with_name("caller.yaml"))]) == 0
    out = capsys.readouterr().out.splitlines()
    for line in expected:
        assert line in out
    assert out[-1].startswith("result: PASSED")
    assert any(line.endswith(("hung up", "is gone")) for line in out)
