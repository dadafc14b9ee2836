"""_prediction: predicting in blocks of rows gives the same outputs as one pass, for the
classifier, confidence screening, a final predictor and the regressor."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes

from deepforest import CascadeForestClassifier, CascadeForestRegressor, _prediction

# ------------------------------------------------------------ batched prediction


@pytest.fixture(scope="module")
def two_layer_classifier():
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=2, max_loss_se=np.inf, min_samples_leaf=1, random_state=0
    ).fit(X, y)
    assert model.n_layers_ == 2  # the augmented features of layer 1 are exercised too
    return model, X


def _in_slices(predict, X, size):
    assert size < _prediction.PREDICT_BATCH_ROWS
    return np.concatenate([predict(X[start : start + size]) for start in range(0, len(X), size)])


def test_prediction_over_several_batches_equals_prediction_in_slices(two_layer_classifier):
    model, X = two_layer_classifier
    assert _prediction.PREDICT_BATCH_ROWS == 65_536
    rng = np.random.RandomState(0)
    X_many = np.tile(X, (116, 1)) + rng.normal(scale=0.01, size=(116 * len(X), X.shape[1]))
    assert _prediction.PREDICT_BATCH_ROWS < len(X_many) < 2 * _prediction.PREDICT_BATCH_ROWS
    whole = model.predict_proba(X_many)
    assert whole.shape == (len(X_many), 2)
    np.testing.assert_array_equal(whole, _in_slices(model.predict_proba, X_many, 10_000))
    np.testing.assert_array_equal(
        model.predict(X_many),
        model.classes_[_in_slices(model.predict_proba, X_many, 10_000).argmax(axis=1)],
    )


def _count_batches(monkeypatch):
    sizes = []
    real = _prediction.final_outputs_batch

    def counting(model, X):
        sizes.append(len(X))
        return real(model, X)

    monkeypatch.setattr(_prediction, "final_outputs_batch", counting)
    return sizes


def _predict_in_patched_batches(monkeypatch, model, X, batch_rows):
    """predict_proba with PREDICT_BATCH_ROWS patched; return it and the batch sizes used."""
    sizes = _count_batches(monkeypatch)
    monkeypatch.setattr(_prediction, "PREDICT_BATCH_ROWS", batch_rows)
    output = model.predict_proba(X)
    monkeypatch.undo()
    return output, sizes


def test_small_batches_give_the_same_classifier_outputs(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=3, min_samples_leaf=1, random_state=0
    ).fit(X, y)
    assert model.n_layers_ == 2
    expected = model.predict_proba(X)  # one batch
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 50)
    # The patched path was taken: 569 rows in batches of 50.
    assert sizes == [50] * 11 + [19]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_screened_outputs(monkeypatch):
    """With confidence screening each batch lets a different number of rows leave early."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=10,
        max_layers=3,
        min_samples_leaf=1,
        max_loss_se=np.inf,
        confidence_screening=True,
        random_state=0,
    ).fit(X, y)
    assert model.n_layers_ == 2
    assert 0.5 < model.screened_share_[0] < 1.0  # some rows leave at layer 0, not all
    expected = model.predict_proba(X)
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 64)
    assert sizes == [64] * 8 + [57]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_final_predictor_outputs(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=3, min_samples_leaf=1, predictor="forest", random_state=0
    ).fit(X, y)
    assert model.predictor_ is not None
    expected = model.predict_proba(X)
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 100)
    assert sizes == [100] * 5 + [69]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_regressor_outputs(monkeypatch):
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -y])
    for target in (y, Y):
        model = CascadeForestRegressor(
            n_trees=4, max_layers=2, max_loss_se=np.inf, min_samples_leaf=1, random_state=0
        ).fit(X, target)
        expected = model.predict(X)
        sizes = _count_batches(monkeypatch)
        monkeypatch.setattr(_prediction, "PREDICT_BATCH_ROWS", 100)
        batched = model.predict(X)
        monkeypatch.undo()
        assert sizes == [100] * 4 + [42]
        assert batched.shape == target.shape
        np.testing.assert_array_equal(batched, expected)
