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

import copy
import math
import numbers

import numpy as np

from ._core.binning import MAX_BINS
from ._core.trees import BinnedForest

# Values per sample a scanner's input may hold (a 4096 x 4096 image of 64 channels).
MAX_INPUT_VALUES = 2**30


class MalformedModelError(ValueError):
    """A model whose parts do not fit together: the file is damaged or was crafted."""


def check_loaded_model(model) -> None:
    """Check every cascade in what a model file rebuilt (an estimator, a pipeline, gcForest).

    Raises
    ------
    MalformedModelError
        Naming the first part that does not fit the model's structure.
    """
    from ._base import _BaseCascadeForest
    from .scanning import MultiGrainScanner

    _check_attribute_names(model)
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
        if isinstance(item, MultiGrainScanner):
            if hasattr(item, "grains_"):
                check_scanner(item)
            continue
        steps = getattr(item, "steps", None)  # a Pipeline
        if isinstance(steps, list):
            pending.extend(step for _, step in steps if not isinstance(step, str))
        pipeline = getattr(item, "pipeline_", None)  # gcForest's: it predicts through it
        if pipeline is not None:
            parts = [step for _, step in getattr(pipeline, "steps", [])]
            if len(parts) != 2 or not isinstance(parts[0], MultiGrainScanner):
                _refuse("its gcForest does not hold a scanner and a cascade")
            if not isinstance(parts[1], _BaseCascadeForest):
                _refuse("its gcForest does not hold a scanner and a cascade")
            _check_scanner_feeds_cascade(*parts)
            pending.extend(parts)


def _check_attribute_names(model) -> None:
    """Refuse an object anywhere in the model whose attribute names are not all text.

    skops rebuilds an object's attributes from a dictionary whose key types the file names; a
    key of another type passes loading and fails far from the file, at predict time.
    """
    pending, seen = [model], set()
    while pending:
        item = pending.pop()
        if id(item) in seen or isinstance(item, (str, bytes, numbers.Number, np.ndarray, type)):
            continue
        seen.add(id(item))
        if isinstance(item, (list, tuple)):
            pending.extend(item)
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif hasattr(item, "__dict__"):
            attributes = vars(item)
            if not all(isinstance(name, str) for name in attributes):
                _refuse(f"its {type(item).__name__} has an attribute name that is not text")
            pending.extend(attributes.values())


def check_cascade(cascade) -> None:
    """Check one fitted cascade's parts against the sizes its structure implies."""
    n_features = _positive_int(cascade, "n_features_in_")
    _check_binner(getattr(cascade, "_binner", None), n_features, "the model")
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
        for estimator in estimators:
            _check_fold_models(estimator, width, n_outputs, cascade._is_classifier, index)
        n_members = len(forests) + len(estimators)
        if n_members == 0:
            _refuse(f"layer {index} holds no forests")
        weights = getattr(layer, "output_weights", None)
        if weights is not None and (
            not isinstance(weights, np.ndarray)
            or weights.shape != (n_members,)
            or weights.dtype.kind != "f"
            or not np.all(np.isfinite(weights))
        ):
            _refuse(f"layer {index}'s member weights do not match its members")
        output_binner = getattr(layer, "output_binner", None)
        if output_binner is not None:
            _check_binner(output_binner, n_members * n_outputs, f"layer {index}'s outputs")
        # The next layer reads the features and this layer's outputs (not earlier layers').
        width = n_features + n_members * n_outputs
    # The final predictor reads what a next layer would: the features and the last outputs.
    if not hasattr(cascade, "predictor_"):
        _refuse("it holds no final predictor, not even None")
    _check_predictor(cascade.predictor_, width, n_outputs, cascade)
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


