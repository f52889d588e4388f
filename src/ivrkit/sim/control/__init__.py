"""What a test holds: ``Simulator``, its simulated callers, fault hooks, caller scripts
and the reaction probe. Built on ``front`` and ``model``; ``ivrkit.sim`` re-exports the
public names.
"""
