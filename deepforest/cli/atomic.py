"""Writing output files so that a failure never leaves half a file nor destroys the old one."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .._core.atomic_file import exclusive_temporary, put_in_place
from .errors import UserError
from .termination import raise_if_terminated


def is_special_file(path: Path) -> bool:
    """True for an existing path that is neither a regular file nor a directory.

    Devices (``/dev/null``, ``/dev/stdout``) and named pipes are what the user asked to write
    into; they must never be replaced by a regular file.
    """
    return path.exists() and not path.is_file() and not path.is_dir()


@contextmanager
def atomic_write(
    path: Path, stream_special: bool = True, exclusive: bool = False
) -> Iterator[Path]:
    """Yield a path to write to; it becomes ``path`` on success and vanishes on failure.

    A regular file is written as a hidden file beside ``path`` and renamed over it at the end
    (atomic on one filesystem), so readers never see half a file and an interrupted run leaves
    the old file intact. With ``exclusive``, the final step fails if ``path`` exists by then,
    created in the meantime by another process: it links the file into place, which the
    filesystem refuses atomically when the name is taken, instead of renaming over it. A
    special file (device, pipe) is written directly when ``stream_special``; otherwise the data
    goes to a temporary file first and is copied into it at the end, for writers that must seek
    or reread what they wrote.

    Raises
    ------
    UserError
        With ``exclusive``, when ``path`` appeared while the data was being written.
    """
    special = is_special_file(path)
    if special and stream_special:
        with _storage_errors_as_user_errors(path):
            yield path
        return
    if special:
        handle, name = tempfile.mkstemp(prefix="deepforest-", suffix=".tmp")
        os.close(handle)
        temporary = Path(name)
    else:
        # Created exclusively under an unpredictable name: no planted link can redirect it.
        with exclusive_temporary(path) as (temporary, _):
            pass
    try:
        with _storage_errors_as_user_errors(path):
            yield temporary
            # A termination signal whose exception was swallowed (in a ctypes callback, say)
            # must still keep the file from being put in place.
            raise_if_terminated()
            if special:
                with open(temporary, "rb") as source, open(path, "wb") as target:
                    shutil.copyfileobj(source, target)
            else:
                _flush_to_disk(temporary)
                try:
                    put_in_place(temporary, path, overwrite=not exclusive)
                except FileExistsError:
                    raise UserError(
                        f"{path} was created by someone else while this ran; pass --force to "
                        "overwrite it"
                    ) from None
    finally:
        temporary.unlink(missing_ok=True)


def _flush_to_disk(path: Path) -> None:
    """fsync a file its writer closed by name (pandas and skops write to a path)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# What the storage, not the program, is to blame for: a full disk, a quota, a size limit, a
# read-only filesystem, a failing device.
_STORAGE_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)


@contextmanager
def _storage_errors_as_user_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno not in _STORAGE_ERRORS:
            raise
        raise UserError(
            f"cannot write {path}: {error.strerror or os.strerror(error.errno)}; "
            "nothing was written"
        ) from None
