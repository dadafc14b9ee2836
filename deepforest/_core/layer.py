"""One cascade layer: its forests, and the class vectors it passes to the next layer.

A layer holds ``n_estimators`` pairs of forests, a random forest and a completely-random tree
forest (for diversity). Fitting returns the fitted layer and, for every training row, the output
of trees that never trained on it; those outputs feed the next layer.

The next layer reads bins, as the first one does: class probabilities are binned on a fixed grid
of 255 steps over [0, 1] (no fitting, and finer than the vote of any forest of fewer than 255
trees), regression outputs on quantile bins fitted to the layer's out-of-sample outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .binning import QuantileBinner
from .forests import FOREST_KINDS, ForestSettings, Target, fit_forests
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
    """

    forests: list
    n_outputs: int
    output_binner: QuantileBinner | None = None

    def outputs(self, X: np.ndarray, n_jobs: int | None = None) -> list[np.ndarray]:
        """Every forest's output on the layer's input features X."""
        return forest_outputs(self.forests, X, n_jobs=n_jobs)

    def binned_outputs(self, outputs: list[np.ndarray]) -> np.ndarray:
        """The outputs as uint8 bins, one column per forest and output column."""
        stacked = np.concatenate(outputs, axis=1)
        if self.output_binner is None:
            return np.rint(np.clip(stacked, 0.0, 1.0) * PROBABILITY_STEPS).astype(np.uint8)
        return self.output_binner.transform(stacked)


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
) -> tuple[Layer, list[np.ndarray]]:
    """Fit the forests of one layer; return the layer and each forest's out-of-sample output."""
    if settings.engine == "sklearn":
        # scikit-learn's trees read float32: convert once for all forests of the layer.
        X = np.asarray(X, dtype=np.float32)
    requests = [
        (kind, int(rng.randint(np.iinfo(np.int32).max - 64)))
        for _ in range(n_estimators)
        for kind in FOREST_KINDS
    ]
    fitted = fit_forests(requests, settings, X, target, sample_weight, folds, groups=groups)
    forests = [forest for forest, _ in fitted]
    outputs = [output for _, output in fitted]
    output_binner = None
    if not target.is_classification:
        seed = int(rng.randint(np.iinfo(np.int32).max))
        output_binner = QuantileBinner(random_state=seed).fit(np.concatenate(outputs, axis=1))
    return Layer(forests, target.n_outputs, output_binner), outputs
