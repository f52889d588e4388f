"""ivrkit.sim: an embedded Asterisk that speaks ARI, for tests, demos and load.

``async with Simulator() as sim`` serves ARI on 127.0.0.1 (ephemeral port) on the
running event loop; ``await sim.call("PJSIP/alice", "1000")`` places a simulated call.
See docs/simulator.md.
"""

from ivrkit.callscript import ScriptError, load_script, parse_script
from ivrkit.sim.control._callers import Caller, Heard, SimulatorError
from ivrkit.sim.control._faults import Faults
from ivrkit.sim.control._reaction import ReactionProbe
from ivrkit.sim.control._script import CallerScript, run_script
from ivrkit.sim.control._simulator import Simulator
from ivrkit.sim.control._websocket_client import OutboundWebsocket
from ivrkit.sim.model._dialplan import DEFAULT_DIALPLAN, LAB_DIALPLAN, DialplanError, load_dialplan
from ivrkit.sim.model._endpoints import (
    Endpoint,
    EndpointBehaviour,
    EndpointConfigError,
    load_endpoints,
)

__all__ = [
    "DEFAULT_DIALPLAN",
    "LAB_DIALPLAN",
    "Caller",
    "CallerScript",
    "DialplanError",
    "Endpoint",
    "EndpointBehaviour",
    "EndpointConfigError",
    "Faults",
    "Heard",
    "OutboundWebsocket",
    "ReactionProbe",
    "ScriptError",
    "Simulator",
    "SimulatorError",
    "load_dialplan",
    "load_endpoints",
    "load_script",
    "parse_script",
    "run_script",
]

for _name in __all__:
    # the script format is ivrkit.callscript's (shared with ivrkit call): named there
    if not _name.isupper() and globals()[_name].__module__.startswith("ivrkit.sim."):
        globals()[_name].__module__ = "ivrkit.sim"
