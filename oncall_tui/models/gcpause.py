"""Pausing the cyclic garbage collector around the decoding of big bodies (:func:`gc_paused`).

Decoding a 10,000-span trace or 100,000 log lines builds hundreds of thousands of objects
that form no cycles; with the collector on, most of the time goes to collections that find
nothing (and, in a running app, walk every other live object too).
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

__all__ = ["GC_PAUSE_BYTES", "GcPause", "gc_paused", "paused_for_size"]

#: Bodies bigger than this are decoded with the collector paused.
GC_PAUSE_BYTES = 256 * 1024

_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Nests and works across threads (the collector comes back with the last one out, and only
    if it was enabled before the first).
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def paused_for_size(size: int) -> Any:
    """:func:`gc_paused` for a body over :data:`GC_PAUSE_BYTES`, else a no-op context."""
    return gc_paused() if size > GC_PAUSE_BYTES else nullcontext()


class GcPause:
    """A :func:`gc_paused` that begins now and ends from elsewhere (an event, a timer), once.

    The app holds one from its start to its first frame with data: what it builds meanwhile
    (widgets, styles, the first answers) stays alive, so collections would find nothing.
    """

    def __init__(self) -> None:
        self._pause = gc_paused()
        self._pause.__enter__()
        self.active = True

    def end(self) -> None:
        if self.active:
            self.active = False
            self._pause.__exit__(None, None, None)
