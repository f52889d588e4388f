"""``ivrkit run``'s _serve freezes the heap of the process it runs in and raises its GC
threshold (see ``freeze_startup_heap``); tests that run it in-process give the test
process its GC back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    threshold = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
