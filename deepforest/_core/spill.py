"""Fitted forests kept on disk instead of in memory ("partial mode").

Fully grown trees on millions of rows take tens of megabytes each, so a deep cascade, or a
scanner with many trees per grain, can outgrow memory through its fitted forests alone, even
when the training data fits. A spilled cascade layer or scanning grain writes its forests to one
file as soon as it is fitted and loads them again only while it computes outputs, so at most one
layer's (or grain's) forests are in memory at a time, during fit and during predict.

A :class:`SpilledLayer` stands in for :class:`deepforest._core.layer.Layer` (same ``forests``,
``outputs(X)`` and ``binned_outputs``); scanning grains spill through the same file format
(:mod:`deepforest._scanning.spill`). Pickling a model with spilled parts stores only a
reference to each file (its absolute path and the SHA-256 digest of its bytes), not the
forests: the pickle stays small and works wherever the files are reachable under the same path.

The files cannot run code when read. The compiled engine's forests are plain arrays, written as
``.npz`` and read with ``allow_pickle=False``; scikit-learn's forests (``engine="sklearn"``) are
written with skops and read back with only scikit-learn's tree types trusted. Before anything
is parsed, the file's bytes must match the digest recorded when it was written: a missing,
truncated or replaced file raises :class:`SpillFileError` with the path. The spill directory is
created readable and writable by its owner only; an existing one that belongs to another user,
or that others can write into, is refused.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import uuid
import zipfile
from pathlib import Path

import numpy as np

from .atomic_file import write_new_file
from .layer import Layer, combine_outputs
from .trees import BinnedForest

# Arrays of a BinnedForest, as stored; n_pure goes in as a 0-d array.
_FOREST_ARRAYS = (
    "roots",
    "feature",
    "threshold",
    "left",
    "right",
    "values",
    "fold_bounds",
    "feature_importances_",
)
# skops types a spilled scikit-learn forest may hold; files spilled before the scikit-learn
# engine had a module of its own name its forest class by its old path, an alias of the class.
_SKLEARN_TRUSTED = [
    "deepforest._core.sklearn_engine.SklearnForest",
    "sklearn.tree._tree.Tree",
]


class SpillFileError(FileNotFoundError):
    """A spilled part's file is missing, unreadable, damaged or not the one written."""


def check_spill_directory(directory: str | os.PathLike) -> Path:
    """Create ``directory`` for the owner only, or check that nobody else can write into it.

    Raises
    ------
    PermissionError
        When the directory belongs to another user or is writable by group or others: files
        there could be replaced by someone else.
    """
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    status = directory.stat()
    if hasattr(os, "getuid") and status.st_uid != os.getuid():
        raise PermissionError(
            f"spill_dir {directory} belongs to another user: choose a directory of your own "
            "(deepforest creates a missing one, readable and writable by you only)"
        )
    if status.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise PermissionError(
            f"spill_dir {directory} is writable by other users, who could replace the spilled "
            f"forests: choose a directory only you can write to, or `chmod go-w {directory}` "
            "(deepforest creates a missing one, readable and writable by you only)"
        )
    return directory


def _forest_arrays(prefix: str, forest: BinnedForest) -> dict[str, np.ndarray]:
    arrays = {f"{prefix}/{name}": getattr(forest, name) for name in _FOREST_ARRAYS}
    arrays[f"{prefix}/n_pure"] = np.asarray(forest.n_pure)
    return arrays


def _forest_from(arrays, prefix: str) -> BinnedForest:
    return BinnedForest(
        roots=arrays[f"{prefix}/roots"],
        feature=arrays[f"{prefix}/feature"],
        threshold=arrays[f"{prefix}/threshold"],
        left=arrays[f"{prefix}/left"],
        right=arrays[f"{prefix}/right"],
        values=arrays[f"{prefix}/values"],
        n_pure=int(arrays[f"{prefix}/n_pure"]),
        fold_bounds=arrays[f"{prefix}/fold_bounds"],
        feature_importances=arrays[f"{prefix}/feature_importances_"],
    )


def _serialize(forests: dict[str, object]) -> tuple[bytes, str]:
    """The bytes of a file holding ``forests`` (name -> forest), and its kind.

    Uncompressed: compression made the files smaller but slower to write and to load.
    """
    buffer = io.BytesIO()
    if all(isinstance(forest, BinnedForest) for forest in forests.values()):
        arrays = {}
        for name, forest in forests.items():
            arrays.update(_forest_arrays(name, forest))
        np.savez(buffer, **arrays)
        return buffer.getvalue(), "npz"
    import skops.io as sio

    sio.dump(forests, buffer, compression=zipfile.ZIP_STORED)
    return buffer.getvalue(), "skops"


