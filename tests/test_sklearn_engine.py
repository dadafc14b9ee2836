"""_core.sklearn_engine: the reference engine's forests as the settings ask, its out-of-sample sums
against the trees they come from, its fold models, and results that do not depend on n_jobs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from deepforest._core.forests import ForestSettings
from deepforest._core.sklearn_engine import (
    TREES_PER_TASK,
    SklearnForest,
    fit_sklearn_forest,
    make_sklearn_forest,
)

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=12,
    max_features="sqrt",
    max_depth=None,
    min_samples_leaf=1,
    criterion="gini",
    max_samples=None,
    class_weight=None,
    n_jobs=1,
    engine="sklearn",
)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X.astype(np.float32), y


def test_the_forests_are_scikit_learn_s_with_the_settings():
    random = make_sklearn_forest("random", SETTINGS, 7, seed=3)
    assert type(random) is RandomForestClassifier
    assert (random.n_estimators, random.max_features, random.random_state) == (7, "sqrt", 3)
    # The completely-random forest: extremely randomized trees, one candidate feature a split.
    balanced = dataclasses.replace(SETTINGS, class_weight="balanced")
    extra = make_sklearn_forest("completely_random", balanced, 7, seed=3)
    assert type(extra) is ExtraTreesClassifier
    assert (extra.max_features, extra.class_weight) == (1, "balanced")
    regression = dataclasses.replace(
        SETTINGS, is_classifier=False, criterion="friedman_mse", bootstrap=False, max_samples=0.5
    )
    forest = make_sklearn_forest("random", regression, 7, seed=3)
    assert type(forest) is RandomForestRegressor
    # friedman_mse is squared_error (deprecated as a synonym); no sample size without bootstrap.
    assert (forest.criterion, forest.bootstrap, forest.max_samples) == (
        "squared_error",
        False,
        None,
    )
    assert type(make_sklearn_forest("completely_random", regression, 7, 3)) is ExtraTreesRegressor


def _out_of_bag(model, X, groups=None):
    """Per row, the trees' summed probabilities where they left it out, and how many, slowly."""
    total, count = np.zeros((len(X), 3)), np.zeros(len(X), dtype=np.int64)
    for tree, bag in zip(model.estimators_, model.estimators_samples_, strict=True):
        left_out = np.ones(len(X), dtype=bool)
        left_out[bag] = False
        if groups is not None:
            left_out &= ~np.isin(groups, groups[bag])
        total[left_out] += tree.predict_proba(X[left_out])
        count[left_out] += 1
    return total, count


def test_out_of_bag_sums_add_the_trees_that_left_each_row_out(iris):
    X, y = iris
    forest, (total, count) = fit_sklearn_forest("random", SETTINGS, X, y, 3, None, None, 0)
    assert isinstance(forest, SklearnForest) and len(forest.models) == 1
    expected_total, expected_count = _out_of_bag(forest.models[0], X)
    np.testing.assert_array_equal(count, expected_count)
    np.testing.assert_allclose(total, expected_total, rtol=1e-12)
    # Rows 0-9 as one group of identical rows: a tree that drew any of them scores none. Each
    # tree draws one of them but with probability (140 / 150) ** 150, 3e-5: none is left out.
    groups = np.arange(len(X))
    groups[:10] = 0
    _, (total, grouped) = fit_sklearn_forest(
        "random", SETTINGS, X, y, 3, None, None, 0, groups=groups
    )
    expected_total, expected_count = _out_of_bag(forest.models[0], X, groups)
    np.testing.assert_array_equal(grouped, expected_count)
    np.testing.assert_allclose(total, expected_total, rtol=1e-12)
    assert count[:10].sum() > 0 and grouped[:10].sum() == 0
    np.testing.assert_array_equal(grouped[10:], count[10:])


def test_fold_models_score_only_their_own_fold(iris):
    X, y = iris
    folds = np.arange(len(X)) % 3
    forest, (total, count) = fit_sklearn_forest("random", SETTINGS, X, y, 3, None, folds, 5)
    assert [len(model.estimators_) for model in forest.models] == [4, 4, 4]
    assert [model.random_state for model in forest.models] == [5, 6, 7]
    for fold, model in enumerate(forest.models):
        rows = folds == fold
        # Each fold model trained on the other folds' rows: its trees drew 100 rows, not 150.
        assert {tree.tree_.weighted_n_node_samples[0] for tree in model.estimators_} == {100}
        np.testing.assert_array_equal(count[rows], 4)
        np.testing.assert_array_equal(total[rows] / 4, forest.output(X[rows], fold=fold))
    # New rows: every tree, each fold model weighted by its number of trees (equal here).
    by_fold = np.mean([forest.output(X, fold=fold) for fold in range(3)], axis=0)
    np.testing.assert_allclose(forest.output(X), by_fold, rtol=1e-12)


def test_a_fold_model_that_never_saw_a_class_gives_it_zero(iris):
    X, y = iris
    # Class 2 lives in fold 0 only: fold 0's model trains without it.
    folds = np.where(y == 2, 0, np.arange(len(X)) % 2 + 1)
    forest, (total, _) = fit_sklearn_forest("random", SETTINGS, X, y, 3, None, folds, 0)
    output = forest.output(X, fold=0)
    assert output.shape == (len(X), 3)
    np.testing.assert_array_equal(output[:, 2], 0.0)
    np.testing.assert_array_equal(total[folds == 0, 2], 0.0)
    np.testing.assert_allclose(output.sum(axis=1), 1.0)


def test_results_do_not_depend_on_n_jobs(iris):
    X, y = iris
    results = []
    for n_jobs in (1, 2):
        # Three chunks of trees, the last one partial.
        settings = dataclasses.replace(SETTINGS, n_trees=2 * TREES_PER_TASK + 5, n_jobs=n_jobs)
        forest, sums = fit_sklearn_forest("completely_random", settings, X, y, 3, None, None, 1)
        results.append((*sums, forest.output(X, n_jobs=n_jobs)))
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)


def test_sizes_importances_and_regression_outputs(iris):
    X, y = iris
    forest, sums = fit_sklearn_forest(
        "random", SETTINGS, X, y, 3, None, np.arange(len(X)) % 2, 0, score_training=False
    )
    assert sums is None
    trees = [tree for model in forest.models for tree in model.estimators_]
    assert forest.n_trees == 12 and forest.n_features_in_ == 4
    assert forest.n_nodes == sum(tree.tree_.node_count for tree in trees)
    assert forest.nbytes > forest.n_nodes * 50  # a node record is 64 bytes
    expected = np.mean([model.feature_importances_ for model in forest.models], axis=0)
    np.testing.assert_array_equal(forest.feature_importances_, expected)
    # Two targets, and the criterion only scikit-learn's trees offer.
    targets = np.column_stack([X[:, 0], -X[:, 1]]).astype(np.float64)
    regression = dataclasses.replace(SETTINGS, is_classifier=False, criterion="absolute_error")
    forest, (total, count) = fit_sklearn_forest("random", regression, X, targets, 2, None, None, 0)
    assert total.shape == (len(X), 2) and forest.output(X).shape == (len(X), 2)
    scored = count > 0  # 12 trees may all draw a row
    assert scored.mean() > 0.9
    mean = total[scored] / count[scored, None]
    assert np.corrcoef(mean[:, 0], targets[scored, 0])[0, 1] > 0.8
