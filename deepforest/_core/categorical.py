"""Categorical columns: each category becomes a code that the binner gives a bin of its own.

As with HistGradientBoosting's ``categorical_features="from_dtype"``, the columns of a DataFrame
with ``category`` dtype are categorical; so are text columns (pandas' string dtype, or object
columns holding only strings), which HistGradientBoosting refuses. A category's code is its
position in the sorted categories (a ``category`` dtype's own order); a missing value, and at
predict time a category unseen in training, becomes NaN, which the binner puts in the missing
bin. With at most ``n_bins`` categories every category has its own bin; beyond that, bins hold
neighbouring codes. The trees split codes by threshold, not by subset: a random forest finds a
subset through several splits, and this keeps one split routine for every column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CategoricalColumns:
    """Which features are categorical, and their categories in code order."""

    is_categorical: np.ndarray
    categories: list[np.ndarray]


def _is_dataframe(X) -> bool:
    return hasattr(X, "dtypes") and hasattr(X, "iloc") and getattr(X, "ndim", 2) == 2


def _column_name(X, position: int) -> str:
    if _is_dataframe(X):
        return repr(X.columns[position])
    return f"at position {position}"


def _text_kind(column) -> str:
    """ "text", "numbers" or "mixed" for a DataFrame column, by its dtype and its cells."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype)):
        return "text"
    if pd.api.types.is_object_dtype(dtype):
        inferred = pd.api.types.infer_dtype(column, skipna=True)
        if inferred in ("string", "empty"):
            return "text"
        if inferred.startswith("mixed"):
            return "mixed"
    return "numbers"


def _check_dtype(X, position: int, column) -> None:
    import pandas as pd

    dtype = column.dtype
    if (
        pd.api.types.is_datetime64_any_dtype(dtype)
        or pd.api.types.is_timedelta64_dtype(dtype)
        or isinstance(dtype, pd.PeriodDtype)
    ):
        raise ValueError(
            f"column {_column_name(X, position)} has dtype {dtype}, which the cascade cannot use "
            "as is: convert it to numbers (e.g. days since a date, the month, the day of the "
            "week) or drop it"
        )
    if _text_kind(column) == "mixed":
        example = next(cell for cell in column.dropna() if isinstance(cell, str))
        raise ValueError(
            f"column {_column_name(X, position)} mixes text (e.g. {example!r}) with other "
            "values: make it text for categories (.astype(str)) or numbers (pd.to_numeric)"
        )


def _categorical_mask(X, categorical_features, n_features: int) -> np.ndarray:
    """The boolean mask of categorical features named by ``categorical_features``."""
    if isinstance(categorical_features, str) and categorical_features == "from_dtype":
        if not _is_dataframe(X):
            return np.zeros(n_features, dtype=bool)
        mask = np.zeros(n_features, dtype=bool)
        for position in range(n_features):
            column = X.iloc[:, position]
            _check_dtype(X, position, column)
            mask[position] = _text_kind(column) == "text"
        return mask
    features = np.asarray(categorical_features)
    if features.size == 0:
        return np.zeros(n_features, dtype=bool)
    if features.dtype.kind == "b":
        if features.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask needs one value per feature "
                f"({n_features}), got {features.shape[0] if features.ndim == 1 else features.shape}"
            )
        return features.astype(bool)
    if features.dtype.kind in "iu":
        if features.min() < -n_features or features.max() >= n_features:
            raise ValueError(
                f"categorical_features holds indices outside [0, {n_features - 1}]: "
                f"{features.tolist()}"
            )
        mask = np.zeros(n_features, dtype=bool)
        mask[features] = True
        return mask
    if features.dtype.kind in "UO":
        if not _is_dataframe(X):
            raise ValueError(
                "categorical_features given by name needs a DataFrame with those columns; "
                "with an array, give positions or a boolean mask"
            )
        names = [str(name) for name in X.columns]
        unknown = [str(name) for name in features if str(name) not in names]
        if unknown:
            raise ValueError(f"categorical_features names columns not in X: {unknown}")
        return np.isin(np.asarray(names, dtype=object), features.astype(str))
    raise ValueError(
        "categorical_features must be 'from_dtype', None, a boolean mask, indices or column "
        f"names; got {categorical_features!r}"
    )


def _column(X, position: int):
    return X.iloc[:, position] if _is_dataframe(X) else X[:, position]


