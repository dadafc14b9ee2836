"""Route binned rows down fitted trees and sum their leaf values: the prediction kernel.

Compiled with numba and run without the GIL. Rows are taken in blocks and every tree of the range
visits a whole block before the next tree starts (a tree's top nodes stay in cache), but each
row's sum is always taken over the trees in their stored order, so the result is the same to the
last bit however rows are shared out among threads. The tree layout is described in ``grower``.
"""

from __future__ import annotations

from numba import njit

# Rows a tree visits before the next tree does.
ROW_BLOCK = 64


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


@njit(nogil=True, cache=True)
def sum_trees(X, roots, feature, threshold, left, right, values, n_pure, tree_begin, tree_end, out):
    """Add the outputs of trees ``tree_begin:tree_end`` on every row of ``X`` to ``out``.

    A pure leaf (``ref < n_pure``) adds 1 to column ``ref``; any other adds its row of
    ``values``.
    """
    n_rows = X.shape[0]
    n_outputs = out.shape[1]
    for block_start in range(0, n_rows, ROW_BLOCK):
        block_end = min(n_rows, block_start + ROW_BLOCK)
        for t in range(tree_begin, tree_end):
            root = roots[t]
            for i in range(block_start, block_end):
                ref = leaf_of(X, i, root, feature, threshold, left, right)
                if ref < n_pure:
                    out[i, ref] += 1.0
                else:
                    row = ref - n_pure
                    for c in range(n_outputs):
                        out[i, c] += values[row, c]
