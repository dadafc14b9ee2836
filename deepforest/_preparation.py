"""Preparing a cascade's fit: validated and binned rows, the resolved settings, the leaf size.

:func:`prepare` turns what ``fit`` was given into a :class:`TrainingData` that every stage of
the fit reads; :func:`validated_features` checks rows at predict time the same way. The
``"auto"`` defaults of the forests' settings are resolved here, from the panel's evidence.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core.binning import QuantileBinner
from ._core.categorical import (
    CategoricalColumns,
    encode_categorical_columns,
    fit_categorical_columns,
)
from ._core.folds import assign_folds, duplicate_groups, out_of_sample_scheme
from ._core.forests import ForestSettings, Target, bootstrap_size, resolve_engine
from ._core.id_columns import IdLikeColumnWarning, id_like_columns
from ._core.layer_estimators import check_layer_estimators
from ._core.leaf_size import LEAF_SIZE_CANDIDATES, PROBE_TREES, choose_min_samples_leaf
from ._core.memory import MemoryEstimate, available_memory, estimate_memory, memory_advice
from ._core.progress import progress
from ._core.spill import check_spill_directory
from ._private_imports import _check_feature_names, _check_sample_weight

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

# The parameters that shrink a model, as a memory warning names them.
PARAMETER_REMEDIES = {
    "max_samples": "max_samples",
    "min_samples_leaf": "min_samples_leaf",
    "n_trees": "n_trees",
    "spill_dir": "spill_dir",
}
# Read as they are, memmaps included, rather than copied to float64.
INPUT_DTYPES = [np.float64, np.float32, np.uint8]


@dataclasses.dataclass
class TrainingData:
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


def prepare(model, X, y, sample_weight) -> TrainingData:
    """Validate and bin the data, choose the out-of-sample scheme and the leaf size.

    Sets the fitted attributes that describe the input (``n_features_in_``, the categories,
    ``engine_``, the binner, ``out_of_sample_``, ``min_samples_leaf_``).
    """
    given = X
    X = encode_categorical(model, X, reset=True)
    _warn_of_id_columns(given, model.is_categorical_)
    if y is not None:
        _check_target_has_no_nan(y)
    is_classifier = model._is_classifier
    with _text_hint():
        X, y = validate_data(
            model,
            X,
            y,
            dtype=INPUT_DTYPES,
            ensure_all_finite="allow-nan",
            ensure_min_samples=2,
            multi_output=not is_classifier,
            y_numeric=not is_classifier,
        )
    target = model._encode_target(y)
    if sample_weight is not None:
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        _check_weights_usable(sample_weight)
    if model.spill_dir is not None:
        check_spill_directory(model.spill_dir)  # before any work, not after the first layer
    rng = check_random_state(model.random_state)
    model.engine_ = resolve_engine(model.engine, model.criterion)
    model._binner = QuantileBinner(
        model.n_bins, model.bin_subsample, random_state=rng.randint(np.iinfo(np.int32).max)
    ).fit(X)
    X_binned = model._binner.transform(X, n_jobs=model.n_jobs)
    # Rows identical after binning: out of bag they are scored only by trees that drew
    # none of them, and fold-wise they share a fold.
    groups = duplicate_groups(X_binned)
    model.out_of_sample_ = _out_of_sample_scheme(model, sample_weight, groups)
    folds = None
    if model.out_of_sample_ == "kfold":
        folds = _assign_folds(model, groups, target, rng, "out_of_sample='kfold'")
    data = TrainingData(
        X_binned=X_binned,
        target=target,
        # Scores compare the user's labels (classification) or the targets (regression).
        y_scored=y if is_classifier else raveled(target.values),
        sample_weight=sample_weight,
        groups=groups,
        folds=folds,
        settings=forest_settings(model, len(X_binned)),
        rng=rng,
    )
    data.layer_estimators = _named_layer_estimators(model)
    if data.layer_estimators:
        data.estimator_folds = data.folds
        if data.estimator_folds is None:
            data.estimator_folds = _assign_folds(model, groups, target, rng, "layer_estimators")
    _choose_leaf_size(model, data)
    estimate = estimate_fit_memory(
        model, *X_binned.shape, target.n_outputs, model.min_samples_leaf_
    )
    advice = memory_advice(estimate, available_memory(), PARAMETER_REMEDIES)
    if advice is not None:
        warnings.warn(advice, UserWarning, stacklevel=4)
    return data


def _choose_leaf_size(model, data: TrainingData) -> None:
    """Resolve ``min_samples_leaf="auto"`` with the leaf-size probe (``_core.leaf_size``)."""
    model.min_samples_leaf_, model.leaf_size_scores_ = model.min_samples_leaf, {}
    if model.min_samples_leaf == "auto":
        probe_trees = len(LEAF_SIZE_CANDIDATES) * PROBE_TREES
        with progress("leaf-size probe", probe_trees, model.verbose > 0):
            model.min_samples_leaf_, model.leaf_size_scores_ = choose_min_samples_leaf(
                data.settings,
                data.X_binned,
                data.target,
                data.y_scored,
                model.scoring,
                model._classes(),
                data.rng,
                data.groups,
                data.folds,
                data.sample_weight,
            )
        probe = ", ".join(f"{size}: {s:.4f}" for size, s in model.leaf_size_scores_.items())
        model._log(f"min_samples_leaf={model.min_samples_leaf_} (probe scores {probe})")
    data.settings = dataclasses.replace(data.settings, min_samples_leaf=model.min_samples_leaf_)


def regression_target(y: np.ndarray) -> Target:
    """Regression targets as the trees store them, refused when float32 cannot hold them."""
    largest = float(np.max(np.abs(y))) if y.size else 0.0
    if largest > np.finfo(np.float32).max:
        raise ValueError(
            f"y holds values as large as {largest:.3g}: the trees store their outputs as "
            f"float32, at most {np.finfo(np.float32).max:.3g}; rescale y"
        )
    return Target.regression(y)


def estimate_fit_memory(
    model, n_samples: int, n_features: int, n_outputs: int, min_samples_leaf
) -> MemoryEstimate:
    """The fit's and the model's memory with the model's settings (``_core.memory``)."""
    return estimate_memory(
        n_samples=n_samples,
        n_features=n_features,
        n_outputs=n_outputs,
        n_forests=2 * model.n_estimators,
        n_trees=model.n_trees,
        rows_drawn=bootstrap_size(resolved_max_samples(model, n_samples), n_samples),
        min_samples_leaf=min_samples_leaf,
        max_depth=model.max_depth,
        # Every layer grown stays in memory until the fit ends: the best one, typically
        # the second, and the tolerant rounds after it.
        layers_in_memory=model.n_tolerant_rounds + 2,
        is_classifier=model._is_classifier,
        spilled=model.spill_dir is not None,
        boosted=model.boost_rounds != 0,
        boost_max_depth=model.boost_max_depth,
    )


