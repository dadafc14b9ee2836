"""Grow one decision tree on binned data, depth first, and score its out-of-sample rows.

Compiled with numba; the GIL is released, so threads grow trees in parallel. A tree is grown on
a bootstrap sample: rows are drawn with replacement from the *eligible* rows (all rows, or the
rows outside one fold) and each drawn row carries its number of draws times its weight, as in
scikit-learn's forests. Once grown, the tree scores the rows it did not train on right away (its
out-of-bag rows, or the held-out fold), so a forest's out-of-sample outputs need no second pass.

A fitted tree is four arrays over its internal nodes -- ``feature``, ``threshold`` (a bin: rows
with ``bin <= threshold`` go left), ``left`` and ``right`` -- and a table of leaf values. A child
index ``>= 0`` is an internal node; a negative one, ``-1 - ref``, is a leaf. For classification a
pure leaf (one class, the most common case in grown trees) stores no value: ``ref`` is its class
index. Other leaves store their class frequencies (or target means) as a float32 row of the leaf
table, at ``ref - n_pure`` where ``n_pure`` is the number of classes (0 for regression).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .rng import rand_below
from .splitting import (
    CONSTANT,
    FOUND,
    SORTED_SPLIT_MAX_ROWS,
    best_split,
    node_score,
    node_statistics,
    partition,
    random_split,
)
from .traversal import leaf_of

# Relative tolerance under which a regression node's targets count as constant.
_CONSTANT_TARGET_TOLERANCE = 1e-12

# The kernels' arguments and results, as namedtuples that numba compiles to plain structs.
TrainingRows = namedtuple("TrainingRows", "X X_rows codes targets row_weights groups n_outputs")
TrainingRows.__doc__ = """What every tree of a forest reads.

X : uint8 (n_rows, n_features), best Fortran-ordered
    The bins the splits are searched on (a column is read at a time).
X_rows : uint8 (n_rows, n_features), best C-ordered
    The same bins, read a row at a time to score the out-of-sample rows.
codes : int32 (n_rows,)
    Class index of every row (classification); empty for regression.
targets : float64 (n_rows, n_outputs)
    Targets (regression); empty for classification.
row_weights : float64 (n_rows,)
    Sample weight times class weight of every row.
groups : int64 (n_rows,) or empty
    Group of identical rows of every row: a row counts as out of bag only if no row of its
    group was drawn, since a tree that trained on a row's twin has seen its label.
n_outputs : int
    Classes or targets.
"""
TreeSettings = namedtuple(
    "TreeSettings",
    "is_classification criterion random_splits max_features max_depth min_samples_split "
    "min_samples_leaf min_weight_fraction_leaf balanced_subsample",
)
TreeSettings.__doc__ = """The settings all trees of one forest share.

random_splits : one random cut per candidate feature (completely-random / extra trees) instead
    of the best cut.
max_features : candidate features per node; features constant in the node do not count.
max_depth : deepest level of a split (-1: unlimited).
min_weight_fraction_leaf : smallest share of the tree's training weight a leaf may hold.
balanced_subsample : weight classes inversely to their frequency in the tree's bootstrap.
"""
TreeSample = namedtuple("TreeSample", "eligible n_draws held_out score_out_of_bag")
TreeSample.__doc__ = """The rows one tree trains on and scores.

