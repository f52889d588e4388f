"""Caller scripts: one format, one parser, one meaning (docs/caller.md "The script format").

A neutral leaf (stdlib and PyYAML only): the simulator (``ivrkit sim/demo --script``)
and the ARI caller (``ivrkit call``) both run what it parses, and neither may import
the other. It holds the format (:func:`parse_script`, :class:`CallScript`,
:class:`Step`) and the rule that says which playback a step means
(:class:`MediaCursor`); each runner only turns steps into its own actions.
"""

from __future__ import annotations

from ivrkit.callscript._format import (
    ANY_MEDIA,
    DEFAULT_PHONE,
    DEFAULT_STEP_TIMEOUT,
    DTMF_CHARS,
    FIRST_MEDIA,
    STEP_KINDS,
    CallScript,
    ScriptError,
    Step,
    load_script,
    parse_script,
    press_script,
)
from ivrkit.callscript._media import MediaCursor, Played, media_matches

#: seconds of no media before ``silence`` believes the far side has stopped talking
QUIET_SETTLE = 0.5

__all__ = [
    "ANY_MEDIA",
    "DEFAULT_PHONE",
    "DEFAULT_STEP_TIMEOUT",
    "DTMF_CHARS",
    "FIRST_MEDIA",
    "QUIET_SETTLE",
    "STEP_KINDS",
    "CallScript",
    "MediaCursor",
    "Played",
    "ScriptError",
    "Step",
    "load_script",
    "media_matches",
    "parse_script",
    "press_script",
]

for _name in __all__:
    if not _name.isupper():
        globals()[_name].__module__ = "ivrkit.callscript"
