"""The resource limits a worker sets on itself, in both backends: CPU time, address space, file size, no cores."""

from __future__ import annotations

import os
import sys
import time


def limit(memory_mb: int, cpu_seconds: int, file_mb: int, strict: bool) -> None:
    """CPU seconds on top of what this process used already (starting it), memory on top of what it maps
    already (Linux only, where the address space is enforced as asked), file size, and no core dumps.

    `strict`: a limit the system refuses raises (ValueError or OSError); else it is left out, and so are
    all of them where Python has no `resource` (Windows: there the grader's deadline and memory watch are
    all).
    """
    try:
        import resource
    except ImportError:
        if strict:
            raise
        return
    import signal

    cpu = int(time.process_time()) + cpu_seconds
    limits = [(resource.RLIMIT_CPU, cpu, cpu + 1),
              (resource.RLIMIT_FSIZE, file_mb * 2**20, file_mb * 2**20), (resource.RLIMIT_CORE, 0, 0)]
    if sys.platform == "linux":
        address_space = _mapped_bytes() + memory_mb * 2**20
        limits.insert(0, (resource.RLIMIT_AS, address_space, address_space))
    for kind, soft, hard in limits:
        try:
            resource.setrlimit(kind, (soft, hard))
        except (ValueError, OSError):
            if strict:
                raise
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing


def _mapped_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
