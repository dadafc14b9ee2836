"""_core.layer: a fitted layer's forests and out-of-sample outputs, how it weighs its members,
combines their outputs and bins them for the next layer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _engine_data import SETTINGS
from sklearn.datasets import load_iris

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import Target
from deepforest._core.layer import Layer, combine_outputs, fit_layer, stacking_weights


def test_stacking_weights_are_convex_and_follow_the_better_forest():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(500, 1))
    good, noise = y + 0.1 * rng.normal(size=y.shape), rng.normal(size=y.shape)
    weights = stacking_weights([good, noise], y, None)
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    assert weights[0] > 0.95
    # Rows weighted zero do not count: there the noise is the truth.
    truth = np.where(np.arange(500)[:, None] < 250, y, noise)
    sample_weight = (np.arange(500) >= 250).astype(float)
    assert stacking_weights([good, noise], truth, sample_weight)[1] > 0.95


def test_outputs_combine_as_their_mean_or_with_the_layer_s_weights():
    outputs = [np.full((2, 1), 1.0), np.full((2, 1), 2.0), np.full((2, 1), 6.0)]
    np.testing.assert_array_equal(combine_outputs(outputs, None), [[3.0], [3.0]])
    combined = combine_outputs(outputs, np.array([0.5, 0.25, 0.25]))
    np.testing.assert_array_equal(combined, [[0.5 + 0.5 + 1.5]] * 2)


def test_class_vectors_are_binned_on_a_fixed_grid_of_255_steps():
    layer = Layer(forests=[], n_outputs=2)
    first = np.array([[0.0, 1.0], [0.5, 0.5]])
    second = np.array([[1 / 254, 1.2], [-0.1, 0.3]])  # beyond [0, 1]: clipped
    binned = layer.binned_outputs([first, second])
    assert binned.dtype == np.uint8
    np.testing.assert_array_equal(binned, [[0, 254, 1, 254], [127, 127, 0, 76]])


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return QuantileBinner().fit_transform(X), y


def _fit_layer(X, target, is_classifier):
    settings = dataclasses.replace(
        SETTINGS,
        is_classifier=is_classifier,
        n_trees=6,
        max_features=None,
        criterion="gini" if is_classifier else "squared_error",
    )
    return fit_layer(
        settings,
        n_estimators=2,
        X=X,
        target=target,
        sample_weight=None,
        folds=None,
        groups=None,
        rng=np.random.RandomState(0),
    )


def test_a_classification_layer_holds_pairs_of_forests_and_their_out_of_bag_outputs(iris):
    X, y = iris
    layer, outputs = _fit_layer(X, Target.classes(y, 3), True)
    # n_estimators pairs of a random and a completely-random forest (one candidate a split).
    assert len(layer.forests) == len(outputs) == 4 and layer.n_outputs == 3
    assert layer.output_weights is None and layer.output_binner is None
    for output, forest in zip(outputs, layer.forests, strict=True):
        assert output.shape == (150, 3)
        np.testing.assert_allclose(output.sum(axis=1), 1.0)
        # Out of bag: less sure than the forest on the rows its trees trained on.
        assert output.max(axis=1).mean() < forest.output(X).max(axis=1).mean()
    np.testing.assert_allclose(layer.combine(layer.outputs(X)), np.mean(layer.outputs(X), axis=0))


def test_a_regression_layer_weighs_its_forests_and_bins_their_outputs(iris):
    X, _ = iris
    target = X[:, 2].astype(np.float64)
    layer, outputs = _fit_layer(X, Target.regression(target), False)
    weights = layer.output_weights
    assert weights.shape == (4,) and weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(
        layer.binned_outputs(outputs), layer.output_binner.transform(np.hstack(outputs))
    )
