"""REST over the events websocket (owned by the fidelity engineer; stub).

Contract with ``_app``: every TEXT frame a client sends on ``/ari/events`` is passed to
``handle_frame(text, model=model, application=app)``; ``application`` is the first app
name of that socket. The function returns the ``RESTResponse`` message to send back
(a dict, serialised by the app with ``json.dumps``) or ``None`` to send nothing.
It must not raise. Requests are served by
``ivrkit.sim._dispatch.dispatch(model, method, path, query_pairs, body, content_type)``;
``model.asterisk_id`` and ``model.timestamp()`` give the envelope fields.
"""

from __future__ import annotations

from typing import Any


def handle_frame(text: str, *, model: Any, application: str) -> dict[str, Any] | None:
    """Serve one websocket text frame; the response message or ``None``."""
    return None
