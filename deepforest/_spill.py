"""Fitted forests kept on disk instead of in memory ("partial mode").

Fully grown trees on millions of rows take tens of megabytes each, so a deep cascade, or a
scanner with many trees per grain, can outgrow memory through its fitted forests alone, even
when the training data fits. A spilled cascade layer or scanning grain writes its forests to one
joblib file as soon as it is fitted and loads them again only while it computes outputs, so at
most one layer's (or grain's) forests are in memory at a time, during fit and during predict.

A :class:`SpilledLayer` stands in for :class:`deepforest._core.layer.Layer` (same ``forests``,
``outputs(X)`` and ``binned_outputs``), a :class:`SpilledGrain` for
:class:`deepforest._grain.GrainForests` (same ``window``, ``forests`` and
``outputs(windows, fold)``). Pickling a model with spilled parts
stores only a reference to each file (its absolute path and a random token written inside it),
not the forests: the pickle stays small and still works wherever the files are reachable under
the same path. If a file is missing or has been replaced by another model's, using the part
raises :class:`SpillFileError` with the path, rather than predicting with the wrong trees. Call
``materialize()`` to get an ordinary in-memory part before pickling a model that must stand
alone.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import joblib
import numpy as np

from ._core.layer import Layer
from ._grain import GrainForests

# The file's payload format; bumped if the layout of the dumped dict changes.
_FORMAT = 2


class SpillFileError(FileNotFoundError):
    """A spilled part's file is missing, unreadable or belongs to another model."""


class _SpilledFile:
    """The file of one spilled part: its path, its token and a checked load."""

    # What the file holds, for error messages.
    _what = "part"

    def __init__(self, path: str | os.PathLike, token: str):
        self.path = Path(path).absolute()
        self.token = token

    def _load_payload(self) -> dict:
        try:
            payload = joblib.load(self.path)
        except FileNotFoundError as error:
            raise SpillFileError(
                f"The spilled {self._what} {self.path} is missing. A model fitted with "
                "spill_dir keeps its forests in that directory: keep the files at the same path "
                "as long as the model (or its pickle) is used, or call materialize() on the "
                "spilled parts before deleting them."
            ) from error
        if not isinstance(payload, dict) or payload.get("token") != self.token:
            raise SpillFileError(
                f"The file {self.path} does not hold this spilled {self._what} (it was "
                "overwritten or belongs to another model)."
            )
        return payload

    def remove(self) -> None:
        """Delete the file; the part cannot be used afterwards. A missing file is ignored."""
        self.path.unlink(missing_ok=True)


