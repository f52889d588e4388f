"""ivrkit.caller: a scripted caller that speaks plain ARI (``ivrkit call``).

It dials an extension through a Local channel of its own ARI application, waits for the
far side's prompts, presses keys, hangs up, and reports what it heard. It uses only
``ivrkit.ari``'s public names, so it behaves the same against a real Asterisk and
against the simulator. See docs/caller.md.
"""

from ivrkit.caller._report import (
    CallReport,
    DtmfSent,
    HangupInfo,
    HeardMedia,
    StepResult,
    render_text,
)
from ivrkit.caller._runner import CallerError, place_call
from ivrkit.callscript import (
    CallScript,
    ScriptError,
    Step,
    load_script,
    parse_script,
    press_script,
)

__all__ = [
    "CallReport",
    "CallScript",
    "CallerError",
    "DtmfSent",
    "HangupInfo",
    "HeardMedia",
    "ScriptError",
    "Step",
    "StepResult",
    "load_script",
    "parse_script",
    "place_call",
    "press_script",
    "render_text",
]

for _name in __all__:
    # the script format is ivrkit.callscript's (shared with ivrkit sim): named there
    if globals()[_name].__module__.startswith("ivrkit.caller."):
        globals()[_name].__module__ = "ivrkit.caller"
del _name
