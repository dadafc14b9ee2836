"""Multi-grained scanning: gcForest for images and sequences.

The cascade alone sees an image as a bag of pixels. Multi-grained scanning slides windows of
several sizes (grains) over every sample, trains a random forest and a completely-random forest
per grain on the windows (each window carrying its sample's label), and describes each sample by
the class vectors its windows receive, position by position. A cascade trained on those vectors
is gcForest (Zhou & Feng).

``MultiGrainScanner`` is the scikit-learn transformer; ``GCForestClassifier`` is the whole model,
the same as ``make_pipeline(MultiGrainScanner(...), CascadeForestClassifier(...))``.
"""

from __future__ import annotations

import math
import os
import sys
import time
from functools import partial
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.binning import QuantileBinner
from ._core.folds import assign_folds, duplicate_groups
from ._core.forests import FOREST_KINDS, ForestSettings, resolve_engine
from ._core.labels import encode_class_labels
from ._core.progress import advance, progress
from ._core.spill import check_spill_directory
from ._core.threads import ThreadFanOut
from ._core.trees import BinnedForest
from ._model_format import ModelFormatMixin
from ._private_imports import Interval, StrOptions, _check_feature_names_in, validate_params
from ._scanning.grain import GrainForests, fit_grain
from ._scanning.spill import SpilledGrain, spill_grain
from ._scanning.windows import (
    batch_windows,
    format_shape,
    pool,
    pooled_cells,
    pooled_grid,
    position_grid,
    resolve_windows,
    to_layout,
    window_offsets,
    window_view,
)
from .cascade import CascadeForestClassifier

# Samples scored by one task of the compiled pass: their pixels and pooled sums (about 1 MB
# on 28x28 images) stay in cache while every tree of a forest visits them; 128 was 1.07 times
# as fast as 64 and as fast as 256.
SAMPLES_PER_TASK = 128

# Window rows scored at once: bounds transform memory (the rows of a 13×13 window as float32,
# plus one float32 class vector per row and forest) to a few hundred MB whatever the data size.
BATCH_WINDOWS = 262_144


_CASCADE_CONSTRAINTS = CascadeForestClassifier._parameter_constraints