def _write(
    content: dict, directory: str | os.PathLike, name: str, compress: int
) -> tuple[Path, str]:
    """Write ``content`` with a fresh token to ``directory``; return the file's path and token.

    The file is written under a temporary name and renamed into place, so an interrupted write
    never leaves a truncated file under the final name.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    path = directory / f"{name}-{token[:12]}.joblib"
    partial = path.with_name(path.name + ".partial")
    try:
        joblib.dump({"format": _FORMAT, "token": token, **content}, partial, compress=compress)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path, token


class SpilledLayer(_SpilledFile):
    """A fitted cascade layer whose forests live in a joblib file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by :func:`spill_layer`.
    layer : Layer
        The layer whose forests the file holds; its description (outputs, output bins) is kept
        in memory.
    token : str
        The random token stored in the file; a file whose token differs is refused.

    Attributes
    ----------
    path : pathlib.Path
        Absolute path of the file.
    n_outputs : int
        Number of output columns of every forest.
    output_binner : QuantileBinner or None
        Bins of the layer's regression outputs.
    """

    _what = "cascade layer"

    def __init__(self, path: str | os.PathLike, layer: Layer, token: str):
        super().__init__(path, token)
        self.n_outputs = layer.n_outputs
        self.output_binner = layer.output_binner

    def __repr__(self) -> str:
        return f"SpilledLayer(path={str(self.path)!r}, n_outputs={self.n_outputs})"

    def _load(self) -> list:
        return self._load_payload()["forests"]

    @property
    def forests(self) -> list:
        """The layer's fitted forests, loaded from disk at each access."""
        return self._load()

    def outputs(self, X: np.ndarray, n_jobs: int | None = None) -> list[np.ndarray]:
        """Every forest's output on X, as :meth:`deepforest._core.layer.Layer.outputs`.

        The forests are loaded, used and released within the call, so they occupy memory only
        while it runs.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The layer's input features.
        n_jobs : int or None
            Threads sharing the rows.

        Returns
        -------
        outputs : list of ndarray
            One array per forest, of shape (n_samples, n_outputs).
        """
        return self.materialize().outputs(X, n_jobs)

    def binned_outputs(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The outputs as uint8 bins, as :meth:`deepforest._core.layer.Layer.binned_outputs`."""
        return Layer([], self.n_outputs, self.output_binner).binned_outputs(outputs)

    def materialize(self) -> Layer:
        """Load the forests into an ordinary in-memory :class:`~deepforest._core.layer.Layer`."""
        return Layer(self._load(), self.n_outputs, self.output_binner)


def spill_layer(
    layer: Layer, directory: str | os.PathLike, index: int, compress: int = 0
) -> SpilledLayer:
    """Write a fitted layer's forests to a file in ``directory`` and return its stand-in.

    The caller should drop its reference to ``layer`` afterwards so that the forests are freed.
    The file name carries the layer index and a random token, so several models can spill to
    the same directory. The file is written under a temporary name and renamed into place, so
    an interrupted write never leaves a truncated file under the final name.

    Parameters
    ----------
    layer : Layer
        The fitted layer.
    directory : str or os.PathLike
        Where to write; created if missing.
    index : int
        The layer's index in the cascade, used in the file name.
    compress : int, default=0
        joblib compression level (0-9). Trees compress about threefold, at the cost of slower
        writes and loads.

    Returns
    -------
    SpilledLayer
        A layer with the same outputs whose forests load from the file on use.
    """
    path, token = _write({"forests": layer.forests}, directory, f"layer-{index:03d}", compress)
    return SpilledLayer(path, layer, token)


class SpilledGrain(_SpilledFile):
    """The fitted forests of one scanning grain, living in a joblib file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by :func:`spill_grain`.
    grain : GrainForests
        The grain whose forests the file holds; its description (window, classes, training
        windows) is kept in memory.
    token : str
        The random token stored in the file; a file whose token differs is refused.

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

    def __init__(self, path: str | os.PathLike, grain: GrainForests, token: str):
        super().__init__(path, token)
        self.window = grain.window
        self.n_classes = grain.n_classes
        self.n_training_windows = grain.n_training_windows

    def __repr__(self) -> str:
        return f"SpilledGrain(path={str(self.path)!r}, window={self.window})"

    @property
    def forests(self) -> dict[str, object]:
        """The grain's forests per kind, loaded from disk at each access."""
        return self._load_payload()["forests"]

    def materialize(self) -> GrainForests:
        """Load the forests into an ordinary in-memory :class:`~deepforest._grain.GrainForests`.

        Scoring many batches of windows should use the result, which loads the file once.
        """
        return GrainForests(self.window, self.n_classes, self.forests, self.n_training_windows)

    def outputs(
        self, windows: np.ndarray, fold: int | None = None, n_jobs: int | None = None
    ) -> list[np.ndarray]:
        """Class vectors of window rows, as :meth:`GrainForests.outputs`; loads the file."""
        return self.materialize().outputs(windows, fold, n_jobs)


def spill_grain(
    grain: GrainForests, directory: str | os.PathLike, index: int, compress: int = 0
) -> SpilledGrain:
    """Write a fitted grain's forests to a file in ``directory`` and return its stand-in.

    As :func:`spill_layer`: the caller should drop its reference to ``grain``, the file name
    carries the grain index and a random token, and the write is atomic.

    Parameters
    ----------
    grain : GrainForests
        The fitted grain.
    directory : str or os.PathLike
        Where to write; created if missing.
    index : int
        The grain's index in the scanner, used in the file name.
    compress : int, default=0
        joblib compression level (0-9).

    Returns
    -------
    SpilledGrain
        A grain with the same outputs whose forests load from the file on use.
    """
    path, token = _write({"forests": grain.forests}, directory, f"grain-{index:02d}", compress)
    return SpilledGrain(path, grain, token)
