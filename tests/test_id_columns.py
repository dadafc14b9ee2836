"""Columns that look like row identifiers are named in a warning at fit time."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from test_cli import FAST, run

from deepforest import CascadeForestClassifier, CascadeForestRegressor, IdLikeColumnWarning
from deepforest._core.id_columns import id_like_columns, integers_look_like_ids

SMALL = {"n_trees": 4, "max_layers": 1, "n_jobs": 1}


def _table(seed: int, n_rows: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 90, n_rows),
            "income": rng.integers(10_000, 200_000, n_rows),
            "score": rng.normal(size=n_rows),
            "city": rng.choice(["Paris", "Lyon", "Nice"], n_rows),
        }
    )
    frame["city"] = frame["city"].astype("category")
    return frame


def _id_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, IdLikeColumnWarning)]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_id_column_is_named_once_at_fit(seed):
    frame = _table(seed)
    rng = np.random.default_rng(seed)
    frame.insert(0, "customer_id", rng.permutation(len(frame)) + 10_000)
    frame["ticket"] = [f"T{number:06d}" for number in rng.permutation(len(frame))]
    frame["ticket"] = frame["ticket"].astype("category")
    y = (frame["score"] > 0).astype(int)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = CascadeForestClassifier(**SMALL, random_state=seed).fit(frame, y)
    messages = _id_warnings(caught)
    assert len(messages) == 2, messages
    assert "column 'customer_id' looks like a row identifier" in messages[0]
    assert "column 'ticket' looks like a row identifier" in messages[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.predict(frame)
    assert not _id_warnings(caught)  # new rows are the user's: only fit warns


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ordinary_columns_raise_no_warning(seed):
    frame = _table(seed)
    # A unique measurement over a wide range (an income in cents) is not an identifier.
    frame["cents"] = np.random.default_rng(seed).permutation(len(frame)) * 1_000 + 7
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CascadeForestRegressor(**SMALL, random_state=seed).fit(frame, frame["score"] * 2)
    assert not _id_warnings(caught)


def test_real_tables_and_small_ones_raise_no_warning():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        CascadeForestClassifier(**SMALL, random_state=0).fit(X, y)
        # 60 rows say too little, even with a counter among them.
        small = _table(0, n_rows=60).assign(row=np.arange(60))
        CascadeForestClassifier(**SMALL, random_state=0).fit(small, small["age"] > 50)
    assert not _id_warnings(caught)


def test_an_array_column_is_named_by_position():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=(200, 2)), np.arange(200.0), rng.normal(size=200)])
    with pytest.warns(IdLikeColumnWarning, match="column at position 2 looks like a row"):
        CascadeForestClassifier(**SMALL, random_state=0).fit(X, (X[:, 0] > 0).astype(int))


@pytest.mark.parametrize(
    "values, expected",
    [
        (np.arange(500), True),
        (np.arange(500.0)[::-1], True),
        (np.r_[np.arange(499), 0], False),  # a repeat, past the first rows read
        (np.r_[np.arange(499.0), 0.5], False),  # a fraction
        (np.r_[np.arange(499.0), np.nan], False),  # a missing value
        (np.arange(500) * 11, False),  # spread over more than 10 values per row
        (np.arange(99), False),  # too few rows
        (np.array(["a"] * 200), False),  # not numbers
    ],
)
def test_integer_identifiers_are_told_from_other_columns(values, expected):
    assert integers_look_like_ids(values) is expected


def test_a_text_column_with_a_value_per_row_is_named():
    frame = pd.DataFrame({"name": [f"n{i}" for i in range(150)], "x": np.zeros(150)})
    assert id_like_columns(frame, np.array([True, False])) == ["'name'"]


def test_the_command_line_names_an_id_column_with_drop_as_the_remedy(tmp_path):
    frame = _table(0, n_rows=200)
    frame.insert(0, "id", np.arange(1, 201))
    frame["label"] = np.where(frame["score"] > 0, "yes", "no")
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run("train", "train.csv", "-t", "label", *FAST, cwd=tmp_path)
    hint = "column 'id' holds a different whole number in every row, like a row identifier"
    assert result.stderr.count(hint) == 1, result.stderr
    assert "--drop" in result.stderr and "IdLikeColumnWarning" not in result.stderr
    dropped = run("train", "train.csv", "-t", "label", "--drop", "id", "-o", "b.skops", *FAST,
                  cwd=tmp_path)  # fmt: skip
    assert "row identifier" not in dropped.stderr
