"""Giving memory back after a citizen's session: what a finished journey no longer needs.

A journey fills caches (each text the citizen typed is rendered once per keystroke, the review screen decodes
their photo) and allocates frames and buffers on several threads. The UI drops its own references when a
session ends; :func:`return_free_memory` then collects what became garbage and asks the C allocator to hand
the freed pages back to the operating system, so that the kiosk's resident size returns towards the welcome
screen's instead of staying at the high-water mark of the busiest journey.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def return_free_memory() -> bool:
    """Collect garbage, then return free heap pages to the OS; False where the C library cannot.

    glibc keeps freed memory in its heaps (one per thread that allocated) for reuse; ``malloc_trim(0)``
    releases every whole free page in them, not only the top of the main heap. It takes a few milliseconds,
    so it is called once per session, on the welcome screen.
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
