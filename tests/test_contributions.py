"""_core.contributions: a forest's per-feature contributions, checked on forests small enough to
follow by hand, and the shares that pass an amount on to the features that made a change."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _engine_data import SETTINGS
from sklearn.datasets import load_diabetes

from deepforest._core.binning import QuantileBinner
from deepforest._core.contributions import forest_contributions, forest_expectations, shares
from deepforest._core.forests import Target, fit_forest
from deepforest._core.trees import ROWS_PER_TASK, BinnedForest


def test_shares_keep_the_sum_and_the_signs():
    totals = np.array([[0.3, -0.1, 0.0], [1.0, -1.0, 0.0], [0.0, 0.0, 0.0]])
    out = shares(totals, totals.sum(axis=1))
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_allclose(out[0], [1.125, -0.125, 0.0])  # half the magnitude survives
    np.testing.assert_allclose(out[1], [0.5, 0.5, 0.0])  # cancelling: by magnitude
    same_way = np.array([[0.3, 0.1, 0.0]])
    np.testing.assert_allclose(shares(same_way, same_way.sum(axis=1)), [[0.75, 0.25, 0.0]])
    large = np.array([[1.0, -0.9]])  # a change of 0.1: its ratios would be 10 and -9
    assert np.abs(shares(large, large.sum(axis=1))).max() <= 2 * 1.0 / 1.9
    np.testing.assert_allclose(out[2], [1 / 3] * 3)  # nothing moved: equally


# One tree over two features and two classes (the grower's layout, see test_traversal.py):
#   node 0 (feature 0 <= 1) -> VALUES[0], else node 1
#   node 1 (feature 1 <= 0) -> pure class 0, else pure class 1
TREE = BinnedForest(
    roots=np.array([0], dtype=np.int32),
    feature=np.array([0, 1], dtype=np.int32),
    threshold=np.array([1, 0], dtype=np.uint8),
    left=np.array([-1 - 2, -1 - 0], dtype=np.int32),
    right=np.array([1, -1 - 1], dtype=np.int32),
    values=np.array([[0.25, 0.75]], dtype=np.float32),
    n_pure=2,
    fold_bounds=np.array([0, 1]),
    feature_importances=np.zeros(2),
)


def test_a_hand_built_tree_s_contributions_are_the_steps_along_each_path():
    # Half the background goes each way at both nodes: node 1 expects (0.5, 0.5), node 0
    # (0.25, 0.75) / 2 + (0.5, 0.5) / 2 = (0.375, 0.625).
    background = np.array([[0, 0], [0, 1], [2, 0], [2, 1]], dtype=np.uint8)
    expected_nodes, expected = forest_expectations(TREE, background)
    np.testing.assert_array_equal(expected_nodes, [[0.375, 0.625], [0.5, 0.5]])
    np.testing.assert_array_equal(expected, [0.375, 0.625])
    rows = np.array([[2, 0], [0, 5]], dtype=np.uint8)
    contributions = forest_contributions(TREE, rows, expected_nodes)
    # Row 0 goes right at node 0 (feature 0: +0.125 to class 0), then left to class 0 at node 1
    # (feature 1: +0.5). Row 1 stops at VALUES[0] (feature 0: -0.125), feature 1 unused.
    np.testing.assert_array_equal(contributions[0], [[0.125, -0.125], [0.5, -0.5]])
    np.testing.assert_array_equal(contributions[1], [[-0.125, 0.125], [0.0, 0.0]])
    np.testing.assert_array_equal(expected + contributions.sum(axis=1), TREE.output(rows))
    # A node no background row reached weighs its children equally.
    left_only = np.array([[0, 0]], dtype=np.uint8)
    np.testing.assert_array_equal(forest_expectations(TREE, left_only)[0][1], [0.5, 0.5])


@pytest.mark.parametrize("is_classifier", [True, False], ids=["classes", "targets"])
def test_contributions_add_up_to_the_forest_s_output_whatever_n_jobs(is_classifier):
    X, y = load_diabetes(return_X_y=True)
    binned = QuantileBinner().fit_transform(X)
    target = Target.classes((y > 140).astype(int), 2) if is_classifier else Target.regression(y)
    settings = dataclasses.replace(
        SETTINGS,
        is_classifier=is_classifier,
        n_trees=6,
        max_features=None,
        criterion="gini" if is_classifier else "squared_error",
    )
    forest, _ = fit_forest("random", settings, binned, target, None, None, 0)
    expected_nodes, expected = forest_expectations(forest, binned[::4])
    # More rows than one task explains, so that threads share them out.
    rows = np.tile(binned, (3, 1))
    assert len(rows) > ROWS_PER_TASK
    contributions = forest_contributions(forest, rows, expected_nodes)
    # The bias (the background's expected output) plus the contributions is the prediction.
    np.testing.assert_allclose(
        expected + contributions.sum(axis=1), forest.output(rows), rtol=0, atol=1e-10
    )
    threads = forest_contributions(forest, rows, expected_nodes, n_jobs=2)
    np.testing.assert_array_equal(threads, contributions)
