"""The client side of a test against the simulator: one place that says how to reach it.

The simulator may not import the client (docs/architecture.md), so it cannot hand out a
ConnectionConfig itself; tests anywhere under tests/ import this module (pytest puts the
directory of tests/conftest.py on sys.path).
"""

from __future__ import annotations

from ivrkit.ari import ConnectionConfig, Credentials
from ivrkit.sim import Simulator


def client_config(sim: Simulator, app: str = "channel-aa") -> ConnectionConfig:
    """Connect as the simulator's own ARI user, serving ``app``."""
    return ConnectionConfig(
        base_url=sim.url, apps=(app,), credentials=Credentials(sim.username, sim.password)
    )
