"""Cascade forest estimators: the growth loop, early stopping and prediction.

The public estimators are thin: they validate input, bin it once, grow layers until the
out-of-sample score stops improving (see ``_core.layer`` and ``_core.forests``), keep the layers
up to the best one, and predict by passing samples through them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import os
import sys
import time
import warnings
from collections import deque
from collections.abc import Iterator
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._compat import (
    HasMethods,
    Interval,
    RealNotInt,
    StrOptions,
    _check_feature_names,
    _check_sample_weight,
    validate_params,
)
from ._core.binning import MAX_BINS, QuantileBinner
from ._core.boosting import SEARCH_FOLDS as BOOST_SEARCH_FOLDS
from ._core.boosting import (
    BoostingSettings,
    boosted_output,
    fit_boosting,
    histogram_offsets,
)
from ._core.categorical import (
    CategoricalColumns,
    encode_categorical_columns,
    fit_categorical_columns,
)
from ._core.folds import assign_folds, duplicate_groups
from ._core.forests import (
    FOREST_KINDS,
    ForestSettings,
    Target,
    bootstrap_size,
    resolve_engine,
)
from ._core.id_columns import IdLikeColumnWarning, id_like_columns
from ._core.labels import encode_class_labels
from ._core.layer import fit_layer, stacking_weights
from ._core.layer_estimators import (
    aligned_output,
    check_layer_estimators,
    fit_with_weights,
    named_estimators,
    require_package,
    with_class_weight,
)
from ._core.leaf_size import LEAF_SIZE_CANDIDATES, PROBE_TREES, choose_min_samples_leaf
from ._core.memory import (
    PREDICT_BATCH_ROWS,
    MemoryEstimate,
    available_memory,
    estimate_memory,
    memory_advice,
)
from ._core.predictor import ForestPredictor, make_predictor
from ._core.progress import progress
from ._core.screening import screening_threshold
from ._core.spill import SpilledLayer, check_spill_directory, spill_layer
from ._core.stopping import CascadeGrowth, LayerScorer
from ._explain import (
    MIN_BACKGROUND_ROWS,
    Contributions,
    batch_rows,
    cascade_contributions,
    check_explainable,
)
from ._explain import reference as explain_reference
from ._legacy import ModelFormatMixin
from ._migration import DeepForestMethods

# Out of bag, rows with many identical twins are hardly ever left out by a tree: past this share
# of such rows, out_of_sample="auto" grows the forests fold-wise (identical rows share a fold).
DUPLICATE_SHARE_FOR_FOLDS = 0.05

# What extra_max_features="auto" stands for (chosen on the benchmark panel, docs/benchmarks.md):
# half the features for regression; for classification one, gcForest's completely-random
# trees, up to WIDE_CLASSIFICATION_FEATURES features and the square root from there (images:
# +0.54 pt on MNIST-10k, where one candidate lost 0.64 pt on churn's 19 features).
EXTRA_MAX_FEATURES_REGRESSION = 0.5
WIDE_CLASSIFICATION_FEATURES = 64
# What max_features="auto" stands for: every feature for regression (as before), and for
# classification below this many features, where the square root leaves one or two candidates
# a split and the random forest's trees split almost at random; the square root from there.
# On the panel's eight narrow classification tables (docs/cascade.md) every feature gained
# beyond 2 SE on default and smoke_ban, lost none beyond noise, and cost 1.3-2x their small fits.
NARROW_CLASSIFICATION_FEATURES = 9
# What max_samples="auto" draws for each regression tree at most (docs/cascade.md): on the
# panel's two regression tables above it, diamonds and cps1988, it cut fit CPU by a quarter to
# a half and the model by a third to a half, with R² the same within noise; classification
# draws all rows (LETTER lost 0.13 pt with it, and images want every row).
AUTO_REGRESSION_MAX_SAMPLES = 8192
# The boosting stage's fixed settings: a bound on the rounds its search tries, the rows a leaf
# holds at least, and the L2 penalty on leaf values (XGBoost's lambda).
BOOST_MAX_ROUNDS = 200
BOOST_MIN_SAMPLES_LEAF = 5
BOOST_L2_REGULARIZATION = 1.0

# Parameters added since models were first saved, with the values those models were grown with.
_PARAMETERS_OF_EARLIER_MODELS = {
    "extra_max_features": 1,
    "boost_rounds": 0,
    "boost_learning_rate": 0.1,
    "boost_max_depth": 3,
}

# Growth stops when confidence screening leaves fewer rows than this.
MIN_ROWS_AFTER_SCREENING = 20

# The parameters that shrink a model, as a memory warning names them.
_PARAMETER_REMEDIES = {
    "max_samples": "max_samples",
    "min_samples_leaf": "min_samples_leaf",
    "n_trees": "n_trees",
    "spill_dir": "spill_dir",
}


@dataclasses.dataclass
class _TrainingData:
    """What every stage of a fit reads: the binned rows, targets, weights and settings."""

    X_binned: np.ndarray
    target: Target
    y_scored: np.ndarray
    sample_weight: np.ndarray | None
    groups: np.ndarray
    folds: np.ndarray | None
    settings: ForestSettings
    rng: np.random.RandomState
    # The user's layer estimators, named, and the folds they are fitted on.
    layer_estimators: list = dataclasses.field(default_factory=list)
    estimator_folds: np.ndarray | None = None


@contextlib.contextmanager
def _text_hint(X=None, fitted_numeric=None):
    """Say what to do when text reaches the numeric conversion (an array, or no categories).

    At predict time (``fitted_numeric``: the training columns' numeric mask) a DataFrame
    column that was numeric in training and holds text now is named, with a cell.
    """
    try:
        yield
    except ValueError as error:
        if "could not convert string to float" not in str(error):
            raise
        cell = _text_in_numeric_column(X, fitted_numeric)
        if cell is not None:
            name, row, value = cell
            raise ValueError(
                f"column {name!r} held numbers when the model was fitted, and holds text here "
                f"({value!r} in row {row!r}): convert the column to numbers (missing cells to "
                "NaN, e.g. with pandas.to_numeric(errors='coerce')), or refit with it as a "
                "categorical feature"
            ) from error
        raise ValueError(
            f"{error}: the input holds text. Pass a DataFrame, whose text and category columns "
            "become categorical features (categorical_features='from_dtype'), or name the "
            "categorical columns in categorical_features"
        ) from error


def _text_in_numeric_column(X, fitted_numeric):
    """(column name, row label, value) of the first text cell of a DataFrame column that was
    numeric in training, or None."""
    if not hasattr(X, "iloc") or fitted_numeric is None or len(fitted_numeric) != X.shape[1]:
        return None
    for position, name in enumerate(X.columns):
        column = X.iloc[:, position]
        if not fitted_numeric[position] or column.dtype.kind in "biufc":
            continue
        for row, value in zip(column.index, column.to_numpy(), strict=True):
            if isinstance(value, (str, bytes)):
                try:
                    float(value)
                except ValueError:
                    return name, row, value
    return None


def _check_target_has_no_nan(y) -> None:
    """Name the target when it holds NaN (scikit-learn's message says only "Input y")."""
    import pandas as pd  # loaded with the estimators already

    values = np.asarray(y)
    if values.ndim == 0 or values.dtype.kind not in "fO":
        return  # scikit-learn's validation names a scalar; other kinds hold no NaN
    # pandas' test runs in C on object labels (a Python loop took 0.65 s on a million).
    missing = pd.isna(values.reshape(len(values), -1)).any(axis=1)
    if missing.any():
        raise ValueError(
            f"Input y contains NaN: the target is missing in {int(missing.sum())} of "
            f"{len(values)} rows (the first at position {int(np.argmax(missing))}); drop those "
            "rows, or fill in their targets, before fitting"
        )


def _kept_layers_summary(n_kept: int, n_grown: int, record) -> str:
    """One line on the depth chosen, that reads right without the docs."""
    best = record.best_index
    line = (
        f"kept {n_kept} of {n_grown} layers grown (layers 0 to {n_kept - 1}); layer {best} was "
        f"the last to improve the out-of-sample score significantly ({record.scores[best]:.5f} "
        f"± {record.standard_errors[best]:.5f})"
    )
    after, dropped = n_kept - 1 - best, n_grown - n_kept
    if after:
        line += (
            f"; the {after} layer{'s' if after > 1 else ''} after it "
            f"{'are' if after > 1 else 'is'} kept as not clearly worse (deeper layers' "
            "out-of-sample scores understate them)"
        )
    if dropped:
        line += (
            f"; the {dropped} deeper layer{'s' if dropped > 1 else ''} scored clearly worse and "
            f"{'were' if dropped > 1 else 'was'} dropped"
        )
    return line


def _warn_of_id_columns(X, is_categorical) -> None:
    """Warn, naming them, of columns that look like row identifiers (``_core.id_columns``)."""
    for name in id_like_columns(X, is_categorical):
        warnings.warn(
            f"column {name} looks like a row identifier (a different value in nearly every "
            "row): the trees will split on it, and new rows' identifiers predict nothing; drop "
            "it before fitting unless it measures something",
            IdLikeColumnWarning,
            stacklevel=5,  # the caller of fit
        )


def _mean_absolute_error(y: np.ndarray, outputs: np.ndarray, data: _TrainingData) -> float:
    """The out-of-sample mean absolute error of a regression layer, averaged over targets."""
    errors = np.abs(outputs.reshape(len(y), -1) - y.reshape(len(y), -1)).mean(axis=1)
    return float(np.average(errors, weights=data.sample_weight))


def _check_weights_usable(sample_weight: np.ndarray) -> None:
    """Refuse negative weights: class vectors would no longer sum to 1 (a negative weight is not
    a smaller one); and weights that are all zero, which leave nothing to learn (newer
    scikit-learn refuses those itself; 1.6 let them reach a division by zero)."""
    if np.any(sample_weight < 0):
        rows = np.flatnonzero(sample_weight < 0)
        raise ValueError(
            f"sample_weight holds {len(rows)} negative values (the first at row {rows[0]}: "
            f"{sample_weight[rows[0]]:g}); weights must be 0 or more"
        )
    if not np.any(sample_weight > 0):
        raise ValueError("sample_weight is 0 for every row: at least one non-zero weight is needed")


def _subset(values: np.ndarray | None, rows: np.ndarray | None):
    return values if values is None or rows is None else values[rows]


class _BaseCascadeForest(DeepForestMethods, ModelFormatMixin, BaseEstimator):
    """Shared fit and predict logic of the cascade classifier and regressor."""

    _parameter_constraints: dict = {
        "n_estimators": [Interval(Integral, 0, None, closed="left")],
        "layer_estimators": [None, list, tuple],
        "n_trees": [Interval(Integral, 1, None, closed="left")],
        "max_layers": [Interval(Integral, 1, None, closed="left")],
        "n_tolerant_rounds": [Interval(Integral, 1, None, closed="left")],
        "delta": [Interval(Real, 0, None, closed="left")],
        "min_gain_se": [Interval(Real, 0, None, closed="left")],
        "max_loss_se": [Interval(Real, 0, None, closed="both")],
        "depth_tolerance": [StrOptions({"deprecated"}), Interval(Real, 0, None, closed="left")],
        "max_features": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            StrOptions({"auto", "sqrt", "log2"}),
            None,
        ],
        "extra_max_features": [
            StrOptions({"auto", "sqrt", "log2"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
            None,
        ],
        "boost_rounds": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "boost_learning_rate": [Interval(Real, 0, 1, closed="right")],
        "boost_max_depth": [Interval(Integral, 1, 8, closed="both")],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_split": [
            Interval(Integral, 2, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="right"),
        ],
        "min_samples_leaf": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
        ],
        "min_weight_fraction_leaf": [Interval(Real, 0, 0.5, closed="both")],
        "max_samples": [
            None,
            StrOptions({"auto"}),
            Interval(RealNotInt, 0, 1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
        ],
        "out_of_sample": [StrOptions({"auto", "oob", "kfold"})],
        "n_folds": [Interval(Integral, 2, None, closed="left")],
        "n_bins": [Interval(Integral, 2, MAX_BINS, closed="both")],
        "bin_subsample": [Interval(Integral, 1, None, closed="left"), None],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "scoring": [None, str, callable],
        "predictor": [
            None,
            StrOptions({"forest", "xgboost", "lightgbm"}),
            HasMethods(["fit", "predict"]),
        ],
        "predictor_params": [None, dict],
        "use_predictor": [None, "boolean"],
        "predictor_kwargs": [None, dict],
        "spill_dir": [None, str, os.PathLike],
        "engine": [StrOptions({"auto", "numba", "sklearn"})],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # Hooks that the classifier and the regressor define.
    _is_classifier = False

    def __setstate__(self, state):
        super().__setstate__(state)
        # Models saved before these parameters existed get the values that describe them, so
        # that get_params and clone work and a refit grows the same kind of cascade.
        for name, value in _PARAMETERS_OF_EARLIER_MODELS.items():
            if name not in self.__dict__:
                setattr(self, name, value)

    def _encode_target(self, y) -> Target:
        """The validated target as the forests take it (class codes or float values)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ fit
    def _fit(self, X, y, sample_weight):
        predictor, predictor_params = self._final_predictor()
        data = self._prepare(X, y, sample_weight)
        growth, layers, fit_times, last_index, last_outputs = self._grow(data)
        self._keep_layers(growth, layers, fit_times, last_index)
        self.predictor_ = None
        if predictor is not None:
            self._fit_predictor(data, last_outputs, predictor, predictor_params)
        self._fit_boosting(data, last_outputs[2], predictor)
        return self

    def _final_predictor(self):
        """The final predictor to fit (None, a name or an estimator) and its parameters.

        ``use_predictor`` and ``predictor_kwargs`` are Deep-Forest 0.1.7's spellings.
        """
        if self.predictor_kwargs is not None and self.predictor_params is not None:
            raise ValueError(
                "give predictor_params or predictor_kwargs (Deep-Forest 0.1.7's name for it), "
                "not both"
            )
        params = self.predictor_kwargs if self.predictor_params is None else self.predictor_params
        if self.use_predictor is False:
            return None, params
        if isinstance(self.predictor, str):
            require_package(self.predictor)
        if self.use_predictor and self.predictor is None:
            return "forest", params  # Deep-Forest 0.1.7's default predictor
        return self.predictor, params

    def _named_layer_estimators(self) -> list[tuple[str, object]]:
        named = []
        if self.layer_estimators is not None:
            named = check_layer_estimators(
                self.layer_estimators,
                classification=self._is_classifier,
                reserved=set(self.get_params(deep=False)),
            )
        if not named and self.n_estimators == 0:
            raise ValueError(
                "n_estimators=0 leaves the layers empty: give layer_estimators, or at least "
                "one forest pair"
            )
        return named

    def _prepare(self, X, y, sample_weight) -> _TrainingData:
        """Validate and bin the data, choose the out-of-sample scheme and the leaf size."""
        given = X
        X = self._encode_categorical(X, reset=True)
        _warn_of_id_columns(given, self.is_categorical_)
        if y is not None:
            _check_target_has_no_nan(y)
        with _text_hint():
            X, y = validate_data(
                self,
                X,
                y,
                # float32 and uint8 inputs (memmaps included) are read as they are, not copied.
                dtype=[np.float64, np.float32, np.uint8],
                ensure_all_finite="allow-nan",
                ensure_min_samples=2,
                multi_output=not self._is_classifier,
                y_numeric=not self._is_classifier,
            )
        target = self._encode_target(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            _check_weights_usable(sample_weight)
        if self.spill_dir is not None:
            check_spill_directory(self.spill_dir)  # before any work, not after the first layer
        rng = check_random_state(self.random_state)
        self.engine_ = resolve_engine(self.engine, self.criterion)
        self._binner = QuantileBinner(
            self.n_bins, self.bin_subsample, random_state=rng.randint(np.iinfo(np.int32).max)
        ).fit(X)
        X_binned = self._binner.transform(X)
        # Rows identical after binning: out of bag they are scored only by trees that drew
        # none of them, and fold-wise they share a fold.
        groups = duplicate_groups(X_binned)
        self.out_of_sample_ = self._out_of_sample_scheme(sample_weight, groups)
        data = _TrainingData(
            X_binned=X_binned,
            target=target,
            # Scores compare the user's labels (classification) or the targets (regression).
            y_scored=y if self._is_classifier else _raveled(target.values),
            sample_weight=sample_weight,
            groups=groups,
            folds=self._make_folds(groups, target, rng),
            settings=self._forest_settings(len(X_binned)),
            rng=rng,
        )
        data.layer_estimators = self._named_layer_estimators()
        if data.layer_estimators:
            data.estimator_folds = data.folds
            if data.estimator_folds is None:
                data.estimator_folds = self._assign_folds(groups, target, rng, "layer_estimators")
        self.min_samples_leaf_, self.leaf_size_scores_ = self.min_samples_leaf, {}
        if self.min_samples_leaf == "auto":
            probe_trees = len(LEAF_SIZE_CANDIDATES) * PROBE_TREES
            with progress("leaf-size probe", probe_trees, self.verbose > 0):
                self.min_samples_leaf_, self.leaf_size_scores_ = choose_min_samples_leaf(
                    data.settings,
                    X_binned,
                    target,
                    data.y_scored,
                    self.scoring,
                    getattr(self, "classes_", None),
                    rng,
                    groups,
                    data.folds,
                    data.sample_weight,
                )
            probe = ", ".join(f"{size}: {s:.4f}" for size, s in self.leaf_size_scores_.items())
            self._log(f"min_samples_leaf={self.min_samples_leaf_} (probe scores {probe})")
        data.settings = dataclasses.replace(data.settings, min_samples_leaf=self.min_samples_leaf_)
        estimate = self._estimate_memory(*X_binned.shape, target.n_outputs, self.min_samples_leaf_)
        advice = memory_advice(estimate, available_memory(), _PARAMETER_REMEDIES)
        if advice is not None:
            warnings.warn(advice, UserWarning, stacklevel=4)
        return data

    def _estimate_memory(
        self, n_samples: int, n_features: int, n_outputs: int, min_samples_leaf
    ) -> MemoryEstimate:
        """The fit's and the model's memory with these settings (``_core.memory``)."""
        return estimate_memory(
            n_samples=n_samples,
            n_features=n_features,
            n_outputs=n_outputs,
            n_forests=2 * self.n_estimators,
            n_trees=self.n_trees,
            rows_drawn=bootstrap_size(self._max_samples(n_samples), n_samples),
            min_samples_leaf=min_samples_leaf,
            max_depth=self.max_depth,
            # Every layer grown stays in memory until the fit ends: the best one, typically
            # the second, and the tolerant rounds after it.
            layers_in_memory=self.n_tolerant_rounds + 2,
            is_classifier=self._is_classifier,
            spilled=self.spill_dir is not None,
            boosted=self.boost_rounds != 0,
        )

    def _grow(self, data: _TrainingData):
        """Grow layers until the rule stops; return the decisions, layers and last outputs.

        With confidence screening, the rows screened after a layer keep its output, and only
        the others train the next layers; every layer is scored on all the rows, screened ones
        with the output that screened them, so that layers compare on the same rows.
        """
        scorer = self._layer_scorer(data, seed=int(data.rng.randint(np.iinfo(np.int32).max)))
        growth = CascadeGrowth(
            scorer,
            z=self.min_gain_se,
            delta=self.delta,
            patience=self.n_tolerant_rounds,
            keep_z=self.max_loss_se,
        )
        screening = getattr(self, "confidence_screening", False)
        n_rows = data.X_binned.shape[0]
        active = np.arange(n_rows)  # rows still in the cascade
        combined = None  # every row's out-of-sample output: its screening layer's, or the last
        self._screening_thresholds, self._screened_counts = [], []
        self._layer_maes = []
        layers, fit_times = [], []
        # Out-of-sample outputs of the layers that may still end up last: the best and later,
        # with the rows they were computed for.
        candidates: dict[int, tuple[list[np.ndarray], np.ndarray]] = {}
        # Trees read a column at a time while they grow: the layers' input in Fortran order.
        features = np.asfortranarray(data.X_binned)
        for index in range(self.max_layers):
            start = time.perf_counter()
            rows = None if len(active) == n_rows else active
            target = data.target if rows is None else data.target.take(rows)
            sample_weight = _subset(data.sample_weight, rows)
            n_trees = self.n_estimators * len(FOREST_KINDS) * data.settings.n_trees
            with progress(f"layer {index}", n_trees, self.verbose > 0):
                layer, outputs = fit_layer(
                    data.settings,
                    n_estimators=self.n_estimators,
                    X=features,
                    target=target,
                    sample_weight=sample_weight,
                    folds=_subset(data.folds, rows),
                    groups=_subset(data.groups, rows),
                    rng=data.rng,
                    layer_estimators=data.layer_estimators,
                    estimator_folds=_subset(data.estimator_folds, rows),
                )
            if not target.is_classification:
                layer.output_weights = stacking_weights(outputs, target.values, sample_weight)
            elif layer.estimators:
                # Forests and the user's estimators are unlike members: the layer weighs them
                # by the convex combination of their out-of-fold class vectors that is closest
                # to the labels (Brier score), as a regression layer weighs its forests.
                one_hot = np.eye(target.n_outputs)[target.codes]
                layer.output_weights = stacking_weights(outputs, one_hot, sample_weight)
            if self.spill_dir is not None:
                layer = spill_layer(layer, self.spill_dir, index)
            mean_output = layer.combine(outputs)
            if combined is None:
                combined = mean_output
            else:
                combined[active] = mean_output
            improved = growth.add(self._layer_evidence(scorer, combined))
            if not target.is_classification:
                self._layer_maes.append(_mean_absolute_error(data.y_scored, combined, data))
            fit_times.append(time.perf_counter() - start)
            layers.append(layer)
            # The last kept layer's output on every row starts the boosting stage.
            candidates[index] = (outputs, active, combined.copy())
            if improved:
                candidates = {index: candidates[index]}
            self._log_layer(index, growth.record, fit_times[-1], features.shape[1], improved)
            if growth.should_stop() or index + 1 == self.max_layers:
                break
            if screening:
                kept = self._screen(data, active, mean_output)
                active, outputs = active[kept], [output[kept] for output in outputs]
                if len(active) < MIN_ROWS_AFTER_SCREENING:
                    self._log(f"growth stops: {len(active)} rows left after screening")
                    break
            # The layer's outputs are computed, so its training features can go before the
            # next layer's are built: two copies at once would double the peak on wide data.
            del features
            features = _augment(data.X_binned[active], layer, outputs, order="F")
        del features
        last_index = self._last_kept_layer(growth)
        last_outputs = candidates.get(last_index, candidates[max(candidates)])
        return growth, layers, fit_times, last_index, last_outputs

    def _screen(self, data: _TrainingData, active: np.ndarray, mean_output: np.ndarray):
        """Choose the layer's screening threshold; return which active rows stay in."""
        confidence = mean_output.max(axis=1)
        predicted = self.classes_[mean_output.argmax(axis=1)]
        correct = predicted == data.y_scored[active]
        threshold = screening_threshold(confidence, correct, _subset(data.sample_weight, active))
        screened = confidence > threshold
        self._screening_thresholds.append(threshold)
        self._screened_counts.append(int(screened.sum()))
        self._log(
            f"screening: {screened.sum()} of {len(active)} rows leave with confidence above "
            f"{threshold:.4f} ({np.mean(correct[screened]) if screened.any() else np.nan:.4f} "
            f"accurate, against {np.mean(correct):.4f} for all)"
        )
        return ~screened

    def _keep_layers(self, growth, layers: list, fit_times: list[float], last_index: int) -> None:
        """Keep the layers up to ``last_index``; record the decisions as fitted attributes."""
        record = growth.record
        self.layers_ = layers[: last_index + 1]
        for dropped in layers[last_index + 1 :]:
            if isinstance(dropped, SpilledLayer):
                dropped.remove()
        self.n_layers_ = len(self.layers_)
        self.best_layer_ = record.best_index
        self.best_score_ = record.scores[record.best_index]
        self.history_ = {
            "score": record.scores,
            "score_se": record.standard_errors,
            "gain": record.gains,
            "gain_se": record.gain_errors,
            "fit_time": fit_times,
        }
        if not self._is_classifier:
            self.history_["mae"] = self._layer_maes
        del self._layer_maes
        if getattr(self, "confidence_screening", False):
            n_rows = len(growth.scorer.y)
            thresholds = self._screening_thresholds[: self.n_layers_ - 1]
            self.screening_thresholds_ = np.array([*thresholds, np.inf])
            self.screened_share_ = np.array(
                [count / n_rows for count in self._screened_counts[: self.n_layers_ - 1]] + [0.0]
            )
        del self._screening_thresholds, self._screened_counts
        self._log(_kept_layers_summary(self.n_layers_, len(layers), record))

    def _fit_predictor(self, data: _TrainingData, last_outputs, predictor, params) -> None:
        """Fit the final predictor on the last kept layer's augmented features."""
        start = time.perf_counter()
        outputs, rows, _ = last_outputs
        self.predictor_ = make_predictor(
            predictor,
            settings=data.settings,
            seed=int(data.rng.randint(np.iinfo(np.int32).max)),
            params=params,
        )
        final_features = _augment(data.X_binned[rows], self.layers_[-1], outputs, order="F")
        if not isinstance(self.predictor_, ForestPredictor):
            final_features = np.ascontiguousarray(final_features)
        target = data.target.take(rows)
        y_fit = target.codes if self._is_classifier else _raveled(target.values)
        sample_weight = _subset(data.sample_weight, rows)
        if self._is_classifier:
            # The cascade's class weights hold for its final predictor too.
            sample_weight = with_class_weight(
                sample_weight, data.settings.class_weight, target.codes
            )
        fit_with_weights(self.predictor_, final_features, y_fit, sample_weight, "predictor")
        name = predictor if isinstance(predictor, str) else type(predictor).__name__
        self._log(f"final predictor {name}: fit={time.perf_counter() - start:.2f}s")

    def _fit_boosting(self, data: _TrainingData, base_output: np.ndarray, predictor) -> None:
        """Fit the boosting stage on the last kept layer's out-of-sample output.

        The stage needs every training row's out-of-sample prediction to start from; a final
        predictor's output on its own training rows is not one, so the two exclude each other.
        """
        self.booster_ = None
        if self.boost_rounds == 0:
            return
        if predictor is not None:
            if self.boost_rounds != "auto":
                raise ValueError(
                    f"boost_rounds={self.boost_rounds} needs the cascade's out-of-sample output, "
                    "which a final predictor does not give: set boost_rounds=0 or predictor=None"
                )
            return
        start = time.perf_counter()
        target = data.target
        if target.is_classification:
            y = np.eye(target.n_outputs)[target.codes]
            weight = with_class_weight(data.sample_weight, data.settings.class_weight, target.codes)
        else:
            y, weight = target.values, data.sample_weight
        if weight is None:
            weight = np.ones(len(y))
        with progress(
            "boosting stage: searching rounds", BOOST_MAX_ROUNDS, self.verbose > 0, "round"
        ):
            result = fit_boosting(
                data.X_binned,
                y,
                base_output,
                weight,
                data.groups,
                BoostingSettings(
                    max_rounds=BOOST_MAX_ROUNDS,
                    learning_rate=self.boost_learning_rate,
                    max_depth=self.boost_max_depth,
                    min_samples_leaf=BOOST_MIN_SAMPLES_LEAF,
                    l2_regularization=BOOST_L2_REGULARIZATION,
                    histogram_offsets=histogram_offsets(
                        [len(edges) + 1 for edges in self._binner.bin_edges_]
                    ),
                    missing_bin=self._binner.missing_bin_,
                ),
                is_classification=target.is_classification,
                rounds=self.boost_rounds,
                rng=data.rng,
                n_jobs=self.n_jobs,
            )
        # The search scores the boosted held-out output with the layers' metric, so that it
        # reads against history_["score"]; a stage that lowers that score is dropped (the
        # rounds were chosen by the loss, which for classes can improve while accuracy falls).
        scorer = self._layer_scorer(data, seed=0)
        score_before = float(scorer.evidence(base_output).score)
        score_after = None
        if result.held_out_output is not None:
            score_after = float(scorer.evidence(result.held_out_output).score)
        kept = score_after is None or score_after >= score_before
        self.booster_ = result.forest if kept else None
        self.booster_smoothing_ = result.smoothing
        stage = {
            "rounds": result.rounds if kept else 0,
            "searched_rounds": result.searched_rounds,
            "smoothing": result.smoothing,
            "score_before": score_before,
            "score_after": score_after,
            "loss_before": result.loss_before,
            "loss_after": result.loss_after,
            "fit_time": time.perf_counter() - start,
        }
        self.history_["boosting"] = stage
        after = "not searched" if score_after is None else f"{score_after:.5f}"
        self._log(
            f"boosting: {stage['rounds']} rounds (the search's best: {result.searched_rounds} "
            f"on {BOOST_SEARCH_FOLDS} folds); out-of-sample score {score_before:.5f} -> {after}"
            f"{'' if kept else ' (lower: the stage is dropped)'}; fit={stage['fit_time']:.2f}s"
        )

    def _layer_scorer(self, data: _TrainingData, seed: int) -> LayerScorer:
        """Scores out-of-sample outputs of the training rows with their standard errors."""
        return LayerScorer(
            self.scoring,
            is_classifier=self._is_classifier,
            y=data.y_scored,
            sample_weight=data.sample_weight,
            classes=getattr(self, "classes_", None),
            seed=seed,
        )

    def _layer_evidence(self, scorer: LayerScorer, mean_output: np.ndarray):
        """Score one layer's averaged out-of-sample output (with its standard error)."""
        return scorer.evidence(mean_output)

    def _log_layer(self, index, record, seconds: float, n_features: int, improved: bool) -> None:
        if not self.verbose:
            return
        gain = record.gains[index]
        versus = "" if np.isnan(gain) else f" gain={gain:+.5f} ± {record.gain_errors[index]:.5f}"
        error = f" mae={self._layer_maes[index]:.5g}" if not self._is_classifier else ""
        self._log(
            f"layer {index}: score={record.scores[index]:.5f} ± "
            f"{record.standard_errors[index]:.5f}{versus}{error} fit={seconds:.2f}s "
            f"features={n_features}{' (best)' if improved else ''}"
        )

    def _last_kept_layer(self, growth) -> int:
        """The deepest layer kept: from the best on, those not significantly worse than it.

        Deeper layers' out-of-sample scores understate them (training rows pass on out-of-bag
        class vectors that average about a third of the trees, new rows the whole forest's),
        so a deeper layer that is not clearly worse is kept. ``depth_tolerance`` (deprecated)
        keeps instead the layers whose score is within it of the best score.
        """
        if self.depth_tolerance == "deprecated":
            return growth.last_kept()
        warnings.warn(
            "depth_tolerance is deprecated and will be removed: the cascade now keeps the "
            "layers after the best one that are not significantly worse than it (see "
            "max_loss_se). Leave depth_tolerance unset to use that rule.",
            FutureWarning,
            stacklevel=4,
        )
        record = growth.record
        best_score = record.scores[record.best_index]
        within = [
            index
            for index in range(record.best_index, len(record.scores))
            if record.scores[index] >= best_score - self.depth_tolerance
        ]
        return max(within)

    def _out_of_sample_scheme(self, sample_weight, groups) -> str:
        """The scheme that makes honest class vectors for this fit.

        Out of bag, a row is scored only by trees that drew none of its identical rows; a row
        with many twins is hardly ever out of bag, and the rows that no tree left out get the
        class prior, which says nothing. When more than ``DUPLICATE_SHARE_FOR_FOLDS`` of the rows
        can expect fewer than 3 trees to leave them out, ``"auto"`` grows the forests fold-wise
        instead, where identical rows share a fold. scikit-learn (1.9 and later) draws bootstrap
        samples in proportion to sample and class weights, so a heavily weighted row is hardly
        ever out of bag either: weighted fits use folds under ``"auto"`` (with both engines, so
        that the scheme does not change with the engine), and warn under ``"oob"`` with
        ``engine="sklearn"``.
        """
        class_weight = getattr(self, "class_weight", None)
        weighted = class_weight not in (None, "balanced_subsample") or (
            sample_weight is not None and np.ptp(sample_weight) > 0
        )
        if self.out_of_sample == "auto":
            if groups.max() + 1 < self.n_folds:
                return "oob"  # too few distinct rows for folds
            if weighted:
                return "kfold"
            return "kfold" if self._poorly_out_of_bag(groups) > DUPLICATE_SHARE_FOR_FOLDS else "oob"
        if self.out_of_sample == "oob" and weighted and self.engine_ == "sklearn":
            warnings.warn(
                "out_of_sample='oob' with sample_weight or class_weight and engine='sklearn': "
                "scikit-learn draws bootstrap samples in proportion to the weights, so heavily "
                "weighted rows are rarely out of bag and their class vectors leak their labels. "
                "Use out_of_sample='kfold' (or 'auto'), or the default engine.",
                UserWarning,
                stacklevel=4,
            )
        return self.out_of_sample

    def _poorly_out_of_bag(self, groups: np.ndarray) -> float:
        """Share of rows that can expect fewer than 3 trees whose bootstrap leaves them out."""
        n_rows = len(groups)
        group_size = np.bincount(groups)[groups]
        draws = bootstrap_size(self._max_samples(n_rows), n_rows)
        expected_trees = self.n_trees * (1.0 - group_size / n_rows) ** draws
        poorly = expected_trees < 3
        share = float(np.mean(poorly))
        if share > 0:
            twins = float(np.mean(poorly & (group_size > 1)))
            self._log(
                f"{share:.1%} of the rows can expect fewer than 3 of the {self.n_trees} trees to "
                f"leave them out of the bag ({twins:.1%} of the rows have identical twins that "
                "keep them in it)"
            )
        return share

    def _make_folds(self, groups, target: Target, rng):
        if self.out_of_sample_ != "kfold":
            return None
        return self._assign_folds(groups, target, rng, "out_of_sample='kfold'")

    def _assign_folds(self, groups, target: Target, rng, needed_by: str) -> np.ndarray:
        """``n_folds`` stratified folds, identical rows in one; ``needed_by`` names the user."""
        if groups.max() + 1 < self.n_folds:
            raise ValueError(
                f"{needed_by} needs at least n_folds={self.n_folds} distinct samples, "
                f"got {groups.max() + 1}."
            )
        return assign_folds(groups, self.n_folds, rng, target.codes)

    def _encode_categorical(self, X, *, reset: bool):
        """X with its categorical features as category codes; fit records the categories."""
        if reset:
            columns = fit_categorical_columns(X, self.categorical_features)
            self.is_categorical_ = None if columns is None else columns.is_categorical
            self.categories_ = [] if columns is None else columns.categories
        # Models saved before categorical features existed have none.
        if getattr(self, "is_categorical_", None) is None:
            return X
        if not reset:
            # Columns are encoded by position: names in another order must fail first.
            _check_feature_names(self, X, reset=False)
        return encode_categorical_columns(
            X, CategoricalColumns(self.is_categorical_, self.categories_)
        )

    def _log(self, message: str) -> None:
        if self.verbose:
            print(f"[deepforest] {message}", file=sys.stderr, flush=True)

    # -------------------------------------------------------------- predict
    def _validated_features(self, X) -> np.ndarray:
        """X checked against the fitted features, categorical columns as their codes."""
        check_is_fitted(self, "layers_")
        mask = getattr(self, "is_categorical_", None)
        numeric = np.ones(self.n_features_in_, dtype=bool) if mask is None else ~mask
        with _text_hint(X, numeric):
            X = self._encode_categorical(X, reset=False)
            return validate_data(
                self,
                X,
                reset=False,
                dtype=[np.float64, np.float32, np.uint8],
                ensure_all_finite="allow-nan",
            )

    def _final_outputs(self, X) -> np.ndarray:
        """Pass X through the kept layers; return the averaged or final-predictor output."""
        X = self._validated_features(X)
        batches = [
            self._final_outputs_batch(X[start : start + PREDICT_BATCH_ROWS])
            for start in range(0, X.shape[0], PREDICT_BATCH_ROWS)
        ]
        return np.concatenate(batches, axis=0)

    def _final_outputs_batch(self, X) -> np.ndarray:
        X_binned = self._binner.transform(X)
        output = self._cascade_outputs(X_binned)
        booster = getattr(self, "booster_", None)  # files saved before the stage have none
        if booster is None:
            return output
        boosted = boosted_output(
            booster,
            X_binned,
            output.reshape(len(X_binned), -1),
            self._is_classifier,
            self.booster_smoothing_,
            n_jobs=self.n_jobs,
        )
        return boosted.reshape(output.shape)

    def _cascade_outputs(self, X_binned: np.ndarray) -> np.ndarray:
        """The cascade's output before the boosting stage."""
        thresholds = getattr(self, "screening_thresholds_", None)
        if thresholds is None:
            # Only the last layer's outputs are used; the deque keeps no earlier one alive.
            outputs = deque(self._layer_outputs(X_binned), maxlen=1)[0]
            return self._last_layer_output(X_binned, outputs)
        # Confidence screening: rows leave at the first layer that is confident enough.
        final = None
        active = np.arange(X_binned.shape[0])
        features = X_binned
        for index, layer in enumerate(self.layers_):
            outputs = layer.outputs(self._layer_input(features), self.n_jobs)
            if index + 1 == len(self.layers_):
                break
            mean_output = layer.combine(outputs)
            if final is None:
                final = np.empty((X_binned.shape[0], mean_output.shape[1]))
            screened = mean_output.max(axis=1) > thresholds[index]
            final[active[screened]] = mean_output[screened]
            active, outputs = active[~screened], [output[~screened] for output in outputs]
            features = _augment(X_binned[active], layer, outputs)
        last = self._last_layer_output(X_binned[active], outputs)
        if final is None:
            return last
        final[active] = last
        return final

    def _last_layer_output(self, X_binned: np.ndarray, outputs: list[np.ndarray]) -> np.ndarray:
        """The prediction from the last kept layer's outputs: their mean, or the predictor's."""
        if self.predictor_ is None:
            output = self.layers_[-1].combine(outputs)
        elif len(X_binned) == 0:
            output = np.empty((0, outputs[0].shape[1]))
        else:
            final_features = _augment(X_binned, self.layers_[-1], outputs)
            if isinstance(self.predictor_, ForestPredictor):
                forest = self.predictor_
                predict = forest.predict_proba if self._is_classifier else forest.predict
                output = predict(final_features)
            else:
                n_outputs = outputs[0].shape[1]
                output = aligned_output(
                    self.predictor_, final_features, n_outputs, self._is_classifier
                )
        if not self._is_classifier and self._single_output:
            return output.reshape(-1)
        return output

    def _layer_outputs(self, X_binned: np.ndarray) -> Iterator[list[np.ndarray]]:
        """Each kept layer's forest outputs on binned rows, layer by layer."""
        features = X_binned
        for index, layer in enumerate(self.layers_):
            outputs = layer.outputs(self._layer_input(features), self.n_jobs)
            yield outputs
            if index + 1 < len(self.layers_):
                features = _augment(X_binned, layer, outputs)

    def _layer_input(self, features: np.ndarray) -> np.ndarray:
        # scikit-learn's trees read float32; the compiled engine reads the bins as they are.
        return features.astype(np.float32) if self.engine_ == "sklearn" else features

    # -------------------------------------------------------------- explain
    def explain(self, X, *, background=None):
        """Per-row feature contributions to the prediction, traced through the layers.

        Each tree's output is split along the row's path into one step per split, credited to
        the split's feature (the expected output of a node weighs its children by the share of
        ``background`` rows going each way). Contributions that reach a layer through the class
        vectors (or predictions) of the layer before are passed back to the original features
        in proportion to their contributions to those vectors, and the boosting stage's
        nonlinear steps (log and softmax, for classes) are shared out the same way, so the sum
        stays exact. See "Explaining a prediction" in the design notes (docs/cascade.md) for
        how this differs from interventional SHAP values.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows to explain.
        background : array-like of shape (n_background, n_features), default=None
            Rows that stand for the data the model sees, such as a sample of the training
            rows; the base value is the output expected over them (for a classifier whose
            boosting stage was kept: the softmax of the expected margins, which is not the
            mean predicted probability). None: X itself, which then needs at least 100 rows.

        Returns
        -------
        shap.Explanation or deepforest.Contributions
            A ``shap.Explanation`` when shap is installed (``shap.plots`` take it as it is),
            else a :class:`~deepforest.Contributions` with the same attributes. ``values`` has
            shape (n_samples, n_features, n_classes) for a classifier, (n_samples, n_features)
            for a single-target regressor; ``base_values + values.sum(axis=1)`` equals
            ``predict_proba(X)`` or ``predict(X)`` to float precision.
        """
        check_is_fitted(self, "layers_")
        check_explainable(self)
        binned = self._binner.transform(self._validated_features(X))
        if background is None:
            if len(binned) < MIN_BACKGROUND_ROWS:
                raise ValueError(
                    f"explain() weighs each split by the rows that reach it, and {len(binned)} "
                    f"rows are too few to stand for the data (at least {MIN_BACKGROUND_ROWS}): "
                    "pass background=, such as a few hundred training rows"
                )
            reference_rows = binned
        else:
            try:
                reference_rows = self._binner.transform(self._validated_features(background))
            except ValueError as error:
                raise ValueError(f"background: {error}") from error
        ref = explain_reference(self, reference_rows)
        n_outputs = self.layers_[0].n_outputs
        widest = self.n_features_in_ + self.n_estimators * len(FOREST_KINDS) * n_outputs
        step = batch_rows(widest, n_outputs)
        parts = [
            cascade_contributions(self, binned[start : start + step], ref)
            for start in range(0, len(binned), step)
        ]
        values = np.concatenate([part[0] for part in parts])
        base_values = np.concatenate([part[1] for part in parts])
        if self._is_classifier:
            output_names = self.classes_.tolist()
        elif self._single_output:
            values, base_values, output_names = values[:, :, 0], base_values[:, 0], None
        else:
            output_names = [f"y{i}" for i in range(values.shape[2])]
        names = getattr(self, "feature_names_in_", None)
        feature_names = (
            [str(name) for name in names]
            if names is not None
            else [f"x{i}" for i in range(self.n_features_in_)]
        )
        data = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
        result = Contributions(values, base_values, data, feature_names, output_names)
        return result.to_shap() if importlib.util.find_spec("shap") else result

    # ------------------------------------------------------------- helpers
    def _forest_settings(self, n_rows: int) -> ForestSettings:
        return ForestSettings(
            is_classifier=self._is_classifier,
            n_trees=self.n_trees,
            max_features=self._max_features(),
            extra_max_features=self._extra_max_features(),
            max_depth=self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            min_weight_fraction_leaf=self.min_weight_fraction_leaf,
            criterion=self.criterion,
            max_samples=self._max_samples(n_rows),
            class_weight=self._class_weight_of_codes(),
            n_jobs=self.n_jobs,
            engine=self.engine_,
        )

    def _max_samples(self, n_rows: int):
        """Rows drawn for each tree: ``max_samples``, with "auto" resolved for ``n_rows``."""
        if self.max_samples != "auto":
            return self.max_samples
        if self._is_classifier or n_rows <= AUTO_REGRESSION_MAX_SAMPLES:
            return None
        return AUTO_REGRESSION_MAX_SAMPLES

    def _max_features(self):
        """Candidate features per split of the random forests."""
        if self.max_features != "auto":
            return self.max_features
        if not self._is_classifier:
            return 1.0
        return None if self.n_features_in_ < NARROW_CLASSIFICATION_FEATURES else "sqrt"

    def _extra_max_features(self):
        """Candidate features per split of the completely-random forests."""
        if self.extra_max_features != "auto":
            return self.extra_max_features
        if not self._is_classifier:
            return EXTRA_MAX_FEATURES_REGRESSION
        return "sqrt" if self.n_features_in_ >= WIDE_CLASSIFICATION_FEATURES else 1

    def _class_weight_of_codes(self):
        """``class_weight`` with a dict's keys turned from the user's labels into class codes.

        The forests train on class codes 0..n_classes-1, not on the labels a dict names.
        """
        class_weight = getattr(self, "class_weight", None)
        if not isinstance(class_weight, dict):
            return class_weight
        labels = self.classes_.tolist()
        unknown = [key for key in class_weight if key not in labels]
        if unknown:
            raise ValueError(
                f"class_weight names classes that are not in y: {unknown}; the classes are {labels}"
            )
        return {
            code: class_weight[label] for code, label in enumerate(labels) if label in class_weight
        }

    @property
    def feature_importances_(self) -> np.ndarray:
        """Impurity-based importance of the input features, averaged over all forests.

        Only the original features count (the class vectors that layers pass on are left out);
        the importances sum to 1.
        """
        check_is_fitted(self, "layers_")
        n_features = self.n_features_in_
        forests = [forest for layer in self.layers_ for forest in layer.forests]
        if not forests:
            raise AttributeError(
                "feature_importances_ comes from the forests, and with n_estimators=0 the "
                "layers hold only layer_estimators: use their own importances "
                "(get_estimator(layer_idx, est_idx, 'custom').models)"
            )
        importances = np.mean(
            [forest.feature_importances_[:n_features] for forest in forests], axis=0
        )
        total = importances.sum()
        return importances / total if total > 0 else importances

    # ------------------------------------------- parameters of layer estimators
    def get_params(self, deep: bool = True) -> dict:
        """Parameters of this estimator, and with ``deep`` of its estimators.

        The layer estimators' parameters appear as ``<name>__<parameter>``, as a
        ``StackingClassifier``'s do, so that ``set_params`` and ``GridSearchCV`` reach them.
        """
        params = super().get_params(deep=deep)
        if not deep:
            return params
        for name, estimator in _named_or_none(self.layer_estimators):
            params[name] = estimator
            if hasattr(estimator, "get_params") and not isinstance(estimator, type):
                for key, value in estimator.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        """Set parameters, including a layer estimator's (``<name>__<parameter>``) or a whole
        layer estimator (``<name>=estimator``)."""
        own = self.get_params(deep=False)
        if "layer_estimators" in params:
            super().set_params(layer_estimators=params.pop("layer_estimators"))
        named = dict(_named_or_none(self.layer_estimators))
        by_estimator: dict[str, dict] = {}
        replaced: dict[str, object] = {}
        rest = {}
        for key, value in params.items():
            head, separator, tail = key.partition("__")
            if head in own or head not in named:
                rest[key] = value
            elif separator:
                by_estimator.setdefault(head, {})[tail] = value
            else:
                replaced[head] = value
        if replaced:
            # A new list: the one the user gave is not modified.
            items = []
            for item, name in zip(self.layer_estimators, named, strict=True):
                if name not in replaced:
                    items.append(item)
                elif isinstance(item, tuple):
                    items.append((name, replaced[name]))
                else:
                    items.append(replaced[name])
            super().set_params(layer_estimators=items)
            named = dict(named_estimators(self.layer_estimators))
        for name, values in by_estimator.items():
            if isinstance(named[name], str):
                raise ValueError(
                    f"the layer estimator {name!r} is given by its name, which has no "
                    f"parameters to set ({sorted(values)}); give an estimator object instead"
                )
            named[name].set_params(**values)
        if rest:
            super().set_params(**rest)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def _named_or_none(layer_estimators) -> list[tuple[str, object]]:
    """The named layer estimators, or none for a value that is not a list (fit refuses it)."""
    if not isinstance(layer_estimators, (list, tuple)):
        return []
    return named_estimators(layer_estimators)


def _augment(X_binned: np.ndarray, layer, outputs: list[np.ndarray], order: str = "C"):
    """The next layer's input: the binned features followed by the layer's binned outputs."""
    vectors = layer.binned_outputs(outputs)
    augmented = np.empty((X_binned.shape[0], X_binned.shape[1] + vectors.shape[1]), np.uint8, order)
    augmented[:, : X_binned.shape[1]] = X_binned
    augmented[:, X_binned.shape[1] :] = vectors
    return augmented


def _raveled(values: np.ndarray) -> np.ndarray:
    """Regression targets as the user gave them: 1-d for one target."""
    return values[:, 0] if values.shape[1] == 1 else values


class CascadeForestClassifier(ClassifierMixin, _BaseCascadeForest):
    """Deep forest (gcForest) cascade classifier.

    Each layer fits pairs of random and completely-random forests; every training sample's
    class vector comes from trees that never trained on it. The next layer sees the original
    features plus those class vectors. Layers are added until a layer's out-of-sample score
    fails to improve significantly on the best so far (a paired test on the same rows); the
    layers up to the best one are kept, and the later ones that are not significantly worse.

    Parameters
    ----------
    n_estimators : int, default=2
        Number of forest pairs per layer; each pair is a random forest and a completely-random
        tree forest. 0 leaves the layers to ``layer_estimators`` alone.
    layer_estimators : list or None, default=None
        Estimators of your own in every layer, beside the forests: scikit-learn estimators
        (HistGradientBoosting, XGBoost, LightGBM, an MLP, a pipeline...), ``(name, estimator)``
        pairs, or the names ``"hist_gb"``, ``"xgboost"`` and ``"lightgbm"`` for ones with
        defaults suited to a layer. Each is cloned and fitted once per fold (``n_folds``
        stratified folds, identical rows in one fold), so that every training row gets the
        output of a model that never saw it; new rows get the mean of the fold models. They
        read the layer's input as the forests do (the bins of the features, then of the
        previous layer's outputs). Their parameters are reached as ``<name>__<parameter>``
        (``get_params``, ``set_params``, ``GridSearchCV``), the name being the lower-cased
        class name unless given.
    n_trees : int, default=100
        Number of trees in each forest.
    max_layers : int, default=20
        Maximum number of cascade layers grown.
    n_tolerant_rounds : int, default=1
        Growth stops after this many layers in a row without an improvement.
    delta : float, default=0.0
        Score gain a layer must exceed, besides ``min_gain_se``, to count as an improvement.
    min_gain_se : float, default=1.645
        A layer improves on the best layer so far only if its score gain exceeds this many
        standard errors of the gain (one-sided 5 % by default). Both layers are scored on the
        out-of-sample outputs of the same training rows, so the gain is a paired difference:
        per row for the default scoring (as in McNemar's test for accuracy), by a paired
        bootstrap for any other ``scoring``.
    max_loss_se : float, default=2.0
        Layers grown after the best one are kept unless their score is below the best by more
        than this many standard errors of the difference. Deeper layers' out-of-sample scores
        understate them (training rows pass on out-of-bag class vectors from about a third of
        the trees, new rows the whole forest's), so a deeper layer that is not clearly worse is
        kept; 0 keeps the layers up to the best one only, ``np.inf`` every layer grown.
    depth_tolerance : float, default="deprecated"
        Deprecated: keeps the layers from the best on whose score is within this of the best
        score, instead of the ``max_loss_se`` rule. Setting it warns.
    max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the random forests. ``"auto"``: every feature below 9
        features (where the square root would leave one or two candidates and the trees would
        split almost at random), the square root from 9 features on.
    extra_max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the completely-random forests, each with one random
        threshold (the best of them is taken); 1 is gcForest's completely-random forest.
        ``"auto"``: for classification 1 below 64 features and ``"sqrt"`` from 64 on (images),
        for regression half the features (chosen on the benchmark panel, docs/benchmarks.md).
    max_depth : int or None, default=None
        Maximum depth of every tree.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split, as in scikit-learn's forests (a float is a
        share of the training samples).
    min_samples_leaf : "auto", int or float, default="auto"
        Minimum number of samples in a leaf. ``"auto"`` picks it from 1, 2, 4, 8 and 16 by the
        out-of-bag score of a small probe forest on the input features: one sample per leaf suits
        clean data, larger leaves suit noisy data, where fully grown trees would also hand the
        next layer misleading class vectors. The choice is in ``min_samples_leaf_``.
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of a tree's training weight (bootstrap counts times sample and class
        weights) that a leaf may hold, as in scikit-learn's forests.
    max_samples : int, float, "auto" or None, default="auto"
        Bootstrap size of every tree (None: as many as training samples). Smaller is faster.
        ``"auto"`` draws every row's worth for classification, and for regression at most
        8192 rows a tree: on large regression tables the boosting stage makes up what smaller
        trees miss, and the model shrinks with the rows drawn.
    out_of_sample : {"auto", "oob", "kfold"}, default="auto"
        How the training samples' class vectors are made: ``"oob"`` averages the trees whose
        bootstrap left the sample out (one fit per forest); ``"kfold"`` shares each forest's
        trees out among ``n_folds`` models that each skip one fold (gcForest's scheme, with the
        trees split rather than repeated, so it costs one forest's worth of trees); rows that are
        identical after binning stay in one fold. ``"auto"`` is ``"oob"``, or ``"kfold"`` when
        sample or class weights are given (a heavily weighted row would hardly ever be out of
        bag) or when more than 5% of the rows can expect fewer than 3 trees to leave them out
        of the bag (rows with many identical twins, or ``n_trees`` of 8 or fewer); it stays
        ``"oob"`` with fewer distinct rows than ``n_folds``. The choice is in
        ``out_of_sample_``.
    n_folds : int, default=3
        Number of folds for ``out_of_sample="kfold"``.
    n_bins : int, default=255
        Quantile bins per feature (at most 255); missing values get a bin of their own.
    bin_subsample : int or None, default=200_000
        Rows used to fit the bin edges (None: all).
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
            default="from_dtype"
        Which features are categorical. ``"from_dtype"``: the columns of a DataFrame with
        ``category`` dtype, pandas' string dtype, or object dtype holding only strings (arrays
        have none). Otherwise a boolean mask, positions, or column names, as in
        HistGradientBoosting. Each category gets a code and a bin of its own (neighbouring codes
        share bins past ``n_bins`` categories); missing values, and categories unseen in fit,
        go to the missing-value bin. None refuses text columns.
    scoring : str, callable or None, default=None
        How a layer is scored on out-of-sample outputs: None for accuracy, or any
        scikit-learn scorer name or callable ``scorer(estimator, X, y)``.
    predictor : {None, "forest", "xgboost", "lightgbm"} or estimator, default=None
        Optional final predictor trained on the last kept layer's augmented features: a name,
        or any scikit-learn estimator (cloned, never fitted itself).
    predictor_params : dict or None, default=None
        Parameters overriding the final predictor's defaults.
    use_predictor : bool or None, default=None
        Deep-Forest 0.1.7's switch: True fits ``predictor`` (``"forest"`` if it is None), False
        fits none whatever ``predictor`` says; None (the default) fits ``predictor`` if given.
    predictor_kwargs : dict or None, default=None
        Deep-Forest 0.1.7's name for ``predictor_params`` (give one or the other).
    boost_rounds : "auto" or int, default="auto"
        Rounds of the boosting stage: shallow trees, grown on the input features, that fit what
        the cascade's output missed (squared error on the targets for regression, the log loss
        of the class margins for classification; one tree per round, a leaf value per class),
        started from the last kept layer's out-of-sample output of every training row, so that
        they learn from the cascade's errors on rows it did not train on. ``"auto"`` chooses the
        count on the training rows alone: boosters grown on 5 folds (identical rows in one fold)
        are scored on the fold they left out, the round with the lowest mean held-out loss is
        taken (times 5/4, for the final booster's larger training set), and the stage is dropped
        when it would lower the out-of-sample score. 0: no stage. Not with a final
        ``predictor`` (its output on its training rows is not out of sample): ``"auto"`` then
        skips the stage and a count is refused. What the stage added is in
        ``history_["boosting"]``.
    boost_learning_rate : float, default=0.1
        Shrinkage of every boosted tree's leaf values.
    boost_max_depth : int, default=3
        Depth of the boosted trees (1 to 8).
    spill_dir : str, path or None, default=None
        Directory to write each fitted layer to as soon as it is fitted ("partial mode", for
        models larger than memory); only one layer's forests are in memory at a time. The files
        must stay there as long as the model is used (a pickle refers to them). A new
        directory is made for the owner only; one that others may write into is refused. The
        files hold arrays (or skops data), checked against their digest before they are read.
    engine : {"auto", "numba", "sklearn"}, default="auto"
        Which trees the forests grow. ``"numba"``: the compiled engine of this package, which
        grows trees on the binned data as it is, scores out-of-bag rows while it grows them and
        stores forests as compact arrays. ``"sklearn"``: scikit-learn's forests, the reference
        the compiled engine is tested against (several times slower, larger models).
        ``"auto"`` is ``"numba"``, or ``"sklearn"`` for ``criterion="absolute_error"``, which
        only scikit-learn offers. The choice is in ``engine_``.
    n_jobs : int or None, default=None
        Parallel jobs for growing trees and predicting (-1: all cores). Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Controls binning, fold assignment and every forest.
    verbose : int, default=0
        If positive, print one line per layer (index, score, seconds) to stderr, and, when
        stderr is a terminal, a progress bar during each long step (the leaf-size probe, each
        layer's trees, the boosting stage's rounds).
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Split quality measure of the trees.
    class_weight : "balanced", "balanced_subsample", dict or None, default=None
        Class weights, passed to every forest.
    confidence_screening : bool, default=False
        Confidence screening (Pang et al., ICDM 2018): after each layer, the rows whose
        out-of-sample class vector is confident enough take that layer's prediction as final,
        and only the others train and pass through the following layers. The threshold is chosen
        per layer from the out-of-sample outputs: a row leaves when the rows around its
        confidence are at least as accurate as the layer is on all its rows. Faster later
        layers, smaller models; see docs/cascade.md for its measured cost in accuracy.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    layers_ : list of Layer
        The kept layers, up to the best one.
    n_layers_ : int
        Number of kept layers.
    min_samples_leaf_ : int or float
        The leaf size used (chosen by the probe when ``min_samples_leaf="auto"``).
    leaf_size_scores_ : dict
        Out-of-bag probe score of each leaf size tried (empty unless ``"auto"``).
    out_of_sample_ : str
        The scheme used for out-of-sample class vectors, ``"oob"`` or ``"kfold"``.
    engine_ : {"numba", "sklearn"}
        The engine that grew the forests.
    best_layer_ : int
        Index of the best layer: the last one that significantly improved on those before it.
    best_score_ : float
        The best layer's out-of-sample score.
    history_ : dict of list
        For every grown layer, kept or not: ``"score"`` and its standard error ``"score_se"``,
        ``"gain"`` over the best layer before it and its standard error ``"gain_se"`` (NaN for
        the first layer), and ``"fit_time"`` (seconds). With the boosting stage,
        ``"boosting"`` is a dict: ``"rounds"`` taken, ``"searched_rounds"`` (the search's best
        on 5 folds), ``"smoothing"``, ``"score_before"`` (the last kept layer's out-of-sample
        score) and ``"score_after"`` (the boosted held-out score of the search; None for a given
        count), the held-out ``"loss_before"`` and ``"loss_after"``, and ``"fit_time"``.
    predictor_ : estimator or None
        The fitted final predictor.
    booster_ : BinnedForest or None
        The boosting stage's trees, a tree per round whose leaves hold a value per class (or
        target); None without a stage.
    booster_smoothing_ : float
        Share of the uniform distribution mixed into the class vectors before their log starts
        the boosting stage (chosen by the out-of-sample log loss; 0 for regression).
    screening_thresholds_ : ndarray of shape (n_layers_,)
        With ``confidence_screening``: the confidence above which rows leave at each kept
        layer (``inf`` for the last one, and where none leaves).
    screened_share_ : ndarray of shape (n_layers_,)
        With ``confidence_screening``: the share of the training rows that left at each layer.
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances of the input features.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.
    is_categorical_ : ndarray of shape (n_features_in_,) of bool, or None
        Which features were categorical; None if none were.
    categories_ : list of ndarray
        The categories of each categorical feature, in code order.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from deepforest import CascadeForestClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> model = CascadeForestClassifier(n_trees=20, random_state=0).fit(X, y)
    >>> model.predict(X[:3])
    array([0, 0, 0])
    """

    _parameter_constraints: dict = {
        **_BaseCascadeForest._parameter_constraints,
        "criterion": [StrOptions({"gini", "entropy", "log_loss"})],
        "class_weight": [StrOptions({"balanced", "balanced_subsample"}), dict, None],
        "confidence_screening": ["boolean"],
    }
    _is_classifier = True

    def __init__(
        self,
        *,
        n_estimators: int = 2,
        layer_estimators: list | None = None,
        n_trees: int = 100,
        max_layers: int = 20,
        n_tolerant_rounds: int = 1,
        delta: float = 0.0,
        min_gain_se: float = 1.645,
        max_loss_se: float = 2.0,
        depth_tolerance="deprecated",
        max_features="auto",
        extra_max_features="auto",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float | str = "auto",
        min_weight_fraction_leaf: float = 0.0,
        max_samples="auto",
        out_of_sample: str = "auto",
        n_folds: int = 3,
        n_bins: int = 255,
        bin_subsample: int | None = 200_000,
        categorical_features="from_dtype",
        scoring=None,
        predictor=None,
        predictor_params: dict | None = None,
        use_predictor: bool | None = None,
        predictor_kwargs: dict | None = None,
        boost_rounds: int | str = "auto",
        boost_learning_rate: float = 0.1,
        boost_max_depth: int = 3,
        spill_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
        criterion: str = "gini",
        class_weight=None,
        confidence_screening: bool = False,
    ):
        self.n_estimators = n_estimators
        self.layer_estimators = layer_estimators
        self.n_trees = n_trees
        self.max_layers = max_layers
        self.n_tolerant_rounds = n_tolerant_rounds
        self.delta = delta
        self.min_gain_se = min_gain_se
        self.max_loss_se = max_loss_se
        self.depth_tolerance = depth_tolerance
        self.max_features = max_features
        self.extra_max_features = extra_max_features
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_samples = max_samples
        self.out_of_sample = out_of_sample
        self.n_folds = n_folds
        self.n_bins = n_bins
        self.bin_subsample = bin_subsample
        self.categorical_features = categorical_features
        self.scoring = scoring
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.use_predictor = use_predictor
        self.predictor_kwargs = predictor_kwargs
        self.boost_rounds = boost_rounds
        self.boost_learning_rate = boost_learning_rate
        self.boost_max_depth = boost_max_depth
        self.spill_dir = spill_dir
        self.engine = engine
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.criterion = criterion
        self.class_weight = class_weight
        self.confidence_screening = confidence_screening

    def fit(self, X, y, sample_weight=None) -> CascadeForestClassifier:
        """Grow the cascade on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels (strings, integers or booleans).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by every forest and by the layer scores.

        Returns
        -------
        self : CascadeForestClassifier
            The fitted estimator.
        """
        validate_params(self)
        return self._fit(X, y, sample_weight)

    def _encode_target(self, y) -> Target:
        self.classes_, y_codes = encode_class_labels(y, "CascadeForestClassifier")
        return Target.classes(y_codes, len(self.classes_))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the samples in X, columns in the order of ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        return self._final_outputs(X)

    def predict(self, X) -> np.ndarray:
        """Most probable class of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class CascadeForestRegressor(RegressorMixin, _BaseCascadeForest):
    """Deep forest (gcForest) cascade regressor.

    Each layer fits pairs of random and completely-random forests; every training sample's
    prediction comes from trees that never trained on it, and the next layer sees the original
    features plus those predictions. Layers are added until the out-of-sample score stops
    improving. Several target columns (multi-output regression) are supported.

    Parameters
    ----------
    n_estimators : int, default=2
        Number of forest pairs per layer; each pair is a random forest and a completely-random
        tree forest. 0 leaves the layers to ``layer_estimators`` alone.
    layer_estimators : list or None, default=None
        Estimators of your own in every layer, beside the forests: scikit-learn estimators
        (HistGradientBoosting, XGBoost, LightGBM, an MLP, a pipeline...), ``(name, estimator)``
        pairs, or the names ``"hist_gb"``, ``"xgboost"`` and ``"lightgbm"`` for ones with
        defaults suited to a layer. Each is cloned and fitted once per fold (``n_folds``
        stratified folds, identical rows in one fold), so that every training row gets the
        output of a model that never saw it; new rows get the mean of the fold models. They
        read the layer's input as the forests do (the bins of the features, then of the
        previous layer's outputs). Their parameters are reached as ``<name>__<parameter>``
        (``get_params``, ``set_params``, ``GridSearchCV``), the name being the lower-cased
        class name unless given.
    n_trees : int, default=100
        Number of trees in each forest.
    max_layers : int, default=20
        Maximum number of cascade layers grown.
    n_tolerant_rounds : int, default=1
        Growth stops after this many layers in a row without an improvement.
    delta : float, default=0.0
        Score gain a layer must exceed, besides ``min_gain_se``, to count as an improvement.
    min_gain_se : float, default=1.645
        A layer improves on the best layer so far only if its score gain exceeds this many
        standard errors of the gain (one-sided 5 % by default). Both layers are scored on the
        out-of-sample outputs of the same training rows, so the gain is a paired difference:
        per row for the default scoring (as in McNemar's test for accuracy), by a paired
        bootstrap for any other ``scoring``.
    max_loss_se : float, default=2.0
        Layers grown after the best one are kept unless their score is below the best by more
        than this many standard errors of the difference. Deeper layers' out-of-sample scores
        understate them (training rows pass on out-of-bag class vectors from about a third of
        the trees, new rows the whole forest's), so a deeper layer that is not clearly worse is
        kept; 0 keeps the layers up to the best one only, ``np.inf`` every layer grown.
    depth_tolerance : float, default="deprecated"
        Deprecated: keeps the layers from the best on whose score is within this of the best
        score, instead of the ``max_loss_se`` rule. Setting it warns.
    max_features : int, float, {"sqrt", "log2"}, "auto" or None, default=1.0
        Candidate features per split of the random forests: all of them by default, as
        scikit-learn's ``RandomForestRegressor`` (``"auto"`` means the same for regression).
        Measured on seven regression tables (``benchmarks/regression_defaults.py``): R² 0.91
        against 0.84 with ``"sqrt"`` on a 10,000-row loans table with 137 features, and at
        least a 400-tree random forest's R² on six small tables. ``"sqrt"`` fits faster on
        wide tables. The completely-random forests draw ``extra_max_features``.
    extra_max_features : "auto", int, float, {"sqrt", "log2"} or None, default="auto"
        Candidate features per split of the completely-random forests, each with one random
        threshold (the best of them is taken); 1 is gcForest's completely-random forest.
        ``"auto"``: for classification 1 below 64 features and ``"sqrt"`` from 64 on (images),
        for regression half the features (chosen on the benchmark panel, docs/benchmarks.md).
    max_depth : int or None, default=None
        Maximum depth of every tree.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split, as in scikit-learn's forests (a float is a
        share of the training samples).
    min_samples_leaf : "auto", int or float, default="auto"
        Minimum number of samples in a leaf. ``"auto"`` picks it from 1, 2, 4, 8 and 16 by the
        out-of-bag score of a small probe forest on the input features: one sample per leaf suits
        clean data, larger leaves suit noisy data, where fully grown trees would also hand the
        next layer misleading class vectors. The choice is in ``min_samples_leaf_``.
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of a tree's training weight (bootstrap counts times sample and class
        weights) that a leaf may hold, as in scikit-learn's forests.
    max_samples : int, float, "auto" or None, default="auto"
        Bootstrap size of every tree (None: as many as training samples). Smaller is faster.
        ``"auto"`` draws every row's worth for classification, and for regression at most
        8192 rows a tree: on large regression tables the boosting stage makes up what smaller
        trees miss, and the model shrinks with the rows drawn.
    out_of_sample : {"auto", "oob", "kfold"}, default="auto"
        How the training samples' class vectors are made: ``"oob"`` averages the trees whose
        bootstrap left the sample out (one fit per forest); ``"kfold"`` shares each forest's
        trees out among ``n_folds`` models that each skip one fold (gcForest's scheme, with the
        trees split rather than repeated, so it costs one forest's worth of trees); rows that are
        identical after binning stay in one fold. ``"auto"`` is ``"oob"``, or ``"kfold"`` when
        sample or class weights are given (a heavily weighted row would hardly ever be out of
        bag) or when more than 5% of the rows can expect fewer than 3 trees to leave them out
        of the bag (rows with many identical twins, or ``n_trees`` of 8 or fewer); it stays
        ``"oob"`` with fewer distinct rows than ``n_folds``. The choice is in
        ``out_of_sample_``.
    n_folds : int, default=3
        Number of folds for ``out_of_sample="kfold"``.
    n_bins : int, default=255
        Quantile bins per feature (at most 255); missing values get a bin of their own.
    bin_subsample : int or None, default=200_000
        Rows used to fit the bin edges (None: all).
    categorical_features : "from_dtype", array-like of bool, int or str, or None, \
            default="from_dtype"
        Which features are categorical. ``"from_dtype"``: the columns of a DataFrame with
        ``category`` dtype, pandas' string dtype, or object dtype holding only strings (arrays
        have none). Otherwise a boolean mask, positions, or column names, as in
        HistGradientBoosting. Each category gets a code and a bin of its own (neighbouring codes
        share bins past ``n_bins`` categories); missing values, and categories unseen in fit,
        go to the missing-value bin. None refuses text columns.
    scoring : str, callable or None, default=None
        How a layer is scored on out-of-sample outputs: None for R², or any
        scikit-learn scorer name or callable ``scorer(estimator, X, y)``.
    predictor : {None, "forest", "xgboost", "lightgbm"} or estimator, default=None
        Optional final predictor trained on the last kept layer's augmented features: a name,
        or any scikit-learn estimator (cloned, never fitted itself).
    predictor_params : dict or None, default=None
        Parameters overriding the final predictor's defaults.
    use_predictor : bool or None, default=None
        Deep-Forest 0.1.7's switch: True fits ``predictor`` (``"forest"`` if it is None), False
        fits none whatever ``predictor`` says; None (the default) fits ``predictor`` if given.
    predictor_kwargs : dict or None, default=None
        Deep-Forest 0.1.7's name for ``predictor_params`` (give one or the other).
    boost_rounds : "auto" or int, default="auto"
        Rounds of the boosting stage: shallow trees, grown on the input features, that fit what
        the cascade's output missed (squared error on the targets for regression, the log loss
        of the class margins for classification; one tree per round, a leaf value per class),
        started from the last kept layer's out-of-sample output of every training row, so that
        they learn from the cascade's errors on rows it did not train on. ``"auto"`` chooses the
        count on the training rows alone: boosters grown on 5 folds (identical rows in one fold)
        are scored on the fold they left out, the round with the lowest mean held-out loss is
        taken (times 5/4, for the final booster's larger training set), and the stage is dropped
        when it would lower the out-of-sample score. 0: no stage. Not with a final
        ``predictor`` (its output on its training rows is not out of sample): ``"auto"`` then
        skips the stage and a count is refused. What the stage added is in
        ``history_["boosting"]``.
    boost_learning_rate : float, default=0.1
        Shrinkage of every boosted tree's leaf values.
    boost_max_depth : int, default=3
        Depth of the boosted trees (1 to 8).
    spill_dir : str, path or None, default=None
        Directory to write each fitted layer to as soon as it is fitted ("partial mode", for
        models larger than memory); only one layer's forests are in memory at a time. The files
        must stay there as long as the model is used (a pickle refers to them). A new
        directory is made for the owner only; one that others may write into is refused. The
        files hold arrays (or skops data), checked against their digest before they are read.
    engine : {"auto", "numba", "sklearn"}, default="auto"
        Which trees the forests grow. ``"numba"``: the compiled engine of this package, which
        grows trees on the binned data as it is, scores out-of-bag rows while it grows them and
        stores forests as compact arrays. ``"sklearn"``: scikit-learn's forests, the reference
        the compiled engine is tested against (several times slower, larger models).
        ``"auto"`` is ``"numba"``, or ``"sklearn"`` for ``criterion="absolute_error"``, which
        only scikit-learn offers. The choice is in ``engine_``.
    n_jobs : int or None, default=None
        Parallel jobs for growing trees and predicting (-1: all cores). Results do not depend on
        it.
    random_state : int, RandomState instance or None, default=None
        Controls binning, fold assignment and every forest.
    verbose : int, default=0
        If positive, print one line per layer (index, score, seconds) to stderr, and, when
        stderr is a terminal, a progress bar during each long step (the leaf-size probe, each
        layer's trees, the boosting stage's rounds).
    criterion : {"squared_error", "absolute_error", "friedman_mse", "poisson"}, \
default="squared_error"
        Split quality measure of the trees.

    Attributes
    ----------
    layers_ : list of Layer
        The kept layers, up to the best one.
    n_layers_ : int
        Number of kept layers.
    min_samples_leaf_ : int or float
        The leaf size used (chosen by the probe when ``min_samples_leaf="auto"``).
    leaf_size_scores_ : dict
        Out-of-bag probe score of each leaf size tried (empty unless ``"auto"``).
    out_of_sample_ : str
        The scheme used for out-of-sample class vectors, ``"oob"`` or ``"kfold"``.
    engine_ : {"numba", "sklearn"}
        The engine that grew the forests.
    best_layer_ : int
        Index of the best layer: the last one that significantly improved on those before it.
    best_score_ : float
        The best layer's out-of-sample score.
    history_ : dict of list
        For every grown layer, kept or not: ``"score"`` and its standard error ``"score_se"``,
        ``"gain"`` over the best layer before it and its standard error ``"gain_se"`` (NaN for
        the first layer), ``"fit_time"`` (seconds), and ``"mae"``, the layer's out-of-sample
        mean absolute error (the score is R² unless ``scoring`` says otherwise). With the
        boosting stage, ``"boosting"`` is a dict: ``"rounds"`` taken, ``"searched_rounds"`` (the
        search's best on 5 folds), ``"score_before"`` (the last kept layer's out-of-sample
        score) and ``"score_after"`` (the boosted held-out score of the search; None for a given
        count), the held-out ``"loss_before"`` and ``"loss_after"``, and ``"fit_time"``.
    predictor_ : estimator or None
        The fitted final predictor.
    booster_ : BinnedForest or None
        The boosting stage's trees, a tree per round whose leaves hold a value per class (or
        target); None without a stage.
    booster_smoothing_ : float
        Share of the uniform distribution mixed into the class vectors before their log starts
        the boosting stage (chosen by the out-of-sample log loss; 0 for regression).
    feature_importances_ : ndarray of shape (n_features_in_,)
        Impurity-based importances of the input features.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X had string column names.
    is_categorical_ : ndarray of shape (n_features_in_,) of bool, or None
        Which features were categorical; None if none were.
    categories_ : list of ndarray
        The categories of each categorical feature, in code order.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from deepforest import CascadeForestRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> model = CascadeForestRegressor(n_trees=20, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints: dict = {
        **_BaseCascadeForest._parameter_constraints,
        "criterion": [StrOptions({"squared_error", "absolute_error", "friedman_mse", "poisson"})],
    }

    def __init__(
        self,
        *,
        n_estimators: int = 2,
        layer_estimators: list | None = None,
        n_trees: int = 100,
        max_layers: int = 20,
        n_tolerant_rounds: int = 1,
        delta: float = 0.0,
        min_gain_se: float = 1.645,
        max_loss_se: float = 2.0,
        depth_tolerance="deprecated",
        max_features=1.0,
        extra_max_features="auto",
        max_depth: int | None = None,
        min_samples_split: int | float = 2,
        min_samples_leaf: int | float | str = "auto",
        min_weight_fraction_leaf: float = 0.0,
        max_samples="auto",
        out_of_sample: str = "auto",
        n_folds: int = 3,
        n_bins: int = 255,
        bin_subsample: int | None = 200_000,
        categorical_features="from_dtype",
        scoring=None,
        predictor=None,
        predictor_params: dict | None = None,
        use_predictor: bool | None = None,
        predictor_kwargs: dict | None = None,
        boost_rounds: int | str = "auto",
        boost_learning_rate: float = 0.1,
        boost_max_depth: int = 3,
        spill_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        n_jobs: int | None = None,
        random_state=None,
        verbose: int = 0,
        criterion: str = "squared_error",
    ):
        self.n_estimators = n_estimators
        self.layer_estimators = layer_estimators
        self.n_trees = n_trees
        self.max_layers = max_layers
        self.n_tolerant_rounds = n_tolerant_rounds
        self.delta = delta
        self.min_gain_se = min_gain_se
        self.max_loss_se = max_loss_se
        self.depth_tolerance = depth_tolerance
        self.max_features = max_features
        self.extra_max_features = extra_max_features
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_samples = max_samples
        self.out_of_sample = out_of_sample
        self.n_folds = n_folds
        self.n_bins = n_bins
        self.bin_subsample = bin_subsample
        self.categorical_features = categorical_features
        self.scoring = scoring
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.use_predictor = use_predictor
        self.predictor_kwargs = predictor_kwargs
        self.boost_rounds = boost_rounds
        self.boost_learning_rate = boost_learning_rate
        self.boost_max_depth = boost_max_depth
        self.spill_dir = spill_dir
        self.engine = engine
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.criterion = criterion

    def fit(self, X, y, sample_weight=None) -> CascadeForestRegressor:
        """Grow the cascade on training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, used by every forest and by the layer scores.

        Returns
        -------
        self : CascadeForestRegressor
            The fitted estimator.
        """
        validate_params(self)
        return self._fit(X, y, sample_weight)

    def _encode_target(self, y) -> Target:
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it was raveled.",
                DataConversionWarning,
                stacklevel=3,
            )
            y = column_or_1d(y)
        self._single_output = y.ndim == 1
        largest = float(np.max(np.abs(y))) if y.size else 0.0
        if largest > np.finfo(np.float32).max:
            raise ValueError(
                f"y holds values as large as {largest:.3g}: the trees store their outputs as "
                f"float32, at most {np.finfo(np.float32).max:.3g}; rescale y"
            )
        return Target.regression(y)

    def predict(self, X) -> np.ndarray:
        """Predicted targets of the samples in X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        return self._final_outputs(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
