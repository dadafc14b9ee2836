"""Confidence screening: confident rows leave the cascade at a layer and keep its prediction."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.screening import screening_threshold


def test_threshold_screens_the_confident_rows_that_beat_the_layer_s_accuracy():
    rng = np.random.default_rng(0)
    confidence = rng.uniform(0.3, 1.0, 4000)
    # The more confident, the likelier right: about 0.3 right at the bottom, 1.0 at the top.
    correct = rng.uniform(size=4000) < confidence
    threshold = screening_threshold(confidence, correct)
    screened = confidence > threshold
    target = correct.mean()
    assert 0.2 < screened.mean() < 0.9
    assert correct[screened].mean() > target
    # The least confident screened rows are still about as accurate as the layer on average.
    boundary = np.argsort(-confidence)[screened.sum() - 200 : screened.sum()]
    assert correct[boundary].mean() >= target - 0.05
    # Weighting the wrong rows more makes the layer's target lower and screening no stricter.
    weights = np.where(correct, 1.0, 3.0)
    assert screening_threshold(confidence, correct, weights) <= threshold + 1e-12


def test_no_row_is_screened_when_the_most_confident_are_not_more_accurate():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 3000)
    correct = rng.uniform(size=3000) < 0.8  # accuracy unrelated to confidence...
    correct[np.argsort(-confidence)[:200]] = False  # ...and the most confident are wrong
    assert screening_threshold(confidence, correct) == np.inf
    assert screening_threshold(confidence[:60], correct[:60]) == np.inf  # too few rows


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=4000, n_features=20, n_informative=8, n_classes=3, random_state=0
    )
    return train_test_split(X, y, test_size=0.5, random_state=0)


PARAMS = {"n_trees": 30, "max_layers": 3, "n_tolerant_rounds": 3, "random_state": 0}


def test_screened_rows_keep_the_prediction_of_the_layer_that_screened_them(data):
    X_train, X_test, y_train, y_test = data
    # Without the boosting stage, which would move every row's output after the cascade.
    model = CascadeForestClassifier(
        **PARAMS, confidence_screening=True, max_loss_se=np.inf, boost_rounds=0
    )
    model.fit(X_train, y_train)
    assert model.n_layers_ >= 2
    assert model.screened_share_.shape == model.screening_thresholds_.shape == (model.n_layers_,)
    assert 0 < model.screened_share_[0] < 1 and model.screened_share_[-1] == 0
    assert np.isinf(model.screening_thresholds_[-1])
    proba = model.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    first = np.mean(model.layers_[0].outputs(model._binner.transform(X_test)), axis=0)
    screened = first.max(axis=1) > model.screening_thresholds_[0]
    assert screened.any() and not screened.all()
    np.testing.assert_array_equal(proba[screened], first[screened])
    assert model.score(X_test, y_test) > 0.8


def test_screening_costs_little_accuracy_and_fits_faster_layers(data):
    X_train, X_test, y_train, y_test = data
    plain = CascadeForestClassifier(**PARAMS, max_loss_se=np.inf)
    screened = CascadeForestClassifier(**PARAMS, max_loss_se=np.inf, confidence_screening=True)
    plain.fit(X_train, y_train)
    screened.fit(X_train, y_train)
    assert screened.score(X_test, y_test) > plain.score(X_test, y_test) - 0.03

    # Later layers train on the rows left, which are fewer: their forests are smaller.
    def nodes(model, index):
        return sum(forest.n_nodes for forest in model.layers_[index].forests)

    assert nodes(screened, 1) < nodes(plain, 1)


@pytest.mark.parametrize(
    "extra",
    [
        {"out_of_sample": "kfold"},
        {"predictor": "forest"},
        {"class_weight": "balanced"},
        {"engine": "sklearn"},
    ],
    ids=["kfold", "final-predictor", "class-weight", "sklearn-engine"],
)
def test_screening_works_with_the_other_options(data, extra):
    X_train, X_test, y_train, y_test = data
    model = CascadeForestClassifier(**PARAMS, confidence_screening=True, **extra)
    model.fit(X_train, y_train)
    np.testing.assert_allclose(model.predict_proba(X_test).sum(axis=1), 1.0, rtol=1e-6)
    assert model.score(X_test, y_test) > 0.8


def test_screening_with_sample_weights_spill_and_any_n_jobs(data, tmp_path):
    X_train, X_test, y_train, _ = data
    weights = np.where(y_train == 0, 2.0, 1.0)
    results = []
    for n_jobs, spill in ((1, None), (2, tmp_path / "layers")):
        model = CascadeForestClassifier(
            **PARAMS, confidence_screening=True, n_jobs=n_jobs, spill_dir=spill
        ).fit(X_train, y_train, sample_weight=weights)
        results.append(model.predict_proba(X_test))
    np.testing.assert_array_equal(results[0], results[1])


def test_regression_has_no_confidence_to_screen():
    assert "confidence_screening" not in CascadeForestRegressor().get_params()
    with pytest.raises(TypeError, match="confidence_screening"):
        CascadeForestRegressor(confidence_screening=True)
