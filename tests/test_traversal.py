"""_core.traversal: the prediction kernel against a slow walk down a small hand-built forest."""

from __future__ import annotations

import numpy as np

from deepforest._core.traversal import (
    LOCKSTEP_ROWS,
    PACK_BLOCK_NODES,
    leaf_of,
    pack_nodes,
    scan_trees,
    sum_trees,
)

# Three trees over two features and two classes, in the grower's layout: a child code >= 0 is an
# internal node, -1 - ref a leaf; refs below N_PURE are pure leaves of that class, the others
# rows of VALUES.
#   tree 0: node 0 (feature 0 <= 3) -> node 1, else pure class 1
#           node 1 (feature 1 <= 0) -> pure class 0, else VALUES[0]
#   tree 1: one leaf, VALUES[1]
#   tree 2: node 2 (feature 1 <= 5) -> VALUES[2], else pure class 0
N_PURE = 2
ROOTS = np.array([0, -1 - 3, 2], dtype=np.int32)
FEATURE = np.array([0, 1, 1], dtype=np.int32)
THRESHOLD = np.array([3, 0, 5], dtype=np.uint8)
LEFT = np.array([1, -1 - 0, -1 - 4], dtype=np.int32)
RIGHT = np.array([-1 - 1, -1 - 2, -1 - 0], dtype=np.int32)
VALUES = np.array([[0.25, 0.75], [0.6, 0.4], [0.1, 0.9]], dtype=np.float32)
# Seven rows (not a multiple of the rows descending in lock step), thresholds' bins included:
# a bin equal to the threshold goes left.
X = np.array(
    [[0, 0], [3, 0], [3, 1], [4, 0], [2, 5], [2, 6], [255, 255]],
    dtype=np.uint8,
)


def _walk(row: np.ndarray, tree: int) -> np.ndarray:
    """One tree's output on one row, the slow way."""
    node = ROOTS[tree]
    while node >= 0:
        node = LEFT[node] if row[FEATURE[node]] <= THRESHOLD[node] else RIGHT[node]
    ref = -1 - node
    if ref < N_PURE:
        return np.eye(N_PURE)[ref]
    return VALUES[ref - N_PURE].astype(np.float64)


def test_the_node_table_holds_each_node_s_four_fields_side_by_side():
    nodes = pack_nodes(FEATURE, THRESHOLD, LEFT, RIGHT)
    assert nodes.dtype == np.int32 and nodes.shape == (3, 4)
    np.testing.assert_array_equal(nodes, np.column_stack([FEATURE, THRESHOLD, LEFT, RIGHT]))


def test_sum_trees_adds_what_a_walk_down_each_tree_finds():
    assert len(X) % LOCKSTEP_ROWS != 0
    nodes = pack_nodes(FEATURE, THRESHOLD, LEFT, RIGHT)
    out = np.zeros((len(X), N_PURE))
    sum_trees(X, ROOTS, nodes, VALUES, N_PURE, 0, 3, out)
    expected = np.array([sum(_walk(row, tree) for tree in range(3)) for row in X])
    np.testing.assert_array_equal(out, expected)
    # By hand, for the first row: class 0 (tree 0), VALUES[1], VALUES[2].
    np.testing.assert_allclose(out[0], [1 + 0.6 + 0.1, 0.4 + 0.9])
    # A range of trees, added to what ``out`` holds.
    sum_trees(X, ROOTS, nodes, VALUES, N_PURE, 1, 3, out)
    again = expected + np.array([_walk(row, 1) + _walk(row, 2) for row in X])
    np.testing.assert_array_equal(out, again)


def test_leaf_of_finds_the_leaf_a_walk_finds():
    refs = [
        [leaf_of(X, row, ROOTS[tree], FEATURE, THRESHOLD, LEFT, RIGHT) for tree in (0, 2)]
        for row in range(len(X))
    ]
    # Rows of the table, tree 0 then tree 2: bin 3 goes left at 0's root, bin 0 at its node 1.
    assert refs == [[0, 4], [0, 4], [2, 4], [1, 4], [2, 4], [2, 0], [1, 0]]


def test_scan_trees_pools_what_sum_trees_finds_on_each_window():
    # Windows of two features, read in place from samples of 5 values: window p reads
    # values p and p + 2 (starts = p, offsets = [0, 2]), 3 positions pooled into cells 0, 0, 1.
    rng = np.random.RandomState(0)
    samples = rng.choice([0, 2, 3, 4, 5, 6, 255], size=(6, 5)).astype(np.uint8)
    starts = np.arange(3, dtype=np.int64)
    offsets = np.array([0, 2], dtype=np.int64)
    cell_of = np.array([0, 0, 1], dtype=np.int64)
    nodes = pack_nodes(FEATURE, THRESHOLD, LEFT, RIGHT)
    out = np.zeros((6, 2, N_PURE))
    scan_trees(samples, starts, offsets, cell_of, ROOTS, nodes, VALUES, N_PURE, 1, 3, out)
    windows = np.stack([samples[:, [p, p + 2]] for p in range(3)], axis=1)  # (6, 3, 2)
    expected = np.zeros_like(out)
    for s in range(6):
        for p in range(3):
            for tree in (1, 2):
                expected[s, cell_of[p]] += _walk(windows[s, p], tree)
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_the_node_table_is_the_four_arrays_side_by_side_across_packing_blocks():
    rng = np.random.default_rng(0)
    n_nodes = 2 * PACK_BLOCK_NODES + 17
    feature = rng.integers(0, 2**31 - 1, n_nodes, dtype=np.int32)
    threshold = rng.integers(0, 256, n_nodes, dtype=np.uint8)
    left, right = rng.integers(-(2**31), 2**31 - 1, (2, n_nodes), dtype=np.int32)
    nodes = pack_nodes(feature, threshold, left, right)
    assert nodes.dtype == np.int32 and nodes.flags.c_contiguous
    np.testing.assert_array_equal(nodes, np.stack([feature, threshold, left, right], axis=1))
