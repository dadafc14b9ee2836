"""One cascade layer: its forests, and the class vectors it passes to the next layer.

A layer holds ``n_estimators`` pairs of forests, a random forest and a completely-random tree
forest (for diversity). Fitting returns the fitted layer and, for every training row, the output
of trees that never trained on it; those outputs feed the next layer.

A regression layer's prediction weighs its forests: a completely-random forest on its own is a
poor regressor (test R² 0.13 against a random forest's 0.79 on Friedman #1 with 25 noise
features), so an equal-weight mean halved what the layer's random forests reached. The weights
are the convex combination (non-negative, summing to 1) that fits the forests' out-of-sample
outputs to the training targets best in squared error; the completely-random forests' outputs
still reach the next layer as features, where their diversity helps. Class vectors are
averaged with equal weights, as in the gcForest paper, unless the layer also holds the user's
estimators: such unlike members are weighed as regression forests are, by the convex
combination of their out-of-fold class vectors closest to the labels in squared error (the
Brier score).

The next layer reads bins, as the first one does: class probabilities are binned on a fixed grid
of 255 steps over [0, 1] (no fitting, and finer than the vote of any forest of fewer than 255
trees), regression outputs on quantile bins fitted to the layer's out-of-sample outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .binning import QuantileBinner
from .forests import FOREST_KINDS, ForestSettings, Target, fit_forests
from .layer_estimators import fit_fold_models
from .trees import forest_outputs

# Class probability p goes to bin round(p * PROBABILITY_STEPS).
PROBABILITY_STEPS = 254


@dataclass
class Layer:
    """A fitted cascade layer: its forests and how their outputs are binned for the next layer.

    Attributes
    ----------
    forests : list of BinnedForest or SklearnForest
    n_outputs : int
        Output columns of every forest (classes, or regression targets).
    output_binner : QuantileBinner or None
        Bins of the regression outputs; None for classification (a fixed grid).
    output_weights : float64 ndarray of shape (n_forests + n_estimators,) or None
        Weights of the forests (then the estimators) in the layer's prediction; None: equal
        weights.
    estimators : tuple of FoldModels
        The user's layer estimators, fitted once per fold; their outputs follow the forests'.
    """

    forests: list
    n_outputs: int
    output_binner: QuantileBinner | None = None
    output_weights: np.ndarray | None = None
    estimators: tuple = ()

    def combine(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The layer's prediction from its forests' outputs: their (weighted) mean."""
        return combine_outputs(outputs, self.output_weights)

    def outputs(self, X: np.ndarray, n_jobs: int | None = None) -> list[np.ndarray]:
        """Every forest's, then every layer estimator's, output on the layer's input X."""
        outputs = forest_outputs(self.forests, X, n_jobs=n_jobs) if self.forests else []
        return outputs + [estimator.output(X) for estimator in self.estimators]

    def binned_outputs(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The outputs as uint8 bins, one column per forest and output column."""
        stacked = np.concatenate(outputs, axis=1)
        if self.output_binner is None:
            return np.rint(np.clip(stacked, 0.0, 1.0) * PROBABILITY_STEPS).astype(np.uint8)
        return self.output_binner.transform(stacked)


def combine_outputs(outputs: list[np.ndarray], weights: np.ndarray | None) -> np.ndarray:
    """The mean of ``outputs``, weighted by ``weights`` unless it is None."""
    if weights is None:
        return np.mean(outputs, axis=0)
    combined = weights[0] * outputs[0]
    for weight, output in zip(weights[1:], outputs[1:], strict=True):
        combined += weight * output
    return combined


def stacking_weights(
    outputs: list[np.ndarray], targets: np.ndarray, sample_weight: np.ndarray | None
) -> np.ndarray:
    """Convex weights of the forests' out-of-sample ``outputs`` that best fit ``targets``.

    Minimises the (sample-weighted) squared error of ``sum_k w_k outputs[k]`` over all output
    columns subject to ``w >= 0`` and ``sum(w) = 1``.
    """
    n_forests = len(outputs)
    if n_forests == 1:
        return np.ones(1)
    columns = [output.reshape(-1) for output in outputs]
    y = np.asarray(targets, dtype=np.float64).reshape(-1)
    if sample_weight is not None:
        root = np.sqrt(np.repeat(np.asarray(sample_weight, dtype=np.float64), outputs[0].shape[1]))
        columns = [column * root for column in columns]
        y = y * root
    # Non-negative least squares keeps w >= 0; the sum enters as one heavily weighted extra
    # equation, and the small remaining deviation from 1 is normalised away.
    matrix = np.column_stack(columns)
    scale = max(float(np.abs(y).max()), 1.0)
    penalty = np.sqrt(len(y)) * scale
    augmented = np.vstack([matrix, np.full((1, n_forests), penalty)])
    weights, _ = nnls(augmented, np.append(y, penalty))
    total = weights.sum()
    if not np.isfinite(total) or total <= 0:
        return np.full(n_forests, 1.0 / n_forests)
    return weights / total


def fit_layer(
    settings: ForestSettings,
    *,
    n_estimators: int,
    X: np.ndarray,
    target: Target,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    groups: np.ndarray | None,
    rng: np.random.RandomState,
    layer_estimators: list[tuple[str, object]] = (),
    estimator_folds: np.ndarray | None = None,
) -> tuple[Layer, list[np.ndarray]]:
    """Fit one layer; return it, complete, and each forest's (then each estimator's)
    out-of-sample output.

    The layer's members are weighed as it combines them: a regression layer's, and a layer with
    estimators of the user's, by ``stacking_weights``; a classification layer of forests alone
    equally.

    ``layer_estimators`` are ``(name, estimator)`` pairs, each fitted once per fold of
    ``estimator_folds`` (see :mod:`deepforest._core.layer_estimators`).
    """
    forests, outputs = [], []
    if n_estimators:
        forest_input = X
        if settings.engine == "sklearn":
            # scikit-learn's trees read float32: convert once for all forests of the layer.
            forest_input = np.asarray(X, dtype=np.float32)
        requests = [
            (kind, int(rng.randint(np.iinfo(np.int32).max - 64)))
            for _ in range(n_estimators)
            for kind in FOREST_KINDS
        ]
        fitted = fit_forests(
            requests, settings, forest_input, target, sample_weight, folds, groups=groups
        )
        forests = [forest for forest, _ in fitted]
        outputs = [output for _, output in fitted]
    estimators = []
    for name, estimator in layer_estimators:
        fold_models, output = fit_fold_models(
            name,
            estimator,
            X,
            target,
            sample_weight,
            settings.class_weight if target.is_classification else None,
            estimator_folds,
            seed=int(rng.randint(np.iinfo(np.int32).max)),
            n_jobs=settings.n_jobs,
        )
        estimators.append(fold_models)
        outputs.append(output)
    output_binner = None
    if not target.is_classification:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        output_binner = QuantileBinner(random_state=seed).fit(np.concatenate(outputs, axis=1))
    output_weights = None
    if not target.is_classification:
        output_weights = stacking_weights(outputs, target.values, sample_weight)
    elif estimators:
        # Forests and the user's estimators are unlike members: the layer weighs them by the
        # convex combination of their out-of-fold class vectors that is closest to the labels
        # (Brier score), as a regression layer weighs its forests.
        one_hot = np.eye(target.n_outputs)[target.codes]
        output_weights = stacking_weights(outputs, one_hot, sample_weight)
    layer = Layer(
        forests, target.n_outputs, output_binner, output_weights, estimators=tuple(estimators)
    )
    return layer, outputs
