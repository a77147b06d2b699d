"""glibc's allocator, set up for a long-running process that now and then holds a very
large image: big buffers are mapped and unmapped on their own, so memory goes back to
the system when a request ends instead of staying in the heap.

glibc raises its mmap threshold each time a mapped block is freed (up to 32 MiB), after
which a 160 MB decoded image comes from the heap, and a freed heap stays resident: a
40 MP upload left the daemon at 400+ MB idle. A fixed threshold turns that off. Other C
libraries (musl) are left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache

log = logging.getLogger(__name__)

# From glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Blocks of this size and above are mapped: frames and decoded images, never the small
# objects of the Python heap.
MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 8 << 20
# Each thread that allocates gets its own arena by default (8 per core); the thread pool
# that decodes uploads would spread their fragments over many.
ARENA_MAX = 2


@cache
def _glibc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version  # noqa: B018  (glibc only)
        return libc
    except (OSError, AttributeError):
        return None


def tune() -> bool:
    """Set the thresholds above; False where the C library is not glibc."""
    libc = _glibc()
    if libc is None:
        return False
    ok = all(
        libc.mallopt(param, value) == 1
        for param, value in (
            (M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
            (M_ARENA_MAX, ARENA_MAX),
        )
    )
    if not ok:
        log.debug("mallopt refused a setting; the allocator keeps its defaults")
    return ok


def trim() -> None:
    """Give free heap pages back to the system (after a request that used a lot)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
