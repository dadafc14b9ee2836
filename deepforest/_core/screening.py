"""Confidence screening: rows whose class vector is already confident leave the cascade early.

After Pang, Ting, Zhao and Zhou, "Improving deep forest by confidence screening" (ICDM 2018):
once a layer is fitted, the training rows whose out-of-sample class vector is confident enough
take that layer's prediction as final, and only the others train (and pass through) the layers
that follow, which costs less time and memory the more rows are screened. New rows follow the
same path with the same thresholds.

The threshold is chosen per layer from the layer's out-of-sample outputs, never by hand. Rows are
ordered from the most confident down; a row is screened when the rows around its confidence (a
window of ``max(50, n / 20)`` rows) are at least as accurate as the layer is on all the rows it
received. So only rows that the layer already predicts better than on average leave, and the
rows at the boundary, the least confident of them, are as accurate as the layer's average.
"""

from __future__ import annotations

import numpy as np

MIN_WINDOW_ROWS = 50
WINDOW_SHARE = 0.05


def screening_threshold(
    confidence: np.ndarray, correct: np.ndarray, weights: np.ndarray | None = None
) -> float:
    """The confidence above which rows are screened (``inf``: none is).

    Parameters
    ----------
    confidence : ndarray of shape (n_rows,)
        Each row's largest out-of-sample class probability.
    correct : bool ndarray of shape (n_rows,)
        Whether each row's out-of-sample prediction is right.
    weights : ndarray or None
        Sample weights of the rows.

    Returns
    -------
    threshold : float
        Rows whose confidence is strictly above it are screened.
    """
    n_rows = len(confidence)
    weights = np.ones(n_rows) if weights is None else np.asarray(weights, dtype=np.float64)
    window = max(MIN_WINDOW_ROWS, int(np.ceil(WINDOW_SHARE * n_rows)))
    if n_rows < 2 * window:
        return np.inf
    target = float(weights @ correct / weights.sum())
    order = np.argsort(-confidence, kind="stable")
    hits = np.concatenate([[0.0], np.cumsum((weights * correct)[order])])
    mass = np.concatenate([[0.0], np.cumsum(weights[order])])
    # Accuracy of the window of rows ending at each position, from the most confident down.
    ends = np.arange(window, n_rows + 1)
    accuracy = (hits[ends] - hits[ends - window]) / (mass[ends] - mass[ends - window])
    failing = np.flatnonzero(accuracy < target)
    if failing.size == 0:
        return np.inf
    # The rows before the first window that falls short of the layer's accuracy are screened;
    # ties with the first row of that window are not.
    first_short = failing[0]
    if first_short == 0:
        return np.inf
    return float(confidence[order[first_short]])
