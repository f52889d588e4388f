"""Test support for ivrkit users: virtual time for asyncio.

``VirtualTimeEventLoop`` makes ``loop.time()`` jump to the next timer whenever the loop
has nothing else to do, so a 10 s IVR timeout runs in microseconds while real sockets on
127.0.0.1 keep working. ``run_virtual(coro)`` runs a coroutine on such a loop.
The pytest plugin ``ivrkit.testing.pytest_plugin`` runs ``async def`` tests on it.
``RedisServer`` runs a real redis-server on a free port in a temp dir (cluster tests).
``TcpBalancer`` spreads TCP connections over backends, skipping those that refuse, as a
load balancer in front of listening workers does (``ivrkit run --listen --cluster``).
"""

from ivrkit.testing._balancer import TcpBalancer
from ivrkit.testing._redis import RedisServer
from ivrkit.testing._vtime import VirtualTimeEventLoop, run_virtual

__all__ = ["RedisServer", "TcpBalancer", "VirtualTimeEventLoop", "run_virtual"]

for _name in __all__:
    globals()[_name].__module__ = "ivrkit.testing"
