"""Shared fixtures: the offline benchmark datasets of ../shared/data.

`.ci/run` sets DEEPFOREST_DATA_DIR; tests that need those files skip, saying why, when it is
absent.
"""

from __future__ import annotations

import os
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
