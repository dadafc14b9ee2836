"""A scanning grain's fitted forests kept on disk: the grain's side of spilling.

:class:`SpilledGrain` stands in for :class:`deepforest._scanning.grain.GrainForests` (same
``window``, ``forests`` and ``outputs(windows, fold)``), in the checked, owner-only files that
:mod:`deepforest._core.spill` writes for cascade layers.
"""

from __future__ import annotations

import os

import numpy as np

from .._core.spill import _SpilledFile, _write
from .grain import GrainForests


class SpilledGrain(_SpilledFile):
    """The fitted forests of one scanning grain, living in a file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by :func:`spill_grain`.
    grain : GrainForests
        The grain whose forests the file holds; its description (window, classes, training
        windows) is kept in memory.
    digest : str
        SHA-256 of the file's bytes; a file whose bytes differ is refused before it is parsed.
    kind : {"npz", "skops"}
        The file's format.

    Attributes
    ----------
    path : pathlib.Path
        Absolute path of the file.
    window : tuple of int
        The grain's window shape.
    n_classes : int
        Number of classes.
    n_training_windows : int
        Window instances the grain's forests trained on.
    """

    _what = "scanning grain"

    def __init__(self, path: str | os.PathLike, grain: GrainForests, digest: str, kind: str):
        super().__init__(path, digest, kind, list(grain.forests))
        self.window = grain.window
        self.n_classes = grain.n_classes
        self.n_training_windows = grain.n_training_windows

    def __repr__(self) -> str:
        return f"SpilledGrain(path={str(self.path)!r}, window={self.window})"

    @property
    def forests(self) -> dict[str, object]:
        """The grain's forests per kind, loaded from disk at each access."""
        return self._load_forests()

    def materialize(self) -> GrainForests:
        """Load the forests into an in-memory :class:`~deepforest._scanning.grain.GrainForests`.

        Scoring many batches of windows should use the result, which loads the file once.
        """
        return GrainForests(self.window, self.n_classes, self.forests, self.n_training_windows)

    def outputs(
        self, windows: np.ndarray, fold: int | None = None, n_jobs: int | None = None
    ) -> list[np.ndarray]:
        """Class vectors of window rows, as :meth:`GrainForests.outputs`; loads the file."""
        return self.materialize().outputs(windows, fold, n_jobs)


def spill_grain(grain: GrainForests, directory: str | os.PathLike, index: int) -> SpilledGrain:
    """Write a fitted grain's forests to a file in ``directory`` and return its stand-in.

    As :func:`spill_layer`: the caller should drop its reference to ``grain``, the file name
    carries the grain index and a random token, and the write is atomic.

    Parameters
    ----------
    grain : GrainForests
        The fitted grain.
    directory : str or os.PathLike
        Where to write; created (owner-only) if missing, refused if others can write into it.
    index : int
        The grain's index in the scanner, used in the file name.

    Returns
    -------
    SpilledGrain
        A grain with the same outputs whose forests load from the file on use.
    """
    path, digest, kind = _write(grain.forests, directory, f"grain-{index:02d}")
    return SpilledGrain(path, grain, digest, kind)
