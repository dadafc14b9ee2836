"""Categorical and text columns in the estimators (``categorical_features``)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from deepforest import CascadeForestClassifier, CascadeForestRegressor

SMALL = {"n_trees": 20, "max_layers": 2, "random_state": 0}


def _mixed_frame(n_rows=400, seed=0):
    """Numbers, a text column with missing cells, a category column and a string column."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "income": rng.normal(size=n_rows),
            "home": rng.choice(np.array(["own", "rent", "mortgage", None], dtype=object), n_rows),
            "grade": pd.Series(rng.choice(list("ABCDE"), n_rows), dtype="category"),
            "region": pd.Series(rng.choice(["north", "south"], n_rows), dtype="string"),
        }
    )
    y = ((frame["home"] == "own") | frame["grade"].isin(["A", "B"])).astype(int).to_numpy()
    return frame, y


def _codes_by_hand(frame):
    """The frame with categories replaced by their sorted positions, missing as NaN."""
    encoded = frame.copy()
    for name in ["home", "grade", "region"]:
        categories = sorted(frame[name].dropna().unique())
        lookup = {category: code for code, category in enumerate(categories)}
        encoded[name] = frame[name].map(lookup).astype(np.float64)
    return encoded


@pytest.mark.parametrize("Estimator", [CascadeForestClassifier, CascadeForestRegressor])
def test_text_and_category_columns_are_found_and_recorded(Estimator):
    frame, y = _mixed_frame()
    model = Estimator(**SMALL).fit(frame, y)
    assert model.is_categorical_.tolist() == [False, True, True, True]
    assert [list(values) for values in model.categories_] == [
        ["mortgage", "own", "rent"],
        ["A", "B", "C", "D", "E"],
        ["north", "south"],
    ]
    assert model.feature_names_in_.tolist() == ["income", "home", "grade", "region"]
    assert model.predict(frame).shape == (len(frame),)


def test_categories_are_their_codes_with_missing_as_nan():
    # The same forests as on the codes computed by hand: one mechanism, no hidden rescaling.
    frame, y = _mixed_frame()
    on_text = CascadeForestClassifier(**SMALL).fit(frame, y)
    on_codes = CascadeForestClassifier(**SMALL).fit(_codes_by_hand(frame), y)
    assert on_codes.is_categorical_ is None
    np.testing.assert_array_equal(
        on_text.predict_proba(frame), on_codes.predict_proba(_codes_by_hand(frame))
    )


def test_a_category_unseen_in_fit_is_predicted_as_missing():
    frame, y = _mixed_frame()
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    unseen, missing = frame.head(50).copy(), frame.head(50).copy()
    unseen["home"] = "boat"
    missing["home"] = None
    np.testing.assert_array_equal(model.predict_proba(unseen), model.predict_proba(missing))


def test_a_categorical_dtype_keeps_its_own_order():
    grades = pd.CategoricalDtype(["low", "mid", "high"], ordered=True)
    frame = pd.DataFrame({"level": pd.Series(["high", "low", "mid", "low"] * 25, dtype=grades)})
    y = (frame["level"] == "high").to_numpy().astype(int)
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    assert list(model.categories_[0]) == ["low", "mid", "high"]
    assert model.score(frame, y) == 1.0


def test_missing_categories_are_a_bin_of_their_own():
    # Only the missing cells carry the label: the missing bin must separate them.
    rng = np.random.default_rng(1)
    cells = rng.choice(np.array(["a", "b", "c", None], dtype=object), 300)
    frame = pd.DataFrame({"kind": cells})
    y = pd.isna(cells).astype(int)
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    assert model.score(frame, y) == 1.0


@pytest.mark.parametrize(
    "categorical_features",
    [[1, 2, 3], [False, True, True, True], ["home", "grade", "region"]],
    ids=["positions", "mask", "names"],
)
def test_categorical_features_given_explicitly(categorical_features):
    frame, y = _mixed_frame()
    expected = CascadeForestClassifier(**SMALL).fit(frame, y).predict_proba(frame)
    model = CascadeForestClassifier(**SMALL, categorical_features=categorical_features)
    np.testing.assert_array_equal(model.fit(frame, y).predict_proba(frame), expected)


def test_an_object_array_with_categorical_positions():
    frame, y = _mixed_frame()
    values = frame.astype(object).to_numpy()
    model = CascadeForestClassifier(**SMALL, categorical_features=[1, 2, 3]).fit(values, y)
    expected = CascadeForestClassifier(**SMALL).fit(frame, y).predict_proba(frame)
    np.testing.assert_array_equal(model.predict_proba(values), expected)


def test_a_number_column_can_be_declared_categorical():
    rng = np.random.default_rng(2)
    zips = rng.choice([10115, 20095, 80331, 50667], 300)
    frame = pd.DataFrame({"zip": zips, "noise": rng.normal(size=300)})
    y = np.isin(zips, [20095, 50667]).astype(int)
    model = CascadeForestClassifier(**SMALL, categorical_features=["zip"]).fit(frame, y)
    assert model.is_categorical_.tolist() == [True, False]
    assert list(model.categories_[0]) == [10115, 20095, 50667, 80331]
    assert model.score(frame, y) == 1.0


