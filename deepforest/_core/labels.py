"""Class labels: check that the target is one column of at least two classes, and encode it."""

from __future__ import annotations

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target


def encode_class_labels(y, owner: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the sorted class labels and each sample's class index.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels: strings, integers or booleans.
    owner : str
        The estimator's name, for error messages.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
    codes : ndarray of shape (n_samples,)
        Index of each sample's label in ``classes``.
    """
    check_classification_targets(y)
    kind = type_of_target(y)
    if kind not in ("binary", "multiclass"):
        raise ValueError(f"{owner} supports one target column, got {kind} y.")
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"{owner} needs samples of at least 2 classes in the data, but the data contains "
            f"only one class: {classes[0]!r}."
        )
    return classes, codes.ravel()
