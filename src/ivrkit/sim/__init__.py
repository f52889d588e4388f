"""ivrkit.sim: an embedded Asterisk that speaks ARI, for tests, demos and load.

``async with Simulator() as sim`` serves ARI on 127.0.0.1 (ephemeral port) on the
running event loop; ``await sim.call("PJSIP/alice", "1000")`` places a simulated call.
See docs/simulator.md.
"""

from ivrkit.sim._dialplan import DEFAULT_DIALPLAN, LAB_DIALPLAN, DialplanError, load_dialplan
from ivrkit.sim._faults import Faults
from ivrkit.sim._reaction import ReactionProbe
from ivrkit.sim._script import CallerScript, ScriptError, load_script, parse_script, run_script
from ivrkit.sim._server import Caller, Heard, Simulator, SimulatorError

__all__ = [
    "DEFAULT_DIALPLAN",
    "LAB_DIALPLAN",
    "Caller",
    "CallerScript",
    "DialplanError",
    "Faults",
    "Heard",
    "ReactionProbe",
    "ScriptError",
    "Simulator",
    "SimulatorError",
    "load_dialplan",
    "load_script",
    "parse_script",
    "run_script",
]

for _name in __all__:
    if not _name.isupper():
        globals()[_name].__module__ = "ivrkit.sim"
