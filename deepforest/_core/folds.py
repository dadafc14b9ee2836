"""Folds of training rows for out-of-fold class vectors, with identical rows kept together.

In the fold-wise scheme a row's class vector comes from trees that never saw its fold. Rows that
are identical after binning always share a fold: scattered over folds, a duplicate would receive
the label of its twin as its "out-of-sample" prediction, which makes the next layer look better
than it is.
"""

from __future__ import annotations

import numpy as np


def duplicate_groups(X_binned: np.ndarray) -> np.ndarray:
    """Return for each row the index of its group of identical rows."""
    rows = np.ascontiguousarray(X_binned).view(
        np.dtype((np.void, X_binned.dtype.itemsize * X_binned.shape[1]))
    )
    _, groups = np.unique(rows.ravel(), return_inverse=True)
    return groups.ravel()


def assign_folds(
    groups: np.ndarray, n_folds: int, rng: np.random.RandomState, y_codes: np.ndarray | None = None
) -> np.ndarray:
    """Assign whole groups of identical rows to folds, stratified by their majority class.

    Groups are shuffled, ordered by majority class and dealt out round-robin, so each fold gets
    about the same share of every class (regression: random groups).
    """
    n_groups = groups.max() + 1
    order = rng.permutation(n_groups)
    if y_codes is not None:
        counts = np.zeros((n_groups, y_codes.max() + 1), dtype=np.int64)
        np.add.at(counts, (groups, y_codes), 1)
        majority = counts.argmax(axis=1)
        order = order[np.argsort(majority[order], kind="stable")]
    group_fold = np.empty(n_groups, dtype=np.int64)
    group_fold[order] = np.arange(n_groups) % n_folds
    return group_fold[groups]
