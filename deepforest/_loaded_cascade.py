"""Check a cascade a model file rebuilt against its own structure, before it predicts.

A model file says how wide each forest's input is (``n_features_in_``), how many outputs its
leaves hold and which classes there are. A crafted file can state anything, and the compiled
kernels index arrays without checking, so nothing a file declares about a part is believed: the
sizes are derived from the model's structure instead. The input width comes from the binner
(one column per feature the model was fitted on); each layer's input is that plus the outputs
of the layer before; every forest's leaves hold one value per class (or target); the classes
are as many as those outputs. A forest whose split features reach past its real input width
would read outside the rows it is given (a segfault, or silently changed predictions), so its
nodes are checked against that width.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._core.binning import MAX_BINS
from ._core.trees import BinnedForest


class MalformedModelError(ValueError):
    """A model whose parts do not fit together: the file is damaged or was crafted."""


def check_loaded_model(model) -> None:
    """Check every cascade in what a model file rebuilt (an estimator, a pipeline, gcForest).

    Raises
    ------
    MalformedModelError
        Naming the first part that does not fit the model's structure.
    """
    from .cascade import _BaseCascadeForest

    pending, seen = [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, _BaseCascadeForest):
            if hasattr(item, "layers_"):
                check_cascade(item)
            continue
        steps = getattr(item, "steps", None)  # a Pipeline
        if isinstance(steps, list):
            pending.extend(step for _, step in steps if not isinstance(step, str))
        for name in ("cascade_",):  # gcForest's fitted cascade
            if hasattr(item, name):
                pending.append(getattr(item, name))


def check_cascade(cascade) -> None:
    """Check one fitted cascade's parts against the sizes its structure implies."""
    n_features = _positive_int(cascade, "n_features_in_")
    binner = getattr(cascade, "_binner", None)
    edges = getattr(binner, "bin_edges_", None)
    if not isinstance(edges, (list, tuple)) or len(edges) != n_features:
        _refuse(f"its binner has edges for {_count(edges)} columns, the model {n_features}")
    n_bins = getattr(binner, "n_bins", None)
    if not (isinstance(n_bins, numbers.Integral) and 2 <= n_bins <= MAX_BINS):
        _refuse("its binner's bin count is out of range")
    if getattr(binner, "missing_bin_", None) != n_bins:
        _refuse("its binner's bin of missing values is not the last bin")
    for column in edges:
        if not isinstance(column, np.ndarray) or column.ndim != 1 or len(column) >= n_bins:
            _refuse("its binner holds more edges than bins")
        if column.dtype.kind != "f" or np.isnan(column).any() or np.any(np.diff(column) < 0):
            _refuse("its binner's edges are not sorted numbers")
    _check_categories(cascade, n_features)
    layers = getattr(cascade, "layers_", None)
    if not isinstance(layers, list) or not layers:
        _refuse("it holds no layers")
    n_outputs = _outputs(cascade, layers)
    width = n_features
    for index, layer in enumerate(layers):
        forests = list(getattr(layer, "forests", []))
        estimators = tuple(getattr(layer, "estimators", ()))
        for forest in forests:
            if isinstance(forest, BinnedForest):
                _check_forest(forest, width, n_outputs, cascade._is_classifier, f"layer {index}")
        n_members = len(forests) + len(estimators)
        if n_members == 0:
            _refuse(f"layer {index} holds no forests")
        weights = getattr(layer, "output_weights", None)
        if weights is not None and (
            not isinstance(weights, np.ndarray)
            or weights.shape != (n_members,)
            or not np.all(np.isfinite(weights))
        ):
            _refuse(f"layer {index}'s member weights do not match its members")
        output_binner = getattr(layer, "output_binner", None)
        if output_binner is not None:
            bins = getattr(output_binner, "bin_edges_", None)
            if not isinstance(bins, (list, tuple)) or len(bins) != n_members * n_outputs:
                _refuse(f"layer {index}'s output bins do not match its outputs")
        # The next layer reads the features and this layer's outputs (not earlier layers').
        width = n_features + n_members * n_outputs
    booster = getattr(cascade, "booster_", None)
    if booster is not None:
        if not isinstance(booster, BinnedForest) or booster.n_pure != 0:
            _refuse("its boosting stage is not a forest of value leaves")
        _check_forest(booster, n_features, n_outputs, False, "the boosting stage")
        smoothing = getattr(cascade, "booster_smoothing_", None)
        if not (isinstance(smoothing, numbers.Real) and 0.0 <= smoothing <= 1.0):
            _refuse("its boosting stage's smoothing is not a share between 0 and 1")
    thresholds = getattr(cascade, "screening_thresholds_", None)
    if thresholds is not None and np.shape(thresholds) != (len(layers),):
        _refuse("its screening thresholds do not match its layers")


def _check_forest(forest, width: int, n_outputs: int, is_classifier: bool, where: str) -> None:
    if forest.n_features_in_ != width:
        _refuse(f"a forest of {where} declares {forest.n_features_in_} input columns, not {width}")
    values = forest.values
    if not isinstance(values, np.ndarray) or values.ndim != 2 or values.shape[1] != n_outputs:
        _refuse(
            f"a forest of {where} holds leaves of {np.shape(values)[1:]} values, not {n_outputs}"
        )
    if values.dtype.kind != "f" or not np.all(np.isfinite(values)):
        _refuse(f"a forest of {where} holds leaf values that are not finite numbers")
    if forest.n_pure not in ((n_outputs, 0) if is_classifier else (0,)):
        _refuse(f"a forest of {where} has {forest.n_pure} pure classes for {n_outputs} outputs")
    try:
        forest._check_nodes()
    except ValueError as error:
        raise MalformedModelError(str(error)) from None


def _outputs(cascade, layers) -> int:
    n_outputs = getattr(layers[0], "n_outputs", None)
    if not (isinstance(n_outputs, numbers.Integral) and n_outputs >= 1):
        _refuse("its layers' output count is not a positive number")
    if any(getattr(layer, "n_outputs", None) != n_outputs for layer in layers):
        _refuse("its layers disagree on their number of outputs")
    if cascade._is_classifier:
        classes = getattr(cascade, "classes_", None)
        if not isinstance(classes, np.ndarray) or classes.shape != (n_outputs,):
            _refuse(f"it names {_count(classes)} classes for {n_outputs} outputs")
    return int(n_outputs)


def _check_categories(cascade, n_features: int) -> None:
    mask = getattr(cascade, "is_categorical_", None)
    if mask is None:
        return
    if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.shape != (n_features,):
        _refuse("its categorical-column mask does not match its columns")
    categories = getattr(cascade, "categories_", None)
    if not isinstance(categories, list) or len(categories) != int(mask.sum()):
        _refuse("its categories do not match its categorical columns")


def _positive_int(owner, name: str) -> int:
    value = getattr(owner, name, None)
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        _refuse(f"its {name} is not a positive number")
    return int(value)


def _count(items) -> str:
    try:
        return str(len(items))
    except TypeError:
        return "no"


def _refuse(why: str):
    raise MalformedModelError(
        f"the model does not fit together: {why}; the model file is damaged or was not written "
        "by deepforest"
    )