def check_scanner(scanner) -> None:
    """Check a fitted multi-grained scanner: its windows fit its input, its forests their
    windows, and its output layout is the one its windows imply."""
    from ._core.forests import FOREST_KINDS
    from ._scanning.windows import to_layout

    input_shape = getattr(scanner, "_input_shape", None)
    if not (
        isinstance(input_shape, tuple)
        and 1 <= len(input_shape) <= 3
        and all(isinstance(s, numbers.Integral) and 1 <= s <= MAX_INPUT_VALUES for s in input_shape)
        and np.prod(input_shape, dtype=np.float64) <= MAX_INPUT_VALUES
    ):
        _refuse("its scanner's input shape is not a shape of samples")
    if getattr(scanner, "input_kind_", None) not in ("image", "sequence"):
        _refuse("its scanner's input kind is neither image nor sequence")
    image_shape = getattr(scanner, "image_shape", None)
    try:
        # The layout of one sample, built as transform builds it (np.empty allocates lazily).
        sample = np.empty((1, *input_shape), dtype=np.uint8)
        shape = None if image_shape is None else tuple(image_shape)
        layout, _ = to_layout(sample, scanner.input_kind_, shape)
    except (ValueError, TypeError):
        _refuse("its scanner's input shape does not fit its input kind")
    spatial, channels = layout.shape[1:-1], layout.shape[-1]
    _check_binner(getattr(scanner, "_binner", None), channels, "the scanner's input")
    classes = getattr(scanner, "classes_", None)
    if not isinstance(classes, np.ndarray) or classes.ndim != 1 or len(classes) < 2:
        _refuse("its scanner's classes are not a list of at least two")
    n_classes = len(classes)
    windows, grains = getattr(scanner, "windows_", None), getattr(scanner, "grains_", None)
    if not (isinstance(windows, list) and isinstance(grains, list)) or not windows:
        _refuse("its scanner holds no windows")
    if len(grains) != len(windows):
        _refuse(f"its scanner holds {len(grains)} grains for {len(windows)} windows")
    stride, pooling = getattr(scanner, "stride", None), getattr(scanner, "pooling", None)
    if not (isinstance(stride, numbers.Integral) and stride >= 1):
        _refuse("its scanner's stride is not a positive number")
    if not (
        pooling is None
        or pooling == "auto"
        or (isinstance(pooling, numbers.Integral) and pooling >= 1)
    ):
        _refuse("its scanner's pooling is not a positive number")
    if not isinstance(getattr(scanner, "passthrough", None), bool):
        _refuse("its scanner's passthrough is not True or False")
    for index, (window, grain) in enumerate(zip(windows, grains, strict=True)):
        if not (
            isinstance(window, tuple)
            and len(window) == len(spatial)
            and all(
                isinstance(w, numbers.Integral) and 1 <= w <= s
                for w, s in zip(window, spatial, strict=True)
            )
        ):
            _refuse(f"its scanner's window {index} does not fit its samples")
        where = f"the scanner's window {index}"
        fitted_for = (getattr(grain, "window", None), getattr(grain, "n_classes", None))
        if fitted_for != (window, n_classes):
            _refuse(f"the forests of {where} were not fitted for it")
        forests = getattr(grain, "forests", None)
        if not isinstance(forests, dict) or sorted(forests) != sorted(FOREST_KINDS):
            _refuse(f"{where} does not hold one forest of each kind")
        for forest in forests.values():
            if not isinstance(forest, BinnedForest):
                _refuse(f"{where} holds a forest of another kind")
            _check_forest(forest, math.prod(window) * channels, n_classes, True, where)
    # The output layout, rebuilt from the windows rather than read from the file.
    expected = copy.copy(scanner)
    expected._set_output_layout(spatial)
    if (
        not isinstance(scanner._grids, list)
        or [tuple(grid) for grid in scanner._grids] != [tuple(grid) for grid in expected._grids]
        or not np.array_equal(np.asarray(scanner._offsets), expected._offsets)
        or scanner.n_features_out_ != expected.n_features_out_
    ):
        _refuse("its scanner's output layout is not the one its windows imply")


def _check_scanner_feeds_cascade(scanner, cascade) -> None:
    width = getattr(scanner, "n_features_out_", None)
    if getattr(cascade, "n_features_in_", None) != width:
        _refuse(f"its cascade reads {cascade.n_features_in_} columns, its scanner writes {width}")


