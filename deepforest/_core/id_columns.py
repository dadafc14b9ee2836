"""Columns that look like row identifiers, which a forest splits on as if they meant something.

A customer number or a row index is different in every row. Trees split on it happily (on
random splits it is as good as any feature, and where rows were collected in order it even
correlates with the target), and a model that uses it predicts new rows, whose identifiers are
new, from noise: on one table an ID column took 5 % of the importance and cost 0.7 points of
accuracy. scikit-learn, XGBoost and LightGBM say nothing; a user who forgot to drop the column
should be told, by name, once, at fit time.
"""

from __future__ import annotations

import numpy as np

# Fewer rows than this say too little: 30 distinct whole numbers are not yet an identifier.
MIN_ROWS = 100
# A text column with more distinct values than this share of its rows looks like an identifier
# (a category with that many values would get a bin per two rows).
ID_LIKE_FRACTION = 0.5
# Whole numbers, all distinct, within this many values per row: a counter or a key, where a
# measurement that happens to be unique (an income in dollars) spans far more.
MAX_SPAN_PER_ROW = 10
# Rows read first: a column repeating a value among them is no identifier, and most columns
# (pixels, ages, prices) are told apart without sorting all their rows.
FIRST_ROWS = 1000


class IdLikeColumnWarning(UserWarning):
    """A column of the training data looks like a row identifier (named in the message)."""


def integers_look_like_ids(values: np.ndarray) -> bool:
    """Whether a numeric column holds distinct whole numbers in a narrow range, every row.

    A missing value, a fraction or a repeated value rules it out.
    """
    values = np.asarray(values)
    if len(values) < MIN_ROWS or values.dtype.kind not in "iuf":
        return False
    head = values[:FIRST_ROWS]
    if values.dtype.kind == "f" and not (
        np.isfinite(head).all() and (head == np.round(head)).all()
    ):
        return False
    if len(np.unique(head)) < len(head):
        return False
    if values.dtype.kind == "f" and not (
        np.isfinite(values).all() and (values == np.round(values)).all()
    ):
        return False
    low, high = float(values.min()), float(values.max())
    if high - low + 1 > MAX_SPAN_PER_ROW * len(values):
        return False
    return len(np.unique(values)) == len(values)


def text_looks_like_ids(n_distinct: int, n_rows: int) -> bool:
    """Whether a text column with ``n_distinct`` values in ``n_rows`` rows looks like an id."""
    return n_rows >= MIN_ROWS and n_distinct > ID_LIKE_FRACTION * n_rows


def id_like_columns(X, is_categorical: np.ndarray | None = None) -> list[str]:
    """The names of the columns of ``X`` (a DataFrame or a 2-D array) that look like ids.

    ``is_categorical`` marks the columns holding text or categories, judged by their number of
    distinct values; the others are judged as numbers. An array's columns are named by position.
    """
    n_rows = X.shape[0] if hasattr(X, "shape") and len(X.shape) == 2 else 0
    if n_rows < MIN_ROWS:
        return []
    if hasattr(X, "iloc"):
        names = [repr(name) for name in X.columns]
        columns = ((names[position], X.iloc[:, position]) for position in range(len(names)))
    else:
        array = np.asarray(X)
        if array.dtype.kind not in "iuf":
            return []
        columns = (
            (f"at position {position}", array[:, position]) for position in range(array.shape[1])
        )
    found = []
    for position, (name, column) in enumerate(columns):
        if is_categorical is not None and is_categorical[position]:
            n_distinct = column.nunique() if hasattr(column, "nunique") else len(np.unique(column))
            if text_looks_like_ids(n_distinct, n_rows):
                found.append(name)
        elif integers_look_like_ids(_numbers(column)):
            found.append(name)
    return found


def _numbers(column) -> np.ndarray:
    """A column's values as a numeric array, or an empty one if they are not numbers."""
    values = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    if values.dtype.kind in "iuf":
        return values
    return np.empty(0)
