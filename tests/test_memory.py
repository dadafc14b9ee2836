"""_core.memory: the memory estimate made before a fit, and the warning when it exceeds what is
available."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.memory import (
    MEMORY_LIMIT_VARIABLE,
    available_memory,
    estimate_memory,
    leaves_per_tree,
)

TREE_ARRAYS = ("roots", "feature", "threshold", "left", "right", "values")


def _layer_bytes(layer) -> int:
    return sum(getattr(forest, name).nbytes for forest in layer.forests for name in TREE_ARRAYS)


@pytest.mark.parametrize("min_samples_leaf", [1, 4, 16])
def test_regression_layers_are_as_large_as_estimated(min_samples_leaf):
    # Regression trees grow to the bound: one leaf per distinct row drawn (or per leaf size).
    X, y = make_regression(n_samples=3000, n_features=8, noise=5.0, random_state=0)
    model = CascadeForestRegressor(
        n_trees=20, max_layers=1, min_samples_leaf=min_samples_leaf, random_state=0
    ).fit(X, y)
    estimate = model.estimate_memory(3000, 8, n_outputs=1)
    assert 0.75 < _layer_bytes(model.layers_[0]) / estimate.layer_bytes <= 1.05


@pytest.mark.parametrize(
    "dataset",
    [
        lambda: load_digits(return_X_y=True),
        lambda: make_classification(
            n_samples=2000,
            n_features=10,
            flip_y=0.3,
            n_classes=3,
            n_informative=5,
            random_state=0,
        ),
    ],
    ids=["clean digits", "noisy 3 classes"],
)
@pytest.mark.parametrize("min_samples_leaf", [1, 8])
def test_classification_estimates_are_upper_bounds(dataset, min_samples_leaf):
    X, y = dataset()
    model = CascadeForestClassifier(
        n_trees=20, max_layers=1, min_samples_leaf=min_samples_leaf, random_state=0
    ).fit(X, y)
    estimate = model.estimate_memory(*X.shape, n_outputs=len(model.classes_))
    assert _layer_bytes(model.layers_[0]) <= estimate.layer_bytes


def test_fewer_rows_larger_leaves_and_spilling_shrink_the_estimate():
    base = {
        "n_samples": 100_000,
        "n_features": 20,
        "n_outputs": 1,
        "n_forests": 4,
        "n_trees": 100,
        "rows_drawn": 100_000,
        "min_samples_leaf": 1,
        "max_depth": None,
        "layers_in_memory": 3,
        "is_classifier": False,
    }
    full = estimate_memory(**base)
    assert estimate_memory(**{**base, "rows_drawn": 20_000}).layer_bytes < full.layer_bytes / 3
    assert estimate_memory(**{**base, "min_samples_leaf": 8}).layer_bytes < full.layer_bytes / 8
    spilled = estimate_memory(**base, spilled=True)
    assert spilled.layer_bytes == full.layer_bytes
    assert spilled.fit_bytes < full.fit_bytes / 2
    assert estimate_memory(**{**base, "max_depth": 5}).layer_bytes < full.layer_bytes / 1000


def test_leaves_per_tree():
    # A bootstrap of n from n holds about 63.2 % of the rows once or more.
    assert leaves_per_tree(10_000, 10_000, 1, None) == pytest.approx(6321, abs=1)
    assert leaves_per_tree(10_000, 10_000, 10, None) == pytest.approx(10_000 / 18)
    assert leaves_per_tree(10_000, 10_000, 0.01, None) == pytest.approx(10_000 / 180)
    assert leaves_per_tree(10_000, 10_000, 1, 3) == 8


def test_the_limit_comes_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "2e9")
    assert available_memory() == 2_000_000_000
    for text in ("lots", "nan", "inf", "-1e9", "0"):
        monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, text)
        with pytest.raises(ValueError, match="must be a positive number of bytes"):
            available_memory()
    monkeypatch.delenv(MEMORY_LIMIT_VARIABLE)
    assert available_memory() > 0


def test_a_fit_beyond_the_memory_limit_warns_and_names_the_remedies(monkeypatch):
    X, y = make_regression(n_samples=500, n_features=5, random_state=0)
    model = CascadeForestRegressor(n_trees=10, max_layers=1, random_state=0)
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "100000")  # 100 kB
    with pytest.warns(UserWarning, match="more memory than the 0.1 MiB available") as record:
        model.fit(X, y)
    message = str(record[0].message)
    for remedy in ("max_samples", "min_samples_leaf", "n_trees", "spill_dir"):
        assert remedy in message
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, str(10**12))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(X, y)
    assert np.isfinite(model.predict(X)).all()


def test_the_boosting_stage_fits_in_what_the_estimate_adds_for_it():
    """tracemalloc sees numpy's buffers: the stage's peak stays under the estimate's share."""
    import tracemalloc

    from deepforest._core.boosting import BoostingSettings, fit_boosting, histogram_offsets

    n_samples, n_features, n_classes = 20_000, 10, 8
    rng = np.random.default_rng(0)
    X = rng.integers(0, 64, size=(n_samples, n_features)).astype(np.uint8)
    codes = (X[:, 0] // 8).astype(int)
    base = np.full((n_samples, n_classes), 1 / n_classes)
    settings = BoostingSettings(40, 0.1, 3, 5, 1.0, histogram_offsets([64] * n_features), 64)
    arguments = {
        "n_samples": n_samples,
        "n_features": n_features,
        "n_outputs": n_classes,
        "n_forests": 4,
        "n_trees": 10,
        "rows_drawn": n_samples,
        "min_samples_leaf": 1,
        "max_depth": None,
        "layers_in_memory": 3,
        "is_classifier": True,
    }
    share = (
        estimate_memory(**arguments, boosted=True).fit_bytes
        - estimate_memory(**arguments).fit_bytes
    )
    y = np.eye(n_classes)[codes]
    weight, groups = np.ones(n_samples), np.arange(n_samples)
    tracemalloc.start()
    try:
        fit_boosting(
            X,
            y,
            base,
            weight,
            groups,
            settings,
            is_classification=True,
            rounds="auto",
            rng=np.random.RandomState(0),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The inputs (y, base) are the caller's; the stage's own allocations must fit the share.
    assert peak < share, (peak, share)


def test_the_public_estimate_assumes_leaves_of_one_row_for_auto_and_checks_its_input():
    auto = CascadeForestRegressor().estimate_memory(20_000, 10, n_outputs=1)
    one = CascadeForestRegressor(min_samples_leaf=1).estimate_memory(20_000, 10, n_outputs=1)
    eight = CascadeForestRegressor(min_samples_leaf=8).estimate_memory(20_000, 10, n_outputs=1)
    assert auto == one
    assert eight.layer_bytes < one.layer_bytes / 4
    assert "per layer" in auto.describe()
    for bad in ({"n_samples": 0}, {"n_features": 2.5}, {"n_outputs": True}):
        arguments = {"n_samples": 100, "n_features": 3, "n_outputs": 2, **bad}
        name = next(iter(bad))
        with pytest.raises(ValueError, match=f"{name} must be a positive integer"):
            CascadeForestClassifier().estimate_memory(
                arguments["n_samples"], arguments["n_features"], n_outputs=arguments["n_outputs"]
            )
