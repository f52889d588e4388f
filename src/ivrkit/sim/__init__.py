"""ivrkit.sim: an embedded Asterisk that speaks ARI, for tests, demos and load.

``async with Simulator() as sim`` serves ARI on 127.0.0.1 (ephemeral port) on the
running event loop; ``await sim.call("PJSIP/alice", "1000")`` places a simulated call.
See docs/simulator.md.
"""

from ivrkit.sim._dialplan import DEFAULT_DIALPLAN, LAB_DIALPLAN, DialplanError
from ivrkit.sim._faults import Faults
from ivrkit.sim._server import Caller, Heard, Simulator, SimulatorError

__all__ = [
    "DEFAULT_DIALPLAN",
    "LAB_DIALPLAN",
    "Caller",
    "DialplanError",
    "Faults",
    "Heard",
    "Simulator",
    "SimulatorError",
]

for _name in ("Caller", "DialplanError", "Faults", "Heard", "Simulator", "SimulatorError"):
    globals()[_name].__module__ = "ivrkit.sim"
