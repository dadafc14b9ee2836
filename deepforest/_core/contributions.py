"""Per-row feature contributions of a fitted forest: each split's change of the expected output.

A tree's prediction for a row is its root's expected output plus, along the row's path, each
child's expected output minus its parent's (a telescoping sum, so it is exact). Crediting each
step to the feature the parent split on gives the row's contribution per feature (Saabas's
decomposition; Palczewska et al. 2014 for forests). A node's expected output weighs its two
children by the share of a reference set of rows -- the *background* -- that goes each way, as
TreeSHAP's path-dependent algorithm weighs them by the training rows. The fitted forests keep
no per-node row counts (they would add a quarter to the node arrays), so the background is
routed down the trees when contributions are asked for. A node no background row reached
weighs its children equally.

Compiled with numba, without the GIL, a block of rows per task, as ``traversal.sum_trees``.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from .threads import run_in_threads
from .trees import ROWS_PER_TASK, BinnedForest


@njit(nogil=True, cache=True)
def _branch_counts(X, roots, nodes, counts):
    """Add to ``counts[node]`` the rows of X going left (column 0) and right (column 1)."""
    for t in range(roots.shape[0]):
        root = roots[t]
        for i in range(X.shape[0]):
            node = root
            while node >= 0:
                if X[i, nodes[node, 0]] <= nodes[node, 1]:
                    counts[node, 0] += 1.0
                    node = nodes[node, 2]
                else:
                    counts[node, 1] += 1.0
                    node = nodes[node, 3]


@njit(nogil=True, cache=True, inline="always")
def _add_child(expected, node, child, share, values, n_pure):
    if child >= 0:
        for c in range(expected.shape[1]):
            expected[node, c] += share * expected[child, c]
        return
    ref = -1 - child
    if ref < n_pure:
        expected[node, ref] += share
    else:
        for c in range(expected.shape[1]):
            expected[node, c] += share * values[ref - n_pure, c]


@njit(nogil=True, cache=True)
def _expected_outputs(nodes, counts, values, n_pure, n_outputs):
    """Every internal node's expected output, from the leaves up.

    Children are numbered after their parent (the grower creates them so, and loading checks
    it), so a backward pass meets every child before its parent.
    """
    n_nodes = nodes.shape[0]
    expected = np.zeros((n_nodes, n_outputs))
    for node in range(n_nodes - 1, -1, -1):
        total = counts[node, 0] + counts[node, 1]
        left_share = counts[node, 0] / total if total > 0.0 else 0.5
        _add_child(expected, node, nodes[node, 2], left_share, values, n_pure)
        _add_child(expected, node, nodes[node, 3], 1.0 - left_share, values, n_pure)
    return expected


@njit(nogil=True, cache=True, inline="always")
def _child_value(expected, child, values, n_pure, c):
    if child >= 0:
        return expected[child, c]
    ref = -1 - child
    if ref < n_pure:
        return 1.0 if ref == c else 0.0
    return values[ref - n_pure, c]


@njit(nogil=True, cache=True)
def _path_contributions(X, roots, nodes, expected, values, n_pure, out):
    """Add every tree's per-feature steps along each row's path to ``out[row, feature, :]``."""
    n_outputs = out.shape[2]
    for t in range(roots.shape[0]):
        root = roots[t]
        for i in range(X.shape[0]):
            node = root
            while node >= 0:
                feature = nodes[node, 0]
                if X[i, feature] <= nodes[node, 1]:
                    child = nodes[node, 2]
                else:
                    child = nodes[node, 3]
                for c in range(n_outputs):
                    step = _child_value(expected, child, values, n_pure, c) - expected[node, c]
                    out[i, feature, c] += step
                node = child


@njit(nogil=True, cache=True)
def _root_sum(roots, expected, values, n_pure, n_outputs):
    """The sum over trees of each root's expected output (a one-leaf tree: its leaf's value)."""
    base = np.zeros(n_outputs)
    for t in range(roots.shape[0]):
        for c in range(n_outputs):
            base[c] += _child_value(expected, roots[t], values, n_pure, c)
    return base


def forest_expectations(
    forest: BinnedForest, background: np.ndarray, *, average: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Every internal node's expected output over ``background``, and the forest's.

    Parameters
    ----------
    forest : BinnedForest
    background : uint8 ndarray of shape (n_background, n_features)
        The reference rows that weigh each node's children, binned as the forest reads them.
    average : bool, default=True
        The forest's expected output is the mean of its trees' (a forest's output); False: their
        sum (a boosting stage's).

    Returns
    -------
    expected_nodes : float64 ndarray of shape (n_internal_nodes, n_outputs)
    expected : float64 ndarray of shape (n_outputs,)
    """
    nodes = forest._node_table()
    counts = np.zeros((nodes.shape[0], 2))
    _branch_counts(np.ascontiguousarray(background, dtype=np.uint8), forest.roots, nodes, counts)
    values = forest.values  # read in the width stored, as predict's kernel reads them
    expected_nodes = _expected_outputs(nodes, counts, values, forest.n_pure, forest.n_outputs)
    expected = _root_sum(forest.roots, expected_nodes, values, forest.n_pure, forest.n_outputs)
    if average and forest.n_trees:
        expected /= forest.n_trees
    return expected_nodes, expected


