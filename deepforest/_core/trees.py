"""A fitted forest of the compiled engine: plain numpy arrays, and its prediction.

All trees of a forest are concatenated into one set of arrays (the layout is described in
``grower``), so a fitted forest pickles small, saves in a skops file as arrays only, and one
compiled kernel predicts with every tree. Trees are stored fold by fold when the forest was
grown fold-wise, so the model that skipped a fold is a contiguous range of trees.
"""

from __future__ import annotations

import weakref
from functools import partial

import numpy as np
from numba import njit

from .threads import run_in_threads
from .traversal import pack_nodes, scan_trees, sum_trees

# Rows predicted by one parallel task; a fixed size, so results never depend on n_jobs.
ROWS_PER_TASK = 1024
# Rows x trees below which a layer's prediction stays in the caller's thread: handing a
# few rows to a helper costs more than descending them (one row through 400 trees: 0.2 ms on
# one thread, 0.3-0.4 ms on two), while five rows through ames' deep trees already gain.
PARALLEL_MIN_ROW_TREES = 2_000


# Forests joined here from trees this process grew: their node arrays come from the grower,
# not from a file, so their first prediction skips the check (loading its compiled code from
# numba's cache made boston's first prediction after fitting 11.6 ms instead of 7.9). A set
# outside the forests, so that nothing a file holds can claim a place in it; a copy is checked.
_GROWN_HERE: weakref.WeakSet = weakref.WeakSet()

# The arrays of a fitted forest: numpy kind, item sizes and dimensions the kernels accept.
_ARRAY_TYPES = {
    "roots": ("i", (4, 8), 1),
    "feature": ("i", (4, 8), 1),
    "threshold": ("u", (1,), 1),
    "left": ("i", (4, 8), 1),
    "right": ("i", (4, 8), 1),
    "values": ("f", (4, 8), 2),
    "fold_bounds": ("i", (4, 8), 1),
}


# The largest count the compiled check takes (a crafted file may say more); a float holds it
# exactly.
_MAX_COUNT = 2**62
# What ``_node_problems`` reports, one bit each.
_NODE_PROBLEMS = {
    1: "split features out of range",
    2: "child nodes out of order or out of range",
    4: "leaves beyond the leaf table",
}


def _as_count(value) -> int:
    """``value`` as an int the compiled check takes: clipped to +-2**62, -1 if not a number."""
    try:
        return int(np.clip(value, -_MAX_COUNT, _MAX_COUNT))
    except (TypeError, ValueError, OverflowError):
        return -1


@njit(nogil=True, cache=True)
def _child_problems(code, parent, n_nodes, n_pure, n_values):
    """The problem bits of one child reference (a node index, or ``-1 - ref`` for a leaf)."""
    if code >= 0:
        # Children follow their parent: that also rules out cycles.
        return 0 if parent < code < n_nodes else 2
    return 4 if -1 - code - n_pure >= n_values else 0


@njit(nogil=True, cache=True)
def _node_problems(feature, left, right, roots, n_features, n_pure, n_values):
    """``_NODE_PROBLEMS`` bits of a forest's node arrays, in one pass (numpy's checks over
    the whole arrays took 80 ms of a LETTER model's first prediction, and as long again when a
    model file loads)."""
    n_nodes = feature.shape[0]
    problems = 0
    for node in range(n_nodes):
        if not 0 <= feature[node] < n_features:
            problems |= 1
        problems |= _child_problems(left[node], node, n_nodes, n_pure, n_values)
        problems |= _child_problems(right[node], node, n_nodes, n_pure, n_values)
    for tree in range(roots.shape[0]):
        problems |= _child_problems(roots[tree], -1, n_nodes, n_pure, n_values)
    return problems


