"""docs/simulator.md says what is not simulated, with no silent gaps.

Each list of gaps lives in code next to the behaviour (so a test can hold the code to
it); this test holds the page to the same lists.
"""

from __future__ import annotations

from pathlib import Path

from ivrkit.sim.front._event_models import FIELDS_NOT_SENT, NOT_SENT

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def _section(title: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_every_event_not_sent_is_named_with_its_reason() -> None:
    section = _section("What is simulated and what is not")
    for name, why in NOT_SENT.items():
        assert f"| `{name}` | {why} |" in section, name
    for (name, field), why in FIELDS_NOT_SENT.items():
        assert f"| `{name}.{field}` | {why} |" in section, f"{name}.{field}"
    # and no stale row: the event table lists exactly what is never sent
    table = section[section.index("| event | why |") :].split("\n\n")[0]
    rows = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    assert rows == list(NOT_SENT)


def test_the_gaps_are_listed_in_one_table() -> None:
    section = _section("What is simulated and what is not")
    for area in (
        "audio content",
        "DTMF",
        "RTP and codecs",
        "SIP and other signalling",
        "video",
        "languages",
        "bridged channels' commands",
        "ARI users",
        "Asterisk itself",
        "the websocket handshake",
    ):
        assert f"| {area} |" in section, area
