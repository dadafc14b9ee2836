"""In-process tests of the command line's building blocks: CSV sniffing, column types, targets
and the model file's trusted-type list (the end-to-end behaviour is in test_cli.py)."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._model_format import MODEL_FORMAT
from deepforest._persistence import TRUSTED_TYPES
from deepforest.cli import tabular
from deepforest.cli.commands import build_pipeline, float32_precision
from deepforest.cli.errors import UserError
from deepforest.cli.model_file import load_model, save_model


@pytest.mark.parametrize(
    ("text", "delimiter", "header", "columns"),
    [
        ("a;b;c\n1;2;x\n3;4;y\n", ";", True, ["a", "b", "c"]),
        ("1\t2\tx\n3\t4\ty\n", "\t", False, ["1", "2", "3"]),
        ("name|colour\nann|red\nbob|blue\n", "|", True, ["name", "colour"]),
        # Only text: a header is assumed, the usual case.
        ("red,small\nblue,large\n", ",", True, ["red", "small"]),
        ("x, y\n1.5, 2\n-3, 4e3\n", ",", True, ["x", "y"]),
        ("value\n1\n2\n", ",", True, ["value"]),
    ],
)
def test_sniff_format_finds_delimiter_and_header(tmp_path, text, delimiter, header, columns):
    path = tmp_path / "data.csv"
    path.write_text(text)
    fmt = tabular.sniff_format(path)
    assert (fmt.delimiter, fmt.header, fmt.columns) == (delimiter, header, columns)


def test_sniff_format_obeys_the_user(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a;b\n1;2\n")
    fmt = tabular.sniff_format(path, delimiter=",", header=False)
    assert (fmt.delimiter, fmt.header, fmt.columns) == (",", False, ["1"])


def test_infer_kinds_and_its_warnings():
    n = 200
    frame = pd.DataFrame(
        {
            "number": [str(i % 7) for i in range(n)],
            "code": [str(i % 3) for i in range(n)],
            "typo": [str(i) for i in range(n - 1)] + ["n.a."],
            "ident": [f"id{i}" for i in range(n)],
            "empty": [np.nan] * n,
        },
        dtype=object,
    )
    kinds = tabular.infer_kinds(frame, force_categorical=["code"])
    assert kinds.kinds == {
        "number": "numeric",
        "code": "categorical",
        "typo": "categorical",
        "ident": "categorical",
        "empty": "numeric",
    }
    text = "\n".join(kinds.warnings)
    assert "'typo' is treated as categorical although 100% of its cells are numbers" in text
    assert "'n.a.'" in text
    assert "'ident' has 200 distinct values" in text
    assert "'empty' is empty" in text


def test_to_model_input_counts_cells_that_are_not_numbers():
    frame = pd.DataFrame({"x": ["1", "two", np.nan], "c": ["a", np.nan, "b"]}, dtype=object)
    converted, unparsable, infinite = tabular.to_model_input(
        frame, {"x": "numeric", "c": "categorical"}
    )
    assert unparsable == {"x": 1} and infinite == {}
    assert converted["x"].dtype == np.float64 and np.isnan(converted["x"].iloc[1:]).all()
    assert converted["c"].tolist()[0] == "a"


def test_to_model_input_clips_infinite_cells_beyond_every_number():
    frame = pd.DataFrame({"x": ["inf", "-inf", "1e400", "-Infinity", "2.5"]}, dtype=object)
    converted, unparsable, infinite = tabular.to_model_input(frame, {"x": "numeric"})
    assert unparsable == {} and infinite == {"x": 4}
    stand_in = tabular.INFINITY_STAND_IN
    assert converted["x"].tolist() == [stand_in, -stand_in, stand_in, -stand_in, 2.5]
    assert np.isfinite(converted["x"]).all() and stand_in > 1e300


@pytest.mark.parametrize(
    ("cells", "decimal", "thousands", "expected"),
    [
        (["1,234", "2,000.5", "-3"], ".", ",", [1234.0, 2000.5, -3.0]),
        (["1,5", "2", "-0,25"], ",", None, [1.5, 2.0, -0.25]),
        (["1.234,5", "7"], ",", ".", [1234.5, 7.0]),
    ],
)
def test_number_formats_read_thousands_and_decimal_commas(cells, decimal, thousands, expected):
    frame = pd.DataFrame({"x": cells}, dtype=object)
    numbers = tabular.NumberFormat(decimal=decimal, thousands=thousands)
    converted, unparsable, _ = tabular.to_model_input(frame, {"x": "numeric"}, numbers)
    assert unparsable == {}
    assert converted["x"].tolist() == expected


@pytest.mark.parametrize(
    ("cells", "task", "expected_task", "expected"),
    [
        (["a", "b", "a", np.nan], "auto", "classification", ["a", "b", "a"]),
        (["1", "0", "1.0"], "auto", "classification", [1, 0, 1]),
        (["1.5", "2", "3"], "auto", "regression", [1.5, 2.0, 3.0]),
        ([str(i) for i in range(30)], "auto", "regression", list(range(30))),
        ([str(i) for i in range(30)], "classification", "classification", list(range(30))),
    ],
)
def test_prepare_target(cells, task, expected_task, expected):
    target = tabular.prepare_target(pd.Series(cells, dtype=object), "y", task)
    assert target.task == expected_task
    assert target.values.tolist() == expected
    assert target.kept_rows.sum() == len(expected)


def test_labels_like_matches_the_type_of_the_classes():
    values, classes = tabular.labels_like(pd.Series(["1", "0"]), np.array([0, 1]))
    assert values.tolist() == [1, 0] and values.dtype == np.int64
    values, classes = tabular.labels_like(pd.Series(["1", "maybe"]), np.array([0, 1]))
    assert values.tolist() == ["1", "maybe"] and classes.tolist() == ["0", "1"]


def test_regression_outputs_keep_float32_digits_only():
    # A float32 leaf of 81.94, float64 noise, a large price, and values beyond float32's range.
    outputs = np.array([81.94000244140625, 12.499999999999998, 1234567.89, -1e300, 0.0])
    written = pd.DataFrame({"y": float32_precision(outputs)}).to_csv(index=False)
    assert written.split() == ["y", "81.94", "12.5", "1234567.9", "-1e+300", "0.0"]


def test_not_number_cells_marks_text_that_did_not_parse():
    frame = pd.DataFrame({"x": ["1", "129.0k", np.nan, "inf"], "y": ["a", "2", "3", "4"]})
    converted, unparsable, _ = tabular.to_model_input(frame, {"x": "numeric", "y": "numeric"})
    cells = tabular.not_number_cells(frame, converted, list(unparsable))
    assert cells.to_dict("list") == {"x": [False, True, False, False], "y": [True, *[False] * 3]}
    assert tabular.shortened("x" * 100) == "x" * 37 + "..." and tabular.shortened(1.5) == "1.5"


def _fit(estimator, n_rows=120):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "colour": rng.choice(np.array(["red", "blue", np.nan], dtype=object), n_rows),
            "size": rng.normal(size=n_rows),
        }
    )
    y = np.where(X["size"] > 0, "big", "small")
    if isinstance(estimator, CascadeForestRegressor):
        y = X["size"].to_numpy() * 2
    return build_pipeline(["colour"], estimator).fit(X, y), X


# The smallest description the commands accept (see deepforest.cli.model_file._check_description).
SCHEMA = {
    "columns": [{"name": "colour", "type": "categorical"}, {"name": "size", "type": "numeric"}],
    "target": {"name": "label", "task": "classification"},
    "na_values": [""],
    "ignored_columns": [],
}


@pytest.mark.parametrize(
    "estimator",
    [
        CascadeForestClassifier(n_trees=4, max_layers=2, random_state=0),
        CascadeForestClassifier(
            n_trees=6, max_layers=2, out_of_sample="kfold", predictor="forest", random_state=0
        ),
        CascadeForestRegressor(n_trees=4, max_layers=2, random_state=0),
    ],
    ids=["classifier", "kfold-with-final-forest", "regressor"],
)
def test_every_estimator_variant_saves_and_loads_with_the_trusted_list(tmp_path, estimator):
    # If this fails after a change to the estimators, add the new type to TRUSTED_TYPES
    # (only types that hold data, never functions).
    pipeline, X = _fit(estimator)
    path = tmp_path / "model.skops"
    save_model(pipeline, {"schema": SCHEMA}, path)
    loaded, metadata, warnings = load_model(path)
    assert warnings == []
    assert metadata["format_version"] == MODEL_FORMAT and metadata["schema"] == SCHEMA
    np.testing.assert_array_equal(loaded.predict(X), pipeline.predict(X))


def _resolve(qualified_name: str):
    import importlib

    module, _, name = qualified_name.rpartition(".")
    return getattr(importlib.import_module(module), name)


def test_trusted_types_are_classes_that_exist_under_their_current_paths():
    from deepforest._persistence import BOOSTING_TYPES, trusted_types

    for name in TRUSTED_TYPES:
        assert name.startswith(
            ("deepforest.", "sklearn.tree._tree.", "sklearn.ensemble._hist_gradient_boosting.")
        ), name
        resolved = _resolve(name)
        # Classes only: a trusted function would let a file call it.
        assert isinstance(resolved, type), name
        assert f"{resolved.__module__}.{resolved.__qualname__}" == name
    # No old paths: files that name classes by them are of an earlier model format, refused.
    assert trusted_types() == [*TRUSTED_TYPES, *BOOSTING_TYPES]


def test_save_model_is_atomic_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"old model")
    with pytest.raises(UserError, match="already exists"):
        save_model(object(), {}, path)
    # Something skops cannot save (a generator) fails the save, which must leave no trace.
    with pytest.raises(Exception):  # noqa: B017 - whichever error skops raises
        save_model({"rows": (i for i in range(3))}, {}, path, force=True)
    assert path.read_bytes() == b"old model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.skops"]


def test_the_description_is_plain_json_beside_the_skops_members(tmp_path):
    pipeline, _ = _fit(CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0))
    save_model(pipeline, {"schema": {**SCHEMA, "note": "é"}}, tmp_path / "m.skops")
    with zipfile.ZipFile(tmp_path / "m.skops") as archive:
        assert "schema.json" in archive.namelist()  # a regular skops file
        description = json.loads(archive.read("deepforest-model.json"))
    assert description["format"] == "deepforest-model"
    assert description["schema"]["note"] == "é"
