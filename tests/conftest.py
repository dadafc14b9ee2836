"""Shared fixtures: the offline benchmark datasets of ../shared/data.

`.ci/run` sets DEEPFOREST_DATA_DIR; tests that need those files skip, saying why, when it is
absent.
"""

from __future__ import annotations

import os

# The suite runs on two pytest-xdist workers (pyproject.toml). OpenMP's default busy-waiting
# makes two OpenMP libraries sharing 2 cores many times slower; waiting passively costs
# nothing. Set before anything loads an OpenMP runtime, and inherited by the workers and by
# the subprocesses the tests start.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

import numpy as np
import pytest

DATA_DIR_VARIABLE = "DEEPFOREST_DATA_DIR"


def shared_data_dir() -> Path | None:
    value = os.environ.get(DATA_DIR_VARIABLE)
    if value and Path(value).is_dir():
        return Path(value)
    fallback = Path(__file__).resolve().parents[2] / "shared" / "data"
    return fallback if fallback.is_dir() else None


@pytest.fixture
def data_dir() -> Path:
    """The directory holding mnist.npz, letter.npz, adult.npz and adult_raw.csv.gz."""
    directory = shared_data_dir()
    if directory is None:
        pytest.skip(
            f"the offline datasets are absent: set {DATA_DIR_VARIABLE} to the folder holding "
            "letter.npz, adult.npz, mnist.npz and adult_raw.csv.gz"
        )
    return directory


@pytest.fixture
def load_npz(data_dir):
    """Load one of the .npz datasets as (X_train, y_train, X_test, y_test)."""

    def load(name: str):
        path = data_dir / f"{name}.npz"
        if not path.exists():
            pytest.skip(f"{path} is absent")
        with np.load(path) as data:
            return data["X_train"], data["y_train"], data["X_test"], data["y_test"]

    return load


def pytest_configure(config: pytest.Config) -> None:
    """Compile the engine's kernels once, before the xdist workers start.

    On a fresh installation numba compiles the kernels on first use and caches them beside the
    package; two workers doing it at once would both compile, and could read each other's
    half-written cache files. The controller (the process without ``workerinput``) does it
    alone first, so the workers only read the cache.
    """
    if hasattr(config, "workerinput") or not config.pluginmanager.hasplugin("xdist"):
        return
    if getattr(config.option, "numprocesses", None) in (None, 0):
        return
    from sklearn.datasets import load_iris

    from deepforest import CascadeForestClassifier, CascadeForestRegressor

    X, y = load_iris(return_X_y=True)
    CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y).predict(X)
    CascadeForestRegressor(n_trees=4, max_layers=1, random_state=0).fit(X, y).predict(X)
