"""_core.grower: the trees it grows keep their limits (leaf sizes, depth, leaf weight) and their
leaves hold what they should (class frequencies or one mean per target, weighted; nothing for a
pure leaf)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _engine_data import SETTINGS, binned_digits
from sklearn.datasets import make_classification

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import Target, fit_forest
from deepforest._core.grower import (
    OutOfSampleSums,
    TrainingRows,
    TreeSample,
    TreeSettings,
    draw_bootstrap,
    grow_tree,
)
from deepforest._core.rng import new_state
from deepforest._core.splitting import GINI_OR_SQUARED
from deepforest._core.trees import BinnedForest


@pytest.fixture(scope="module")
def digits():
    return binned_digits()


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


# Eight rows: feature 0 alternates, feature 1 counts up; classes (and targets) change after row 3.
TABLE = np.column_stack([np.arange(8) % 2, np.arange(8)]).astype(np.uint8)
CLASSES = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=np.int32)


def _grow(codes=None, targets=None, n_draws=0, max_depth=-1, seed=0):
    """grow_tree on TABLE, with the arguments typed as forests.py types them."""
    is_classification = codes is not None
    n_outputs = 2 if is_classification else 1
    rows = TrainingRows(
        np.asfortranarray(TABLE),
        np.ascontiguousarray(TABLE),
        codes if is_classification else np.empty(0, dtype=np.int32),
        np.empty((0, 2)) if is_classification else np.asarray(targets, float).reshape(8, 1),
        np.ones(8),
        np.empty(0, dtype=np.int64),
        n_outputs,
    )
    sample = TreeSample(np.arange(8, dtype=np.int64), n_draws, np.empty(0, dtype=np.int64), True)
    settings = TreeSettings(
        is_classification=is_classification,
        criterion=GINI_OR_SQUARED,
        random_splits=False,
        max_features=2,
        max_depth=max_depth,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        balanced_subsample=False,
    )
    out = OutOfSampleSums(np.zeros((8, n_outputs)), np.zeros(8, dtype=np.int64))
    return grow_tree(rows, sample, settings, new_state(seed), out), out


def test_a_tree_on_a_separable_table_is_the_one_split_worked_out_by_hand():
    tree, out = _grow(CLASSES)
    # Feature 1 <= 3 separates the classes (Gini's sum(s**2) / w: 16 / 4 + 16 / 4 = 8 against
    # the node's 32 / 8 = 4); feature 0 gains nothing. Two pure leaves, no stored values.
    assert tree.root == 0
    np.testing.assert_array_equal(tree.feature, [1])
    np.testing.assert_array_equal(tree.threshold, [3])
    np.testing.assert_array_equal(tree.left, [-1 - 0])
    np.testing.assert_array_equal(tree.right, [-1 - 1])
    assert tree.values.shape == (0, 2)
    np.testing.assert_array_equal(tree.importances, [0.0, 4.0])
    # Without a bootstrap every row trains the tree once: none is scored out of bag.
    assert out.count.sum() == 0


def test_a_regression_tree_stores_each_leaf_s_mean_and_a_stump_its_node_s():
    # One split (max_depth=1): sums of y 5 | 21 over 4 | 4 rows score 6.25 + 110.25, more
    # than any other cut.
    tree, _ = _grow(targets=[1, 1, 2, 1, 5, 6, 5, 5], max_depth=1)
    np.testing.assert_array_equal(tree.threshold, [3])
    np.testing.assert_array_equal(tree.left, [-1])
    np.testing.assert_array_equal(tree.right, [-2])
    np.testing.assert_allclose(tree.values, [[1.25], [5.25]])
    stump, _ = _grow(CLASSES, max_depth=0)
    # No split at depth 0: the root is a leaf holding the class frequencies (ref n_pure + 0).
    assert stump.root == -1 - 2 and stump.feature.size == 0
    np.testing.assert_array_equal(stump.values, [[0.5, 0.5]])


def test_the_rows_a_bootstrap_left_out_are_scored_by_the_tree():
    _, out = _grow(CLASSES, n_draws=8, seed=3)
    # The bootstrap is the first draw of the tree's generator.
    drawn = draw_bootstrap(8, np.arange(8, dtype=np.int64), 8, new_state(3))
    assert drawn.sum() == 8
    np.testing.assert_array_equal(out.count, drawn == 0)
    assert out.count.sum() > 0
    # Each left-out row gets the class of the pure leaf it reaches (the classes are separable
    # on feature 1 wherever the drawn rows put the cut).
    left_out = drawn == 0
    assert (out.total[left_out].sum(axis=1) == 1).all()


def test_a_bootstrap_draws_from_the_eligible_rows_only():
    eligible = np.array([1, 4, 5, 9], dtype=np.int64)
    counts = draw_bootstrap(10, eligible, 40, new_state(0))
    assert counts.sum() == 40 and set(np.flatnonzero(counts)) <= set(eligible.tolist())
    # n_draws=0: no bootstrap, every eligible row once.
    once = draw_bootstrap(10, eligible, 0, new_state(0))
    np.testing.assert_array_equal(once, np.isin(np.arange(10), eligible))
