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


def _tree_output(tree, X: np.ndarray, is_classifier: bool) -> np.ndarray:
    if is_classifier:
        return tree.predict_proba(X, check_input=False)
    return tree.predict(X, check_input=False)


def oob_predictions(forest, X: np.ndarray, n_jobs: int | None) -> np.ndarray:
    """Average, per sample, the outputs of the trees whose bootstrap left it out.

    scikit-learn computes this one tree after another; here the trees run in parallel threads.
    Samples that every tree saw (rare with enough trees) get the whole forest's output.
    """
    is_classifier = hasattr(forest, "classes_")
    X = np.ascontiguousarray(X, dtype=np.float32)
    n_samples = X.shape[0]
    in_bag = forest.estimators_samples_

    def one_tree(tree, bag):
        mask = np.ones(n_samples, dtype=bool)
        mask[bag] = False
        rows = np.flatnonzero(mask)
        return rows, _tree_output(tree, X[rows], is_classifier)

    results = Parallel(n_jobs=n_jobs, prefer="threads")(
        delayed(one_tree)(tree, bag) for tree, bag in zip(forest.estimators_, in_bag, strict=True)
    )
    first = results[0][1]
    total = np.zeros((n_samples, *first.shape[1:]), dtype=np.float64)
    count = np.zeros(n_samples, dtype=np.int64)
    for rows, output in results:
        total[rows] += output
        count[rows] += 1
    never_out = count == 0
    if never_out.any():
        total[never_out] = forest_output(forest, X[never_out], n_jobs)
        count[never_out] = 1
    return total / count.reshape(-1, *([1] * (total.ndim - 1)))


def forest_output(forest, X: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
    """The forest's average tree output (class probabilities or predictions).

    scikit-learn adds the trees' outputs in whatever order its threads finish, so results
    differ in the last bits with ``n_jobs``; later layers can turn such bits into different
    splits. Here the trees run in parallel but are summed in a fixed order.
    """
    is_classifier = hasattr(forest, "classes_")
    n_jobs = forest.n_jobs if n_jobs is None else n_jobs
    # Trees read float32 C-ordered rows; converting once here lets them skip their own checks.
    X = np.ascontiguousarray(X, dtype=np.float32)
    outputs = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(
        delayed(_tree_output)(tree, X, is_classifier) for tree in forest.estimators_
    )
    total = None
    for output in outputs:
        total = output.astype(np.float64, copy=True) if total is None else total + output
    return total / len(forest.estimators_)