def forest_contributions(
    forest: BinnedForest,
    X_binned: np.ndarray,
    expected_nodes: np.ndarray,
    *,
    average: bool = True,
    n_jobs: int | None = None,
) -> np.ndarray:
    """Per-row, per-feature contributions of ``forest``'s output.

    Parameters
    ----------
    forest : BinnedForest
    X_binned : uint8 ndarray of shape (n_samples, n_features)
        The rows to explain, binned as the forest reads them.
    expected_nodes : float64 ndarray of shape (n_internal_nodes, n_outputs)
        From :func:`forest_expectations`.
    average : bool, default=True
        Contributions to the mean of the trees (a forest's output); False: to their sum.
    n_jobs : int or None
        Threads sharing the rows; the result does not depend on it.

    Returns
    -------
    contributions : float64 ndarray of shape (n_samples, n_features, n_outputs)
        ``expected + contributions.sum(axis=1)`` is the forest's output on each row.
    """
    nodes = forest._node_table()
    values = forest.values  # read in the width stored, as predict's kernel reads them
    bins = np.ascontiguousarray(X_binned, dtype=np.uint8)
    out = np.zeros((bins.shape[0], bins.shape[1], forest.n_outputs))

    def run(start: int) -> None:
        stop = start + ROWS_PER_TASK
        _path_contributions(
            bins[start:stop],
            forest.roots,
            nodes,
            expected_nodes,
            values,
            forest.n_pure,
            out[start:stop],
        )

    starts = range(0, bins.shape[0], ROWS_PER_TASK)
    run_in_threads([partial(run, start) for start in starts], n_jobs)
    if average and forest.n_trees:
        out /= forest.n_trees
    return out


def shares(totals: np.ndarray, change: np.ndarray) -> np.ndarray:
    """Each feature's share of a change its ``totals`` explain; every row's shares sum to 1.

    ``totals`` (n_samples, n_features) are contributions whose row sums are ``change``
    (n_samples,). Where they all pull one way, a feature's share is its part of the change,
    ``totals / change``. Where they cancel out, that ratio explodes (a change of 0.1 made of
    +1 and -0.9 would pass an amount on ten times over), so the shares blend the signed part
    ``sign(change) * totals / m`` with the magnitude part ``|totals| / m`` (``m`` the sum of
    magnitudes) by how much of the magnitude survives in the change, ``r = |change| / m``:
    ``r = 1`` gives ``totals / change``, ``r = 0`` shares by magnitude, and no share exceeds
    twice a feature's part of the magnitude. A row of zeros shares equally.
    """
    magnitude = np.abs(totals).sum(axis=1)
    moved = magnitude > 0
    safe = np.where(moved, magnitude, 1.0)
    coherence = np.abs(change) / safe
    out = (np.sign(change) / safe)[:, None] * totals
    out += ((1.0 - coherence) / safe)[:, None] * np.abs(totals)
    out[~moved] = 1.0 / totals.shape[1]
    return out
