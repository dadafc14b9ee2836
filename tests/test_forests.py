"""_core.forests: the out-of-sample outputs of both schemes, exactly as defined, and the prior for
rows no tree left out; results that do not depend on n_jobs; the bootstrap's size, the candidate
features, the rows' weights; the engine a criterion needs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _engine_data import SETTINGS, binned_digits
from sklearn.datasets import load_diabetes

from deepforest import CascadeForestRegressor
from deepforest._core.forests import (
    Target,
    bootstrap_size,
    fit_forest,
    resolve_engine,
    resolve_max_features,
    row_weights,
    tree_seeds,
)
from deepforest._core.grower import draw_bootstrap
from deepforest._core.rng import new_state
from deepforest._core.traversal import pack_nodes, sum_trees
from deepforest._core.trees import BinnedForest


@pytest.fixture(scope="module")
def digits():
    return binned_digits()


def _tree_output(forest: BinnedForest, X: np.ndarray, tree: int) -> np.ndarray:
    out = np.zeros((X.shape[0], forest.n_outputs))
    sum_trees(
        np.ascontiguousarray(X),
        forest.roots,
        pack_nodes(forest.feature, forest.threshold, forest.left, forest.right),
        forest.values,
        forest.n_pure,
        tree,
        tree + 1,
        out,
    )
    return out


@pytest.mark.parametrize("kind", ["random", "completely_random"])
def test_out_of_bag_vectors_average_exactly_the_trees_that_left_the_row_out(digits, kind):
    X, y, _, _ = digits
    forest, oob = fit_forest(kind, SETTINGS, X, Target.classes(y, 10), None, None, seed=7)
    n_rows = len(X)
    total = np.zeros((n_rows, 10))
    count = np.zeros(n_rows)
    for tree, seed in enumerate(tree_seeds(7, forest.n_trees)):
        counts = draw_bootstrap(n_rows, np.arange(n_rows), n_rows, new_state(int(seed)))
        out_of_bag = counts == 0
        total[out_of_bag] += _tree_output(forest, X[out_of_bag], tree)
        count[out_of_bag] += 1
    assert count.min() > 0  # 25 trees leave every row out at least once
    np.testing.assert_allclose(oob, total / count[:, None], rtol=1e-12, atol=1e-15)


def test_fold_vectors_come_from_the_trees_of_the_row_s_fold_which_never_drew_it(digits):
    X, y, _, _ = digits
    folds = np.arange(len(X)) % 3
    forest, out_of_fold = fit_forest(
        "random", SETTINGS, X, Target.classes(y, 10), None, folds, seed=3
    )
    np.testing.assert_array_equal(forest.fold_bounds, [0, 9, 17, 25])
    seeds = tree_seeds(3, forest.n_trees)
    for fold in range(3):
        rows = folds == fold
        begin, end = forest.fold_bounds[fold : fold + 2]
        for tree in range(begin, end):
            eligible = np.flatnonzero(~rows)
            counts = draw_bootstrap(len(X), eligible, len(eligible), new_state(int(seeds[tree])))
            assert counts[rows].sum() == 0 and counts.sum() == len(eligible)
        np.testing.assert_allclose(
            out_of_fold[rows], forest.output(X[rows], fold=fold), rtol=1e-12, atol=1e-15
        )


def test_results_are_bit_identical_for_any_n_jobs(digits):
    X, y, X_test, _ = digits
    results = []
    for n_jobs in (1, 2, -1):
        settings = dataclasses.replace(SETTINGS, n_jobs=n_jobs)
        forest, oob = fit_forest("random", settings, X, Target.classes(y, 10), None, None, 0)
        # More rows than one prediction task takes, so the rows are shared out too.
        big = np.repeat(X_test, 20, axis=0)
        results.append((oob, forest.output(big, n_jobs=n_jobs), forest.feature))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_max_samples_draws_fewer_rows():
    assert bootstrap_size(None, 1000) == 1000
    assert bootstrap_size(0.25, 1000) == 250
    assert bootstrap_size(300, 1000) == 300 and bootstrap_size(3000, 1000) == 1000
    counts = draw_bootstrap(1000, np.arange(1000), 250, new_state(0))
    assert counts.sum() == 250


def test_absolute_error_needs_scikit_learn_s_trees():
    X, y = load_diabetes(return_X_y=True)
    model = CascadeForestRegressor(n_trees=4, max_layers=1, criterion="absolute_error")
    assert model.fit(X, y).engine_ == "sklearn"
    with pytest.raises(ValueError, match="engine='sklearn'"):
        model.set_params(engine="numba").fit(X, y)


@pytest.mark.parametrize("engine", ["numba", "sklearn"])
def test_rows_no_tree_left_out_get_the_weighted_class_prior_with_either_engine(digits, engine):
    X, y, _, _ = digits
    X = X[:300] if engine == "numba" else X[:300].astype(np.float32)
    y = y[:300]
    weights = np.where(y == 3, 4.0, 1.0)
    settings = dataclasses.replace(SETTINGS, n_trees=5, engine=engine)
    # All rows one group of identical rows: every tree draws some of them, so none is out of bag.
    groups = np.zeros(len(y), dtype=np.int64)
    _, oob = fit_forest(
        "random", settings, X, Target.classes(y, 10), weights, None, 0, groups=groups
    )
    prior = np.bincount(y, weights=weights, minlength=10) / weights.sum()
    np.testing.assert_allclose(oob, np.tile(prior, (len(y), 1)), rtol=1e-12)


def test_the_engine_auto_stands_for_and_the_criteria_only_scikit_learn_offers():
    assert resolve_engine("auto", "gini") == "numba"
    assert resolve_engine("auto", "absolute_error") == "sklearn"
    assert resolve_engine("sklearn", "gini") == "sklearn"
    with pytest.raises(ValueError, match="only offered by scikit-learn's trees"):
        resolve_engine("numba", "absolute_error")


@pytest.mark.parametrize(
    "max_features, expected",
    [(None, 10), ("sqrt", 3), ("log2", 3), (0.25, 2), (0.01, 1), (4, 4), (20, 10)],
)
def test_max_features_counts_candidates_as_scikit_learn_does(max_features, expected):
    assert resolve_max_features(max_features, 10) == expected


def test_row_weights_are_sample_weights_times_class_weights():
    y = np.array([0, 0, 0, 1])
    target, sample_weight = Target.classes(y, 2), np.array([1.0, 2.0, 1.0, 1.0])
    balanced = dataclasses.replace(SETTINGS, class_weight="balanced")
    # "balanced": n_rows / (n_classes * class count): 4 / 6 for class 0, 4 / 2 for class 1.
    weights = row_weights(balanced, target, sample_weight, 4)
    np.testing.assert_allclose(weights, [2 / 3, 4 / 3, 2 / 3, 2.0])
    # Per tree with "balanced_subsample", by the grower; none for regression.
    per_tree = dataclasses.replace(SETTINGS, class_weight="balanced_subsample")
    np.testing.assert_array_equal(row_weights(per_tree, target, sample_weight, 4), sample_weight)
    regression = dataclasses.replace(balanced, is_classifier=False)
    values = Target.regression(y.astype(float))
    np.testing.assert_array_equal(row_weights(regression, values, None, 4), np.ones(4))
