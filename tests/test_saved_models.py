"""Models saved by earlier releases: they load and predict the same, or fail with one clear line.

The fixtures in tests/fixtures/saved_models were written by ``make_fixtures.py`` there, with the
release named in each file name, and are never regenerated: they stand for the files users of that
release have on disk.
"""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_digits, load_iris

FIXTURES = Path(__file__).parent / "fixtures" / "saved_models"


def _inputs(name: str) -> np.ndarray:
    if name == "cascade-classifier":
        return load_iris(return_X_y=True)[0]
    if name == "cascade-regressor":
        return load_diabetes(return_X_y=True)[0]
    return load_digits(return_X_y=True)[0][:100]


@pytest.mark.parametrize("name", ["cascade-classifier", "cascade-regressor", "gcforest"])
def test_pickles_of_0_1_0_predict_as_when_saved(name):
    expected = json.loads((FIXTURES / "expected-0.1.0.json").read_text())[name]
    with open(FIXTURES / f"{name}-0.1.0.pkl", "rb") as handle:
        model = pickle.load(handle)
    X = _inputs(name)
    output = model.predict(X) if name == "cascade-regressor" else model.predict_proba(X)
    np.testing.assert_array_equal(output, np.asarray(expected))


def test_model_file_of_0_1_0_predicts_as_when_saved(tmp_path):
    out = tmp_path / "predictions.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepforest",
            "predict",
            str(FIXTURES / "cli-iris-0.1.0.skops"),
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
    expected = pd.read_csv(FIXTURES / "cli-iris-0.1.0.predictions.csv")
    pd.testing.assert_frame_equal(pd.read_csv(out), expected)
