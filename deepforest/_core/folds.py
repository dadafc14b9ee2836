"""Out-of-sample predictions of forests: out-of-bag and fold-wise.

A cascade layer hands its training samples' class vectors to the next layer. Those must come
from trees that never saw the sample, or the next layer learns from leaked labels. Two schemes:

* out-of-bag: one forest on bootstrap samples; a sample's vector averages the trees whose
  bootstrap left it out.
* k-fold: the samples are split into folds and the forest's trees are shared out among fold
  models, each grown without one fold; a sample's vector comes from the model that did not see
  its fold, and new samples are scored by all the trees. Rows that are identical after binning
  always share a fold: scattered over folds, a duplicate would receive the label of its twin as
  its "out-of-sample" prediction, which makes the next layer look better than it is.
"""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed


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


# Trees handled by one parallel task. Fixed, so the order in which outputs are added, and so
# every last bit of the result, does not depend on n_jobs or on the joblib backend.
TREES_PER_TASK = 10


def _tree_output(tree, X: np.ndarray, is_classifier: bool) -> np.ndarray:
    if is_classifier:
        return tree.predict_proba(X, check_input=False)
    return tree.predict(X, check_input=False)


def _chunks(items: list, size: int = TREES_PER_TASK) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _oob_chunk(trees: list, bags: list, X: np.ndarray, is_classifier: bool):
    """Sum of the chunk's trees' outputs on the rows each left out, and the count per row."""
    total, count = None, np.zeros(X.shape[0], dtype=np.int64)
    for tree, bag in zip(trees, bags, strict=True):
        out_of_bag = np.ones(X.shape[0], dtype=bool)
        out_of_bag[bag] = False
        rows = np.flatnonzero(out_of_bag)
        output = _tree_output(tree, X[rows], is_classifier)
        if total is None:
            total = np.zeros((X.shape[0], *output.shape[1:]), dtype=np.float64)
        total[rows] += output
        count[rows] += 1
    return total, count


def oob_predictions(forest, X: np.ndarray, n_jobs: int | None) -> np.ndarray:
    """Average, per sample, the outputs of the trees whose bootstrap left it out.

    scikit-learn computes this one tree after another; here chunks of trees run in parallel
    (threads, or the active joblib backend such as Dask). Samples that every tree saw (rare
    with enough trees) get the whole forest's output.
    """
    is_classifier = hasattr(forest, "classes_")
    X = np.ascontiguousarray(X, dtype=np.float32)
    trees, bags = forest.estimators_, forest.estimators_samples_
    # X is an argument, not a closure variable, so a distributed backend ships it once.
    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_oob_chunk)(tree_chunk, bag_chunk, X, is_classifier)
        for tree_chunk, bag_chunk in zip(_chunks(trees), _chunks(bags), strict=True)
    )
    # Copies: results from a distributed backend (Ray's object store) may be read-only.
    total, count = results[0][0].copy(), results[0][1].copy()
    for chunk_total, chunk_count in results[1:]:
        total += chunk_total
        count += chunk_count
    never_out = count == 0
    if never_out.any():
        total[never_out] = forest_output(forest, X[never_out], n_jobs)
        count[never_out] = 1
    return total / count.reshape(-1, *([1] * (total.ndim - 1)))


def _output_chunk(trees: list, X: np.ndarray, is_classifier: bool) -> np.ndarray:
    total = _tree_output(trees[0], X, is_classifier).astype(np.float64, copy=True)
    for tree in trees[1:]:
        total += _tree_output(tree, X, is_classifier)
    return total


def forest_output(forest, X: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    """The forest's average tree output (class probabilities or predictions).

    scikit-learn adds the trees' outputs in whatever order its threads finish, so results
    differ in the last bits with ``n_jobs``; later layers can turn such bits into different
    splits. Here fixed chunks of trees run in parallel and are summed in a fixed order.
    """
    is_classifier = hasattr(forest, "classes_")
    n_jobs = forest.n_jobs if n_jobs is None else n_jobs
    # Trees read float32 C-ordered rows; converting once here lets them skip their own checks.
    X = np.ascontiguousarray(X, dtype=np.float32)
    chunk_sums = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(_output_chunk)(chunk, X, is_classifier) for chunk in _chunks(forest.estimators_)
    )
    total = chunk_sums[0].copy()
    for chunk_sum in chunk_sums[1:]:
        total += chunk_sum
    return total / len(forest.estimators_)
