"""Score a cascade layer from its out-of-sample outputs.

Growth stops when the layers' scores stop improving. A layer is scored on the outputs its forests
gave samples they never trained on, so no held-out set is spent. ``scoring`` accepts anything that
scikit-learn accepts (a scorer name or a callable ``scorer(estimator, X, y)``): the scorer is
handed a stand-in estimator whose predictions are those precomputed outputs.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, get_scorer, r2_score


class _PrecomputedClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, classes, proba):
        self.classes = classes
        self.proba = proba
        self.classes_ = classes

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return self.classes[np.argmax(self.proba, axis=1)]


class _PrecomputedRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, prediction):
        self.prediction = prediction

    def predict(self, X):
        return self.prediction


def layer_score(
    scoring,
    *,
    is_classifier: bool,
    y: np.ndarray,
    mean_output: np.ndarray,
    sample_weight: np.ndarray | None,
    classes: np.ndarray | None = None,
) -> float:
    """Score averaged out-of-sample outputs; higher is better.

    Parameters
    ----------
    scoring : None, str or callable
        None: accuracy (classification) or R² (regression).
    is_classifier : bool
    y : ndarray
        True targets, in the user's labels for classification.
    mean_output : ndarray
        Class probabilities (classification) or predictions (regression, raveled if y is 1-d).
    sample_weight : ndarray or None
    classes : ndarray
        The labels that the probability columns stand for (classification).
    """
    if not is_classifier and y.ndim == 1:
        mean_output = mean_output.reshape(-1)
    if scoring is None:
        if is_classifier:
            predicted = classes[np.argmax(mean_output, axis=1)]
            return float(accuracy_score(y, predicted, sample_weight=sample_weight))
        return float(r2_score(y, mean_output, sample_weight=sample_weight))
    if is_classifier:
        stand_in = _PrecomputedClassifier(classes, mean_output)
    else:
        stand_in = _PrecomputedRegressor(mean_output)
    scorer = get_scorer(scoring) if isinstance(scoring, str) else scoring
    rows = np.arange(len(y)).reshape(-1, 1)
    if sample_weight is None:
        return float(scorer(stand_in, rows, y))
    return float(scorer(stand_in, rows, y, sample_weight=sample_weight))
