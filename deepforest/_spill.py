"""Fitted cascade layers kept on disk instead of in memory ("partial mode").

Fully grown trees on millions of rows take tens of megabytes each, so a deep cascade can
outgrow memory through its fitted forests alone, even when the training data fits. A spilled
layer writes its forests to one joblib file as soon as it is fitted and loads them again only
while it computes outputs, so at most one layer's forests are in memory at a time, during fit
and during predict.

A :class:`SpilledLayer` stands in for :class:`deepforest._layer.Layer`: it has the same
``forests`` and ``outputs(X)``. Pickling a model with spilled layers stores only a reference to
each file (its absolute path and a random token written inside it), not the forests: the pickle
stays small and still works wherever the files are reachable under the same path. If a file is
missing or has been replaced by another model's, using the layer raises
:class:`SpilledLayerError` with the path, rather than predicting with the wrong trees. Call
:meth:`SpilledLayer.materialize` to get an ordinary in-memory layer before pickling a model that
must stand alone.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import joblib
import numpy as np

from ._layer import Layer, forest_out

# The file's payload format; bumped if the layout of the dumped dict changes.
_FORMAT = 1


class SpilledLayerError(FileNotFoundError):
    """A spilled layer's file is missing, unreadable or belongs to another layer."""


class SpilledLayer:
    """A fitted cascade layer whose forests live in a joblib file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by :func:`spill_layer`.
    n_outputs : int
        Number of output columns of every forest (classes, or regression targets).
    token : str
        The random token stored in the file; a file whose token differs is refused.

    Attributes
    ----------
    path : pathlib.Path
        Absolute path of the file.
    n_outputs : int
        Number of output columns of every forest.
    """

    def __init__(self, path: str | os.PathLike, n_outputs: int, token: str):
        self.path = Path(path).absolute()
        self.n_outputs = n_outputs
        self.token = token

    def __repr__(self) -> str:
        return f"SpilledLayer(path={str(self.path)!r}, n_outputs={self.n_outputs})"

    def _load(self) -> list:
        try:
            payload = joblib.load(self.path)
        except FileNotFoundError as error:
            raise SpilledLayerError(
                f"The spilled cascade layer {self.path} is missing. A model fitted with "
                "spill_dir keeps its layers in that directory: keep the files at the same path "
                "as long as the model (or its pickle) is used, or call materialize() on the "
                "layers before deleting them."
            ) from error
        if not isinstance(payload, dict) or payload.get("token") != self.token:
            raise SpilledLayerError(
                f"The file {self.path} does not hold this spilled cascade layer (it was "
                "overwritten or belongs to another model)."
            )
        return payload["forests"]

    @property
    def forests(self) -> list:
        """The layer's fitted forests, loaded from disk at each access."""
        return self._load()

    def outputs(self, X: np.ndarray) -> list[np.ndarray]:
        """Every forest's output on X, as :meth:`deepforest._layer.Layer.outputs`.

        The forests are loaded, used and released within the call, so they occupy memory only
        while it runs.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features)
            The layer's input features.

        Returns
        -------
        outputs : list of ndarray
            One array per forest, of shape (n_samples, n_outputs) for classifiers.
        """
        forests = self._load()
        try:
            return [forest_out(forest, X, self.n_outputs) for forest in forests]
        finally:
            # Drop the only reference now, not when the caller's frame ends.
            del forests

    def materialize(self) -> Layer:
        """Load the forests into an ordinary in-memory :class:`~deepforest._layer.Layer`."""
        return Layer(self._load(), self.n_outputs)

    def remove(self) -> None:
        """Delete the file; the layer cannot be used afterwards. A missing file is ignored."""
        self.path.unlink(missing_ok=True)


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
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    path = directory / f"layer-{index:03d}-{token[:12]}.joblib"
    partial = path.with_name(path.name + ".partial")
    payload = {"format": _FORMAT, "token": token, "forests": layer.forests}
    try:
        joblib.dump(payload, partial, compress=compress)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return SpilledLayer(path, layer.n_outputs, token)
