"""What the benchmarks measure, measured one way: the data directory, peak memory, CPU time.

Every script reads the shared datasets from :func:`data_dir` and its own peak resident memory
from :func:`peak_rss_mb`; a child process's peak comes from ``os.wait4`` (its own rusage).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

DATA_DIR_VARIABLE = "DEEPFOREST_DATA_DIR"
# The shared data beside the project: ../shared/data.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def data_dir() -> Path:
    """``$DEEPFOREST_DATA_DIR``, else ``../shared/data`` beside the project (may not exist)."""
    value = os.environ.get(DATA_DIR_VARIABLE)
    return Path(value) if value else SHARED_DATA


def rusage_mb(maxrss_kib: int) -> float:
    """``ru_maxrss`` in MB: KiB on Linux, bytes on macOS."""
    return maxrss_kib / (2**20 if sys.platform == "darwin" else 1024)


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    """The resident-set high-water mark of this process (or its waited-for children), in MB."""
    return rusage_mb(resource.getrusage(who).ru_maxrss)


def timed(function: Callable, *args, **kwargs) -> tuple[object, float, float]:
    """``function(*args, **kwargs)``, its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu
