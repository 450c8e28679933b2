"""Pause Python's cyclic garbage collector around bulk work.

Reading or writing a million features creates millions of objects (geometries, bytes,
tuples). Each allocation burst triggers generation-0/1/2 collections that walk every
tracked object — on a million-feature import that alone costs ~2.5 s out of ~10 s. Bulk
loaders pause the collector and let it run once afterwards; reference counting still
frees everything that is not in a cycle, so memory does not grow.

Pauses nest (a counter), and the collector comes back only when the outermost pause
ends — and only if it was enabled before.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_gc"]

_LOCK = threading.Lock()
_DEPTH = 0
_WAS_ENABLED = True


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector inside the block (re-enabled on the way out)."""
    global _DEPTH, _WAS_ENABLED
    with _LOCK:
        if _DEPTH == 0:
            _WAS_ENABLED = gc.isenabled()
            gc.disable()
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and _WAS_ENABLED:
                gc.enable()
