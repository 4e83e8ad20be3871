"""Give the heap's free memory back to the kernel after each round.

A round allocates a few MB of short-lived objects (DNS messages, TLS buffers, the round's
JSON) and frees them. glibc's malloc keeps freed pages that are not at the top of its
heap, so the probe's resident memory crept up by ~1.7 MB over its first sixty rounds
before levelling off above the Pi Zero budget (docs/performance.md). `malloc_trim(0)`
returns every free page of every arena; it takes ~0.01 ms here.
"""

import ctypes


def release_free_memory() -> None:
    """Return freed heap pages to the kernel; nothing to do on a libc without malloc_trim
    (musl, macOS)."""
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
