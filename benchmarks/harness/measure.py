"""What the benchmarks measure, measured one way: the data directory, peak memory, CPU time,
a child process's own usage and a model's pickled size.

Every script reads the shared datasets from :func:`data_dir` and its own peak resident memory
from :func:`peak_rss_mb`; a child process's peak comes from ``os.wait4`` (its own rusage,
:func:`wait_child`). The suite's jobs lower the high-water mark once the data are loaded
(:func:`reset_peak_rss`) and read it with :func:`resettable_peak_mb`.

The standard library only: a peer's interpreter (Deep-Forest 0.1.7's, Python 3.7 to 3.9)
imports this module by path from ``peer_child.py``, so that both environments measure alike.
"""

from __future__ import annotations

import os
import pickle
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


def reset_peak_rss() -> None:
    """Lower the resident-memory high-water mark to the current level, where Linux allows it.

    Reading a table (pandas parsing a CSV) peaks above what stays resident; without the reset
    that passing peak would hide the peak of every smaller model (``/proc/self/clear_refs``,
    Linux 4.0 and later; elsewhere nothing happens).
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def resettable_peak_mb() -> float:
    """The resident-memory high-water mark in MB: ``VmHWM`` where ``/proc`` has it.

    Unlike ``ru_maxrss`` (the fallback, :func:`peak_rss_mb`), ``VmHWM`` is lowered by
    :func:`reset_peak_rss`; ``ru_maxrss`` also keeps the peak of threads that have exited.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return peak_rss_mb()


def cpu_seconds(usage: resource.struct_rusage | None = None) -> float:
    """User plus system CPU seconds, all threads together: of ``usage`` (a child's, from
    :func:`wait_child`), else of this process so far."""
    if usage is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(function: Callable, *args, **kwargs) -> tuple[object, float, float]:
    """``function(*args, **kwargs)``, its wall seconds and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def wait_child(process) -> resource.struct_rusage:
    """Wait for ``process`` (a ``subprocess.Popen``), set its return code and return its own
    resource usage (``os.wait4``), not that of every child waited for so far."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage


class _CountingSink:
    """A write-only file that only counts bytes."""

    def __init__(self):
        self.size = 0

    def write(self, data) -> int:
        # Protocol 5 hands large arrays over as buffers, which have no len().
        size = memoryview(data).nbytes
        self.size += size
        return size


def pickled_size(model, protocol: int = pickle.HIGHEST_PROTOCOL) -> int:
    """Bytes of ``pickle.dump(model, protocol=protocol)``, without holding or writing them.

    The suite counts the highest protocol (5 from Python 3.8 on); the studies pass
    ``pickle.DEFAULT_PROTOCOL``, the size ``len(pickle.dumps(model))`` gave their figures.
    """
    sink = _CountingSink()
    pickle.dump(model, sink, protocol=protocol)
    return sink.size
