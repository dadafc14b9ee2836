"""_core.trees: a fitted forest as flat arrays, its prediction, and the joining of trees."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from _engine_data import SETTINGS, binned_digits

from deepforest._core.forests import Target, fit_forest
from deepforest._core.trees import ROWS_PER_TASK, concatenate_trees, forest_outputs


@pytest.fixture(scope="module")
def digits():
    return binned_digits()


def test_the_node_table_made_for_prediction_is_never_saved(digits):
    X_train, y_train, X_test, _ = digits
    forest, _ = fit_forest("random", SETTINGS, X_train, Target.classes(y_train, 10), None, None, 0)
    before = len(pickle.dumps(forest))
    expected = forest.output(X_test)
    assert "_nodes" in forest.__dict__  # made on first use, kept for the next call
    copy = pickle.loads(pickle.dumps(forest))
    assert len(pickle.dumps(forest)) == before
    assert "_nodes" not in copy.__dict__
    np.testing.assert_array_equal(copy.output(X_test), expected)


def test_only_forests_read_from_elsewhere_are_checked_before_their_first_prediction(
    digits, monkeypatch
):
    from deepforest._core.trees import BinnedForest

    X_train, y_train, X_test, _ = digits
    forest, _ = fit_forest("random", SETTINGS, X_train, Target.classes(y_train, 10), None, None, 0)
    checked = []
    original = BinnedForest._check_nodes
    monkeypatch.setattr(
        BinnedForest, "_check_nodes", lambda self: checked.append(self) or original(self)
    )
    expected = forest.output(X_test)
    assert checked == []  # grown in this process: its arrays come from the grower
    copy = pickle.loads(pickle.dumps(forest))
    np.testing.assert_array_equal(copy.output(X_test), expected)
    assert checked == [copy]  # read back: it could have come from anyone
    copy.left[0] = 10**6  # damage a forest's arrays before its table is made...
    copy.__dict__.pop("_nodes")
    with pytest.raises(ValueError, match="malformed"):
        copy.output(X_test)  # ...and the check refuses it


def _tree(feature, threshold, left, right, values, root, importances):
    """One tree as the grower returns it: node and leaf indices local to the tree."""
    return (
        np.array(feature, dtype=np.int32),
        np.array(threshold, dtype=np.uint8),
        np.array(left, dtype=np.int32),
        np.array(right, dtype=np.int32),
        np.array(values, dtype=np.float32).reshape(-1, 2),
        root,
        np.array(importances, dtype=np.float64),
    )


# Two classes (refs 0 and 1 are pure leaves, refs from 2 on rows of the tree's values).
#   A: node 0 (feature 0 <= 2) -> class 0, else its value 0
#   B: node 0 (feature 1 <= 1) -> node 1, else its value 0; node 1 (feature 0 <= 4) -> class 1,
#      else its value 1
#   C: one leaf, class 0
TREES = [
    _tree([0], [2], [-1], [-3], [[0.5, 0.5]], 0, [3.0, 0.0]),
    _tree([1, 0], [1, 4], [1, -2], [-3, -4], [[0.25, 0.75], [0.75, 0.25]], 0, [1.0, 1.0]),
    _tree([], [], [], [], [], -1, [0.0, 0.0]),
]


def test_joined_trees_index_the_joined_arrays():
    forest = concatenate_trees(TREES, n_pure=2, n_features=2, fold_bounds=[0, 2, 3])
    np.testing.assert_array_equal(forest.roots, [0, 1, -1])
    np.testing.assert_array_equal(forest.feature, [0, 1, 0])
    # B's node 1 is node 2 now, its value rows follow A's: refs shift by one row.
    np.testing.assert_array_equal(forest.left, [-1, 2, -2])
    np.testing.assert_array_equal(forest.right, [-3, -4, -5])
    np.testing.assert_array_equal(forest.values, [[0.5, 0.5], [0.25, 0.75], [0.75, 0.25]])
    # Each tree's importances sum to 1 before the mean; a one-leaf tree does not count.
    np.testing.assert_array_equal(forest.feature_importances_, [0.75, 0.25])
    assert (forest.n_trees, forest.n_nodes, forest.n_outputs, forest.n_features_in_) == (3, 3, 2, 2)


def test_outputs_average_the_trees_or_those_of_one_fold():
    forest = concatenate_trees(TREES, n_pure=2, n_features=2, fold_bounds=[0, 2, 3])
    X = np.array([[0, 0], [3, 0], [0, 2], [5, 2]], dtype=np.uint8)
    # By hand, trees A, B, C for each row.
    a = [[1, 0], [0.5, 0.5], [1, 0], [0.5, 0.5]]
    b = [[0, 1], [0, 1], [0.25, 0.75], [0.25, 0.75]]
    c = [[1, 0]] * 4
    np.testing.assert_allclose(forest.output(X), (np.add(a, b) + c) / 3, rtol=1e-15)
    np.testing.assert_allclose(forest.output(X, fold=0), np.add(a, b) / 2, rtol=1e-15)
    np.testing.assert_array_equal(forest.output(X, fold=1), c)


def test_several_forests_predict_in_one_call_the_same_whatever_n_jobs(digits):
    X_train, y_train, X_test, _ = digits
    target = Target.classes(y_train, 10)
    forests = [
        fit_forest("random", SETTINGS, X_train, target, None, None, seed)[0] for seed in (0, 1)
    ]
    # More rows than one task takes, so the rows are shared out.
    rows = np.tile(X_test, (3, 1))
    assert len(rows) > ROWS_PER_TASK
    alone = [forest.output(rows) for forest in forests]
    for n_jobs in (1, 2):
        together = forest_outputs(forests, rows, n_jobs=n_jobs)
        for one, other in zip(alone, together, strict=True):
            np.testing.assert_array_equal(one, other)


def test_a_few_rows_stay_in_the_callers_thread_and_predict_the_same(digits, monkeypatch):
    from deepforest._core import trees

    X_train, y_train, X_test, _ = digits
    forest, _ = fit_forest("random", SETTINGS, X_train, Target.classes(y_train, 10), None, None, 0)
    threads_asked = []
    original = trees.run_in_threads

    def recording(calls, n_jobs):
        threads_asked.append(n_jobs)
        return original(calls, n_jobs)

    monkeypatch.setattr(trees, "run_in_threads", recording)
    few = trees.PARALLEL_MIN_ROW_TREES // forest.n_trees - 1
    many = trees.PARALLEL_MIN_ROW_TREES // forest.n_trees + 1
    assert 0 < few < many <= len(X_test)
    [few_output] = forest_outputs([forest], X_test[:few], n_jobs=2)
    [many_output] = forest_outputs([forest], X_test[:many], n_jobs=2)
    assert threads_asked == [1, 2]
    np.testing.assert_array_equal(few_output, many_output[:few])