def _sorted_categories(column) -> np.ndarray:
    import pandas as pd

    dtype = getattr(column, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(dtype.categories, dtype=object)
    cells = pd.Series(np.asarray(column, dtype=object)).dropna().unique()
    try:
        return np.asarray(sorted(cells), dtype=object)
    except TypeError:  # numbers and text in one explicitly categorical column
        return np.asarray(sorted(cells, key=str), dtype=object)


def fit_categorical_columns(X, categorical_features) -> CategoricalColumns | None:
    """Find the categorical features of ``X`` and their categories; None if there are none.

    Parameters
    ----------
    X : array-like or DataFrame of shape (n_samples, n_features)
        Training input.
    categorical_features : "from_dtype", None, array-like of bool, int or str
        "from_dtype": the DataFrame columns of ``category`` or text dtype; otherwise a mask,
        positions or names, as in HistGradientBoosting.
    """
    if categorical_features is None:
        _refuse_text(X)
        return None
    if not _is_dataframe(X):
        if isinstance(categorical_features, str) and categorical_features == "from_dtype":
            return None  # arrays have no dtype per column; validate_data reads them as numbers
        X = np.asarray(X, dtype=object)
        if X.ndim != 2:
            return None  # validate_data names the problem
    n_features = X.shape[1]
    mask = _categorical_mask(X, categorical_features, n_features)
    if not mask.any():
        return None
    categories = [_sorted_categories(_column(X, position)) for position in np.flatnonzero(mask)]
    return CategoricalColumns(is_categorical=mask, categories=categories)


def _refuse_text(X) -> None:
    if not _is_dataframe(X):
        return
    for position in range(X.shape[1]):
        if _text_kind(X.iloc[:, position]) != "numbers":
            raise ValueError(
                f"column {_column_name(X, position)} holds text, but categorical_features=None: "
                "set categorical_features='from_dtype' (the default) to use text columns as "
                "categories, or encode them first"
            )


def _codes(column, categories: np.ndarray) -> np.ndarray:
    import pandas as pd

    values = np.asarray(column, dtype=object)
    codes = pd.Index(categories).get_indexer(values).astype(np.float64)
    codes[codes < 0] = np.nan  # missing, or unseen in training
    return codes


# Cells looked at to tell whether a column holds text where the categories were numbers.
_CELLS_CHECKED = 1000


def _check_predict_column(X, position: int, column, categories: np.ndarray) -> None:
    """Refuse numbers where the categories are text, and text where they are numbers: every
    row would silently read as missing (accuracy 1.0 fell to 0.55 so)."""
    import pandas as pd

    cells = column if isinstance(column, pd.Series) else pd.Series(column)
    number_categories = len(categories) > 0 and not any(isinstance(c, str) for c in categories)
    if number_categories:
        present = cells.dropna().iloc[:_CELLS_CHECKED].astype(object)
        text = [cell for cell in present if isinstance(cell, str)]
        if text:
            raise ValueError(
                f"column {_column_name(X, position)} held number categories in fit (e.g. "
                f"{categories[0]!r}) but holds text now (e.g. {text[0]!r}); pass the same kind "
                "of values"
            )
        return
    text_categories = len(categories) > 0 and all(isinstance(c, str) for c in categories)
    if not text_categories:
        return
    if _text_kind(cells) == "numbers" and cells.notna().any():
        raise ValueError(
            f"column {_column_name(X, position)} held text categories in fit (e.g. "
            f"{categories[0]!r}) but holds numbers now; pass the same kind of values"
        )


def encode_categorical_columns(X, columns: CategoricalColumns):
    """``X`` with each categorical feature replaced by its category codes (NaN: missing).

    A DataFrame stays a DataFrame with the same column names, so scikit-learn's feature-name
    checks still see them; an array becomes a float64 array.
    """
    import pandas as pd

    if _is_dataframe(X):
        if X.shape[1] != columns.is_categorical.shape[0]:
            return X  # validate_data reports the wrong number of features
        encoded = {}
        categories = iter(columns.categories)
        for position in range(X.shape[1]):
            column = X.iloc[:, position]
            if columns.is_categorical[position]:
                known = next(categories)
                _check_predict_column(X, position, column, known)
                column = _codes(column, known)
            encoded[position] = column
        frame = pd.DataFrame(encoded, index=X.index)
        frame.columns = X.columns
        return frame
    X = np.asarray(X, dtype=object)
    if X.ndim != 2 or X.shape[1] != columns.is_categorical.shape[0]:
        return X
    encoded = np.empty(X.shape, dtype=np.float64)
    categories = iter(columns.categories)
    for position in range(X.shape[1]):
        if columns.is_categorical[position]:
            known = next(categories)
            _check_predict_column(X, position, X[:, position], known)
            encoded[:, position] = _codes(X[:, position], known)
        else:
            try:
                encoded[:, position] = X[:, position].astype(np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(
                    f"column {_column_name(X, position)} is not numeric ({error}); if it holds "
                    "categories, add it to categorical_features"
                ) from error
    return encoded
