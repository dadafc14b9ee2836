"""Metrics of a model on labelled rows, as plain JSON-ready values, and their text rendering."""

from __future__ import annotations

import math
import warnings

import numpy as np


def _python(value):
    """A numpy scalar as the Python value that JSON understands."""
    return value.item() if isinstance(value, np.generic) else value


def classification_metrics(y_true: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> dict:
    """Accuracy, balanced accuracy, log-loss and confusion matrix from class probabilities.

    Labels that the model never saw count as errors; log-loss, undefined for them, is left out
    (None) when there are any.
    """
    # Imported here: ``deepforest info`` renders metrics without scikit-learn's import.
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        log_loss,
    )

    predicted = classes[np.argmax(proba, axis=1)]
    known = np.isin(y_true, classes)
    labels = list(classes) + [label for label in _in_order(y_true[~known])]
    with warnings.catch_warnings():
        # "y_pred contains classes not in y_true" is expected on small held-out sets.
        warnings.simplefilter("ignore")
        balanced = balanced_accuracy_score(y_true, predicted)
        loss = log_loss(y_true, proba, labels=classes) if known.all() else None
    matrix = confusion_matrix(y_true, predicted, labels=labels)
    return {
        "n_rows": len(y_true),
        "accuracy": float(accuracy_score(y_true, predicted)),
        "balanced_accuracy": float(balanced),
        "log_loss": None if loss is None else float(loss),
        "confusion_matrix": {
            "labels": [_python(label) for label in labels],
            "matrix": matrix.tolist(),
        },
        "unseen_labels": int((~known).sum()),
    }


def _in_order(values: np.ndarray) -> list:
    """Distinct values in order of appearance."""
    seen = {}
    for value in values:
        seen.setdefault(value, None)
    return list(seen)


def regression_metrics(y_true: np.ndarray, predicted: np.ndarray) -> dict:
    """R², mean absolute error and root mean squared error."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    r2 = r2_score(y_true, predicted) if len(y_true) > 1 else math.nan
    return {
        "n_rows": len(y_true),
        "r2": None if math.isnan(r2) else float(r2),
        "mae": float(mean_absolute_error(y_true, predicted)),
        "rmse": float(math.sqrt(mean_squared_error(y_true, predicted))),
    }


def format_metrics(metrics: dict, indent: str = "  ") -> list[str]:
    """Lines of text for :func:`classification_metrics` or :func:`regression_metrics` output."""

    def number(value) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    if "accuracy" not in metrics:
        return [
            f"{indent}R²                 {number(metrics['r2'])}",
            f"{indent}MAE                {metrics['mae']:.6g}",
            f"{indent}RMSE               {metrics['rmse']:.6g}",
        ]
    lines = [
        f"{indent}accuracy           {number(metrics['accuracy'])}",
        f"{indent}balanced accuracy  {number(metrics['balanced_accuracy'])}",
        f"{indent}log-loss           {number(metrics['log_loss'])}"
        + ("  (undefined: labels unseen in training)" if metrics["log_loss"] is None else ""),
        f"{indent}confusion matrix (rows: true label, columns: predicted label)",
    ]
    labels = [str(label) for label in metrics["confusion_matrix"]["labels"]]
    matrix = metrics["confusion_matrix"]["matrix"]
    width = max([len(label) for label in labels] + [len(str(v)) for row in matrix for v in row])
    lines.append(f"{indent}  {'':>{width}}  " + "  ".join(f"{label:>{width}}" for label in labels))
    for label, row in zip(labels, matrix, strict=True):
        lines.append(f"{indent}  {label:>{width}}  " + "  ".join(f"{v:>{width}}" for v in row))
    return lines
