"""Cluster mode: many workers, many Asterisks, and a lost worker loses no call.

Asterisk distributes calls (``StasisBroadcast`` + ``POST /events/claim``, or one app
name held by an active worker); Redis holds what Asterisk does not: who owns each call
(leases with fencing tokens) and the engine's checkpoints. See docs/cluster.md.
"""

from ivrkit.cluster._store import (
    AsteriskCalls,
    ClusterError,
    ClusterStore,
    Opening,
    StoreStatistics,
)

__all__ = ["AsteriskCalls", "ClusterError", "ClusterStore", "Opening", "StoreStatistics"]

for _name in __all__:
    globals()[_name].__module__ = "ivrkit.cluster"
