"""Writing output files so that a failure never leaves half a file nor destroys the old one."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def is_special_file(path: Path) -> bool:
    """True for an existing path that is neither a regular file nor a directory.

    Devices (``/dev/null``, ``/dev/stdout``) and named pipes are what the user asked to write
    into; they must never be replaced by a regular file.
    """
    return path.exists() and not path.is_file() and not path.is_dir()


@contextmanager
def atomic_write(path: Path, stream_special: bool = True) -> Iterator[Path]:
    """Yield a path to write to; it becomes ``path`` on success and vanishes on failure.

    A regular file is written as a hidden file beside ``path`` and renamed over it at the end
    (atomic on one filesystem), so readers never see half a file and an interrupted run leaves
    the old file intact. A special file (device, pipe) is written directly when
    ``stream_special``; otherwise the data goes to a temporary file first and is copied into it
    at the end, for writers that must seek or reread what they wrote.
    """
    special = is_special_file(path)
    if special and stream_special:
        yield path
        return
    if special:
        handle, name = tempfile.mkstemp(prefix="deepforest-", suffix=".tmp")
        os.close(handle)
        temporary = Path(name)
    else:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        if special:
            with open(temporary, "rb") as source, open(path, "wb") as target:
                shutil.copyfileobj(source, target)
        else:
            os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