@pytest.mark.parametrize(
    ("categorical_features", "message"),
    [
        (["nope"], "names columns not in X: \\['nope'\\]"),
        ([True, False], "one value per feature \\(4\\)"),
        ([7], "indices outside \\[0, 3\\]"),
        ([1.5], "must be 'from_dtype', None"),
    ],
)
def test_bad_categorical_features_are_named(categorical_features, message):
    frame, y = _mixed_frame()
    with pytest.raises(ValueError, match=message):
        CascadeForestClassifier(categorical_features=categorical_features).fit(frame, y)


def test_names_need_a_dataframe():
    frame, y = _mixed_frame()
    model = CascadeForestClassifier(categorical_features=["home"])
    with pytest.raises(ValueError, match="by name needs a DataFrame"):
        model.fit(frame.to_numpy(), y)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pd.Series(pd.date_range("2020-01-01", periods=400)), "dtype datetime64.*convert it"),
        (pd.Series(["a", 1] * 200, dtype=object), "mixes text \\(e.g. 'a'\\) with other"),
    ],
    ids=["datetime", "mixed"],
)
def test_unusable_columns_say_what_to_do(column, message):
    frame, y = _mixed_frame()
    frame["odd"] = column
    with pytest.raises(ValueError, match=message):
        CascadeForestClassifier(**SMALL).fit(frame, y)


def test_text_without_categorical_features_says_what_to_do():
    frame, y = _mixed_frame()
    with pytest.raises(ValueError, match="column 'home' holds text, but categorical_features=None"):
        CascadeForestClassifier(categorical_features=None).fit(frame, y)
    with pytest.raises(ValueError, match=r"could not convert string.*Pass a DataFrame"):
        CascadeForestClassifier(**SMALL).fit(frame.to_numpy(), y)


def test_numbers_where_fit_saw_text_categories_are_refused():
    frame, y = _mixed_frame()
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    numbers = frame.copy()
    numbers["home"] = 1.0
    with pytest.raises(ValueError, match="column 'home' held text categories in fit"):
        model.predict(numbers)
    # A column that is wholly missing is missing, whatever its dtype.
    numbers["home"] = np.nan
    assert model.predict(numbers).shape == (len(frame),)


def test_columns_in_another_order_are_refused_by_name():
    frame, y = _mixed_frame()
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame[["home", "income", "grade", "region"]])


def test_a_refit_on_numbers_forgets_the_categories():
    frame, y = _mixed_frame()
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    model.fit(_codes_by_hand(frame), y)
    assert model.is_categorical_ is None
    assert model.categories_ == []
    assert clone(model).get_params()["categorical_features"] == "from_dtype"


def test_the_input_frame_is_left_as_it_was():
    frame, y = _mixed_frame()
    before = frame.copy()
    CascadeForestClassifier(**SMALL).fit(frame, y).predict(frame)
    pd.testing.assert_frame_equal(frame, before)


@pytest.mark.slow
def test_the_cli_and_the_estimator_give_the_same_model(tmp_path):
    # The CLI hands its categorical columns to the estimator: one mechanism, one result.
    frame, y = _mixed_frame(n_rows=300, seed=3)
    frame["label"] = np.where(y == 1, "yes", "no")
    data = tmp_path / "mixed.csv"
    frame.to_csv(data, index=False)
    model_file = tmp_path / "mixed.skops"
    options = ["--n-trees", "20", "--max-layers", "2", "--random-state", "0", "--quiet"]
    run = [sys.executable, "-m", "deepforest"]
    subprocess.run(
        [
            *run,
            "train",
            str(data),
            "-t",
            "label",
            "--test-size",
            "0",
            "-o",
            str(model_file),
            *options,
        ],
        check=True,
    )
    predictions = tmp_path / "predictions.csv"
    subprocess.run(
        [*run, "predict", str(model_file), str(data), "--proba", "-o", str(predictions)],
        check=True,
    )
    written = pd.read_csv(predictions)

    table = pd.read_csv(data)
    model = CascadeForestClassifier(**SMALL).fit(table.drop(columns="label"), table["label"])
    expected = model.predict_proba(table.drop(columns="label"))
    np.testing.assert_allclose(written[["proba_no", "proba_yes"]], expected, atol=1e-6)


def test_text_where_the_categories_were_numbers_is_refused():
    """Integer categories in fit and their text at predict all read as missing."""
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    codes = rng.integers(1, 4, 200)
    frame = pd.DataFrame({"kind": pd.Categorical(codes), "x": rng.normal(size=200)})
    model = CascadeForestClassifier(n_trees=5, max_layers=1, random_state=0).fit(frame, codes)
    as_text = frame.assign(kind=frame["kind"].astype(str))
    with pytest.raises(ValueError, match=r"held number categories in fit .* holds text now"):
        model.predict(as_text)
    # The same numbers predict as before.
    assert model.score(frame, codes) > 0.9
