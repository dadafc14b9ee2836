"""_core.grower: the trees it grows keep their limits (leaf sizes, depth, leaf weight) and their
leaves hold what they should (class frequencies or one mean per target, weighted; nothing for a
pure leaf)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import train_test_split

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import TREES_PER_TASK, ForestSettings, Target, fit_forest
from deepforest._core.trees import BinnedForest

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=2 * TREES_PER_TASK + 5,  # three chunks, the last one partial
    max_features="sqrt",
    max_depth=None,
    min_samples_leaf=1,
    criterion="gini",
    max_samples=None,
    class_weight=None,
    n_jobs=1,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    binner = QuantileBinner().fit(X_train)
    return binner.transform(X_train), y_train, binner.transform(X_test), y_test


def _leaf_refs(forest: BinnedForest, X: np.ndarray, tree: int) -> np.ndarray:
    refs = np.empty(X.shape[0], dtype=np.int64)
    for i, row in enumerate(X):
        node = forest.roots[tree]
        while node >= 0:
            go_left = row[forest.feature[node]] <= forest.threshold[node]
            node = forest.left[node] if go_left else forest.right[node]
        refs[i] = -1 - node
    return refs


def _depth(forest: BinnedForest, tree: int) -> int:
    deepest, stack = 0, [(forest.roots[tree], 0)]
    while stack:
        node, depth = stack.pop()
        if node < 0:
            deepest = max(deepest, depth)
        else:
            stack += [(forest.left[node], depth + 1), (forest.right[node], depth + 1)]
    return deepest


def test_min_samples_leaf_and_max_depth_hold_in_every_tree(digits):
    X, y, _, _ = digits
    # Without bootstrap every row trains every tree once, so leaf sizes are row counts.
    settings = dataclasses.replace(
        SETTINGS, n_trees=6, min_samples_leaf=7, bootstrap=False, max_features=None
    )
    forest, _ = fit_forest("random", settings, X, Target.classes(y, 10), None, None, 0)
    for tree in range(forest.n_trees):
        _, sizes = np.unique(_leaf_refs(forest, X, tree), return_counts=True)
        assert sizes.min() >= 7
    shallow = dataclasses.replace(SETTINGS, n_trees=6, max_depth=3)
    forest, _ = fit_forest("completely_random", shallow, X, Target.classes(y, 10), None, None, 0)
    assert max(_depth(forest, tree) for tree in range(forest.n_trees)) == 3


def test_min_weight_fraction_leaf_holds_in_every_leaf(digits):
    X, y, _, _ = digits
    weights = np.where(y < 5, 3.0, 1.0)
    settings = dataclasses.replace(
        SETTINGS, n_trees=4, bootstrap=False, max_features=None, min_weight_fraction_leaf=0.02
    )
    for kind in ("random", "completely_random"):
        forest, _ = fit_forest(kind, settings, X, Target.classes(y, 10), weights, None, 0)
        for tree in range(forest.n_trees):
            refs = _leaf_refs(forest, X, tree)
            leaf_weight = np.bincount(np.unique(refs, return_inverse=True)[1], weights=weights)
            assert leaf_weight.min() >= 0.02 * weights.sum() - 1e-9


def test_pure_leaves_store_no_values_and_leaves_hold_class_frequencies(digits):
    X, y, _, _ = digits
    forest, _ = fit_forest("random", SETTINGS, X, Target.classes(y, 10), None, None, 0)
    # Fully grown trees on clean digits: most leaves are pure and cost no value row.
    n_leaves = forest.n_nodes + forest.n_trees
    assert forest.values.shape[0] < 0.2 * n_leaves
    assert forest.values.dtype == np.float32
    np.testing.assert_allclose(forest.values.sum(axis=1), 1.0, rtol=1e-6)
    proba = forest.output(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_zero_weight_rows_do_not_train_and_weights_shift_leaf_values():
    X, y = make_classification(n_samples=600, n_features=6, flip_y=0.2, random_state=0)
    X = QuantileBinner().fit_transform(X)
    weight = np.ones(len(y))
    weight[y == 1] = 0.0
    forest, _ = fit_forest("random", SETTINGS, X, Target.classes(y, 2), weight, None, 0)
    np.testing.assert_array_equal(forest.output(X)[:, 1], 0.0)
    # Leaves of 20 rows mix the classes: weighting one class five-fold raises its share.
    settings = dataclasses.replace(SETTINGS, min_samples_leaf=20)
    heavy = np.where(y == 1, 5.0, 1.0)
    plain, _ = fit_forest("random", settings, X, Target.classes(y, 2), None, None, 0)
    weighted, _ = fit_forest("random", settings, X, Target.classes(y, 2), heavy, None, 0)
    assert weighted.output(X)[:, 1].mean() > plain.output(X)[:, 1].mean() + 0.1


def test_multi_output_regression_leaves_hold_one_mean_per_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 4))
    Y = np.column_stack([X[:, 0] * 3, -X[:, 1], np.full(400, 2.5)])
    settings = dataclasses.replace(SETTINGS, is_classifier=False, max_features=None)
    forest, oob = fit_forest(
        "random", settings, QuantileBinner().fit_transform(X), Target.regression(Y), None, None, 0
    )
    assert forest.values.shape[1] == 3 and oob.shape == (400, 3)
    np.testing.assert_allclose(oob[:, 2], 2.5)
    assert np.corrcoef(oob[:, 0], Y[:, 0])[0, 1] > 0.95
