"""_prediction: predicting in blocks of rows gives the same outputs as one pass, for the
classifier, confidence screening, a final predictor and the regressor; staged predictions give
each kept layer's output, then predict's."""

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


@pytest.fixture(scope="module")
def screened_model():
    """Two layers with confidence screening; some rows leave at layer 0, not all."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=10,
        max_layers=3,
        min_samples_leaf=1,
        max_loss_se=np.inf,
        confidence_screening=True,
        boost_rounds=0,
        random_state=0,
    ).fit(X, y)
    assert model.n_layers_ == 2
    assert 0.5 < model.screened_share_[0] < 1.0
    return model, X


def test_small_batches_give_the_same_screened_outputs(monkeypatch, screened_model):
    """With confidence screening each batch lets a different number of rows leave early."""
    model, X = screened_model
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


# ------------------------------------------------------------ staged predictions
def _layer_means(model, X):
    """Each kept layer's mean output on X, computed layer by layer from the members."""
    return [
        layer.combine(outputs)
        for layer, outputs in zip(
            model.layers_, model._layer_outputs(model._binner.transform(X)), strict=True
        )
    ]


@pytest.mark.parametrize("boost_rounds", [0, 6])
def test_staged_predict_proba_gives_each_layer_then_predict_proba(boost_rounds):
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=8,
        max_layers=3,
        max_loss_se=np.inf,
        min_samples_leaf=1,
        boost_rounds=boost_rounds,
        random_state=0,
    ).fit(X[:400], y[:400])
    assert model.n_layers_ >= 2
    assert (model.booster_ is not None) == (boost_rounds > 0)
    stages = list(model.staged_predict_proba(X[400:]))
    assert len(stages) == model.n_layers_
    means = _layer_means(model, X[400:])
    for stage, mean in zip(stages[:-1], means[:-1], strict=True):
        np.testing.assert_array_equal(stage, mean)
    np.testing.assert_array_equal(stages[-1], model.predict_proba(X[400:]))
    if boost_rounds == 0:
        np.testing.assert_array_equal(stages[-1], means[-1])
    else:
        assert not np.array_equal(stages[-1], means[-1])  # the stage applies to the last only
    labels = list(model.staged_predict(X[400:]))
    for stage, predicted in zip(stages, labels, strict=True):
        np.testing.assert_array_equal(predicted, model.classes_[stage.argmax(axis=1)])
    np.testing.assert_array_equal(labels[-1], model.predict(X[400:]))


def test_staged_predictions_keep_the_output_of_the_layer_a_screened_row_left_at(screened_model):
    model, X = screened_model
    first, last = model.staged_predict_proba(X)
    means = _layer_means(model, X)
    np.testing.assert_array_equal(first, means[0])
    screened = means[0].max(axis=1) > model.screening_thresholds_[0]
    assert 0 < screened.sum() < len(X)
    np.testing.assert_array_equal(last[screened], first[screened])
    np.testing.assert_array_equal(last, model.predict_proba(X))


@pytest.mark.parametrize("n_targets", [1, 2])
def test_regressor_staged_predict_ends_with_predict(n_targets):
    X, y = load_diabetes(return_X_y=True)
    Y = y if n_targets == 1 else np.column_stack([y, -y])
    model = CascadeForestRegressor(
        n_trees=8, max_layers=2, max_loss_se=np.inf, min_samples_leaf=1, random_state=0
    ).fit(X[:300], Y[:300])
    assert model.n_layers_ == 2
    stages = list(model.staged_predict(X[300:]))
    assert [stage.shape for stage in stages] == [Y[300:].shape] * 2
    np.testing.assert_array_equal(stages[0], _layer_means(model, X[300:])[0].reshape(Y[300:].shape))
    np.testing.assert_array_equal(stages[-1], model.predict(X[300:]))
    assert not hasattr(model, "staged_predict_proba")
