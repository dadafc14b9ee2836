"""Folds of training rows for out-of-fold class vectors, with identical rows kept together.

In the fold-wise scheme a row's class vector comes from trees that never saw its fold. Rows that
are identical after binning always share a fold: scattered over folds, a duplicate would receive
the label of its twin as its "out-of-sample" prediction, which makes the next layer look better
than it is. A forest's trees are shared out among the folds by :func:`fold_plan`, whichever
engine grows them.
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


def fold_plan(
    folds: np.ndarray | None, n_rows: int, n_trees: int
) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """Per fold: the rows its trees may draw, the rows they score, and how many trees it gets.

    A forest grown fold-wise shares its trees out among the folds, the first folds taking one
    more when they do not divide evenly, and every fold at least one; a fold's trees draw from
    the rows outside it and score the rows inside it. Out of bag (``folds=None``), one part of
    all the trees draws from every row and scores none here: the rows a tree left out are
    known only once it has drawn. Both engines follow this plan.

    Parameters
    ----------
    folds : int ndarray of shape (n_rows,) or None
        Fold of every row, ``0..n_folds-1``.
    n_rows : int
    n_trees : int
        Trees of the whole forest.

    Returns
    -------
    plan : list of (eligible, held_out, n_trees)
        Per fold, the int64 rows its trees draw from, the int64 rows they score, and its
        number of trees.
    """
    if folds is None:
        return [(np.arange(n_rows, dtype=np.int64), np.empty(0, dtype=np.int64), n_trees)]
    n_folds = int(folds.max()) + 1
    per_fold = [n_trees // n_folds + (k < n_trees % n_folds) for k in range(n_folds)]
    return [
        (
            np.flatnonzero(folds != k).astype(np.int64),
            np.flatnonzero(folds == k).astype(np.int64),
            max(1, count),
        )
        for k, count in enumerate(per_fold)
    ]


# Out of bag, rows with many identical twins are hardly ever left out by a tree: past this share
# of such rows, out_of_sample="auto" grows the forests fold-wise (identical rows share a fold).
DUPLICATE_SHARE_FOR_FOLDS = 0.05
# A row that can expect fewer out-of-bag trees than this gets a class vector that says little.
MIN_OUT_OF_BAG_TREES = 3


def out_of_sample_scheme(
    requested: str,
    *,
    groups: np.ndarray,
    n_folds: int,
    weighted: bool,
    n_trees: int,
    rows_drawn: int,
    log=None,
) -> str:
    """The scheme that makes honest out-of-sample outputs for a fit: "oob" or "kfold".

    Out of bag, a row is scored only by trees that drew none of its identical rows; a row with
    many twins is hardly ever out of bag, and the rows that no tree left out get the class
    prior, which says nothing. When more than ``DUPLICATE_SHARE_FOR_FOLDS`` of the rows can
    expect fewer than ``MIN_OUT_OF_BAG_TREES`` trees to leave them out, ``"auto"`` grows the
    forests fold-wise instead, where identical rows share a fold. scikit-learn (1.9 and later)
    draws bootstrap samples in proportion to sample and class weights, so a heavily weighted
    row is hardly ever out of bag either: ``weighted`` fits use folds under ``"auto"`` (with
    both engines, so that the scheme does not change with the engine).

    Parameters
    ----------
    requested : {"auto", "oob", "kfold"}
        The estimator's ``out_of_sample``; only "auto" is resolved here.
    groups : ndarray of shape (n_samples,)
        Each row's group of identical rows (:func:`duplicate_groups`).
    n_folds : int
    weighted : bool
        Whether sample or class weights differ between rows.
    n_trees : int
        Trees per forest.
    rows_drawn : int
        Rows each tree draws.
    log : callable, optional
        Takes one line saying how many rows are poorly out of bag.
    """
    if requested != "auto":
        return requested
    if groups.max() + 1 < n_folds:
        return "oob"  # too few distinct rows for folds
    if weighted:
        return "kfold"
    share = poorly_out_of_bag_share(groups, n_trees, rows_drawn, log)
    return "kfold" if share > DUPLICATE_SHARE_FOR_FOLDS else "oob"


def poorly_out_of_bag_share(groups: np.ndarray, n_trees: int, rows_drawn: int, log=None) -> float:
    """Share of rows that can expect fewer than ``MIN_OUT_OF_BAG_TREES`` trees to leave them out."""
    n_rows = len(groups)
    group_size = np.bincount(groups)[groups]
    expected_trees = n_trees * (1.0 - group_size / n_rows) ** rows_drawn
    poorly = expected_trees < MIN_OUT_OF_BAG_TREES
    share = float(np.mean(poorly))
    if share > 0 and log is not None:
        twins = float(np.mean(poorly & (group_size > 1)))
        log(
            f"{share:.1%} of the rows can expect fewer than {MIN_OUT_OF_BAG_TREES} of the "
            f"{n_trees} trees to leave them out of the bag ({twins:.1%} of the rows have "
            "identical twins that keep them in it)"
        )
    return share
