"""Giving memory back after a citizen's session: what a finished journey no longer needs.

A journey fills caches (each text the citizen typed is rendered once per keystroke, the review screen decodes
their photo) and allocates frames and buffers on several threads. The UI drops its own references when a
session ends; :func:`return_free_memory` then collects what became garbage and asks the C allocator to hand
the freed pages back to the operating system, so that the kiosk's resident size returns towards the welcome
screen's instead of staying at the high-water mark of the busiest journey. :func:`hand_back_large_blocks`,
called once when the kiosk is built, keeps large buffers from lingering in the heap in the first place.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


#: ``M_MMAP_THRESHOLD`` of glibc's ``mallopt`` (<malloc.h>).
M_MMAP_THRESHOLD = -3
#: Blocks this large or larger get their own pages from the OS (glibc's initial threshold, kept fixed).
LARGE_BLOCK = 128 * 1024


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def hand_back_large_blocks(threshold: int = LARGE_BLOCK) -> bool:
    """Give each block of ``threshold`` bytes or more its own pages, which freeing it returns to the OS.

    glibc does so from 128 KB at first, but raises that threshold to the size of any such block freed (up
    to 32 MB), after which camera frames, photos and their encodings (0.3 to 4 MB each, many per second on
    the photo step) come from the heap, which keeps them after they are freed. Fixing the threshold costs
    a page-mapping call per large block and keeps the kiosk's resident size near what it uses (measured:
    peak 160 -> 137 MB, steady 115 -> 100 MB after two full walks; ``MALLOC_ARENA_MAX=2`` added nothing).

    Returns:
        False where the C library has no ``mallopt`` (musl, macOS) or refused the setting.
    """
    try:
        mallopt = _libc().mallopt  # type: ignore[union-attr]
    except AttributeError:  # no C library found (None), or one without mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on a C library without it (musl, macOS)."""
    try:
        trim = _libc().malloc_trim  # type: ignore[union-attr]
    except AttributeError:  # no C library found (None), or one without malloc_trim
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