def validated_features(model, X) -> np.ndarray:
    """Rows checked against the fitted features, categorical columns as their codes."""
    check_is_fitted(model, "layers_")
    mask = model.is_categorical_
    numeric = np.ones(model.n_features_in_, dtype=bool) if mask is None else ~mask
    with _text_hint(X, numeric):
        X = encode_categorical(model, X, reset=False)
        return validate_data(
            model, X, reset=False, dtype=INPUT_DTYPES, ensure_all_finite="allow-nan"
        )


def encode_categorical(model, X, *, reset: bool):
    """X with its categorical features as category codes; fit records the categories."""
    if reset:
        columns = fit_categorical_columns(X, model.categorical_features)
        model.is_categorical_ = None if columns is None else columns.is_categorical
        model.categories_ = [] if columns is None else columns.categories
    if model.is_categorical_ is None:
        return X
    if not reset:
        # Columns are encoded by position: names in another order must fail first.
        _check_feature_names(model, X, reset=False)
    return encode_categorical_columns(
        X, CategoricalColumns(model.is_categorical_, model.categories_)
    )


def raveled(values: np.ndarray) -> np.ndarray:
    """Regression targets as the user gave them: 1-d for one target."""
    return values[:, 0] if values.shape[1] == 1 else values


# ----------------------------------------------------------- the forests' resolved settings
def forest_settings(model, n_rows: int) -> ForestSettings:
    """The forests' settings, every "auto" resolved for this table."""
    return ForestSettings(
        is_classifier=model._is_classifier,
        n_trees=model.n_trees,
        max_features=resolved_max_features(model),
        extra_max_features=resolved_extra_max_features(model),
        max_depth=model.max_depth,
        min_samples_split=model.min_samples_split,
        min_samples_leaf=model.min_samples_leaf,
        min_weight_fraction_leaf=model.min_weight_fraction_leaf,
        criterion=model.criterion,
        max_samples=resolved_max_samples(model, n_rows),
        class_weight=class_weight_of_codes(model),
        n_jobs=model.n_jobs,
        engine=model.engine_,
    )


