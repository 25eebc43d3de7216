"""Keep freed memory in the process instead of returning it to the OS (glibc malloc), for CPU runs.

glibc serves every allocation above 32 MB with a fresh mmap and unmaps it on free, so each large
activation (a 64-channel 512x512 float map is 64 MB) is page-faulted in again, zero-filled by the
kernel, and a training step reallocates the same activations every step, forward and backward.
Keeping freed memory avoids that; tcmalloc
(`LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4`, Debian's libtcmalloc-minimal4:
Intel's advice for PyTorch on CPU) does it better, and this is the no-install version (figures and
commands: docs/results/design_figures.md). The cost: freed memory is kept (heap fragmentation raises
peak memory) and never given back, so it is for processes that own their machine's memory (infer.py,
CPU training, benchmarks), not for a library import.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4  # mallopt parameters from glibc's malloc.h


def keep_freed_memory() -> bool:
    """Switch glibc malloc to heap-only allocations that are never trimmed; False where not
    glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_MAX, 0)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, 2**62))
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
