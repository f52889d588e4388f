"""In-memory Asterisk state (being written; placeholder so the route table type-checks)."""

from __future__ import annotations

from typing import Any


class SimModel:
    """Placeholder: the real model lands in the next commit."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)