def _check_binner(binner, n_columns: int, what: str) -> None:
    edges = getattr(binner, "bin_edges_", None)
    if not isinstance(edges, (list, tuple)) or len(edges) != n_columns:
        _refuse(f"its binner has edges for {_count(edges)} columns, {what} {n_columns}")
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


def _check_fold_models(member, width: int, n_outputs: int, is_classifier: bool, index: int):
    from ._core.layer_estimators import FoldModels

    where = f"layer {index}'s estimator"
    if not isinstance(member, FoldModels):
        _refuse(f"{where} is not a layer estimator's fold models")
    if member.n_outputs != n_outputs or member.classification is not is_classifier:
        _refuse(f"{where} was fitted for another number of outputs or another task")
    models = getattr(member, "models", None)
    if not isinstance(models, list) or not models:
        _refuse(f"{where} holds no fitted models")
    for model in models:
        _check_fitted_model(model, width, is_classifier, where)
        if is_classifier:
            _check_class_codes(model, n_outputs, where)
        _check_predicts_one_row(model, width, n_outputs, is_classifier, where)


def _check_predictor(predictor, width: int, n_outputs: int, cascade) -> None:
    from ._core.predictor import ForestPredictor

    if predictor is None:
        return
    if isinstance(predictor, ForestPredictor):
        forest = getattr(predictor, "forest_", None)
        if not isinstance(forest, BinnedForest):
            _refuse("its final predictor holds no forest")
        _check_forest(forest, width, n_outputs, cascade._is_classifier, "the final predictor")
        return
    _check_fitted_model(predictor, width, cascade._is_classifier, "its final predictor")
    if cascade._is_classifier:
        _check_class_codes(predictor, n_outputs, "its final predictor")
    _check_predicts_one_row(
        predictor, width, n_outputs, cascade._is_classifier, "its final predictor"
    )


def _check_fitted_model(model, width: int, is_classifier: bool, where: str) -> None:
    """A model of another library: it must predict, and read as many columns as it gets."""
    method = "predict_proba" if is_classifier else "predict"
    if not callable(getattr(model, method, None)):
        _refuse(f"{where} is a {type(model).__name__}, which has no {method}")
    declared = getattr(model, "n_features_in_", None)
    if declared is not None and declared != width:
        _refuse(f"{where} reads {declared} columns, not {width}")


def _check_predicts_one_row(model, width: int, n_outputs: int, is_classifier, where) -> None:
    """Predict one row of zeros with a model of another library, or refuse the file.

    The checks here name the problems deepforest's own parts can have; a layer estimator or a
    final predictor of another library holds attributes only that library knows (a
    HistGradientBoosting model whose tree count a file set to -1 failed with "negative
    dimensions" at the user's first prediction). One row finds them as the file loads, without
    running the cascade's own compiled kernels, whose first call would slow every load.
    """
    from ._core.layer_estimators import aligned_output

    try:
        output = aligned_output(model, np.zeros((1, width), np.uint8), n_outputs, is_classifier)
        if not np.all(np.isfinite(output)):
            raise ValueError("its output is not finite")
    except (MemoryError, RecursionError, KeyboardInterrupt):
        raise
    except Exception as error:  # any failure here means the file is bad
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:200]
        _refuse(f"{where} cannot predict one row ({reason})")


def _check_class_codes(model, n_outputs: int, where: str) -> None:
    """A classifier inside a layer is fitted on class codes 0..n_outputs-1 (some may be
    missing from a fold): its outputs go to the columns of its codes."""
    codes = getattr(model, "classes_", None)
    if (
        not isinstance(codes, np.ndarray)
        or codes.ndim != 1
        or codes.dtype.kind not in "iu"
        or len(codes) == 0
        or codes.min() < 0
        or codes.max() >= n_outputs
        or len(np.unique(codes)) != len(codes)
    ):
        _refuse(f"{where}'s classes are not class codes below {n_outputs}")


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
