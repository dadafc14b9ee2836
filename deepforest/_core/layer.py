"""One cascade layer: its forests, and the out-of-sample class vectors they give.

A layer holds ``n_estimators`` pairs of forests, a random forest and a completely-random tree
forest (for diversity). Fitting returns the fitted layer and, for every training sample, the
output of trees that never trained on it; those outputs feed the next layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from ._out_of_sample import forest_output, oob_predictions

FOREST_KINDS = ("random", "completely_random")


@dataclass
class ForestSettings:
    """What every forest of a cascade shares."""

    is_classifier: bool
    n_trees: int
    max_features: object
    max_depth: int | None
    min_samples_leaf: int | float
    criterion: str
    max_samples: float | int | None
    class_weight: object
    n_jobs: int | None
    # Candidate features per split of the extremely randomized forest; 1 makes it the
    # completely-random forest of gcForest's cascade.
    extra_max_features: object = 1


def make_forest(kind: str, settings: ForestSettings, n_trees: int, seed: int):
    """Build an unfitted scikit-learn forest of the given kind.

    The completely-random forest is ExtraTrees with one candidate feature per split: a random
    feature and a random threshold, as in gcForest. ``settings.extra_max_features`` can give it
    more candidates (the scanner's option).
    """
    if settings.is_classifier:
        random_cls, extra_cls = RandomForestClassifier, ExtraTreesClassifier
        extra = {"class_weight": settings.class_weight}
    else:
        random_cls, extra_cls = RandomForestRegressor, ExtraTreesRegressor
        extra = {}
    forest_cls = random_cls if kind == "random" else extra_cls
    max_features = settings.max_features if kind == "random" else settings.extra_max_features
    return forest_cls(
        n_estimators=n_trees,
        criterion=settings.criterion,
        max_features=max_features,
        max_depth=settings.max_depth,
        min_samples_leaf=settings.min_samples_leaf,
        bootstrap=True,
        max_samples=settings.max_samples,
        n_jobs=settings.n_jobs,
        random_state=seed,
        **extra,
    )


class FoldForest:
    """The trees of one forest, shared out among models that each skip one fold.

    New samples are scored by all trees: the average of the fold models' outputs, each weighted
    by its number of trees.
    """

    def __init__(self, models: list, n_outputs: int):
        self.models = models
        self.n_outputs = n_outputs

    def output(self, X: np.ndarray) -> np.ndarray:
        weights = np.array([len(model.estimators_) for model in self.models], dtype=np.float64)
        weights /= weights.sum()
        return sum(
            w * _model_output(m, X, self.n_outputs)
            for w, m in zip(weights, self.models, strict=True)
        )

    @property
    def feature_importances_(self) -> np.ndarray:
        return np.mean([model.feature_importances_ for model in self.models], axis=0)


def _model_output(model, X: np.ndarray, n_outputs: int) -> np.ndarray:
    """A forest's output with one column per class of the whole training set.

    A fold model may have missed a rare class; its column stays at zero probability.
    """
    output = forest_output(model, X)
    if hasattr(model, "classes_") and output.shape[1] != n_outputs:
        full = np.zeros((X.shape[0], n_outputs), dtype=output.dtype)
        full[:, model.classes_.astype(np.intp)] = output
        return full
    return output


def forest_out(forest, X: np.ndarray, n_outputs: int) -> np.ndarray:
    if isinstance(forest, FoldForest):
        return forest.output(X)
    return _model_output(forest, X, n_outputs)


def fit_forest_out_of_sample(
    kind: str,
    settings: ForestSettings,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    n_outputs: int,
    seed: int,
):
    """Fit one forest and return it with its out-of-sample output on the training samples."""
    if folds is None:
        forest = make_forest(kind, settings, settings.n_trees, seed)
        forest.fit(X, y, sample_weight=sample_weight)
        return forest, oob_predictions(forest, X, settings.n_jobs)

    n_folds = int(folds.max()) + 1
    trees_per_fold = max(1, math.ceil(settings.n_trees / n_folds))
    out_of_fold = None
    models = []
    for fold in range(n_folds):
        train, held_out = folds != fold, folds == fold
        model = make_forest(kind, settings, trees_per_fold, seed + fold)
        weight = None if sample_weight is None else sample_weight[train]
        model.fit(X[train], y[train], sample_weight=weight)
        output = _model_output(model, X[held_out], n_outputs)
        if out_of_fold is None:
            out_of_fold = np.zeros((X.shape[0], *output.shape[1:]), dtype=np.float64)
        out_of_fold[held_out] = output
        models.append(model)
    return FoldForest(models, n_outputs), out_of_fold


@dataclass
class Layer:
    """A fitted cascade layer: a list of forests whose outputs are concatenated."""

    forests: list
    n_outputs: int

    def outputs(self, X: np.ndarray) -> list[np.ndarray]:
        return [forest_out(forest, X, self.n_outputs) for forest in self.forests]


def fit_layer(
    settings: ForestSettings,
    n_estimators: int,
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    folds: np.ndarray | None,
    n_outputs: int,
    rng: np.random.RandomState,
) -> tuple[Layer, list[np.ndarray]]:
    """Fit the forests of one layer; return the layer and each forest's out-of-sample output."""
    forests, outputs = [], []
    for _ in range(n_estimators):
        for kind in FOREST_KINDS:
            seed = int(rng.randint(np.iinfo(np.int32).max - 64))
            forest, output = fit_forest_out_of_sample(
                kind, settings, X, y, sample_weight, folds, n_outputs, seed
            )
            forests.append(forest)
            outputs.append(output)
    return Layer(forests, n_outputs), outputs
