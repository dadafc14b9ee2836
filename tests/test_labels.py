"""_core.labels: class labels encoded as indices into their sorted classes, and the targets a
classifier cannot take refused with the estimator's name."""

from __future__ import annotations

import numpy as np
import pytest

from deepforest._core.labels import encode_class_labels


@pytest.mark.parametrize(
    "y, classes",
    [
        (["dog", "cat", "dog", "bird"], ["bird", "cat", "dog"]),
        ([3, -1, 3, 10, -1], [-1, 3, 10]),
        ([True, False, False], [False, True]),
        (np.array([2.0, 1.0, 2.0]), [1.0, 2.0]),
    ],
    ids=["text", "integers", "booleans", "whole floats"],
)
def test_labels_round_trip_through_their_sorted_classes(y, classes):
    found, codes = encode_class_labels(y, "Model")
    assert found.tolist() == classes
    assert codes.shape == (len(y),) and codes.min() == 0 and codes.max() == len(classes) - 1
    assert found[codes].tolist() == list(y)


def test_a_column_vector_is_one_target():
    classes, codes = encode_class_labels(np.array([[1], [0], [1]]), "Model")
    assert classes.tolist() == [0, 1] and codes.tolist() == [1, 0, 1]


def test_a_single_class_is_refused_with_the_estimator_and_the_class():
    with pytest.raises(ValueError, match=r"Model needs samples of at least 2 classes.*'only'"):
        encode_class_labels(["only", "only"], "Model")


@pytest.mark.parametrize(
    "y, message",
    [
        (np.array([[0, 1], [1, 0]]), "Model supports one target column, got multilabel"),
        (np.array([[0, 2], [1, 0]]), "Model supports one target column, got multiclass-multi"),
        (np.array([0.5, 1.25, 2.0]), "Unknown label type"),
    ],
    ids=["multilabel", "multi-output", "continuous"],
)
def test_targets_a_classifier_cannot_take_are_refused(y, message):
    with pytest.raises(ValueError, match=message):
        encode_class_labels(y, "Model")
