"""Choose the trees' minimum leaf size from the data, by out-of-bag score.

Fully grown trees (one sample per leaf) suit clean data with many classes, such as LETTER, and
overfit noisy data, such as ADULT. On noisy data they also spoil the cascade: a training
sample's out-of-bag class vector then mostly repeats the label of its nearest neighbour, which
disagrees with the sample's own label where classes overlap, and the next layer learns that
pattern, which test samples do not share. A small probe forest per candidate leaf size, scored
out of bag on the raw (binned) features where no stacking is involved, picks the size.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .forests import ForestSettings, Target, fit_forests
from .scoring import layer_score

LEAF_SIZE_CANDIDATES = (1, 2, 4, 8, 16)
PROBE_TREES = 24
PROBE_MAX_ROWS = 50_000
SMALLER_LEAF_MARGIN = 0.005
# Leaf sizes probed in one parallel call.
PROBES_AT_ONCE = 2


def choose_min_samples_leaf(
    settings: ForestSettings,
    X: np.ndarray,
    target: Target,
    y_scored: np.ndarray,
    scoring,
    classes: np.ndarray | None,
    rng: np.random.RandomState,
    groups: np.ndarray | None = None,
    folds: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> tuple[int, dict[int, float]]:
    """Return the candidate leaf size with the best out-of-sample score, and every score.

    Every candidate is probed: a probe of few trees is noisy where scores are near zero, so a
    larger size scoring worse does not mean the ones after it would (on cps1985 leaf 2 scored
    below leaf 1 on some seeds while leaf 16 scored best). With
    ``folds`` (the cascade's fold-wise scheme, which weighted fits use) the probes are grown and
    scored fold-wise, with the sample and class weights, as the layers will be. Out of bag they
    ignore the weights: scikit-learn draws weighted bootstrap samples, so heavily weighted rows
    would hardly ever be out of bag and their scores would not be out-of-sample (the engines
    agree on this, so that they choose alike).
    """
    n_samples = X.shape[0]
    if n_samples > PROBE_MAX_ROWS:
        rows = np.sort(rng.choice(n_samples, PROBE_MAX_ROWS, replace=False))
        X, target, y_scored = X[rows], target.take(rows), y_scored[rows]
        groups = None if groups is None else groups[rows]
        folds = None if folds is None else folds[rows]
        sample_weight = None if sample_weight is None else sample_weight[rows]
    seed = int(rng.randint(np.iinfo(np.int32).max))
    probe_settings = dataclasses.replace(settings, n_trees=PROBE_TREES)
    if folds is None:
        probe_settings = dataclasses.replace(probe_settings, class_weight=None)
        sample_weight = None
    candidates = [size for size in LEAF_SIZE_CANDIDATES if size * 4 <= X.shape[0]]
    scores: dict[int, float] = {}
    # Two sizes at a time: their trees share the threads, and two probe forests at most are
    # held in memory at once.
    for start in range(0, len(candidates), PROBES_AT_ONCE):
        sizes = candidates[start : start + PROBES_AT_ONCE]
        requests = [
            ("random", seed, dataclasses.replace(probe_settings, min_samples_leaf=size))
            for size in sizes
        ]
        fitted = fit_forests(
            requests, probe_settings, X, target, sample_weight, folds, groups=groups
        )
        for size, (_, output) in zip(sizes, fitted, strict=True):
            scores[size] = layer_score(
                scoring,
                is_classifier=settings.is_classifier,
                y=y_scored,
                mean_output=output,
                sample_weight=sample_weight,
                classes=classes,
            )
    if not scores:
        return 1, scores
    # A probe of few trees favours large leaves, which smooth each tree, more than the cascade's
    # many trees do: take the smallest size that scores within a small margin of the best.
    best = max(scores.values())
    margin = SMALLER_LEAF_MARGIN * max(abs(best), 1e-12)
    return min(size for size, score in scores.items() if score >= best - margin), scores