class BinnedForest:
    """The fitted trees of one forest as flat arrays.

    Parameters
    ----------
    roots : int32 ndarray of shape (n_trees,)
        Each tree's root: an internal node index, or ``-1 - ref`` for a tree that is one leaf.
    feature, threshold, left, right : ndarrays of shape (n_internal_nodes,)
        Split feature (int32), bin threshold (uint8) and children (int32) of every internal node.
    values : float32 ndarray of shape (n_value_leaves, n_outputs)
        Outputs of the leaves that store one (all leaves but pure classification leaves).
    n_pure : int
        Leaf references below ``n_pure`` are pure leaves of that class (0 for regression).
    fold_bounds : int64 ndarray of shape (n_folds + 1,)
        Trees ``fold_bounds[k]:fold_bounds[k + 1]`` never trained on fold ``k`` (one fold, all
        trees, for a forest grown out of bag).
    feature_importances : float64 ndarray of shape (n_features,)
        Impurity-based importances, each tree's normalised to sum 1, then averaged.

    Attributes
    ----------
    n_features_in_ : int
        Number of features the trees were grown on.
    """

    def __init__(
        self,
        *,
        roots: np.ndarray,
        feature: np.ndarray,
        threshold: np.ndarray,
        left: np.ndarray,
        right: np.ndarray,
        values: np.ndarray,
        n_pure: int,
        fold_bounds: np.ndarray,
        feature_importances: np.ndarray,
    ):
        self.roots = roots
        self.feature = feature
        self.threshold = threshold
        self.left = left
        self.right = right
        self.values = values
        self.n_pure = n_pure
        self.fold_bounds = fold_bounds
        self.feature_importances_ = feature_importances
        self.n_features_in_ = int(feature_importances.shape[0])

    @property
    def n_trees(self) -> int:
        return int(self.roots.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.values.shape[1])

    @property
    def n_nodes(self) -> int:
        """Internal nodes over all trees."""
        return int(self.feature.shape[0])

    @property
    def nbytes(self) -> int:
        arrays = (self.roots, self.feature, self.threshold, self.left, self.right, self.values)
        return sum(array.nbytes for array in arrays)

    def _node_table(self) -> np.ndarray:
        # Made on first use and kept, but never saved: it repeats the four node arrays.
        table = self.__dict__.get("_nodes")
        if table is None:
            if self not in _GROWN_HERE:
                self._check_nodes()
            table = pack_nodes(self.feature, self.threshold, self.left, self.right)
            self._nodes = table
        return table

    def _check_nodes(self) -> None:
        """Refuse node arrays that would send the compiled traversal out of bounds or in circles.

        A fitted forest always passes; a forest read from a crafted file may not, and the
        compiled kernels do not check indices. Children follow their parent (the grower numbers
        nodes as it creates them), so requiring that also rules out cycles.
        """
        for name, (kind, sizes, ndim) in _ARRAY_TYPES.items():
            array = getattr(self, name, None)
            if not (
                isinstance(array, np.ndarray)
                and array.dtype.kind == kind
                and array.dtype.itemsize in sizes
                and array.dtype.isnative
                and array.ndim == ndim
            ):
                # The compiled kernels take these types only (numba has no float16, for one).
                raise ValueError(
                    f"a forest of this model is malformed (its {name} array is not of the "
                    "type a forest holds): the model file is damaged or was not written by "
                    "deepforest"
                )
        n_nodes = self.feature.shape[0]
        arrays = (self.threshold, self.left, self.right)
        problems = []
        if not 0 <= self.n_pure <= self.values.shape[-1]:
            problems.append("more pure classes than outputs")
        if self.values.ndim != 2 or any(a.shape != (n_nodes,) for a in arrays):
            problems.append("node arrays of different lengths")
        else:
            found = _node_problems(
                self.feature, self.left, self.right, self.roots,
                _as_count(self.n_features_in_), _as_count(self.n_pure), self.values.shape[0],
            )  # fmt: skip
            problems += [text for flag, text in _NODE_PROBLEMS.items() if found & flag]
        bounds = np.asarray(self.fold_bounds)
        if bounds.size and (
            bounds[0] < 0 or bounds[-1] > self.n_trees or np.any(np.diff(bounds) < 0)
        ):
            problems.append("fold bounds out of range")
        if problems:
            raise ValueError(
                f"a forest of this model is malformed ({'; '.join(sorted(set(problems)))}): the "
                "model file is damaged or was not written by deepforest"
            )

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_nodes", None)
        return state

    def output(
        self, X_binned: np.ndarray, fold: int | None = None, n_jobs: int | None = None
    ) -> np.ndarray:
        """Average output of the trees (``fold``: only those that never trained on that fold).

        Parameters
        ----------
        X_binned : uint8 ndarray of shape (n_samples, n_features)
        fold : int or None
        n_jobs : int or None
            Threads sharing the rows; the result does not depend on it.

        Returns
        -------
        output : float64 ndarray of shape (n_samples, n_outputs)
            Class probabilities or predicted targets.
        """
        return forest_outputs([self], X_binned, fold=fold, n_jobs=n_jobs)[0]

    def _tree_range(self, fold: int | None) -> tuple[int, int]:
        """The trees that never trained on ``fold`` (all of them for None), as a range."""
        if fold is None:
            return 0, self.n_trees
        return int(self.fold_bounds[fold]), int(self.fold_bounds[fold + 1])

    def scan(
        self,
        samples: np.ndarray,
        starts: np.ndarray,
        offsets: np.ndarray,
        cell_of: np.ndarray,
        fold: int | None,
        out: np.ndarray,
    ) -> int:
        """Add the trees' outputs on every window of ``samples`` to their cells of ``out``.

        The windows are read in place from the flat binned ``samples`` (see
        ``traversal.scan_trees``); ``fold`` limits the trees to those that never trained on it.
        Returns the number of trees summed.
        """
        begin, end = self._tree_range(fold)
        nodes = self._node_table()
        scan_trees(
            samples, starts, offsets, cell_of, self.roots, nodes, self.values, self.n_pure,
            begin, end, out,
        )  # fmt: skip
        return end - begin

    def _row_task(self, X_binned: np.ndarray, fold: int | None, out: np.ndarray):
        """The work of one block of rows: ``run(start)`` adds the trees' sums to ``out``."""
        begin, end = self._tree_range(fold)
        arrays = (self.roots, self._node_table(), self.values)

        def run(start: int) -> None:
            stop = start + ROWS_PER_TASK
            sum_trees(X_binned[start:stop], *arrays, self.n_pure, begin, end, out[start:stop])

        return run, end - begin