def _deserialize(data: bytes, kind: str, names: list[str]) -> dict[str, object]:
    if kind == "npz":
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            return {name: _forest_from(arrays, name) for name in names}
    import skops.io as sio
    from sklearn.utils.discovery import all_estimators

    trusted = [*_SKLEARN_TRUSTED, *[f"{c.__module__}.{c.__name__}" for _, c in all_estimators()]]
    return sio.loads(data, trusted=trusted)


class _SpilledFile:
    """The file of one spilled part: its path and digest, and a checked load."""

    # What the file holds, for error messages.
    _what = "part"

    def __init__(self, path: str | os.PathLike, digest: str, kind: str, names: list[str]):
        self.path = Path(path).absolute()
        self.digest = digest
        self.kind = kind
        self.names = list(names)

    def _load_forests(self) -> dict[str, object]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError as error:
            raise SpillFileError(
                f"The spilled {self._what} {self.path} is missing. A model fitted with "
                "spill_dir keeps its forests in that directory: keep the files at the same path "
                "as long as the model (or its pickle) is used, or call materialize() on the "
                "spilled parts before deleting them."
            ) from error
        except OSError as error:
            raise SpillFileError(
                f"cannot read the spilled {self._what} {self.path}: {error}"
            ) from error
        # The digest is checked on the very bytes that are parsed.
        if hashlib.sha256(data).hexdigest() != self.digest:
            raise SpillFileError(
                f"The file {self.path} is not the spilled {self._what} written by this model: it "
                "was truncated, overwritten or replaced. Nothing was read from it; fit the model "
                "again."
            )
        return _deserialize(data, self.kind, self.names)

    def remove(self) -> None:
        """Delete the file; the part cannot be used afterwards. A missing file is ignored."""
        self.path.unlink(missing_ok=True)


def _write(
    forests: dict[str, object], directory: str | os.PathLike, name: str
) -> tuple[Path, str, str]:
    """Write ``forests`` to a new file in ``directory``; return its path, digest and kind.

    The file is written under a temporary name and put into place (``_core.atomic_file``), so
    an interrupted write never leaves a truncated file under the final name.
    """
    directory = check_spill_directory(directory)
    data, kind = _serialize(forests)
    path = directory / f"{name}-{uuid.uuid4().hex[:12]}.{kind}"
    # Owner-only, whatever the umask; created anew, never following an existing name.
    write_new_file(path, lambda handle: handle.write(data), mode=0o600)
    return path, hashlib.sha256(data).hexdigest(), kind


class SpilledLayer(_SpilledFile):
    """A fitted cascade layer whose forests live in a file.

    Parameters
    ----------
    path : str or os.PathLike
        The file written by :func:`spill_layer`.
    layer : Layer
        The layer whose forests the file holds; its description (outputs, output bins) is kept
        in memory.
    digest : str
        SHA-256 of the file's bytes; a file whose bytes differ is refused before it is parsed.
    kind : {"npz", "skops"}
        The file's format.

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

    def __init__(self, path: str | os.PathLike, layer: Layer, digest: str, kind: str):
        super().__init__(path, digest, kind, [str(i) for i in range(len(layer.forests))])
        self.n_outputs = layer.n_outputs
        self.output_binner = layer.output_binner
        self.output_weights = layer.output_weights
        # The user's layer estimators stay in memory: they are arbitrary objects, which the
        # spill files (arrays, or scikit-learn's trees) cannot hold safely.
        self.estimators = layer.estimators

    def __repr__(self) -> str:
        return f"SpilledLayer(path={str(self.path)!r}, n_outputs={self.n_outputs})"

    def _load(self) -> list:
        forests = self._load_forests()
        return [forests[name] for name in self.names]

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

    def combine(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The layer's prediction, as :meth:`deepforest._core.layer.Layer.combine`."""
        return combine_outputs(outputs, self.output_weights)

    def materialize(self) -> Layer:
        """Load the forests into an ordinary in-memory :class:`~deepforest._core.layer.Layer`."""
        return Layer(
            self._load(), self.n_outputs, self.output_binner, self.output_weights, self.estimators
        )


def spill_layer(layer: Layer, directory: str | os.PathLike, index: int) -> SpilledLayer | Layer:
    """Write a fitted layer's forests to a file in ``directory`` and return its stand-in.

    The caller should drop its reference to ``layer`` afterwards so that the forests are freed.
    The file name carries the layer index and a random token, so several models can spill to
    the same directory.

    Parameters
    ----------
    layer : Layer
        The fitted layer.
    directory : str or os.PathLike
        Where to write; created (owner-only) if missing, refused if others can write into it.
    index : int
        The layer's index in the cascade, used in the file name.

    Returns
    -------
    SpilledLayer or Layer
        A layer with the same outputs whose forests load from the file on use (``layer``
        itself when it has no forests).
    """
    if not layer.forests:
        return layer  # only layer estimators (n_estimators=0): nothing to write
    forests = {str(i): forest for i, forest in enumerate(layer.forests)}
    path, digest, kind = _write(forests, directory, f"layer-{index:03d}")
    return SpilledLayer(path, layer, digest, kind)
