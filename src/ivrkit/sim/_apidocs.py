"""Swagger 1.1 description of the simulator (owned by the fidelity engineer; stub).

Contract with ``_app``: ``GET /ari/api-docs/{name}`` (``resources.json`` or
``{resource}.json``) calls ``render(name, base_path)`` after authentication, where
``name`` is the file stem (``"resources"``, ``"channels"``...) and ``base_path`` is
``http://<Host header>/ari``. It returns the JSON document, or ``None`` for an unknown
file (the app then answers 404 ``{"message": "Resource not found"}``).

Sources: ``ivrkit.sim._routetable.operations_by_resource()`` / ``RESOURCES`` for the
operations, ``ivrkit.sim._json.MODELS`` for the model declarations.
"""

from __future__ import annotations

from typing import Any


def render(resource_name: str, base_path: str) -> dict[str, Any] | None:
    """The api-docs document ``resource_name``.json, or ``None`` if there is none."""
    return None