def forest_outputs(
    forests: list, X_binned: np.ndarray, fold: int | None = None, n_jobs: int | None = None
) -> list[np.ndarray]:
    """Each forest's ``output(X_binned, fold)``, all forests' row blocks in one parallel call.

    One call instead of one per forest saves a thread pool's start and join per forest, which
    was a tenth of a layer's prediction time on LETTER. Forests other than ``BinnedForest``
    (scikit-learn's) compute their own.
    """
    starts = range(0, X_binned.shape[0], ROWS_PER_TASK)
    outputs, tasks, divisors = [], [], []
    row_trees = 0
    bins = None
    for forest in forests:
        if not isinstance(forest, BinnedForest):
            outputs.append(forest.output(X_binned, fold, n_jobs))
            continue
        if bins is None:
            bins = np.ascontiguousarray(X_binned, dtype=np.uint8)
        out = np.zeros((X_binned.shape[0], forest.n_outputs), dtype=np.float64)
        run, n_trees = forest._row_task(bins, fold, out)
        outputs.append(out)
        divisors.append((out, n_trees))
        tasks += [(run, start) for start in starts]
        row_trees += X_binned.shape[0] * n_trees
    # Threads write disjoint row blocks; the kernel releases the GIL.
    calls = [partial(run, start) for run, start in tasks]
    run_in_threads(calls, n_jobs if row_trees >= PARALLEL_MIN_ROW_TREES else 1)
    for out, n_trees in divisors:
        out /= n_trees
    return outputs


def concatenate_trees(
    trees: list[tuple], n_pure: int, n_features: int, fold_bounds: np.ndarray
) -> BinnedForest:
    """Join trees grown one by one (``grower.grow_tree``'s results) into one forest.

    Node indices and leaf-table rows are local to each tree; they are shifted so that they
    index the joined arrays.
    """
    roots = np.empty(len(trees), dtype=np.int32)
    node_offset = 0
    value_offset = 0
    lefts, rights = [], []
    importances = np.zeros(n_features, dtype=np.float64)
    n_weighted = 0
    for index, (_, _, left, right, values, root, tree_importances) in enumerate(trees):
        lefts.append(_shift(left, node_offset, value_offset, n_pure))
        rights.append(_shift(right, node_offset, value_offset, n_pure))
        root_code = np.array([root], dtype=np.int32)
        roots[index] = _shift(root_code, node_offset, value_offset, n_pure)[0]
        node_offset += left.shape[0]
        value_offset += values.shape[0]
        total = tree_importances.sum()
        # As scikit-learn: trees that are one leaf do not count in the average.
        if total > 0:
            importances += tree_importances / total
            n_weighted += 1
    if n_weighted:
        importances /= n_weighted
    n_outputs = trees[0][4].shape[1]
    forest = BinnedForest(
        roots=roots,
        feature=np.concatenate([tree[0] for tree in trees]),
        threshold=np.concatenate([tree[1] for tree in trees]),
        left=np.concatenate(lefts),
        right=np.concatenate(rights),
        values=np.concatenate([tree[4] for tree in trees]).reshape(-1, n_outputs),
        n_pure=n_pure,
        fold_bounds=np.asarray(fold_bounds, dtype=np.int64),
        feature_importances=importances,
    )
    _GROWN_HERE.add(forest)
    return forest


def _shift(codes: np.ndarray, node_offset: int, value_offset: int, n_pure: int) -> np.ndarray:
    """Child codes of one tree, re-indexed into the joined arrays."""
    codes = codes.astype(np.int64)
    internal = codes >= 0
    refs = -1 - codes
    stored = ~internal & (refs >= n_pure)
    shifted = np.where(internal, codes + node_offset, codes)
    shifted = np.where(stored, -1 - (refs + value_offset), shifted)
    if shifted.size and (shifted.max() > np.iinfo(np.int32).max or shifted.min() < -(2**31)):
        raise OverflowError("a forest holds more than 2**31 nodes or leaves")
    return shifted.astype(np.int32)
