import numpy as np
import pytest

from deepforest._core.binning import QuantileBinner


def test_bins_are_quantiles_and_fit_in_uint8():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10_000, 3))
    binned = QuantileBinner(n_bins=16).fit_transform(X)
    assert binned.dtype == np.uint8
    assert binned.max() == 15
    # Quantile bins hold about the same number of samples each.
    counts = np.bincount(binned[:, 0], minlength=16)
    assert counts.min() > 0.9 * len(X) / 16
    assert counts.max() < 1.1 * len(X) / 16


def test_binning_preserves_order():
    X = np.random.default_rng(1).uniform(size=(500, 2))
    binned = QuantileBinner(n_bins=32).fit_transform(X)
    order = np.argsort(X[:, 0])
    assert np.all(np.diff(binned[order, 0].astype(int)) >= 0)


def test_few_distinct_values_get_one_bin_each():
    X = np.array([[1.0], [2.0], [2.0], [7.5], [1.0]])
    binner = QuantileBinner().fit(X)
    np.testing.assert_array_equal(binner.transform(X).ravel(), [0, 1, 1, 2, 0])
    # Unseen values fall into the bin of their nearest side.
    np.testing.assert_array_equal(
        binner.transform(np.array([[-5.0], [1.6], [100.0]])).ravel(), [0, 1, 2]
    )


def test_missing_values_get_the_last_bin():
    X = np.array([[0.0, np.nan], [1.0, 2.0], [np.nan, 3.0], [2.0, np.nan]])
    binner = QuantileBinner(n_bins=255).fit(X)
    binned = binner.transform(X)
    assert binner.missing_bin_ == 255
    assert binned[2, 0] == 255 and binned[0, 1] == 255 and binned[3, 1] == 255
    assert binned[0, 0] == 0 and binned[1, 1] == 0


def test_all_missing_column():
    X = np.full((5, 1), np.nan)
    binned = QuantileBinner(n_bins=10).fit_transform(X)
    assert np.all(binned == 10)


def test_subsample_limits_the_rows_used_and_is_reproducible():
    X = np.random.default_rng(2).normal(size=(5000, 2))
    a = QuantileBinner(n_bins=64, subsample=1000, random_state=3).fit(X)
    b = QuantileBinner(n_bins=64, subsample=1000, random_state=3).fit(X)
    full = QuantileBinner(n_bins=64, subsample=None).fit(X)
    np.testing.assert_array_equal(a.bin_edges_[0], b.bin_edges_[0])
    assert not np.array_equal(a.bin_edges_[0], full.bin_edges_[0])


@pytest.mark.parametrize("n_bins", [1, 256])
def test_invalid_number_of_bins(n_bins):
    with pytest.raises(ValueError, match="n_bins"):
        QuantileBinner(n_bins=n_bins).fit(np.zeros((3, 1)))


def test_a_value_holding_most_rows_gets_one_bin_and_the_others_share_the_rest():
    """An image background of zeros must not swallow the bins of the other 255 grey levels."""
    rng = np.random.default_rng(4)
    values = np.where(rng.random(200_000) < 0.8, 0, rng.integers(1, 256, 200_000))
    binner = QuantileBinner(n_bins=255).fit(values.reshape(-1, 1).astype(np.float64))
    edges = binner.bin_edges_[0]
    # 256 distinct values in 255 bins: zero alone, and all but one other value alone too.
    assert len(edges) == 254
    binned = binner.transform(np.arange(256.0).reshape(-1, 1)).ravel()
    assert binned[0] == 0 and binned[1] == 1
    assert len(np.unique(binned)) == 255


def test_more_distinct_values_than_bins_fill_bins_about_equally():
    X = np.random.default_rng(5).exponential(size=(50_000, 1))
    binned = QuantileBinner(n_bins=50).fit_transform(X)
    counts = np.bincount(binned[:, 0], minlength=50)
    assert counts.min() > 0.95 * len(X) / 50 and counts.max() < 1.05 * len(X) / 50


def _searchsorted_bins(binner, X):
    """Bins as numpy's searchsorted gives them, column by column: what transform must equal."""
    expected = np.empty(X.shape, dtype=np.uint8)
    for j, edges in enumerate(binner.bin_edges_):
        column = X[:, j].astype(np.float64)
        expected[:, j] = np.searchsorted(edges, column, side="right")
        expected[np.isnan(column), j] = binner.missing_bin_
    return expected


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.uint8, np.int64])
@pytest.mark.parametrize("layout", ["C", "F", "every_other_row"])
def test_transform_equals_searchsorted_for_every_dtype_and_layout(dtype, layout):
    rng = np.random.default_rng(3)
    if dtype == np.uint8:
        X = rng.integers(0, 256, size=(3_000, 21)).astype(np.uint8)
    else:
        X = (rng.normal(size=(3_000, 21)) * 40).astype(dtype)
    if dtype in (np.float64, np.float32):
        X[rng.random(X.shape) < 0.05] = np.nan
        X[:3, 0] = [np.inf, -np.inf, np.nan]
    X[:, 1] = 7  # one value: no edges
    binner = QuantileBinner(random_state=0).fit(X.astype(np.float64))
    # Features with 1, 2 and 3 edges, where the search takes 0, 1 and 1 halvings.
    for j, kept in zip((2, 3, 4), (1, 2, 3), strict=True):
        binner.bin_edges_[j] = binner.bin_edges_[j][:kept]
    assert len(binner.bin_edges_[1]) == 0
    rows = {"C": X, "F": np.asfortranarray(X), "every_other_row": X[::2]}[layout]
    # 37 rows are not a whole number of the kernel's blocks of rows.
    for subset in (rows, rows[:37]):
        np.testing.assert_array_equal(binner.transform(subset), _searchsorted_bins(binner, subset))


def test_transform_on_threads_equals_one_thread(monkeypatch):
    import deepforest._core.binning as binning

    X = np.random.default_rng(4).normal(size=(5_001, 40))
    binner = QuantileBinner(random_state=0).fit(X)
    alone = binner.transform(X, n_jobs=1)
    # Small blocks, so that the rows are split over threads in several uneven blocks.
    monkeypatch.setattr(binning, "ROWS_PER_THREAD_VALUES", 7_000)
    np.testing.assert_array_equal(binner.transform(X, n_jobs=2), alone)
    np.testing.assert_array_equal(alone, _searchsorted_bins(binner, X))


def test_transform_refuses_rows_of_another_width():
    # The compiled kernel reads each column's edges without bounds checks.
    binner = QuantileBinner().fit(np.arange(20.0).reshape(10, 2))
    with pytest.raises(ValueError, match="X has 3 features, but the bins were fitted on 2"):
        binner.transform(np.zeros((4, 3)))
    assert QuantileBinner().fit(np.zeros((5, 0))).transform(np.zeros((2, 0))).shape == (2, 0)
