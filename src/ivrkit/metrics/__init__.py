"""ivrkit.metrics: Prometheus metrics for ``ivrkit run --metrics`` (docs/operations.md).

``MetricsObserver`` is an ``ivrkit.observe.Observer`` that counts what the runner and
the client report into its own registry; ``MetricsServer`` serves it as ``/metrics``
with ``/readyz`` and ``/healthz``, and samples event-loop lag.
"""

from ivrkit.metrics._collector import METRICS, MetricsObserver
from ivrkit.metrics._server import LAG_INTERVAL, MetricsServer

__all__ = ["LAG_INTERVAL", "METRICS", "MetricsObserver", "MetricsServer"]

for _name in ("MetricsObserver", "MetricsServer"):
    globals()[_name].__module__ = "ivrkit.metrics"
del _name