def resolved_max_samples(model, n_rows: int):
    """Rows drawn for each tree: ``max_samples``, with "auto" resolved for ``n_rows``."""
    if model.max_samples != "auto":
        return model.max_samples
    if model._is_classifier or n_rows <= AUTO_REGRESSION_MAX_SAMPLES:
        return None
    return AUTO_REGRESSION_MAX_SAMPLES


def resolved_max_features(model):
    """Candidate features per split of the random forests."""
    if model.max_features != "auto":
        return model.max_features
    if not model._is_classifier:
        return 1.0
    return None if model.n_features_in_ < NARROW_CLASSIFICATION_FEATURES else "sqrt"


def resolved_extra_max_features(model):
    """Candidate features per split of the completely-random forests."""
    if model.extra_max_features != "auto":
        return model.extra_max_features
    if not model._is_classifier:
        return EXTRA_MAX_FEATURES_REGRESSION
    return "sqrt" if model.n_features_in_ >= WIDE_CLASSIFICATION_FEATURES else 1


def class_weight_of_codes(model):
    """``class_weight`` with a dict's keys turned from the user's labels into class codes.

    The forests train on class codes 0..n_classes-1, not on the labels a dict names.
    """
    class_weight = model._class_weight()
    if not isinstance(class_weight, dict):
        return class_weight
    labels = model.classes_.tolist()
    unknown = [key for key in class_weight if key not in labels]
    if unknown:
        raise ValueError(
            f"class_weight names classes that are not in y: {unknown}; the classes are {labels}"
        )
    return {code: class_weight[label] for code, label in enumerate(labels) if label in class_weight}


# ------------------------------------------------------------------------- the scheme
def _out_of_sample_scheme(model, sample_weight, groups) -> str:
    """``_core.folds.out_of_sample_scheme`` for this fit; warns of out of bag with weights
    under scikit-learn's engine, whose bootstrap follows the weights."""
    class_weight = model._class_weight()
    weighted = class_weight not in (None, "balanced_subsample") or (
        sample_weight is not None and np.ptp(sample_weight) > 0
    )
    n_rows = len(groups)
    scheme = out_of_sample_scheme(
        model.out_of_sample,
        groups=groups,
        n_folds=model.n_folds,
        weighted=weighted,
        n_trees=model.n_trees,
        rows_drawn=bootstrap_size(resolved_max_samples(model, n_rows), n_rows),
        log=model._log,
    )
    if model.out_of_sample == "oob" and weighted and model.engine_ == "sklearn":
        warnings.warn(
            "out_of_sample='oob' with sample_weight or class_weight and engine='sklearn': "
            "scikit-learn draws bootstrap samples in proportion to the weights, so heavily "
            "weighted rows are rarely out of bag and their class vectors leak their labels. "
            "Use out_of_sample='kfold' (or 'auto'), or the default engine.",
            UserWarning,
            stacklevel=5,
        )
    return scheme


def _assign_folds(model, groups, target: Target, rng, needed_by: str) -> np.ndarray:
    """``n_folds`` stratified folds, identical rows in one; ``needed_by`` names the user."""
    if groups.max() + 1 < model.n_folds:
        raise ValueError(
            f"{needed_by} needs at least n_folds={model.n_folds} distinct samples, "
            f"got {groups.max() + 1}."
        )
    return assign_folds(groups, model.n_folds, rng, target.codes)


def _named_layer_estimators(model) -> list[tuple[str, object]]:
    named = []
    if model.layer_estimators is not None:
        named = check_layer_estimators(
            model.layer_estimators,
            classification=model._is_classifier,
            reserved=set(model.get_params(deep=False)),
        )
    if not named and model.n_estimators == 0:
        raise ValueError(
            "n_estimators=0 leaves the layers empty: give layer_estimators, or at least "
            "one forest pair"
        )
    return named


# --------------------------------------------------------------------- input checks
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
