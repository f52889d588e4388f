"""The journey log's format, version 1, as a JSON Schema (draft 2020-12).

docs/operations.md shows this schema verbatim (a test compares them) and a test validates
real journey output against it. Compatible additions (a new optional field, a new step
kind) keep ``"v": 1``; a change that could break a reader (a field renamed, removed or
retyped) makes it 2.
"""

from __future__ import annotations

from typing import Any

JOURNEY_VERSION = 1

_TEXT = {"type": "string"}

JOURNEY_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://ivrkit.invalid/schemas/journey-1.json",
    "title": "ivrkit journey log line, version 1",
    "description": "One step of one call; one JSON object per line.",
    "type": "object",
    "required": ["v", "ts", "call_id", "channel", "asterisk_id", "step"],
    "additionalProperties": False,
    "properties": {
        "v": {"const": JOURNEY_VERSION},
        "ts": {
            "type": "string",
            "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
            "description": "UTC wall-clock time, milliseconds",
        },
        "call_id": {"type": "string", "minLength": 1, "description": "ARI channel id"},
        "channel": {"type": "string", "description": "channel name, as in the transcript"},
        "asterisk_id": {"type": "string", "description": "the Asterisk's entity id"},
        "step": {
            "type": "string",
            "pattern": "^[a-z][a-z_]*$",
            "description": "call_started, menu_entered, key, option_selected, ... (see docs)",
        },
        "menu": _TEXT,
        "key": {"type": "string", "pattern": "^[0-9*#A-D]$"},
        "option": _TEXT,
        "entry": _TEXT,
        "action": _TEXT,
        "target": _TEXT,
        "prompt": _TEXT,
        "playback_id": _TEXT,
        "outcome": _TEXT,
        "cause": _TEXT,
        "seconds": {"type": "number", "minimum": 0},
        "error": _TEXT,
        "field": {
            "type": "string",
            "description": "the call-data field a collect or record fills (added in v1)",
        },
    },
}

__all__ = ["JOURNEY_SCHEMA", "JOURNEY_VERSION"]
