"""What the engine's test files share: forest settings and the digits, binned.

``SETTINGS`` grows ``2 * TREES_PER_TASK + 5`` trees, three chunks of trees with the last one
partial, so that sums across chunks are exercised.
"""

from __future__ import annotations

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import TREES_PER_TASK, ForestSettings

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=2 * TREES_PER_TASK + 5,
    max_features="sqrt",
    max_depth=None,
    min_samples_leaf=1,
    criterion="gini",
    max_samples=None,
    class_weight=None,
    n_jobs=1,
)


def binned_digits():
    """``(X_train, y_train, X_test, y_test)`` of a 70/30 digits split, binned on the training
    rows."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    binner = QuantileBinner().fit(X_train)
    return binner.transform(X_train), y_train, binner.transform(X_test), y_test
