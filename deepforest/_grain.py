"""The forests of one grain (window size) of multi-grained scanning.

A grain holds a random forest and a completely-random forest, each trained on window instances
that inherit their sample's label. Each forest's trees are shared out among ``n_folds`` models
that each skip the windows of one fold of *samples*: a training sample's class vectors come from
the model that never saw any of its windows, and new samples are scored by all the trees.

Why folds of samples and not out-of-bag estimates over windows: the windows of one sample
overlap and share its label, so a tree that left a window out of its bootstrap has almost
always trained on that window's neighbours, shifted by a pixel. Its "out-of-bag" vote has seen
the sample, and the cascade downstream would learn from leaked labels. Splitting by sample
keeps every window of a sample on the same side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._layer import FOREST_KINDS, ForestSettings, make_forest
from ._windows import gather_windows


@dataclass
class GrainForests:
    """Fitted fold models of one grain, for each forest kind."""

    window: tuple[int, ...]
    n_classes: int
    models: dict[str, list] = field(default_factory=dict)
    n_training_windows: int = 0

    def outputs(self, windows: np.ndarray, fold: int | None = None) -> list[np.ndarray]:
        """Class vectors of window rows, one ``(n_windows, n_classes)`` array per forest kind.

        ``fold=None`` averages all fold models, weighted by their number of trees (the whole
        forest); an int uses only the model that did not train on that fold.
        """
        result = []
        for kind in FOREST_KINDS:
            models = self.models[kind]
            if fold is not None:
                result.append(_proba(models[fold], windows, self.n_classes))
                continue
            weights = np.array([len(m.estimators_) for m in models], dtype=np.float32)
            weights /= weights.sum()
            total = weights[0] * _proba(models[0], windows, self.n_classes)
            for weight, model in zip(weights[1:], models[1:], strict=True):
                total += weight * _proba(model, windows, self.n_classes)
            result.append(total)
        return result


def _proba(model, windows: np.ndarray, n_classes: int) -> np.ndarray:
    proba = model.predict_proba(windows).astype(np.float32, copy=False)
    if proba.shape[1] == n_classes:
        return proba
    # A fold model that missed a rare class gives it zero probability.
    full = np.zeros((proba.shape[0], n_classes), dtype=np.float32)
    full[:, model.classes_.astype(np.intp)] = proba
    return full


def sample_windows(
    n_samples: int, n_positions: int, max_windows: int | None, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """Choose the training windows: the same number of distinct positions from every sample.

    An equal share per sample keeps every sample (and so every fold) represented, whatever
    ``max_windows``; at least one window per sample is taken.
    """
    if max_windows is None or n_samples * n_positions <= max_windows:
        samples = np.repeat(np.arange(n_samples), n_positions)
        positions = np.tile(np.arange(n_positions), n_samples)
        return samples, positions
    per_sample = max(1, max_windows // n_samples)
    # The k smallest of independent uniform keys are k distinct positions drawn uniformly.
    keys = rng.random_sample((n_samples, n_positions)).astype(np.float32)
    positions = np.argpartition(keys, per_sample - 1, axis=1)[:, :per_sample]
    samples = np.repeat(np.arange(n_samples), per_sample)
    return samples, np.sort(positions, axis=1).ravel()


def fit_grain(
    view: np.ndarray,
    window: tuple[int, ...],
    y_codes: np.ndarray,
    folds: np.ndarray,
    n_classes: int,
    settings: ForestSettings,
    max_windows: int | None,
    rng: np.random.RandomState,
) -> GrainForests:
    """Train the fold models of both forest kinds of one grain on subsampled windows."""
    n_samples = view.shape[0]
    n_positions = math.prod(view.shape[1 : 1 + len(window)])
    n_folds = int(folds.max()) + 1
    samples, positions = sample_windows(n_samples, n_positions, max_windows, rng)
    X_win = gather_windows(view, samples, positions)
    y_win = y_codes[samples]
    win_folds = folds[samples]
    # Seeds are drawn before any fitting so that results do not depend on n_jobs or order.
    seeds = rng.randint(np.iinfo(np.int32).max, size=(len(FOREST_KINDS), n_folds))
    trees_per_fold = max(1, math.ceil(settings.n_trees / n_folds))

    grain = GrainForests(window, n_classes, n_training_windows=len(samples))
    for k, kind in enumerate(FOREST_KINDS):
        models = []
        for fold in range(n_folds):
            train = win_folds != fold
            model = make_forest(kind, settings, trees_per_fold, int(seeds[k, fold]))
            model.fit(X_win[train], y_win[train])
            models.append(model)
        grain.models[kind] = models
    return grain
