"""When the cascade stops growing, and which of its layers it keeps: decisions from statistics.

Every layer is scored on its out-of-sample outputs of the training rows. Two layers are compared
on the *same* rows, so the comparison is paired: the gain of a layer over another is the mean of
per-row differences (accuracy: +1, 0 or -1 per row, as in McNemar's test; R²: differences of
normalised squared errors), and its standard error comes from the spread of those differences.
Rows whose predictions do not change contribute nothing, which makes the paired comparison far
more sensitive than comparing two scores, each with its own standard error. A ``scoring`` that
is not a mean over rows (ROC AUC, F1, ...) is compared by a paired bootstrap over the rows.

A layer counts as an improvement when its gain over the best layer so far exceeds ``z``
standard errors (and ``delta``); growth stops after ``patience`` layers in a row without one.
The cascade then keeps the layers up to the best one and the deeper ones that are not
significantly worse than it: deeper layers' out-of-sample scores understate them (training rows
pass on out-of-bag class vectors from about a third of the trees, new rows the whole forest's),
so a deeper layer that is merely not better is given the benefit of the doubt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .scoring import layer_score

# Rows resampled for the paired bootstrap of scorers that are not a mean over rows.
BOOTSTRAP_ROUNDS = 100


@dataclass
class LayerEvidence:
    """What a layer's out-of-sample outputs say, for comparing it with other layers.

    Attributes
    ----------
    score : float
        The layer's score (higher is better).
    standard_error : float
        The score's own standard error.
    terms : ndarray or None
        Per-row terms whose weighted mean is the score (default scoring), else None.
    output : ndarray or None
        The averaged out-of-sample output, kept when the scorer needs a bootstrap.
    """

    score: float
    standard_error: float
    terms: np.ndarray | None = None
    output: np.ndarray | None = None


class LayerScorer:
    """Scores out-of-sample outputs with standard errors and compares layers pairwise.

    Parameters
    ----------
    scoring : None, str or callable
        None: accuracy (classification) or R² (regression), scored from per-row terms.
    is_classifier : bool
    y : ndarray
        True targets (the user's labels for classification, 1-d or 2-d for regression).
    sample_weight : ndarray or None
    classes : ndarray or None
        The labels of the probability columns.
    seed : int
        Seeds the bootstrap resamples (the same resamples for every layer).
    """

    def __init__(self, scoring, *, is_classifier: bool, y, sample_weight, classes, seed: int):
        self.scoring = scoring
        self.is_classifier = is_classifier
        self.y = y
        self.classes = classes
        n_rows = len(y)
        self.weights = (
            np.ones(n_rows) if sample_weight is None else np.asarray(sample_weight, np.float64)
        )
        self.sample_weight = sample_weight
        self._resamples = None
        if scoring is not None:
            rng = np.random.default_rng(seed)
            self._resamples = rng.integers(0, n_rows, size=(BOOTSTRAP_ROUNDS, n_rows))

    def _terms(self, mean_output: np.ndarray) -> np.ndarray:
        if self.is_classifier:
            return (self.classes[np.argmax(mean_output, axis=1)] == self.y).astype(np.float64)
        y = self.y.reshape(len(self.y), -1)
        predicted = mean_output.reshape(y.shape)
        mean = np.average(y, axis=0, weights=self.weights)
        variance = np.average((y - mean) ** 2, axis=0, weights=self.weights)
        variance = np.where(variance > 0, variance, 1.0)
        # R² = weighted mean over rows of 1 - e_i / var(y), averaged over targets.
        return np.mean(1.0 - (y - predicted) ** 2 / variance, axis=1)

    def _mean_and_error(self, terms: np.ndarray) -> tuple[float, float]:
        weights = self.weights
        total = weights.sum()
        mean = float(weights @ terms / total)
        # Effective sample size of the weighted mean.
        n_effective = total**2 / (weights @ weights)
        variance = float(weights @ (terms - mean) ** 2 / total)
        return mean, float(np.sqrt(variance / max(n_effective - 1.0, 1.0)))

    def _score(self, mean_output: np.ndarray, rows=None) -> float:
        y = self.y if rows is None else self.y[rows]
        output = mean_output if rows is None else mean_output[rows]
        weight = None if self.sample_weight is None else self.sample_weight
        if rows is not None and weight is not None:
            weight = weight[rows]
        return layer_score(
            self.scoring,
            is_classifier=self.is_classifier,
            y=y,
            mean_output=output,
            sample_weight=weight,
            classes=self.classes,
        )

    def evidence(self, mean_output: np.ndarray) -> LayerEvidence:
        """Score a layer's averaged out-of-sample output."""
        if self.scoring is None:
            terms = self._terms(mean_output)
            score, error = self._mean_and_error(terms)
            return LayerEvidence(score, error, terms=terms)
        mean_output = np.array(mean_output, copy=True)  # the caller may update its array
        score = self._score(mean_output)
        scores = np.array([self._score(mean_output, rows) for rows in self._resamples])
        return LayerEvidence(score, float(np.std(scores, ddof=1)), output=mean_output)

    def gain(self, new: LayerEvidence, old: LayerEvidence) -> tuple[float, float]:
        """The score gain of ``new`` over ``old`` on the same rows, and its standard error."""
        if new.terms is not None and old.terms is not None:
            return self._mean_and_error(new.terms - old.terms)
        gains = np.array(
            [
                self._score(new.output, rows) - self._score(old.output, rows)
                for rows in self._resamples
            ]
        )
        return new.score - old.score, float(np.std(gains, ddof=1))


@dataclass
class GrowthRecord:
    """The growth decisions so far, layer by layer."""

    scores: list[float] = field(default_factory=list)
    standard_errors: list[float] = field(default_factory=list)
    gains: list[float] = field(default_factory=list)  # over the best layer before it
    gain_errors: list[float] = field(default_factory=list)
    best_index: int = -1


class CascadeGrowth:
    """Online growth decisions: is each new layer better than the best so far, and when to stop.

    Parameters
    ----------
    scorer : LayerScorer
    z : float
        Standard errors a gain must exceed to count as an improvement.
    delta : float
        Score gain a layer must also exceed (0: significance alone decides).
    patience : int
        Layers in a row without an improvement after which growth stops.
    keep_z : float
        A layer after the best one is kept unless it is worse than the best by more than
        ``keep_z`` standard errors of their paired difference.
    """

    def __init__(
        self, scorer: LayerScorer, *, z: float, delta: float, patience: int, keep_z: float
    ):
        self.scorer = scorer
        self.z = z
        self.delta = delta
        self.patience = patience
        self.keep_z = keep_z
        self.evidences: list[LayerEvidence] = []
        self.record = GrowthRecord()

    def add(self, evidence: LayerEvidence) -> bool:
        """Record a new layer; return whether it improves on the best layer so far."""
        record = self.record
        if record.best_index < 0:
            gain, error, improved = np.nan, np.nan, True
        else:
            gain, error = self.scorer.gain(evidence, self.evidences[record.best_index])
            improved = gain > max(self.delta, self.z * error)
        self.evidences.append(evidence)
        record.scores.append(evidence.score)
        record.standard_errors.append(evidence.standard_error)
        record.gains.append(float(gain))
        record.gain_errors.append(float(error))
        if improved:
            record.best_index = len(self.evidences) - 1
        return improved

    def should_stop(self) -> bool:
        return len(self.evidences) - 1 - self.record.best_index >= self.patience

    def last_kept(self) -> int:
        """The deepest layer from the best on that is not significantly worse than the best."""
        best = self.record.best_index
        last = best
        for index in range(best + 1, len(self.evidences)):
            gain, error = self.scorer.gain(self.evidences[index], self.evidences[best])
            if gain >= -self.keep_z * error:
                last = index
            else:
                break
        return last
