"""Route binned rows down fitted trees and sum their leaf values: the prediction kernel.

Compiled with numba and run without the GIL. A tree visits all rows of a call before the next
tree starts (its nodes stay in cache), eight rows at a time in lock step: each step of a descent
waits on a memory load, and independent descents keep several loads in flight. Four made
prediction twice as fast as one on trees too large for the cache; eight are 1.2 to 1.4 times
as fast again as four on LETTER's and ADULT's forests (twelve were slower than eight). A step
reads one 16-byte record of the node table ``pack_nodes`` makes (feature, threshold, left,
right side by side) instead of four separate arrays: one cache line instead of four, 1.9 times
faster on LETTER's trees. Each row's sum is always taken over the trees in their stored order,
so the result is the same to the last bit however rows are shared out among threads. The tree
layout is described in ``grower``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Rows descending a tree in lock step.
LOCKSTEP_ROWS = 8
# Window positions descending a tree in lock step in ``scan_trees``: reading windows in place
# leaves more loads in flight to overlap; 8 scored 28x28 images 1.2 times as fast as 4 (16 was
# slower again).
LOCKSTEP_POSITIONS = 8


@njit(nogil=True, cache=True, inline="always")
def leaf_of(X, row, root, feature, threshold, left, right):
    """The leaf reference (``ref``) of ``X[row]`` in the tree whose root is ``root``."""
    node = root
    while node >= 0:
        if X[row, feature[node]] <= threshold[node]:
            node = left[node]
        else:
            node = right[node]
    return -1 - node


# Nodes packed at a time by ``pack_nodes``: their 1 MB of table stays in cache while the four
# columns are written into it.
PACK_BLOCK_NODES = 65_536


def pack_nodes(feature, threshold, left, right) -> np.ndarray:
    """The node table ``sum_trees`` reads: a row (feature, threshold, left, right) per node.

    Written a block of rows at a time: column by column over the whole table, each column's
    strided writes went to memory again, and diamonds' 5.7 M nodes took 164-209 ms (a quarter
    of its first prediction) against 13 ms by blocks.
    """
    nodes = np.empty((feature.shape[0], 4), dtype=np.int32)
    for start in range(0, feature.shape[0], PACK_BLOCK_NODES):
        block = slice(start, start + PACK_BLOCK_NODES)
        table = nodes[block]
        table[:, 0] = feature[block]
        table[:, 1] = threshold[block]
        table[:, 2] = left[block]
        table[:, 3] = right[block]
    return nodes


@njit(nogil=True, cache=True)
def sum_trees(X, roots, nodes, values, n_pure, tree_begin, tree_end, out):
    """Add the outputs of trees ``tree_begin:tree_end`` on every row of ``X`` to ``out``.

    ``nodes`` is the table of ``pack_nodes``. A pure leaf (``ref < n_pure``) adds 1 to column
    ``ref``; any other adds its row of ``values``.
    """
    n_rows = X.shape[0]
    n_outputs = out.shape[1]
    at = np.empty(LOCKSTEP_ROWS, dtype=np.int64)  # the node each row of the block is at
    for t in range(tree_begin, tree_end):
        root = roots[t]
        for first in range(0, n_rows, LOCKSTEP_ROWS):
            n_block = min(n_rows - first, LOCKSTEP_ROWS)
            at[:n_block] = root
            descending = n_block if root >= 0 else 0
            while descending > 0:
                descending = 0
                for j in range(n_block):
                    node = at[j]
                    if node >= 0:
                        if X[first + j, nodes[node, 0]] <= nodes[node, 1]:
                            node = nodes[node, 2]
                        else:
                            node = nodes[node, 3]
                        at[j] = node
                        if node >= 0:
                            descending += 1
            for j in range(n_block):
                ref = -1 - at[j]
                i = first + j
                if ref < n_pure:
                    out[i, ref] += 1.0
                else:
                    row = ref - n_pure
                    for c in range(n_outputs):
                        out[i, c] += values[row, c]


@njit(nogil=True, cache=True)
def scan_trees(
    samples, starts, offsets, cell_of, roots, nodes, values, n_pure, tree_begin, tree_end, out
):
    """Add the outputs of trees ``tree_begin:tree_end`` on every window of every sample to
    ``out[sample, cell_of[position]]``: scoring and pooling in one pass, no window copied.

    ``samples`` holds flat binned samples; the window at ``position`` reads its feature ``f``
    at ``starts[position] + offsets[f]``. A tree visits all positions of the block's samples
    before the next tree starts, so its nodes and the samples stay in cache. Each cell's sum is
    taken over positions and trees in a fixed order, whatever the threads.
    """
    n_samples = samples.shape[0]
    n_positions = starts.shape[0]
    n_outputs = out.shape[2]
    at = np.empty(LOCKSTEP_POSITIONS, dtype=np.int64)
    base = np.empty(LOCKSTEP_POSITIONS, dtype=np.int64)
    for t in range(tree_begin, tree_end):
        root = roots[t]
        for s in range(n_samples):
            sample = samples[s]
            for first in range(0, n_positions, LOCKSTEP_POSITIONS):
                n_block = min(n_positions - first, LOCKSTEP_POSITIONS)
                for j in range(n_block):
                    at[j] = root
                    base[j] = starts[first + j]
                descending = n_block if root >= 0 else 0
                while descending > 0:
                    descending = 0
                    for j in range(n_block):
                        node = at[j]
                        if node >= 0:
                            if sample[base[j] + offsets[nodes[node, 0]]] <= nodes[node, 1]:
                                node = nodes[node, 2]
                            else:
                                node = nodes[node, 3]
                            at[j] = node
                            if node >= 0:
                                descending += 1
                for j in range(n_block):
                    ref = -1 - at[j]
                    cell = cell_of[first + j]
                    if ref < n_pure:
                        out[s, cell, ref] += 1.0
                    else:
                        row = ref - n_pure
                        for c in range(n_outputs):
                            out[s, cell, c] += values[row, c]
