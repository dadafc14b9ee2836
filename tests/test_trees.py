"""_core.trees: a fitted forest as flat arrays, its prediction, and the joining of trees."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import ForestSettings, Target, fit_forest

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=25,
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
