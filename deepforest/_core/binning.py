"""Map a real-valued dataset into integer-valued quantile bins stored as uint8.

The cascade bins its input once, and the compiled engine grows every tree on those bins: a byte
per value, an eighth of float64's memory, and a split search over at most 256 histogram slots.
Missing values get a bin of their own (the last one), which makes every downstream tree NaN-safe.

A feature with at most ``n_bins`` distinct values gets one bin per value. Otherwise bins hold
about equal numbers of rows, filled greedily in value order: a value that alone holds more than a
bin's share (the zero of an image's background, a mode of a skewed column) closes its own bin,
and the bins after it share the remaining rows. Plain percentiles would give such a value many
identical edges and leave the other values a fraction of the bins.
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit

from .threads import run_in_threads

MAX_BINS = 255
# Values (rows x features) a thread bins at least: below that, handing rows to threads costs
# more than it saves.
ROWS_PER_THREAD_VALUES = 2_000_000
# Features binned together over a block of rows (``_bin_rows``): 16 features' edges fill
# 32 KB, a core's first-level data cache.
FEATURES_PER_TILE = 16
# Rows whose binary searches ``_bin_rows`` runs in step.
LANES = 16


@njit(nogil=True, cache=True)
def _greedy_cuts(counts, n_bins):
    """Indices ``i`` after which a bin closes, for sorted distinct values with these counts.

    A bin closes once it holds its share of the rows not yet binned (the rows left over the bins
    left), or when taking the next value would overshoot that share by more than stopping falls
    short of it, or as soon as every value left can have a bin of its own.
    """
    n_values = counts.shape[0]
    cuts = np.empty(n_bins - 1, dtype=np.int64)
    n_cuts = 0
    remaining = counts.sum()
    filled = 0
    for i in range(n_values - 1):
        filled += counts[i]
        bins_left = n_bins - n_cuts
        share = remaining / bins_left
        values_after = n_values - 1 - i
        close = (
            values_after <= bins_left - 1
            or filled >= share
            or filled + counts[i + 1] - share > share - filled
        )
        if close:
            cuts[n_cuts] = i
            n_cuts += 1
            remaining -= filled
            filled = 0
            if n_cuts == n_bins - 1:
                break
    return cuts[:n_cuts]


@njit(nogil=True, cache=True)
def _bin_rows(X, start, end, edges, edge_starts, missing_bin, out):
    """Bin rows ``start:end`` of X into ``out``: each value's count of its feature's edges at or
    below it (numpy's ``searchsorted(edges, v, side="right")``), NaN to ``missing_bin``.

    ``edges`` holds every feature's edges one after the other, feature ``j``'s in
    ``edge_starts[j]:edge_starts[j + 1]``. A ``searchsorted`` per column took as long as
    this kernel on 4 to 7 times the values (one thread, 2,000 to 100,000 rows): each of its
    binary searches waits on its own loads, one after the other.
    """
    n_features = X.shape[1]
    values = np.empty(LANES, dtype=np.float64)
    bases = np.empty(LANES, dtype=np.int64)
    # A few features at a time over all the rows: their edges stay in the closest cache (every
    # feature's at once outgrow it on wide data), and each row's values of them sit together.
    for tile_start in range(0, n_features, FEATURES_PER_TILE):
        tile_end = min(tile_start + FEATURES_PER_TILE, n_features)
        for block_start in range(start, end, LANES):
            block_end = min(block_start + LANES, end)
            lanes = block_end - block_start
            for j in range(tile_start, tile_end):
                first = edge_starts[j]
                n_edges = edge_starts[j + 1] - first
                for k in range(lanes):
                    values[k] = X[block_start + k, j]
                    bases[k] = first
                # The rows' searches step together: each step's loads do not wait on one
                # another, where one search's steps each wait on the last.
                n = n_edges
                while n > 1:
                    half = n >> 1
                    for k in range(lanes):
                        bases[k] += half * (edges[bases[k] + half] <= values[k])
                    n -= half
                for k in range(lanes):
                    value = values[k]
                    if value != value:  # NaN
                        out[block_start + k, j] = missing_bin
                    elif n_edges == 0:
                        out[block_start + k, j] = 0
                    else:
                        out[block_start + k, j] = bases[k] - first + (edges[bases[k]] <= value)


def feature_edges(column: np.ndarray, n_bins: int) -> np.ndarray:
    """Sorted thresholds of one feature's bins; NaN is ignored."""
    column = column[~np.isnan(column)].astype(np.float64, copy=False)
    if column.size == 0:
        return np.empty(0)
    distinct, counts = np.unique(column, return_counts=True)
    if distinct.size <= n_bins:
        # Few distinct values: one bin each, with thresholds halfway between neighbours.
        return (distinct[:-1] + distinct[1:]) / 2
    cuts = _greedy_cuts(counts, n_bins)
    return (distinct[cuts] + distinct[cuts + 1]) / 2


class QuantileBinner:
    """Quantile binner fitted on a subsample, transforming to uint8 bin indices.

    Parameters
    ----------
    n_bins : int, default=255
        Number of bins for non-missing values, at most 255; bin ``n_bins`` holds missing values.
    subsample : int or None, default=200_000
        Fit the bin edges on at most this many randomly chosen rows (None: all rows).
    random_state : numpy.random.Generator or int or None
        Chooses the subsample.

    Attributes
    ----------
    bin_edges_ : list of ndarray
        For each feature the sorted thresholds; a value ``v`` goes to bin
        ``searchsorted(edges, v, side="right")``.
    missing_bin_ : int
        The bin index given to NaN.
    """

    def __init__(self, n_bins: int = MAX_BINS, subsample: int | None = 200_000, random_state=None):
        self.n_bins = n_bins
        self.subsample = subsample
        self.random_state = random_state

    def fit(self, X: np.ndarray) -> QuantileBinner:
        if not 2 <= self.n_bins <= MAX_BINS:
            raise ValueError(f"n_bins must be in [2, {MAX_BINS}], got {self.n_bins}.")
        n_samples = X.shape[0]
        if self.subsample is not None and n_samples > self.subsample:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(n_samples, self.subsample, replace=False))
            X = X[rows]
        self.bin_edges_ = [feature_edges(X[:, j], self.n_bins) for j in range(X.shape[1])]
        self.missing_bin_ = self.n_bins
        return self

    def transform(self, X: np.ndarray, n_jobs: int | None = None) -> np.ndarray:
        """X's values as bin indices, uint8; ``n_jobs`` threads share the rows of a large X."""
        if X.ndim != 2 or X.shape[1] != len(self.bin_edges_):
            # The compiled kernel does not check bounds: never let it read past the edges.
            raise ValueError(
                f"X has {X.shape[-1] if X.ndim else 0} features, but the bins were fitted on "
                f"{len(self.bin_edges_)}"
            )
        if X.dtype not in (np.float64, np.float32, np.uint8):
            X = X.astype(np.float64)
        edges = np.concatenate([np.empty(0), *(np.asarray(e, np.float64) for e in self.bin_edges_)])
        edge_starts = np.zeros(len(self.bin_edges_) + 1, dtype=np.int64)
        np.cumsum([len(e) for e in self.bin_edges_], out=edge_starts[1:])
        binned = np.empty(X.shape, dtype=np.uint8)
        n_rows = X.shape[0]
        n_blocks = max(1, min(n_rows, X.size // ROWS_PER_THREAD_VALUES))
        bounds = np.linspace(0, n_rows, n_blocks + 1).astype(np.int64)
        run_in_threads(
            [
                lambda start=start, end=end: _bin_rows(
                    X, start, end, edges, edge_starts, self.missing_bin_, binned
                )
                for start, end in itertools.pairwise(bounds)
            ],
            n_jobs if n_blocks > 1 else 1,
        )
        return binned

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)