eligible : int64, the rows the bootstrap draws from.
n_draws : bootstrap size (0: every eligible row once, no bootstrap).
held_out : int64, the rows to score when ``score_out_of_bag`` is false (a fold's).
score_out_of_bag : score the eligible rows the bootstrap did not draw instead.
"""
OutOfSampleSums = namedtuple("OutOfSampleSums", "total count")
OutOfSampleSums.__doc__ = """Accumulators of out-of-sample outputs: ``total`` float64
(n_rows, n_outputs) and ``count`` int64 (n_rows,); empty arrays skip scoring."""
Tree = namedtuple("Tree", "feature threshold left right values root importances")
Tree.__doc__ = """One fitted tree: the internal nodes' ``feature``, ``threshold``, ``left`` and
``right``, the leaf table ``values``, the ``root``'s code and the impurity ``importances``."""
_SplitScratch = namedtuple(
    "_SplitScratch",
    "hist_sums hist_w hist_n left_sums order bins features constant_features",
)
# The stack of nodes still to grow, one row a node: integer and float columns.
_START, _END, _DEPTH, _PARENT, _CONSTANTS = 0, 1, 2, 3, 4  # parent: parent * 2 + is_right
_WEIGHT, _SQUARES = 0, 1  # the node's weight and sum of w * y**2; its per-output sums apart


@njit(nogil=True, cache=True)
def draw_bootstrap(n_rows, eligible, n_draws, rng_state):
    """Draw counts per row: ``n_draws`` draws with replacement from ``eligible`` (0: each once)."""
    counts = np.zeros(n_rows, dtype=np.int32)
    if n_draws == 0:
        for r in eligible:
            counts[r] = 1
        return counts
    n_eligible = eligible.shape[0]
    for _ in range(n_draws):
        counts[eligible[rand_below(rng_state, n_eligible)]] += 1
    return counts


@njit(nogil=True, cache=True)
def grow_tree(rows, sample, settings, rng_state, out_of_sample):
    """Grow one tree; add its outputs on its out-of-sample rows to ``out_of_sample``.

    Parameters
    ----------
    rows : TrainingRows
    sample : TreeSample
    settings : TreeSettings
    rng_state : uint64 array (1,)
        The tree's random state, updated in place.
    out_of_sample : OutOfSampleSums

    Returns
    -------
    Tree
    """
    counts, weights, bag = _bootstrap(rows, sample, settings.balanced_subsample, rng_state)
    tree = _grow_nodes(rows, weights, bag, settings, rng_state)
    if out_of_sample.total.shape[0] > 0:
        _score_out_of_sample(rows, sample, counts, tree, settings.is_classification, out_of_sample)
    return tree


@njit(nogil=True, cache=True)
def _bootstrap(rows, sample, balanced_subsample, rng_state):
    """The tree's draw counts, training weights (draws times row weights) and drawn rows."""
    # Fields read into locals first: in a loop, each read of a namedtuple's array field costs
    # a reference count.
    codes, n_outputs, eligible = rows.codes, rows.n_outputs, sample.eligible
    row_weights = rows.row_weights
    n_rows = rows.X.shape[0]
    counts = draw_bootstrap(n_rows, eligible, sample.n_draws, rng_state)
    weights = np.zeros(n_rows, dtype=np.float64)
    if balanced_subsample:
        drawn = np.zeros(n_outputs, dtype=np.float64)
        for r in eligible:
            drawn[codes[r]] += counts[r]
        n_present = 0
        n_drawn = 0.0
        for c in range(n_outputs):
            if drawn[c] > 0:
                n_present += 1
                n_drawn += drawn[c]
        for r in eligible:
            if counts[r] > 0:
                weights[r] = counts[r] * row_weights[r] * n_drawn / (n_present * drawn[codes[r]])
    else:
        for r in eligible:
            weights[r] = counts[r] * row_weights[r]
    n_bag = 0
    for r in eligible:
        if weights[r] > 0.0:
            n_bag += 1
    bag = np.empty(n_bag, dtype=np.int64)
    n_bag = 0
    for r in eligible:
        if weights[r] > 0.0:
            bag[n_bag] = r
            n_bag += 1
    return counts, weights, bag


@njit(nogil=True, cache=True)
def _grow_nodes(rows, weights, bag, settings, rng_state):
    """Grow the tree depth first on the drawn rows ``bag`` (reordered in place per node)."""
    X, codes, targets, n_outputs = rows.X, rows.codes, rows.targets, rows.n_outputs
    is_classification = settings.is_classification
    n_features = X.shape[1]
    n_bag = bag.shape[0]
    # A tree on n rows has fewer than n internal nodes and at most n leaves.
    feature, threshold, left_child, right_child, values = _new_tree_arrays(max(n_bag, 1), n_outputs)
    importances = np.zeros(n_features, dtype=np.float64)
    n_pure = n_outputs if is_classification else 0
    n_internal = 0
    n_values = 0
    root = 0
    scratch = _new_scratch(n_features, n_outputs)
    # The stack of nodes still to grow: its row range, depth, parent link and statistics.
    stack_ints = np.empty((64, 5), dtype=np.int64)
    stack_floats = np.empty((64, 2), dtype=np.float64)
    stack_sums = np.empty((64, n_outputs), dtype=np.float64)
    node_sums = np.empty(n_outputs, dtype=np.float64)
    w_root, sq_root = node_statistics(
        bag, 0, n_bag, codes, targets, weights, is_classification, node_sums
    )
    # scikit-learn's min_weight_fraction_leaf: of the weight this tree trains on.
    min_weight_leaf = settings.min_weight_fraction_leaf * w_root
    _push(stack_ints, stack_floats, stack_sums, 0, (0, n_bag, 0, -1, 0, w_root, sq_root), node_sums)
    n_stack = 1
    child_sums = np.empty((2, n_outputs), dtype=np.float64)

    while n_stack > 0:
        n_stack -= 1
        start, end, depth, parent, n_constants = _peek(stack_ints, n_stack)
        w_total = stack_floats[n_stack, _WEIGHT]
        sum_squares = stack_floats[n_stack, _SQUARES]
        total = node_sums
        total[:] = stack_sums[n_stack]
        is_leaf = _stops(settings, end - start, w_total, min_weight_leaf, depth) or _is_pure(
            is_classification, total, w_total, sum_squares
        )
        if not is_leaf:
            best_status, best_feature, best_threshold, n_constants = _search_split(
                rows,
                weights,
                bag,
                start,
                end,
                total,
                w_total,
                settings,
                min_weight_leaf,
                scratch,
                n_constants,
                rng_state,
            )
            is_leaf = best_status != FOUND

        if is_leaf:
            ref = _leaf_reference(values, n_values, total, w_total, is_classification)
            if ref < 0:
                ref = n_pure + n_values
                n_values += 1
            code = -1 - ref
        else:
            node = n_internal
            n_internal += 1
            feature[node] = best_feature
            threshold[node] = best_threshold
            code = node
            middle, w_left, w_right, sq_left, sq_right = partition(
                X,
                best_feature,
                best_threshold,
                bag,
                start,
                end,
                codes,
                targets,
                weights,
                is_classification,
                child_sums[0],
                child_sums[1],
            )
            importances[best_feature] += (
                node_score(settings.criterion, child_sums[0], w_left)
                + node_score(settings.criterion, child_sums[1], w_right)
                - node_score(settings.criterion, total, w_total)
            )
            if n_stack + 2 > stack_ints.shape[0]:
                stack_ints = _doubled(stack_ints, n_stack)
                stack_floats = _doubled(stack_floats, n_stack)
                stack_sums = _doubled(stack_sums, n_stack)
            # Right child pushed first, so the left one is grown first.
            right = (middle, end, depth + 1, node * 2 + 1, n_constants, w_right, sq_right)
            _push(stack_ints, stack_floats, stack_sums, n_stack, right, child_sums[1])
            left = (start, middle, depth + 1, node * 2, n_constants, w_left, sq_left)
            _push(stack_ints, stack_floats, stack_sums, n_stack + 1, left, child_sums[0])
            n_stack += 2

        if parent < 0:
            root = code
        elif parent % 2 == 0:
            left_child[parent // 2] = code
        else:
            right_child[parent // 2] = code

    return Tree(
        feature[:n_internal].copy(),
        threshold[:n_internal].copy(),
        left_child[:n_internal].copy(),
        right_child[:n_internal].copy(),
        values[:n_values].copy(),
        root,
        importances,
    )


@njit(nogil=True, cache=True, inline="always")
def _search_split(
    rows,
    weights,
    bag,
    start,
    end,
    total,
    w_total,
    settings,
    min_weight_leaf,
    scratch,
    n_constants,
    rng_state,
):
    """Search the node's candidate features; return (status, feature, cut, constants known).

    Features found constant in a node are constant in all its descendants: they sit at the
    front of ``scratch.features`` (saved in ``scratch.constant_features``) and are never drawn
    again below it, as in scikit-learn's splitter. Draws of constants do not count as visited
    candidates.
    """
    X, codes, targets = rows.X, rows.codes, rows.targets
    features, constant_features = scratch.features, scratch.constant_features
    hist_sums, hist_w, hist_n = scratch.hist_sums, scratch.hist_w, scratch.hist_n
    left_sums, order, bins = scratch.left_sums, scratch.order, scratch.bins
    is_classification, criterion = settings.is_classification, settings.criterion
    min_samples_leaf, random_splits = settings.min_samples_leaf, settings.random_splits
    n_features = X.shape[1]
    max_features = settings.max_features
    best_status = CONSTANT
    best_score = -np.inf
    best_feature = -1
    best_threshold = 0
    n_known = n_constants
    n_drawn_known = 0
    n_found = 0
    n_unseen_end = n_features
    n_visited = 0
    while n_unseen_end > n_constants and (
        n_visited < max_features or n_visited <= n_found + n_drawn_known
    ):
        n_visited += 1
        j = n_drawn_known + rand_below(rng_state, n_unseen_end - n_found - n_drawn_known)
        if j < n_known:
            f = features[j]
            features[j] = features[n_drawn_known]
            features[n_drawn_known] = f
            n_drawn_known += 1
            continue
        j += n_found
        f = features[j]
        if random_splits:
            status, score, cut = random_split(
                X,
                f,
                bag,
                start,
                end,
                codes,
                targets,
                weights,
                is_classification,
                total,
                w_total,
                criterion,
                min_samples_leaf,
                min_weight_leaf,
                left_sums,
                rng_state,
                max_features > 1,
            )
        else:
            status, score, cut = best_split(
                X,
                f,
                bag,
                start,
                end,
                codes,
                targets,
                weights,
                is_classification,
                total,
                w_total,
                criterion,
                min_samples_leaf,
                min_weight_leaf,
                hist_sums,
                hist_w,
                hist_n,
                left_sums,
                order,
                bins,
            )
        if status == CONSTANT:
            features[j] = features[n_constants]
            features[n_constants] = f
            n_found += 1
            n_constants += 1
            continue
        n_unseen_end -= 1
        features[j] = features[n_unseen_end]
        features[n_unseen_end] = f
        if status == FOUND and score > best_score:
            best_status = FOUND
            best_score = score
            best_feature = f
            best_threshold = cut
    features[:n_known] = constant_features[:n_known]
    constant_features[n_known:n_constants] = features[n_known:n_constants]
    return best_status, best_feature, best_threshold, n_constants


@njit(nogil=True, cache=True, inline="always")
def _leaf_reference(values, n_values, total, w_total, is_classification):
    """A pure class leaf's class index; else -1, with the leaf's value written at ``n_values``."""
    n_outputs = total.shape[0]
    if is_classification:
        ref = -1
        n_present = 0
        for c in range(n_outputs):
            if total[c] > 0.0:
                n_present += 1
                ref = c
        if n_present == 1:
            return ref
    for c in range(n_outputs):
        values[n_values, c] = total[c] / w_total if w_total > 0.0 else 0.0
    return -1


@njit(nogil=True, cache=True)
def _score_out_of_sample(rows, sample, counts, tree, is_classification, out_of_sample):
    """Add the tree's outputs on its out-of-bag rows (or its held-out fold) to the sums."""
    n_pure = rows.n_outputs if is_classification else 0
    groups, eligible, X_rows = rows.groups, sample.eligible, rows.X_rows
    # The per-row loop reads plain arrays: a namedtuple's field costs a reference count each.
    root, feature, threshold, left, right = (
        tree.root,
        tree.feature,
        tree.threshold,
        tree.left,
        tree.right,
    )
    values, total, count = tree.values, out_of_sample.total, out_of_sample.count
    if sample.score_out_of_bag:
        if groups.shape[0] > 0:
            drawn_groups = np.zeros(groups.max() + 1, dtype=np.bool_)
            for r in eligible:
                if counts[r] > 0:
                    drawn_groups[groups[r]] = True
            for r in eligible:
                if counts[r] > 0 or drawn_groups[groups[r]]:
                    counts[r] = 1  # not out of bag: a twin trained the tree
        for r in eligible:
            if counts[r] == 0:
                _score_row(
                    X_rows, r, root, feature, threshold, left, right, values, n_pure, total, count
                )
    else:
        for r in sample.held_out:
            _score_row(
                X_rows, r, root, feature, threshold, left, right, values, n_pure, total, count
            )


@njit(nogil=True, cache=True, inline="always")
def _score_row(X, r, root, feature, threshold, left, right, values, n_pure, total, count):
    ref = leaf_of(X, r, root, feature, threshold, left, right)
    if ref < n_pure:
        total[r, ref] += 1.0
    else:
        row = ref - n_pure
        for c in range(total.shape[1]):
            total[r, c] += values[row, c]
    count[r] += 1


@njit(nogil=True, cache=True)
def _is_pure(is_classification, sums, w_total, sum_squares):
    if is_classification:
        n_present = 0
        for s in sums:
            if s > 0.0:
                n_present += 1
        return n_present <= 1
    # Weighted variance summed over outputs: sum(w y^2) / w - sum((s / w)^2).
    mean_squares = 0.0
    for s in sums:
        mean_squares += (s / w_total) ** 2
    spread = sum_squares / w_total - mean_squares
    return spread <= _CONSTANT_TARGET_TOLERANCE * max(mean_squares, 1.0)


@njit(nogil=True, cache=True)
def _new_scratch(n_features, n_outputs):
    """Scratch space of the split search, allocated once per tree."""
    return _SplitScratch(
        np.zeros((256, n_outputs), dtype=np.float64),
        np.zeros(256, dtype=np.float64),
        np.zeros(256, dtype=np.int64),
        np.zeros(n_outputs, dtype=np.float64),
        np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.int64),
        np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.uint8),
        np.arange(n_features),
        np.empty(n_features, dtype=np.int64),
    )


@njit(nogil=True, cache=True, inline="always")
def _push(ints, floats, all_sums, at, node, sums):
    """Put a node on the stack: (start, end, depth, parent, constants, weight, squares)."""
    ints[at, _START] = node[0]
    ints[at, _END] = node[1]
    ints[at, _DEPTH] = node[2]
    ints[at, _PARENT] = node[3]
    ints[at, _CONSTANTS] = node[4]
    floats[at, _WEIGHT] = node[5]
    floats[at, _SQUARES] = node[6]
    all_sums[at] = sums


@njit(nogil=True, cache=True, inline="always")
def _peek(ints, at):
    """The (start, end, depth, parent, constants) of the node at ``at``."""
    return (
        ints[at, _START],
        ints[at, _END],
        ints[at, _DEPTH],
        ints[at, _PARENT],
        ints[at, _CONSTANTS],
    )


@njit(nogil=True, cache=True, inline="always")
def _stops(settings, n_node, w_total, min_weight_leaf, depth):
    """Whether the settings make a node of this size, weight and depth a leaf."""
    return (
        n_node < settings.min_samples_split
        or n_node < 2 * settings.min_samples_leaf
        or w_total < 2.0 * min_weight_leaf
        or (settings.max_depth >= 0 and depth >= settings.max_depth)
        or n_node == 0
    )


@njit(nogil=True, cache=True)
def _new_tree_arrays(capacity, n_outputs):
    """Room for a tree's internal nodes (feature, threshold, left, right) and leaf values."""
    return (
        np.empty(capacity, dtype=np.int32),
        np.empty(capacity, dtype=np.uint8),
        np.empty(capacity, dtype=np.int32),
        np.empty(capacity, dtype=np.int32),
        np.empty((capacity, n_outputs), dtype=np.float32),
    )


@njit(nogil=True, cache=True)
def _doubled(stack, n_stack):
    """The stack with twice the rows, its first ``n_stack`` kept."""
    grown = np.empty((2 * stack.shape[0], stack.shape[1]), dtype=stack.dtype)
    grown[:n_stack] = stack[:n_stack]
    return grown
