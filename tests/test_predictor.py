"""_core.predictor: the final predictor each name builds, with the cascade's settings and the
user's parameters, and the "forest" predictor as a scikit-learn estimator on binned features."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import ForestSettings
from deepforest._core.predictor import XGBOOST_DEFAULTS, ForestPredictor, make_predictor

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=20,
    max_features="sqrt",
    max_depth=None,
    min_samples_leaf=3,
    criterion="entropy",
    max_samples=None,
    class_weight=None,
    n_jobs=1,
)


@pytest.fixture(scope="module")
def binned_iris():
    X, y = load_iris(return_X_y=True)
    return QuantileBinner().fit_transform(X), y


def test_the_forest_predictor_takes_the_cascade_s_engine_trees_and_leaf_size():
    predictor = make_predictor("forest", settings=SETTINGS, seed=4, params=None)
    assert type(predictor) is ForestPredictor
    assert predictor.task == "classification" and predictor.random_state == 4
    assert (predictor.n_estimators, predictor.min_samples_leaf) == (20, 3)
    # scikit-learn's defaults for the rest, not the cascade's criterion.
    assert (predictor.criterion, predictor.max_depth) == (None, None)
    sklearn_settings = dataclasses.replace(SETTINGS, engine="sklearn")
    forest = make_predictor("forest", settings=sklearn_settings, seed=4, params={"max_depth": 3})
    assert type(forest) is RandomForestClassifier
    assert (forest.n_estimators, forest.min_samples_leaf, forest.max_depth) == (20, 3, 3)
    regression = dataclasses.replace(SETTINGS, is_classifier=False)
    assert make_predictor("forest", settings=regression, seed=0, params={}).task == "regression"


def test_parameters_the_forest_predictor_lacks_are_named():
    with pytest.raises(ValueError, match=r"predictor_params \['learning_rate'\] are not"):
        make_predictor("forest", settings=SETTINGS, seed=0, params={"learning_rate": 0.1})


def test_the_user_s_estimator_is_cloned_with_the_parameters():
    user = LogisticRegression(C=2.0)
    predictor = make_predictor(user, settings=SETTINGS, seed=0, params={"max_iter": 50})
    assert predictor is not user and type(predictor) is LogisticRegression
    assert (predictor.C, predictor.max_iter) == (2.0, 50)
    assert user.max_iter == 100  # untouched


def test_the_boosters_get_their_defaults_and_at_most_this_machine_s_cores():
    xgboost = pytest.importorskip("xgboost")
    many = dataclasses.replace(SETTINGS, n_jobs=10_000)
    booster = make_predictor("xgboost", settings=many, seed=1, params={"max_depth": 2})
    assert type(booster) is xgboost.XGBClassifier
    assert booster.get_params()["n_estimators"] == XGBOOST_DEFAULTS["n_estimators"]
    assert (booster.max_depth, booster.random_state) == (2, 1)
    assert booster.n_jobs == os.cpu_count()
    lightgbm = pytest.importorskip("lightgbm")
    regression = dataclasses.replace(SETTINGS, is_classifier=False)
    booster = make_predictor("lightgbm", settings=regression, seed=1, params={"num_leaves": 7})
    assert type(booster) is lightgbm.LGBMRegressor and booster.num_leaves == 7


def test_the_forest_predictor_is_a_classifier_on_binned_features(binned_iris):
    X, y = binned_iris
    predictor = ForestPredictor(n_estimators=20, random_state=0).fit(X, y)
    proba = predictor.predict_proba(X)
    assert proba.shape == (150, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(predictor.predict(X), proba.argmax(axis=1))
    assert np.mean(predictor.predict(X) == y) > 0.9
    assert predictor.feature_importances_.shape == (4,)
    # A scikit-learn estimator: cloned unfitted, the same fit from the same random_state.
    again = clone(predictor).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), proba)
    other = clone(predictor).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), proba)


def test_the_forest_predictor_keeps_the_target_s_shape_in_regression(binned_iris):
    X, _ = binned_iris
    target = X[:, 2].astype(np.float64)
    one = ForestPredictor(task="regression", n_estimators=10, random_state=0).fit(X, target)
    assert one.predict(X).shape == (150,)
    assert np.corrcoef(one.predict(X), target)[0, 1] > 0.95
    two = ForestPredictor(task="regression", n_estimators=10, random_state=0)
    assert two.fit(X, np.column_stack([target, -target])).predict(X).shape == (150, 2)
