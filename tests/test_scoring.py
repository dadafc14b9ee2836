"""_core.scoring: layer scores against scikit-learn's metrics, for classes and values, named
and callable scorers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from deepforest._core.scoring import layer_score

# ------------------------------------------------------------------ layer scores


def _class_score(scoring, y, proba, sample_weight, classes):
    return layer_score(
        scoring,
        is_classifier=True,
        y=y,
        mean_output=proba,
        sample_weight=sample_weight,
        classes=classes,
    )


def _value_score(scoring, y, output, sample_weight):
    return layer_score(
        scoring, is_classifier=False, y=y, mean_output=output, sample_weight=sample_weight
    )


@pytest.fixture(scope="module")
def probabilities():
    rng = np.random.RandomState(0)
    classes = np.array(["ant", "bee", "cat"])
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=60)
    y = classes[rng.randint(0, 3, size=60)]
    weights = rng.uniform(0.2, 3.0, size=60)
    return classes, proba, y, weights


def test_default_classifier_score_is_accuracy(probabilities):
    classes, proba, y, weights = probabilities
    predicted = classes[proba.argmax(axis=1)]
    expected = accuracy_score(y, predicted)
    assert 0.2 < expected < 0.6  # neither trivial nor perfect
    assert _class_score(None, y, proba, None, classes) == pytest.approx(expected, abs=1e-12)
    weighted = accuracy_score(y, predicted, sample_weight=weights)
    assert weighted != pytest.approx(expected)
    assert _class_score(None, y, proba, weights, classes) == pytest.approx(weighted, abs=1e-12)


def test_custom_classifier_scores_match_sklearn_metrics(probabilities):
    classes, proba, y, weights = probabilities
    predicted = classes[proba.argmax(axis=1)]
    assert _class_score("neg_log_loss", y, proba, None, classes) == pytest.approx(
        -log_loss(y, proba, labels=classes), rel=1e-12
    )
    assert _class_score("neg_log_loss", y, proba, weights, classes) == pytest.approx(
        -log_loss(y, proba, labels=classes, sample_weight=weights), rel=1e-12
    )
    assert _class_score("balanced_accuracy", y, proba, None, classes) == pytest.approx(
        balanced_accuracy_score(y, predicted), rel=1e-12
    )
    assert _class_score("balanced_accuracy", y, proba, weights, classes) == pytest.approx(
        balanced_accuracy_score(y, predicted, sample_weight=weights), rel=1e-12
    )


def test_binary_roc_auc_uses_the_second_class_column():
    rng = np.random.RandomState(1)
    classes = np.array(["no", "yes"])
    positive = rng.uniform(size=80)
    proba = np.column_stack([1 - positive, positive])
    y = np.where(rng.uniform(size=80) < positive, "yes", "no")
    expected = roc_auc_score(y == "yes", positive)
    assert 0.6 < expected < 0.95
    assert _class_score("roc_auc", y, proba, None, classes) == pytest.approx(expected)


def test_callable_scoring_gets_the_precomputed_outputs(probabilities):
    classes, proba, y, _ = probabilities
    seen = {}

    def scorer(estimator, X, y_true):
        seen["X"] = X
        seen["proba"] = estimator.predict_proba(X)
        return float(np.mean(estimator.predict(X) == y_true)) - 1.0

    expected = accuracy_score(y, classes[proba.argmax(axis=1)]) - 1.0
    assert _class_score(scorer, y, proba, None, classes) == pytest.approx(expected)
    np.testing.assert_array_equal(seen["proba"], proba)
    assert seen["X"].shape == (len(y), 1)


def test_regression_scores_match_r2_and_named_scorers():
    rng = np.random.RandomState(2)
    y = rng.normal(size=50)
    prediction = y + rng.normal(scale=0.5, size=50)
    weights = rng.uniform(0.5, 2.0, size=50)
    expected = r2_score(y, prediction)
    assert 0.3 < expected < 0.95
    # The forests' outputs come as a column; the score ravels them for a 1-d target.
    column = prediction.reshape(-1, 1)
    assert _value_score(None, y, column, None) == pytest.approx(expected, rel=1e-12)
    assert _value_score(None, y, column, weights) == pytest.approx(
        r2_score(y, prediction, sample_weight=weights), rel=1e-12
    )
    assert _value_score("neg_mean_absolute_error", y, column, None) == pytest.approx(
        -mean_absolute_error(y, prediction), rel=1e-12
    )
    # Several targets: R² averaged over them.
    Y = np.column_stack([y, 3 * y + rng.normal(size=50)])
    P = np.column_stack([prediction, 3 * prediction])
    assert _value_score(None, Y, P, None) == pytest.approx(r2_score(Y, P), rel=1e-12)
