"""Per-row feature contributions of a fitted cascade, traced through its layers.

Each forest's output on a row is decomposed over the columns it reads (``_core.contributions``):
the original features and, from the second layer on, the class vectors (or predictions) of the
layer before. A class-vector column's contribution is passed back to the original features in
proportion to how they moved that vector away from its expected value in the layer before,
which is how He, Lyu and Jiang (2023) trace feature contributions through a deep forest. Every
step keeps the sum exact, so a row's contributions plus its base value add up to the cascade's
output.

The boosting stage adds its trees' contributions in margin space. For classes the margin starts
from the log of the (smoothed) class vector and ends in a softmax; each step is nonlinear, so
its change is shared out to the features in proportion to their contributions to its input
(the log, class by class) or to the softmax's linear approximation at the midpoint between the
base and the row's margins, with the approximation's small residual shared by magnitude.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._core.boosting import base_margin, margin_output
from ._core.contributions import forest_contributions, forest_expectations, shares
from ._core.forests import FOREST_KINDS
from ._core.trees import BinnedForest
from ._prediction import augment  # the layers' input is built exactly as predict builds it
from ._preparation import validated_features

# Rows explained at a time: a layer's contributions take rows x columns x outputs x 8 bytes,
# held in a few arrays at once; a batch keeps each within this, and of at least 64 rows.
EXPLAIN_BATCH_BYTES = 32 * 2**20
MIN_BATCH_ROWS = 64
MAX_BATCH_ROWS = 8192
# Below this many rows, X alone is too thin a background to weigh the trees' splits.
MIN_BACKGROUND_ROWS = 100


@dataclass
class Contributions:
    """Per-row feature contributions and the base value they start from.

    ``base_values + values.sum(axis=1)`` is ``predict_proba`` (classes) or ``predict``
    (regression) on the explained rows. The attribute names are those of
    ``shap.Explanation``, which ``explain`` returns instead when shap is installed.

    Attributes
    ----------
    values : float64 ndarray of shape (n_samples, n_features, n_outputs) or (n_samples, n_features)
        Each feature's contribution to each class probability (or target); the last axis is
        dropped for a single-target regressor.
    base_values : float64 ndarray of shape (n_samples, n_outputs) or (n_samples,)
        The output expected over the background rows (the same for every row, except that rows
        confidence screening stops at an earlier layer start from that layer's). For a
        classifier whose boosting stage was kept it is the softmax of the expected margins (the
        log of the expected class vector plus the stage's expected trees), which is not the mean
        predicted probability over the background: the softmax is not linear.
    data : ndarray of shape (n_samples, n_features)
        The explained rows as given.
    feature_names : list of str
    output_names : list or None
        The class labels, the target names ``"y0"``, ``"y1"``... of a multi-output regressor,
        or None for a single target.
    """

    values: np.ndarray
    base_values: np.ndarray
    data: np.ndarray
    feature_names: list
    output_names: list | None

    def to_shap(self):
        """The same numbers as a ``shap.Explanation`` (needs shap)."""
        import shap

        return shap.Explanation(
            values=self.values,
            base_values=self.base_values,
            data=self.data,
            feature_names=self.feature_names,
            output_names=self.output_names,
        )


def explain_rows(model, X, background=None):
    """What ``explain`` returns: see the estimators' method for the parameters."""
    check_is_fitted(model, "layers_")
    check_explainable(model)
    binned = model._binner.transform(validated_features(model, X))
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
            reference_rows = model._binner.transform(validated_features(model, background))
        except ValueError as error:
            raise ValueError(f"background: {error}") from error
    ref = reference(model, reference_rows)
    n_outputs = model.layers_[0].n_outputs
    widest = model.n_features_in_ + model.n_estimators * len(FOREST_KINDS) * n_outputs
    step = batch_rows(widest, n_outputs)
    parts = [
        cascade_contributions(model, binned[start : start + step], ref)
        for start in range(0, len(binned), step)
    ]
    values = np.concatenate([part[0] for part in parts])
    base_values = np.concatenate([part[1] for part in parts])
    if model._is_classifier:
        output_names = model.classes_.tolist()
    elif model._single_output:
        values, base_values, output_names = values[:, :, 0], base_values[:, 0], None
    else:
        output_names = [f"y{i}" for i in range(values.shape[2])]
    names = getattr(model, "feature_names_in_", None)
    feature_names = (
        [str(name) for name in names]
        if names is not None
        else [f"x{i}" for i in range(model.n_features_in_)]
    )
    data = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
    result = Contributions(values, base_values, data, feature_names, output_names)
    return result.to_shap() if importlib.util.find_spec("shap") else result


def check_explainable(model) -> None:
    """Refuse parts whose contributions the compiled engine cannot trace, naming them."""
    if model.predictor_ is not None:
        raise ValueError(
            "explain() traces the cascade's own forests; this model ends in a final predictor "
            f"({type(model.predictor_).__name__}), whose contributions it cannot trace: fit "
            "without one (predictor=None and use_predictor unset), or explain it with shap's "
            "model-agnostic explainers"
        )
    for index, layer in enumerate(model.layers_):
        if layer.estimators:
            raise ValueError(
                f"explain() traces the cascade's own forests; layer {index} also holds "
                "layer_estimators, whose contributions it cannot trace: use shap's "
                "model-agnostic explainers for such a model"
            )
    if model.engine_ != "numba":
        raise ValueError(
            "explain() needs the compiled engine's forests; this model's forests are "
            f"scikit-learn's (engine_={model.engine_!r}: engine='sklearn', or a criterion only "
            "scikit-learn's trees offer, under engine='auto'): refit with engine='numba' and a "
            "criterion it offers, or explain it with shap's model-agnostic explainers"
        )


@dataclass
class Reference:
    """What the background rows say of every forest: its nodes' and its own expected output."""

    layers: list  # per layer, per forest: (expected_nodes, expected)
    booster: tuple | None


def reference(model, background: np.ndarray) -> Reference:
    """Route the binned background rows through every layer (no screening) and the stage."""

    layers = []
    features = background
    for index, layer in enumerate(model.layers_):
        layer = _in_memory(layer)
        forests = layer.forests
        for forest in forests:
            if not isinstance(forest, BinnedForest):
                raise ValueError("explain() needs the compiled engine's forests")
        layers.append([forest_expectations(forest, features) for forest in forests])
        if index + 1 < len(model.layers_):
            features = augment(background, layer, layer.outputs(features, model.n_jobs))
    booster = model.booster_
    stage = None if booster is None else forest_expectations(booster, background, average=False)
    return Reference(layers, stage)


def cascade_contributions(
    model, X_binned: np.ndarray, ref: Reference
) -> tuple[np.ndarray, np.ndarray]:
    """Contributions (n_samples, n_features, n_outputs) and base values (n_samples, n_outputs).

    ``X_binned`` is binned as the cascade's first layer reads it; ``ref`` from :func:`reference`.
    """
    values, base = _layers_contributions(model, X_binned, ref)
    if ref.booster is None:
        return values, base
    stage_nodes, stage_base = ref.booster
    stage = forest_contributions(
        model.booster_, X_binned, stage_nodes, average=False, n_jobs=model.n_jobs
    )
    if not model._is_classifier:
        return values + stage, base + stage_base
    return _through_softmax(values, base, stage, stage_base, model.booster_smoothing_)


def _layers_contributions(model, X_binned, ref: Reference):

    n_rows, n_features = X_binned.shape
    n_outputs = model.layers_[0].n_outputs
    final_values = np.empty((n_rows, n_features, n_outputs))
    final_base = np.empty((n_rows, n_outputs))
    thresholds = getattr(model, "screening_thresholds_", None)
    active = np.arange(n_rows)
    features = X_binned
    previous = None  # the layer before's forests' (totals, change), for the active rows
    for index, layer in enumerate(model.layers_):
        layer = _in_memory(layer)
        forests = layer.forests
        weights = layer.output_weights
        if weights is None:
            weights = np.full(len(forests), 1.0 / len(forests))
        layer_values = np.zeros((len(active), n_features, n_outputs))
        layer_base = np.zeros(n_outputs)
        per_forest = []
        # The shares depend on the layer before only: once for all of this layer's forests.
        column_shares = None if previous is None else _column_shares(previous)
        for weight, forest, (expected_nodes, expected) in zip(
            weights, forests, ref.layers[index], strict=True
        ):
            columns = forest_contributions(forest, features, expected_nodes, n_jobs=model.n_jobs)
            totals = columns[:, :n_features, :]
            if column_shares is not None:
                totals = totals + _traced(columns[:, n_features:, :], column_shares)
            per_forest.append((totals, totals.sum(axis=1)))
            layer_values += weight * totals
            layer_base += weight * expected
        if index + 1 == len(model.layers_):
            final_values[active] = layer_values
            final_base[active] = layer_base
            break
        outputs = layer.outputs(features, model.n_jobs)
        keep = np.ones(len(active), dtype=bool)
        if thresholds is not None:
            # Confidence screening: a row leaves at the first layer sure enough of it.
            keep = layer.combine(outputs).max(axis=1) <= thresholds[index]
            final_values[active[~keep]] = layer_values[~keep]
            final_base[active[~keep]] = layer_base
        active = active[keep]
        previous = [(totals[keep], change[keep]) for totals, change in per_forest]
        features = augment(X_binned[active], layer, [output[keep] for output in outputs])
    return final_values, final_base


def _in_memory(layer):
    """A spilled layer loaded once, so that its forests and outputs share one read of its file."""
    materialize = getattr(layer, "materialize", None)
    return layer if materialize is None else materialize()


def batch_rows(n_columns: int, n_outputs: int) -> int:
    """Rows explained at a time: each (rows, columns, outputs) array within EXPLAIN_BATCH_BYTES."""
    rows = EXPLAIN_BATCH_BYTES // (8 * max(n_columns, 1) * max(n_outputs, 1))
    return int(min(max(rows, MIN_BATCH_ROWS), MAX_BATCH_ROWS))


def _traced(vector_columns: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Contributions of the layer before's output columns, passed back to the original features.

    ``vector_columns`` (n_samples, n_columns, n_outputs) are in the order the layer's input
    holds them (forest by forest, each forest's outputs in turn); ``weights`` (n_samples,
    n_features, n_columns) are each column's shares from :func:`_column_shares`.
    """
    return np.einsum("nfa,nak->nfk", weights, vector_columns, optimize=True)


def _column_shares(previous: list) -> np.ndarray:
    """Each original feature's share of every output column of the layer before."""
    columns = [
        shares(totals[:, :, k], change[:, k])
        for totals, change in previous
        for k in range(totals.shape[2])
    ]
    return np.stack(columns, axis=2)


def _through_softmax(values, base, stage, stage_base, smoothing):
    """Class-probability contributions of a classifier whose boosting stage ends in a softmax."""
    output = base + values.sum(axis=1)
    start = base_margin(output, True, smoothing)
    start_base = base_margin(base, True, smoothing)
    # The log, class by class: its change is shared as the class vector's own contributions.
    margin_values = np.empty_like(values)
    for k in range(values.shape[2]):
        margin_values[:, :, k] = (
            shares(values[:, :, k], values[:, :, k].sum(axis=1))
            * (start[:, k] - start_base[:, k])[:, None]
        )
    margin_values += stage
    margin_base = start_base + stage_base
    margin = margin_base + margin_values.sum(axis=1)
    proba = margin_output(margin, True)
    proba_base = margin_output(margin_base, True)
    # The softmax, linearised at the midpoint of the base and the row's margins.
    middle = margin_output((margin + margin_base) / 2.0, True)
    centred = margin_values - np.einsum("nfk,nk->nf", margin_values, middle)[:, :, None]
    linear = middle[:, None, :] * centred
    residual = (proba - proba_base) - linear.sum(axis=1)
    # The residual is shared by each feature's magnitude over all classes, the same share in
    # every class, so a feature's contributions still sum to 0 over the classes.
    magnitude = np.abs(linear).sum(axis=2)
    totals = magnitude.sum(axis=1, keepdims=True)
    spread = np.where(
        totals > 0, magnitude / np.where(totals > 0, totals, 1.0), 1.0 / values.shape[1]
    )
    return linear + spread[:, :, None] * residual[:, None, :], proba_base