class MultiGrainScanner(ModelFormatMixin, TransformerMixin, BaseEstimator):
    """Multi-grained scanning transformer of gcForest for images and sequences.

    For every window size (grain) it trains a random forest and a completely-random forest on
    window instances, each labelled with its sample's class, and transforms each sample into the
    class vectors of all its window positions (optionally averaged over blocks of positions),
    concatenated over forests and grains.

    ``fit_transform`` returns *out-of-fold* vectors for the training samples: the samples are
    split into ``n_folds`` folds (identical samples always share one), each forest's trees are
    shared out among models that skip one fold, and a training sample's windows are scored only
    by the model that never saw any window of that sample. This is what a cascade downstream
    must be trained on, and what a scikit-learn ``Pipeline`` uses. ``transform`` scores new
    samples with all the trees, so ``fit(X, y).transform(X)`` gives *in-sample* vectors of the
    training data, which are over-confident: do not train a cascade on them.

    Folds split by sample rather than by window because the windows of a sample overlap and
    share its label: an out-of-bag vote on one window comes from trees that trained on its
    neighbours, one pixel away, and leaks the label.

    Parameters
    ----------
    window_sizes : list of int or of tuple of int, default=None
        Window sizes, one grain each: an int is a square window (or a window length for
        sequences), a tuple gives ``(height, width)``. None: about 1/4, 3/8 and 1/2 of the
        smaller image side (7, 10, 14 on 28×28 images), or 1/16, 1/8 and 1/4 of a sequence's
        length.
    stride : int, default=1
        Step between window positions along every axis.
    pooling : int, "auto" or None, default="auto"
        Average the class vectors over blocks of ``pooling`` positions per axis (2: 2×2 blocks
        on images), dividing the number of output features by about ``pooling**2``; edge blocks
        average the positions they hold. None keeps every position. ``"auto"``: 2 on images
        (more accurate than every position on digits and Animal-Shape, and faster), None
        on sequences.
    image_shape : tuple of int or None, default=None
        ``(height, width)`` or ``(height, width, channels)`` of flat input rows, which are then
        read as images (row-major, channels last).
    input_kind : {"auto", "image", "sequence"}, default="auto"
        How to read X. ``"auto"``: 2-d X as sequences ``(n_samples, length)`` unless
        ``image_shape`` is given, 3-d X as images ``(n_samples, height, width)`` and 4-d X as
        images with channels ``(n_samples, height, width, channels)``. Sequences with channels,
        ``(n_samples, length, channels)``, need ``"sequence"``.
    passthrough : bool, default=False
        Also output the input values (flattened, as float32) after the class vectors, so that
        a cascade downstream reads both what the windows say and the pixels themselves, as a
        cascade alone would. ``GCForestClassifier`` turns it on.
    n_trees : int, default=30
        Trees of each forest of each grain, shared out among the fold models.
    max_windows : int or None, default=200_000
        Window instances the forests of one grain train on: the same number of randomly chosen
        positions from every training sample, at least one each. None: every window (memory
        grows with samples × positions).
    n_folds : int, default=3
        Folds of training samples for the out-of-fold class vectors.
    max_features : int, float, {"sqrt", "log2"} or None, default="sqrt"
        Candidate features per split of the random forests.
    extra_max_features : int, float, {"sqrt", "log2"} or None, default=1
        Candidate features per split of the second forest of every grain, an extremely
        randomized forest (random thresholds). 1 makes it the completely-random forest of the
        gcForest paper: one random feature and one random threshold per split. ``"sqrt"`` is the
        ExtraTrees forest of gcForest's published MNIST configuration, which separates classes
        better and grows larger trees.
    max_depth : int or None, default=None
        Maximum depth of the trees.
    min_samples_leaf : int or float, default=10
        Minimum number of windows per leaf. Leaves of several windows give graded class
        vectors and keep trees grown on hundreds of thousands of windows small.
    spill_dir : str, path or None, default=None
        Directory to write each grain's fitted forests to as soon as its class vectors are
        computed ("partial mode", for scanners larger than memory): only one grain's forests
        are in memory at a time, during fit and transform. The files must stay there as long
        as the scanner is used (a pickle refers to them); a new directory is made for the
        owner only, and one that others may write into is refused. None keeps every grain in
        memory.
    engine : {"auto", "numba", "sklearn"}, default="auto"
        Which trees the scanning forests grow: ``"numba"`` (``"auto"``), the compiled engine of
        this package, or ``"sklearn"``, scikit-learn's forests, the reference it is tested
        against. Both read the same binned windows (256 bins per channel, shared by every
        position). The choice is in ``engine_``.
    n_jobs : int or None, default=None
        Parallel jobs for growing and applying trees (-1: all cores). Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Controls the folds, the window subsample and every forest.
    verbose : int, default=0
        If positive, print one line per grain and a progress bar for each transform to stderr.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    grains_ : list of GrainForests or SpilledGrain
        The fitted forests of every grain (on disk with ``spill_dir``).
    windows_ : list of tuple of int
        The window shape of every grain.
    input_kind_ : {"image", "sequence"}
        How X was read.
    engine_ : {"numba", "sklearn"}
        The engine that grew the forests.
    n_features_out_ : int
        Number of output features.
    n_features_in_ : int
        Number of features seen during fit (the second dimension of X).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepforest import MultiGrainScanner
    >>> X, y = load_digits(return_X_y=True)
    >>> scanner = MultiGrainScanner(window_sizes=[4], image_shape=(8, 8), n_trees=6,
    ...                             random_state=0)
    >>> scanner.fit_transform(X, y).shape  # 25 positions × 2 forests × 10 classes
    (1797, 500)
    """

    _parameter_constraints: ClassVar[dict] = {
        "window_sizes": [None, list, tuple],
        "stride": [Interval(Integral, 1, None, closed="left")],
        "pooling": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "image_shape": [None, list, tuple],
        "input_kind": [StrOptions({"auto", "image", "sequence"})],
        "passthrough": ["boolean"],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "max_windows": [Interval(Integral, 1, None, closed="left"), None],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        # The scanner's forests take the cascade's tree settings (without "auto" leaf size).
        "max_features": _CASCADE_CONSTRAINTS["max_features"],
        "extra_max_features": _CASCADE_CONSTRAINTS["max_features"],
        "max_depth": _CASCADE_CONSTRAINTS["max_depth"],
        "min_samples_leaf": _CASCADE_CONSTRAINTS["min_samples_leaf"][1:],
        "spill_dir": _CASCADE_CONSTRAINTS["spill_dir"],
        "engine": _CASCADE_CONSTRAINTS["engine"],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        window_sizes: list | None = None,
        stride: int = 1,
        pooling: int | str | None = "auto",
        image_shape: tuple | None = None,
        input_kind: str = "auto",
        passthrough: bool = False,
        n_trees: int = 30,
        max_windows: int | None = 200_000,
        n_folds: int = 3,
        max_features="sqrt",
        extra_max_features=1,
        max_depth: int | None = None,
        min_samples_leaf: int | float = 10,
        spill_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
    ):
        self.window_sizes = window_sizes
        self.stride = stride
        self.pooling = pooling
        self.image_shape = image_shape
        self.input_kind = input_kind
        self.passthrough = passthrough
        self.n_trees = n_trees
        self.max_windows = max_windows
        self.n_folds = n_folds
        self.max_features = max_features
        self.extra_max_features = extra_max_features
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.spill_dir = spill_dir
        self.engine = engine
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def fit(self, X, y) -> MultiGrainScanner:
        """Train the forests of every grain.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Images or sequences; see ``input_kind`` and ``image_shape``. NaN marks a missing
            value.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : MultiGrainScanner
            The fitted transformer.
        """
        self._fit(X, y, with_output=False)
        return self

    def fit_transform(self, X, y=None, **fit_params) -> np.ndarray:
        """Train the forests and return the training samples' out-of-fold class vectors.

        Unlike ``fit(X, y).transform(X)``, every training sample is described by trees that
        never saw any of its windows, which is what a downstream cascade must train on.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Images or sequences; see ``input_kind`` and ``image_shape``.
        y : array-like of shape (n_samples,)
            Class labels.
        **fit_params : dict
            Unused; accepted for compatibility with scikit-learn.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out_), dtype float32
            Out-of-fold class vectors of every grain, forest and window position.
        """
        return self._fit(X, y, with_output=True)

    def _fit(self, X, y, with_output: bool) -> np.ndarray | None:
        validate_params(self)
        if y is None:
            raise ValueError(
                "MultiGrainScanner requires y to be passed, but the target y is None: the "
                "scanning forests learn the class of every sample."
            )
        X, y = validate_data(
            self,
            X,
            y,
            dtype="numeric",
            allow_nd=True,
            ensure_all_finite="allow-nan",
            ensure_min_samples=2,
        )
        y_codes = self._encode_target(y)
        X_layout, self.input_kind_ = to_layout(X, self.input_kind, self._image_shape())
        self._input_shape = X.shape[1:]
        spatial = X_layout.shape[1:-1]
        self.windows_ = resolve_windows(self.window_sizes, spatial, self.input_kind_)
        self._set_output_layout(spatial)

        if self.spill_dir is not None:
            check_spill_directory(self.spill_dir)  # before any work, not after the first grain
        rng = check_random_state(self.random_state)
        self.engine_ = resolve_engine(self.engine, "gini")
        # One set of bins per channel, shared by every position: a window's first pixel is
        # any pixel of the image.
        channels = X_layout.shape[-1]
        self._binner = QuantileBinner(random_state=rng.randint(np.iinfo(np.int32).max)).fit(
            X_layout.reshape(-1, channels)
        )
        X_layout = self._bin(X_layout)
        n_samples = X.shape[0]
        groups = duplicate_groups(X_layout.reshape(n_samples, -1))
        if groups.max() + 1 < self.n_folds:
            raise ValueError(
                f"MultiGrainScanner needs at least n_folds={self.n_folds} distinct samples, "
                f"got {groups.max() + 1}."
            )
        folds = assign_folds(groups, self.n_folds, rng, y_codes)
        settings = ForestSettings(
            is_classifier=True,
            n_trees=self.n_trees,
            max_features=self.max_features,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            criterion="gini",
            max_samples=None,
            class_weight=None,
            n_jobs=self.n_jobs,
            extra_max_features=self.extra_max_features,
            engine=self.engine_,
        )
        output = np.empty((n_samples, self.n_features_out_), np.float32) if with_output else None
        if with_output:
            self._write_input(X, output)
        self.grains_ = []
        for index, window in enumerate(self.windows_):
            start = time.perf_counter()
            view = window_view(X_layout, window, self.stride)
            grain = fit_grain(
                view, window, y_codes, folds, len(self.classes_), settings, self.max_windows, rng
            )
            self._log(
                f"grain {format_shape(window)}: {math.prod(self._grids[index])} positions, "
                f"forests trained on {grain.n_training_windows} windows in "
                f"{time.perf_counter() - start:.1f}s"
            )
            if with_output:
                start = time.perf_counter()
                self._write_grain(
                    X_layout, view, grain, index, output, folds, "out-of-fold vectors"
                )
                self._log(
                    f"grain {format_shape(window)}: out-of-fold vectors in "
                    f"{time.perf_counter() - start:.1f}s"
                )
            if self.spill_dir is not None:
                grain = spill_grain(grain, self.spill_dir, index)
            self.grains_.append(grain)
        return output

    def _encode_target(self, y) -> np.ndarray:
        self.classes_, y_codes = encode_class_labels(y, "MultiGrainScanner")
        return y_codes

    def _bin(self, X_layout: np.ndarray) -> np.ndarray:
        """The samples' values as uint8 bins, in the same layout."""
        channels = X_layout.shape[-1]
        binned = self._binner.transform(X_layout.reshape(-1, channels), n_jobs=self.n_jobs)
        return binned.reshape(X_layout.shape)

    def _image_shape(self) -> tuple[int, ...] | None:
        return None if self.image_shape is None else tuple(self.image_shape)

    def _pooling(self) -> int | None:
        """The block size the class vectors are averaged over (``"auto"`` resolved)."""
        if self.pooling == "auto":
            return 2 if self.input_kind_ == "image" else None
        return self.pooling

    def _set_output_layout(self, spatial: tuple[int, ...]) -> None:
        """Record each grain's position grid and where its columns start in the output.

        The input values, with ``passthrough``, follow the last grain's columns.
        """
        n_classes = len(self.classes_)
        self._grids = [position_grid(spatial, w, self.stride) for w in self.windows_]
        widths = [
            len(FOREST_KINDS) * math.prod(pooled_grid(grid, self._pooling())) * n_classes
            for grid in self._grids
        ]
        self._offsets = np.concatenate([[0], np.cumsum(widths)]).astype(int)
        n_input = math.prod(self._input_shape) if self.passthrough else 0
        self.n_features_out_ = int(self._offsets[-1]) + n_input

    def _write_input(self, X: np.ndarray, output: np.ndarray) -> None:
        """With ``passthrough``, copy the samples' values into the last columns of ``output``."""
        if self.passthrough:
            output[:, self._offsets[-1] :] = X.reshape(X.shape[0], -1)

    # ------------------------------------------------------------ transform
    def transform(self, X) -> np.ndarray:
        """Class vectors of new samples, scored by all the trees of every grain.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples laid out as during fit.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features_out_), dtype float32
            For every grain, forest (random, then completely-random) and window position (row
            by row), the class probabilities in the order of ``classes_``.
        """
        check_is_fitted(self, "grains_")
        X = validate_data(
            self, X, reset=False, dtype="numeric", allow_nd=True, ensure_all_finite="allow-nan"
        )
        if X.shape[1:] != self._input_shape:
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but MultiGrainScanner was fitted on "
                f"samples of shape {self._input_shape}."
            )
        X_layout, _ = to_layout(X, self.input_kind_, self._image_shape())
        X_layout = self._bin(X_layout)
        output = np.empty((X.shape[0], self.n_features_out_), dtype=np.float32)
        self._write_input(X, output)
        for index, window in enumerate(self.windows_):
            view = window_view(X_layout, window, self.stride)
            grain = self.grains_[index]
            # A spilled grain is loaded once for all its batches, and freed before the next.
            if isinstance(grain, SpilledGrain):
                grain = grain.materialize()
            self._write_grain(X_layout, view, grain, index, output, None, "transform")
            del grain
        return output

    def _write_grain(
        self,
        X_layout: np.ndarray,
        view: np.ndarray,
        grain: GrainForests,
        index: int,
        output: np.ndarray,
        folds: np.ndarray | None,
        what: str,
    ) -> None:
        """Score the windows of grain ``index`` batch by batch and write its columns of ``output``.

        ``view`` is ``X_layout``'s window view. With ``folds``, the samples of each fold are
        scored by the model that skipped it.
        """
        grid = self._grids[index]
        n_samples = view.shape[0]
        batch = max(1, BATCH_WINDOWS // math.prod(grid))
        if folds is None:
            parts = [(None, np.arange(n_samples))]
        else:
            parts = [(fold, np.flatnonzero(folds == fold)) for fold in range(self.n_folds)]
        # Only transforms of more than one batch are long enough to deserve a progress bar.
        show = self.verbose > 0 and n_samples > batch
        label = f"grain {format_shape(grain.window)} {what}"
        with progress(label, n_samples, show, "image"):
            if all(isinstance(f, BinnedForest) for f in grain.forests.values()):
                self._scan_parts(X_layout, grain, parts, output, index)
            else:
                self._transform_parts(view, grain, parts, batch, output, index)

    def _scan_parts(self, X_layout, grain, parts, output, index) -> None:
        """Score and pool ``parts`` (fold, sample indices) into grain ``index``'s columns in one
        compiled pass per block of samples, reading the windows in place.

        Against copying every window out and pooling its class vector afterwards, this keeps a
        block's samples and a tree's nodes in cache and never writes a window's vector.
        """
        starts, offsets = window_offsets(X_layout.shape[1:], grain.window, self.stride)
        cell_of, counts = pooled_cells(self._grids[index], self._pooling())
        flat = X_layout.reshape(X_layout.shape[0], -1)
        start_column = self._offsets[index]
        kind_width = (self._offsets[index + 1] - start_column) // len(FOREST_KINDS)
        forests = [grain.forests[kind] for kind in FOREST_KINDS]

        def score(fold, rows) -> int:
            samples = np.ascontiguousarray(flat[rows])
            for k, forest in enumerate(forests):
                sums = np.zeros((len(rows), len(counts), len(self.classes_)))
                n_trees = forest.scan(samples, starts, offsets, cell_of, fold, sums)
                sums /= counts[:, None] * n_trees
                column = start_column + k * kind_width
                output[rows, column : column + kind_width] = sums.reshape(len(rows), -1)
            return len(rows)

        tasks = [
            (fold, rows[start : start + SAMPLES_PER_TASK])
            for fold, rows in parts
            for start in range(0, len(rows), SAMPLES_PER_TASK)
        ]
        # Threads write disjoint rows of the output; the kernel releases the GIL.
        with ThreadFanOut(self.n_jobs) as fan_out:
            for n_scored in fan_out.as_they_finish([partial(score, *task) for task in tasks]):
                advance(n_scored)

    def _transform_parts(self, view, grain, parts, batch, output, index) -> None:
        """Score ``parts`` (fold, sample indices) in batches into grain ``index``'s columns."""
        grid = self._grids[index]
        n_classes = len(self.classes_)
        start_column = self._offsets[index]
        kind_width = (self._offsets[index + 1] - start_column) // len(FOREST_KINDS)
        for fold, rows in parts:
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                # Contiguous rows are sliced (a view), others gathered.
                contiguous = chunk[-1] - chunk[0] + 1 == len(chunk)
                selector = slice(chunk[0], chunk[-1] + 1) if contiguous else chunk
                vectors = grain.outputs(batch_windows(view, selector), fold, self.n_jobs)
                for k, vector in enumerate(vectors):
                    pooled = pool(vector.reshape(len(chunk), *grid, n_classes), self._pooling())
                    column = start_column + k * kind_width
                    output[selector, column : column + kind_width] = pooled.reshape(len(chunk), -1)
                advance(len(chunk))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the output features: grain, forest, (pooled) position and class.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Only checked against the names seen during fit.

        Returns
        -------
        feature_names_out : ndarray of str
            For example ``"w7x7_random_p3_4_class5"``; with ``passthrough``, then the input's
            names (``feature_names_in_``, else ``"x12"`` for 2-d input or ``"x3_4"``, the
            index in a sample, for images and sequences given as n-d arrays).
        """
        check_is_fitted(self, "grains_")
        input_names = _check_feature_names_in(self, input_features, generate_names=True)
        names = []
        for window, grid in zip(self.windows_, self._grids, strict=True):
            prefix = "w" + "x".join(str(s) for s in window)
            positions = list(np.ndindex(*pooled_grid(grid, self._pooling())))
            for kind in FOREST_KINDS:
                for position in positions:
                    where = "_".join(str(p) for p in position)
                    names.extend(f"{prefix}_{kind}_p{where}_class{c}" for c in self.classes_)
        if self.passthrough:
            if len(self._input_shape) == 1:
                names.extend(input_names)
            else:
                names.extend(
                    "x" + "_".join(str(i) for i in index) for index in np.ndindex(self._input_shape)
                )
        return np.asarray(names, dtype=object)

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[deepforest] {message}", file=sys.stderr, flush=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags


# The cascade parameters that GCForestClassifier exposes take the cascade's own defaults.
_CASCADE_DEFAULTS = CascadeForestClassifier().get_params()


# Parameters GCForestClassifier passes to its scanner and cascade itself (name there: its own).
_SCANNER_OWN = {
    "window_sizes": None,
    "stride": None,
    "pooling": None,
    "image_shape": None,
    "input_kind": None,
    "passthrough": None,
    "max_windows": None,
    "random_state": None,
}
_CASCADE_OWN = dict.fromkeys(
    ("n_estimators", "n_trees", "max_layers", "max_samples", "random_state")
)


class GCForestClassifier(ModelFormatMixin, ClassifierMixin, BaseEstimator):
    """gcForest classifier: multi-grained scanning followed by a cascade forest.

    ``GCForestClassifier(**params).fit(X, y)`` fits exactly::

        make_pipeline(
            MultiGrainScanner(window_sizes=window_sizes, stride=stride, pooling=pooling,
                              image_shape=image_shape, input_kind=input_kind,
                              passthrough=passthrough, n_trees=scan_n_trees,
                              max_windows=max_windows, **scan_params, n_jobs=n_jobs,
                              random_state=random_state, verbose=verbose),
            CascadeForestClassifier(n_estimators=n_estimators, n_trees=n_trees,
                                    max_layers=max_layers, max_samples=max_samples,
                                    **cascade_params, n_jobs=n_jobs,
                                    random_state=random_state, verbose=verbose),
        )

    (with an int or None ``random_state``; a RandomState instance seeds both from its draws).
    The pipeline trains the cascade on the scanner's out-of-fold class vectors and predicts
    through the scanner's full forests.

    Parameters
    ----------
    window_sizes : list of int or of tuple of int, default=None
        Window sizes of the grains; see ``MultiGrainScanner``.
    stride : int, default=1
        Step between window positions.
    pooling : int, "auto" or None, default="auto"
        Average class vectors over blocks of ``pooling`` positions per axis (``"auto"``: 2 on
        images, None on sequences).
    image_shape : tuple of int or None, default=None
        Shape of the images when X holds flat rows.
    input_kind : {"auto", "image", "sequence"}, default="auto"
        How X is read; see ``MultiGrainScanner``.
    passthrough : bool, default=True
        The cascade reads the input values beside the scanner's class vectors, so it starts
        from what a cascade alone would see.
    scan_n_trees : int, default=30
        Trees of each scanning forest.
    max_windows : int or None, default=200_000
        Window instances the scanning forests of one grain train on.
    scan_params : dict or None, default=None
        Further ``MultiGrainScanner`` parameters (``n_folds``, ``max_features``,
        ``extra_max_features``, ``max_depth``, ``min_samples_leaf``, ``spill_dir``).
    n_estimators : int, default=the cascade's
        Forest pairs per cascade layer.
    n_trees : int, default=the cascade's
        Trees of each cascade forest.
    max_layers : int, default=the cascade's
        Maximum number of cascade layers.
    max_samples : int, float, "auto" or None, default=the cascade's
        Bootstrap size of the cascade's trees; a fraction speeds up large data.
    cascade_params : dict or None, default=None
        Further ``CascadeForestClassifier`` parameters (``n_tolerant_rounds``,
        ``out_of_sample``, ``predictor``, ...).
    n_jobs : int or None, default=None
        Parallel jobs of both stages (-1: all cores). Results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds both stages.
    verbose : int, default=0
        If positive, print progress per grain and per cascade layer to stderr.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    pipeline_ : Pipeline
        The fitted scanner and cascade.
    scanner_ : MultiGrainScanner
        The fitted scanner.
    cascade_ : CascadeForestClassifier
        The fitted cascade.
    n_layers_ : int
        Number of kept cascade layers.
    history_ : dict of list
        The cascade's per-layer scores and fit times.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from deepforest import GCForestClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> model = GCForestClassifier(window_sizes=[4], image_shape=(8, 8), scan_n_trees=6,
    ...                            n_trees=10, max_layers=2, random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 1, 2])
    """

    _parameter_constraints: ClassVar[dict] = {
        **{
            key: MultiGrainScanner._parameter_constraints[key]
            for key in (
                "window_sizes",
                "stride",
                "pooling",
                "image_shape",
                "input_kind",
                "passthrough",
            )
        },
        "scan_n_trees": [Interval(Integral, 1, None, closed="left")],
        "max_windows": MultiGrainScanner._parameter_constraints["max_windows"],
        "scan_params": [None, dict],
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 1, None, closed="left")],
        "max_samples": _CASCADE_CONSTRAINTS["max_samples"],
        "cascade_params": [None, dict],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        window_sizes: list | None = None,
        stride: int = 1,
        pooling: int | str | None = "auto",
        image_shape: tuple | None = None,
        input_kind: str = "auto",
        passthrough: bool = True,
        scan_n_trees: int = 30,
        max_windows: int | None = 200_000,
        scan_params: dict | None = None,
        n_estimators: int = _CASCADE_DEFAULTS["n_estimators"],
        n_trees: int = _CASCADE_DEFAULTS["n_trees"],
        max_layers: int = _CASCADE_DEFAULTS["max_layers"],
        max_samples: Real | str | None = _CASCADE_DEFAULTS["max_samples"],
        cascade_params: dict | None = None,
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
    ):
        self.window_sizes = window_sizes
        self.stride = stride
        self.pooling = pooling
        self.image_shape = image_shape
        self.input_kind = input_kind
        self.passthrough = passthrough
        self.scan_n_trees = scan_n_trees
        self.max_windows = max_windows
        self.scan_params = scan_params
        self.n_estimators = n_estimators
        self.n_trees = n_trees
        self.max_layers = max_layers
        self.max_samples = max_samples
        self.cascade_params = cascade_params
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def make_pipeline(self):
        """The unfitted scanner-and-cascade pipeline these parameters describe.

        Returns
        -------
        pipeline : Pipeline
            ``make_pipeline(MultiGrainScanner(...), CascadeForestClassifier(...))``.
        """
        if self.random_state is None or isinstance(self.random_state, Integral):
            scanner_seed = cascade_seed = self.random_state
        else:
            rng = check_random_state(self.random_state)
            scanner_seed, cascade_seed = (
                int(s) for s in rng.randint(np.iinfo(np.int32).max, size=2)
            )
        shared = {"n_jobs": self.n_jobs, "verbose": self.verbose}
        own = {
            "scan_params": {"n_trees": "scan_n_trees", **_SCANNER_OWN, **dict.fromkeys(shared)},
            "cascade_params": {**_CASCADE_OWN, **dict.fromkeys(shared)},
        }
        for name, taken in own.items():
            clashes = sorted(set(getattr(self, name) or {}) & set(taken))
            if clashes:
                raise ValueError(
                    f"{name} sets {', '.join(clashes)}, which GCForestClassifier sets itself: "
                    "pass "
                    + ", ".join(f"{taken[key] or key}=..." for key in clashes)
                    + " to GCForestClassifier instead"
                )
        scanner = MultiGrainScanner(
            window_sizes=self.window_sizes,
            stride=self.stride,
            pooling=self.pooling,
            image_shape=self.image_shape,
            input_kind=self.input_kind,
            passthrough=self.passthrough,
            n_trees=self.scan_n_trees,
            max_windows=self.max_windows,
            random_state=scanner_seed,
            **shared,
            **(self.scan_params or {}),
        )
        cascade = CascadeForestClassifier(
            n_estimators=self.n_estimators,
            n_trees=self.n_trees,
            max_layers=self.max_layers,
            max_samples=self.max_samples,
            random_state=cascade_seed,
            **shared,
            **(self.cascade_params or {}),
        )
        return make_pipeline(scanner, cascade)

    def fit(self, X, y, *, callbacks=None) -> GCForestClassifier:
        """Fit the scanner, then the cascade on the scanner's out-of-fold class vectors.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Images or sequences; see ``input_kind`` and ``image_shape``.
        y : array-like of shape (n_samples,)
            Class labels.
        callbacks : callable or list of callables, default=None
            Passed to the cascade's ``fit``: each is called with a ``deepforest.LayerReport``
            after each cascade layer is grown; one that returns true stops the growth.

        Returns
        -------
        self : GCForestClassifier
            The fitted estimator.
        """
        validate_params(self)
        pipeline = self.make_pipeline()
        routed = {} if callbacks is None else {f"{pipeline.steps[-1][0]}__callbacks": callbacks}
        pipeline.fit(X, y, **routed)
        self.pipeline_ = pipeline
        self.scanner_, self.cascade_ = pipeline[0], pipeline[-1]
        self.classes_ = self.cascade_.classes_
        self.n_features_in_ = self.scanner_.n_features_in_
        if hasattr(self.scanner_, "feature_names_in_"):
            self.feature_names_in_ = self.scanner_.feature_names_in_
        self.n_layers_ = self.cascade_.n_layers_
        self.history_ = self.cascade_.history_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict_proba(X)

    def predict(self, X) -> np.ndarray:
        """Most probable class of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.three_d_array = True
        return tags
