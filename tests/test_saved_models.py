"""Models saved by earlier releases: they load and predict the same, or fail with one clear line.

The fixtures in tests/fixtures/saved_models were written by ``make_fixtures.py`` there, with the
release named in each file name, and are never regenerated: they stand for the files users of that
release have on disk. Release 0.1.0's models hold scikit-learn forests and float class vectors,
which this release's models do not: they must be refused with a message that says to train them
again, before anything runs.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import pytest
from sklearn.datasets import load_iris

from deepforest import CascadeForestClassifier, IncompatibleModelError

FIXTURES = Path(__file__).parent / "fixtures" / "saved_models"


# Release 0.1.0 (format 1) and the 0.2.0 development builds (format 2, 0.2.0.dev0).
EARLIER = {"0.1.0": "an earlier release of deepforest", "0.2.0.dev0": "model format 2"}


@pytest.mark.parametrize("version", list(EARLIER))
@pytest.mark.parametrize("name", ["cascade-classifier", "cascade-regressor", "gcforest"])
@pytest.mark.parametrize("load", [pickle.load, joblib.load], ids=["pickle", "joblib"])
def test_pickles_of_earlier_formats_are_refused_with_one_line_that_says_to_retrain(
    version, name, load
):
    path = FIXTURES / f"{name}-{version}.pkl"
    with pytest.raises(IncompatibleModelError) as error:
        if load is joblib.load:
            joblib.load(path)
        else:
            with open(path, "rb") as handle:
                pickle.load(handle)
    message = str(error.value)
    assert "\n" not in message
    assert "train it again" in message
    # 0.2.0.dev0's pickles name moved modules too; either refusal names an earlier format.
    assert EARLIER[version] in message or "an earlier release of deepforest" in message


@pytest.mark.parametrize("version, format_number", [("0.1.0", 1), ("0.2.0.dev0", 2)])
def test_model_files_of_earlier_formats_are_refused_with_one_line_and_exit_code_2(
    tmp_path, version, format_number
):
    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepforest",
            "predict",
            str(FIXTURES / f"cli-iris-{version}.skops"),
            str(FIXTURES / "iris.csv"),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"model format {format_number} (saved by deepforest {version})" in result.stderr
    assert "train the model again with this version" in result.stderr
    assert not out.exists()


def test_a_fitted_model_of_another_format_is_refused_and_an_unfitted_one_loads():
    X, y = load_iris(return_X_y=True)
    model = CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y)
    state = model.__getstate__()
    assert state["_model_format"] == 3
    restored = pickle.loads(pickle.dumps(model))
    assert (restored.predict(X) == model.predict(X)).all()
    for other in (1, 2, 4, None):
        stale = CascadeForestClassifier.__new__(CascadeForestClassifier)
        with pytest.raises(IncompatibleModelError, match="train it again"):
            stale.__setstate__({**state, "_model_format": other})
    unfitted = pickle.loads(pickle.dumps(CascadeForestClassifier(n_trees=7)))
    assert unfitted.n_trees == 7


# Models of the current format must keep loading and predicting exactly what they predicted
# when saved.
CURRENT = "0.2.0.dev1"


def _expected(version: str) -> dict:
    import json

    with open(FIXTURES / f"expected-{version}.json") as handle:
        return json.load(handle)


@pytest.mark.parametrize("name", ["cascade-classifier", "cascade-regressor", "gcforest"])
@pytest.mark.parametrize("load", [pickle.load, joblib.load], ids=["pickle", "joblib"])
def test_pickles_of_the_current_format_predict_what_they_predicted_when_saved(name, load):
    import numpy as np
    from sklearn.datasets import load_diabetes, load_digits

    path = FIXTURES / f"{name}-{CURRENT}.pkl"
    if load is joblib.load:
        model = joblib.load(path)
    else:
        with open(path, "rb") as handle:
            model = pickle.load(handle)
    expected = np.asarray(_expected(CURRENT)[name])
    if name == "cascade-classifier":
        got = model.predict_proba(load_iris(return_X_y=True)[0])
    elif name == "cascade-regressor":
        got = model.predict(load_diabetes(return_X_y=True)[0])
    else:
        got = model.predict_proba(load_digits(return_X_y=True)[0][:100])
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)


def test_model_file_of_the_current_format_predicts_what_it_predicted_when_saved(tmp_path):
    import pandas as pd

    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepforest",
            "predict",
            str(FIXTURES / f"cli-iris-{CURRENT}.skops"),
            str(FIXTURES / "iris.csv"),
            "-o",
            str(out),
            "--proba",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    expected = pd.read_csv(FIXTURES / f"cli-iris-{CURRENT}.predictions.csv")
    got = pd.read_csv(out)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_stand_ins_for_old_modules_answer_pickles_search_for_a_function_module():
    # pickle.whichmodule asks every imported module for a name; the stand-ins of removed
    # modules, imported by an attempt to load an old model, must answer with AttributeError.
    with pytest.raises(IncompatibleModelError):
        with open(FIXTURES / "cascade-classifier-0.1.0.pkl", "rb") as handle:
            pickle.load(handle)
    from deepforest._model_format import REMOVED_MODULES

    assert any(name in sys.modules for name in REMOVED_MODULES)

    def orphan():
        pass

    orphan.__module__ = None
    assert pickle.whichmodule(orphan, "some_function_nowhere") == "__main__"
    X, y = load_iris(return_X_y=True)
    model = CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y)
    assert (pickle.loads(pickle.dumps(model)).predict(X) == model.predict(X)).all()
