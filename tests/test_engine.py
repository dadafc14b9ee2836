"""The compiled forest engine against scikit-learn's forests, its reference.

What is statistical (accuracy, R², importances) is checked over several seeds against
engine="sklearn"; both engines give estimators with the same attributes. What must hold exactly
is tested with the module that owns it: test_forests.py (out-of-sample outputs, n_jobs),
test_grower.py (leaf sizes, depths, leaf values), test_trees.py. Also: the compiled kernels'
cache in a read-only installation.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from _engine_data import SETTINGS, binned_digits
from sklearn.datasets import load_diabetes, load_digits, make_classification
from sklearn.model_selection import train_test_split

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.binning import QuantileBinner
from deepforest._core.forests import Target, fit_forest


@pytest.fixture(scope="module")
def digits():
    return binned_digits()


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_classification_accuracy_matches_scikit_learn_over_seeds(digits, criterion):
    X, y, X_test, y_test = digits
    gaps = []
    for seed in range(3):
        for kind in ("random", "completely_random"):
            scores = {}
            for engine in ("numba", "sklearn"):
                settings = dataclasses.replace(
                    SETTINGS, n_trees=60, criterion=criterion, engine=engine
                )
                data = X if engine == "numba" else X.astype(np.float32)
                forest, oob = fit_forest(
                    kind, settings, data, Target.classes(y, 10), None, None, seed
                )
                test = X_test if engine == "numba" else X_test.astype(np.float32)
                scores[engine] = (
                    np.mean(oob.argmax(axis=1) == y),
                    np.mean(forest.output(test).argmax(axis=1) == y_test),
                )
            gaps.append(np.subtract(scores["numba"], scores["sklearn"]))
    # Out-of-bag and test accuracy agree within a point on average (about 0.96 and 0.97).
    assert np.all(np.abs(np.mean(gaps, axis=0)) < 0.01), np.mean(gaps, axis=0)


@pytest.mark.parametrize("criterion", ["squared_error", "poisson"])
def test_regression_matches_scikit_learn_over_seeds(criterion):
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    binner = QuantileBinner().fit(X_train)
    B_train, B_test = binner.transform(X_train), binner.transform(X_test)
    r2 = {"numba": [], "sklearn": []}
    for seed in range(3):
        for engine in r2:
            settings = dataclasses.replace(
                SETTINGS,
                is_classifier=False,
                n_trees=60,
                max_features=1.0,
                min_samples_leaf=5,
                criterion=criterion,
                engine=engine,
            )
            train = B_train if engine == "numba" else B_train.astype(np.float32)
            test = B_test if engine == "numba" else B_test.astype(np.float32)
            forest, _ = fit_forest(
                "random", settings, train, Target.regression(y_train), None, None, seed
            )
            predicted = forest.output(test)[:, 0]
            r2[engine].append(1 - np.mean((predicted - y_test) ** 2) / np.var(y_test))
    # This split is a hard one: a random forest on the raw features scores 0.26 too.
    assert np.mean(r2["numba"]) > 0.2
    assert abs(np.mean(r2["numba"]) - np.mean(r2["sklearn"])) < 0.03, r2


def test_feature_importances_agree_with_scikit_learn():
    X, y = make_classification(
        n_samples=2000,
        n_features=10,
        n_informative=3,
        n_redundant=0,
        shuffle=False,
        random_state=0,
    )
    importances = {}
    for engine in ("numba", "sklearn"):
        model = CascadeForestClassifier(
            n_trees=50, max_layers=1, engine=engine, random_state=0
        ).fit(X, y)
        importances[engine] = model.feature_importances_
        np.testing.assert_allclose(importances[engine].sum(), 1.0)
        assert set(np.argsort(importances[engine])[-3:]) == {0, 1, 2}
    assert np.corrcoef(importances["numba"], importances["sklearn"])[0, 1] > 0.95


@pytest.mark.parametrize("estimator", [CascadeForestClassifier, CascadeForestRegressor])
def test_both_engines_give_estimators_with_the_same_attributes(estimator):
    X, y = (
        load_digits(return_X_y=True)
        if estimator is CascadeForestClassifier
        else load_diabetes(return_X_y=True)
    )
    fitted = {}
    for engine in ("numba", "sklearn"):
        model = estimator(n_trees=8, max_layers=2, engine=engine, random_state=0).fit(X, y)
        assert model.engine_ == engine
        fitted[engine] = sorted(name for name in vars(model) if name.endswith("_"))
        assert model.predict(X[:5]).shape == y[:5].shape
        assert model.feature_importances_.shape == (X.shape[1],)
    assert fitted["numba"] == fitted["sklearn"]


def test_the_cascade_matches_its_reference_engine_over_seeds():
    X, y = load_digits(return_X_y=True)
    accuracy = {"numba": [], "sklearn": []}
    for seed in range(3):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, stratify=y, random_state=seed
        )
        for engine, found in accuracy.items():
            model = CascadeForestClassifier(
                n_trees=40, max_layers=3, engine=engine, random_state=seed
            )
            found.append(model.fit(X_train, y_train).score(X_test, y_test))
    # Both about 0.98; 3 seeds of 540 test images: a point apart would be a real difference.
    assert abs(np.mean(accuracy["numba"]) - np.mean(accuracy["sklearn"])) < 0.01, accuracy


@pytest.mark.slow
def test_compiled_kernels_are_cached_elsewhere_when_the_package_directory_is_read_only(tmp_path):
    """An installation numba cannot write beside (a file where __pycache__ would go: root can
    write into read-only directories, so permission bits cannot stand for it here) still works,
    and the compiled kernels land in numba's user-wide cache directory instead."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import deepforest

    # Under another name: an editable install of deepforest would take precedence over PYTHONPATH.
    package = tmp_path / "site" / "deepforest_copy"
    shutil.copytree(
        Path(deepforest.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    for directory in [package, *[p for p in package.rglob("*") if p.is_dir()]]:
        (directory / "__pycache__").touch()
    home = tmp_path / "home"
    home.mkdir()
    script = (
        "from sklearn.datasets import load_iris\n"
        "from deepforest_copy import CascadeForestClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "print(CascadeForestClassifier(n_trees=4, max_layers=1, boost_rounds=0, random_state=0)"
        ".fit(X, y)"
        ".score(X, y))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": str(package.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=1500
    )
    assert result.returncode == 0, result.stderr
    assert float(result.stdout) > 0.9
    cached = list((home / ".cache" / "numba").rglob("*.nbi"))
    assert any("grow_tree" in path.name for path in cached)
    assert not any(p.is_dir() for p in package.rglob("__pycache__"))
