"""The probe gives freed heap memory back to the kernel after each round."""

import gc
import platform

import pytest

from probe.heap import release_free_memory
from tests.support.memory import rss_mb


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_pages_go_back_to_the_kernel():
    # 40 MB of 2 kB blocks (malloc's heap, not Python's small-object arenas), then one
    # more above them, so free() alone cannot shrink the heap from its top.
    blocks = [bytearray(2048) for _ in range(20_000)]
    pin = bytearray(2048)
    del blocks
    gc.collect()
    kept = rss_mb()
    release_free_memory()
    released = kept - rss_mb()
    assert released > 20, f"{released:.1f} MB given back"
    assert len(pin) == 2048
