"""Write a file so that readers see all of it or none of it, and nothing else is overwritten.

Every file the package writes into place goes through :func:`write_new_file`: a model file
(``save``), a spilled layer, and the command line's outputs (``cli.atomic``). The data go to a
new file beside the target, created exclusively under a random name (so a symbolic link planted
there cannot redirect the write), flushed to the disk, and only then given the target's name:
renamed over it when overwriting is allowed, hard-linked to it otherwise, which the filesystem
refuses atomically when the name is taken, so of two writers racing for a free name exactly one
wins. The directory is flushed last, so the new name survives a crash.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

# Errors of filesystems that have no hard links; the name is then claimed by exclusive creation.
_NO_HARD_LINKS = (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK)


def temporary_name(path: Path) -> Path:
    """A hidden, unpredictable name beside ``path``."""
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")


@contextmanager
def exclusive_temporary(path: Path, mode: int = 0o644) -> Iterator[tuple[Path, BinaryIO]]:
    """Create a new file beside ``path`` and yield its name and open handle.

    The file is made with ``O_CREAT | O_EXCL | O_NOFOLLOW``: never an existing file, never
    through a symbolic link. It is removed if the block fails.
    """
    temporary = temporary_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(temporary, flags, mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            yield temporary, handle
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def put_in_place(temporary: Path, path: Path, *, overwrite: bool) -> None:
    """Give ``temporary`` the name ``path``; without ``overwrite``, fail if the name is taken.

    Raises
    ------
    FileExistsError
        Without ``overwrite``, when ``path`` exists (a file, a link or anything else), even if
        another process created it a moment ago.
    """
    try:
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_into_place(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)


def write_new_file(
    path: str | os.PathLike,
    write: Callable[[BinaryIO], object],
    *,
    overwrite: bool = False,
    mode: int = 0o644,
) -> Path:
    """Write a file with ``write(handle)`` and put it in place as ``path`` (see the module).

    Raises
    ------
    FileExistsError
        Without ``overwrite``, when ``path`` exists or is created while the data are written.
    """
    path = Path(path)
    if not overwrite and (path.exists() or path.is_symlink()):
        raise FileExistsError(errno.EEXIST, "the file exists", str(path))
    with exclusive_temporary(path, mode) as (temporary, handle):
        write(handle)
    put_in_place(temporary, path, overwrite=overwrite)
    return path


def _link_into_place(temporary: Path, path: Path) -> None:
    try:
        os.link(temporary, path, follow_symlinks=False)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "the file exists", str(path)) from None
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # No hard links here: claim the name by exclusive creation, then move the file over it.
        flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0)
        os.close(os.open(path, flags, 0o600))
        os.replace(temporary, path)


def _sync_directory(directory: Path) -> None:
    """Flush a directory's entries to the disk (where the platform can)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some filesystems cannot sync a directory; the rename itself is still atomic
    finally:
        os.close(descriptor)
