"""ivrkit.journey: the per-call journey log of ``ivrkit run --journey`` (docs/operations.md).

``JourneyWriter(stream)`` is an ``ivrkit.observe.Observer`` that writes one JSON line per
step of each call; ``JOURNEY_SCHEMA`` is the format (version ``JOURNEY_VERSION``).
"""

from ivrkit.journey._schema import JOURNEY_SCHEMA, JOURNEY_VERSION
from ivrkit.journey._writer import JourneyWriter, journey_line

__all__ = ["JOURNEY_SCHEMA", "JOURNEY_VERSION", "JourneyWriter", "journey_line"]

JourneyWriter.__module__ = "ivrkit.journey"
