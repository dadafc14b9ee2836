"""Memory: a float32 memmap is trained on without a float64 copy of it."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from deepforest import CascadeForestClassifier

N_ROWS, N_FEATURES = 100_000, 100
FLOAT64_COPY = 8 * N_ROWS * N_FEATURES  # 80 MB


@pytest.fixture(scope="module")
def memmap_data(tmp_path_factory):
    path = tmp_path_factory.mktemp("memmap") / "X.npy"
    rng = np.random.default_rng(0)
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(N_ROWS, N_FEATURES))
    for start in range(0, N_ROWS, 10_000):
        X[start : start + 10_000] = rng.standard_normal((10_000, N_FEATURES), dtype=np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int8)
    X.flush()
    del X
    return np.load(path, mmap_mode="r"), y


def _peak_bytes(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_tracemalloc_sees_a_float64_copy(memmap_data):
    """The instrument works: copying the memmap to float64 shows up in full."""
    X, _ = memmap_data
    assert _peak_bytes(lambda: np.asarray(X, dtype=np.float64)) >= FLOAT64_COPY


def test_fit_on_float32_memmap_makes_no_float64_copy(memmap_data):
    X, y = memmap_data
    assert isinstance(X, np.memmap) and X.dtype == np.float32
    model = CascadeForestClassifier(
        n_estimators=1,
        n_trees=4,
        max_layers=1,
        max_depth=6,
        min_samples_leaf=1,
        # A few boosting rounds: the stage must not copy the input either, and its search for
        # a round count would only add time here.
        boost_rounds=3,
        random_state=0,
    )
    peak = _peak_bytes(lambda: model.fit(X, y))
    # Without a copy, fit holds the uint8 binned matrix (1 byte per value), the layer's copies
    # ordered by column and by row for the trees (2 bytes) and the binner's and the trees'
    # working arrays: measured 6.2 bytes per value. A float64 copy (8 bytes) would live as
    # long as the validated input, through the whole fit: over 14 bytes.
    n_values = N_ROWS * N_FEATURES
    assert peak < 10 * n_values, f"fit peaked at {peak / n_values:.1f} bytes per input value"
    # Four trees of depth 6 among 100 features: a sanity check, not a benchmark (0.79).
    assert model.score(X[:1000], y[:1000]) > 0.7


def test_next_layer_features_do_not_coexist_with_the_previous_ones(memmap_data):
    """Between layers, no second float32 matrix and no float64 one: measured 7.9 bytes a value."""
    X, y = memmap_data
    model = CascadeForestClassifier(
        n_estimators=1,
        n_trees=4,
        max_layers=2,
        max_depth=6,
        min_samples_leaf=1,
        boost_rounds=3,
        random_state=0,
    )
    peak = _peak_bytes(lambda: model.fit(X, y))
    assert len(model.history_["score"]) == 2, "the test needs a second layer to be built"
    # Keeping the first layer's float32 matrix (4 bytes a value) while the second's is built
    # peaks at about 10 bytes a value; building the second through float64 (hstack promoting
    # to the class vectors' dtype) at about 14.
    n_values = N_ROWS * N_FEATURES
    assert peak < 9 * n_values, f"fit peaked at {peak / n_values:.1f} bytes per input value"
