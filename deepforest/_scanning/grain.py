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

from .._core.forests import FOREST_KINDS, ForestSettings, Target, fit_forests
from .._core.trees import forest_outputs
from .windows import gather_windows


@dataclass
class GrainForests:
    """The fitted forests of one grain, one per forest kind, their trees shared out by fold."""

    window: tuple[int, ...]
    n_classes: int
    forests: dict[str, object] = field(default_factory=dict)
    n_training_windows: int = 0

    def outputs(
        self, windows: np.ndarray, fold: int | None = None, n_jobs: int | None = None
    ) -> list[np.ndarray]:
        """Class vectors of binned window rows, one ``(n_windows, n_classes)`` array per kind.

        ``fold=None`` uses all the trees; an int only those that never trained on that fold.
        """
        forests = [self.forests[kind] for kind in FOREST_KINDS]
        return forest_outputs(forests, windows, fold=fold, n_jobs=n_jobs)


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
    """Grow both forests of one grain on subsampled windows of binned samples, fold-wise."""
    n_samples = view.shape[0]
    n_positions = math.prod(view.shape[1 : 1 + len(window)])
    samples, positions = sample_windows(n_samples, n_positions, max_windows, rng)
    X_win = gather_windows(view, samples, positions)
    target = Target.classes(y_codes[samples], n_classes)
    win_folds = folds[samples]
    # Seeds are drawn before any fitting so that results do not depend on n_jobs or order.
    seeds = rng.randint(np.iinfo(np.int32).max, size=len(FOREST_KINDS))
    if settings.engine == "sklearn":
        X_win = X_win.astype(np.float32)
    requests = [(kind, int(seed)) for kind, seed in zip(FOREST_KINDS, seeds, strict=True)]
    fitted = fit_forests(requests, settings, X_win, target, None, win_folds, score_training=False)
    forests = {kind: forest for (kind, _), (forest, _) in zip(requests, fitted, strict=True)}
    return GrainForests(window, n_classes, forests, n_training_windows=len(samples))
