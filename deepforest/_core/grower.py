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


@njit(nogil=True, cache=True)
def draw_bootstrap(n_rows, eligible, n_draws, seed_state):
    """Draw counts per row: ``n_draws`` draws with replacement from ``eligible`` (0: each once)."""
    counts = np.zeros(n_rows, dtype=np.int32)
    if n_draws == 0:
        for r in eligible:
            counts[r] = 1
        return counts
    n_eligible = eligible.shape[0]
    for _ in range(n_draws):
        counts[eligible[rand_below(seed_state, n_eligible)]] += 1
    return counts


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
def grow_tree(
    X,
    X_rows,
    codes,
    targets,
    row_weights,
    eligible,
    n_draws,
    n_outputs,
    is_classification,
    criterion,
    random_splits,
    max_features,
    max_depth,
    min_samples_split,
    min_samples_leaf,
    min_weight_fraction_leaf,
    balanced_subsample,
    seed,
    held_out,
    score_out_of_bag,
    groups,
    out_sum,
    out_count,
):
    """Grow one tree; add its outputs on its out-of-sample rows to ``out_sum`` / ``out_count``.

    Parameters
    ----------
    X : uint8 array (n_rows, n_features), best Fortran-ordered
        The bins the splits are searched on (a column is read at a time).
    X_rows : uint8 array (n_rows, n_features), best C-ordered
        The same bins, read a row at a time to score the out-of-sample rows.
    codes : int32 array (n_rows,)
        Class index of every row (classification); empty for regression.
    targets : float64 array (n_rows, n_outputs)
        Targets (regression); empty for classification.
    row_weights : float64 array (n_rows,)
        Sample weight times class weight of every row.
    eligible : int64 array
        Rows the bootstrap draws from.
    n_draws : int
        Bootstrap size (0: every eligible row once, no bootstrap).
    random_splits : bool
        One random cut per candidate feature (completely-random / extra trees) instead of the
        best cut.
    max_features : int
        Candidate features per node; features constant in the node do not count.
    max_depth : int
        Deepest level of a split (-1: unlimited).
    min_weight_fraction_leaf : float
        Smallest share of the tree's training weight that a leaf may hold.
    balanced_subsample : bool
        Weight classes inversely to their frequency in this tree's bootstrap sample.
    seed : uint64 array (1,)
        The tree's random state, updated in place.
    held_out : int64 array
        Rows to score (used when ``score_out_of_bag`` is false).
    score_out_of_bag : bool
        Score the eligible rows the bootstrap did not draw instead of ``held_out``.
    groups : int64 array (n_rows,) or empty
        Group of identical rows of every row: a row counts as out of bag only if no row of
        its group was drawn, since a tree that trained on a row's twin has seen its label.
    out_sum, out_count : float64 (n_rows, n_outputs) and int64 (n_rows,) arrays or empty
        Accumulators of out-of-sample outputs; empty arrays skip scoring.

    Returns
    -------
    feature, threshold, left, right, values, root, importances
    """
    n_rows, n_features = X.shape
    counts = draw_bootstrap(n_rows, eligible, n_draws, seed)
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
    rows = np.empty(n_bag, dtype=np.int64)
    n_bag = 0
    for r in eligible:
        if weights[r] > 0.0:
            rows[n_bag] = r
            n_bag += 1

    capacity = max(n_bag, 1)
    feature = np.empty(capacity, dtype=np.int32)
    threshold = np.empty(capacity, dtype=np.uint8)
    left_child = np.empty(capacity, dtype=np.int32)
    right_child = np.empty(capacity, dtype=np.int32)
    values = np.empty((capacity, n_outputs), dtype=np.float32)
    importances = np.zeros(n_features, dtype=np.float64)
    n_pure = n_outputs if is_classification else 0
    n_internal = 0
    n_values = 0
    root = 0

    # Scratch space of the split search, allocated once per tree.
    hist_sums = np.zeros((256, n_outputs), dtype=np.float64)
    hist_w = np.zeros(256, dtype=np.float64)
    hist_n = np.zeros(256, dtype=np.int64)
    left_sums = np.zeros(n_outputs, dtype=np.float64)
    order = np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.int64)
    bins = np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.uint8)
    features = np.arange(n_features)
    constant_features = np.empty(n_features, dtype=np.int64)

    # The stack of nodes still to grow: its row range, depth, parent link and statistics.
    stack_capacity = 64
    st_start = np.empty(stack_capacity, dtype=np.int64)
    st_end = np.empty(stack_capacity, dtype=np.int64)
    st_depth = np.empty(stack_capacity, dtype=np.int64)
    st_parent = np.empty(stack_capacity, dtype=np.int64)  # parent * 2 + is_right, -1 for root
    st_sums = np.empty((stack_capacity, n_outputs), dtype=np.float64)
    st_weight = np.empty(stack_capacity, dtype=np.float64)
    st_squares = np.empty(stack_capacity, dtype=np.float64)
    st_constants = np.empty(stack_capacity, dtype=np.int64)  # features known constant
    node_sums = np.empty(n_outputs, dtype=np.float64)
    w_root, sq_root = node_statistics(
        rows, 0, n_bag, codes, targets, weights, is_classification, node_sums
    )
    # scikit-learn's min_weight_fraction_leaf: of the weight this tree trains on.
    min_weight_leaf = min_weight_fraction_leaf * w_root
    st_start[0] = 0
    st_end[0] = n_bag
    st_depth[0] = 0
    st_parent[0] = -1
    st_sums[0] = node_sums
    st_weight[0] = w_root
    st_squares[0] = sq_root
    st_constants[0] = 0
    n_stack = 1
    child_sums = np.empty((2, n_outputs), dtype=np.float64)

    while n_stack > 0:
        n_stack -= 1
        start = st_start[n_stack]
        end = st_end[n_stack]
        depth = st_depth[n_stack]
        parent = st_parent[n_stack]
        total = node_sums
        total[:] = st_sums[n_stack]
        w_total = st_weight[n_stack]
        sum_squares = st_squares[n_stack]
        n_node = end - start

        best_status = CONSTANT
        best_score = -np.inf
        best_feature = -1
        best_threshold = 0
        is_leaf = (
            n_node < min_samples_split
            or n_node < 2 * min_samples_leaf
            or w_total < 2.0 * min_weight_leaf
            or (max_depth >= 0 and depth >= max_depth)
            or n_bag == 0
            or _is_pure(is_classification, total, w_total, sum_squares)
        )
        n_constants = st_constants[n_stack]
        if not is_leaf:
            # Features found constant in a node are constant in all its descendants: they sit at
            # the front of ``features`` (saved in ``constant_features``) and are never drawn
            # again below it, as in scikit-learn's splitter. Draws of constants do not count as
            # visited candidates.
            n_known = n_constants
            n_drawn_known = 0
            n_found = 0
            n_unseen_end = n_features
            n_visited = 0
            while n_unseen_end > n_constants and (
                n_visited < max_features or n_visited <= n_found + n_drawn_known
            ):
                n_visited += 1
                j = n_drawn_known + rand_below(seed, n_unseen_end - n_found - n_drawn_known)
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
                        rows,
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
                        seed,
                        max_features > 1,
                    )
                else:
                    status, score, cut = best_split(
                        X,
                        f,
                        rows,
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
            is_leaf = best_status != FOUND

        if is_leaf:
            ref = -1
            if is_classification:
                n_present = 0
                for c in range(n_outputs):
                    if total[c] > 0.0:
                        n_present += 1
                        ref = c
                if n_present != 1:
                    ref = -1
            if ref < 0:
                for c in range(n_outputs):
                    values[n_values, c] = total[c] / w_total if w_total > 0.0 else 0.0
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
                rows,
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
                node_score(criterion, child_sums[0], w_left)
                + node_score(criterion, child_sums[1], w_right)
                - node_score(criterion, total, w_total)
            )
            if n_stack + 2 > stack_capacity:
                stack_capacity *= 2
                st_start = _grown(st_start, stack_capacity)
                st_end = _grown(st_end, stack_capacity)
                st_depth = _grown(st_depth, stack_capacity)
                st_parent = _grown(st_parent, stack_capacity)
                st_weight = _grown(st_weight, stack_capacity)
                st_squares = _grown(st_squares, stack_capacity)
                st_constants = _grown(st_constants, stack_capacity)
                grown_sums = np.empty((stack_capacity, n_outputs), dtype=np.float64)
                grown_sums[:n_stack] = st_sums[:n_stack]
                st_sums = grown_sums
            # Right child pushed first, so the left one is grown first.
            st_start[n_stack] = middle
            st_end[n_stack] = end
            st_depth[n_stack] = depth + 1
            st_parent[n_stack] = node * 2 + 1
            st_sums[n_stack] = child_sums[1]
            st_weight[n_stack] = w_right
            st_squares[n_stack] = sq_right
            st_constants[n_stack] = n_constants
            st_start[n_stack + 1] = start
            st_end[n_stack + 1] = middle
            st_depth[n_stack + 1] = depth + 1
            st_parent[n_stack + 1] = node * 2
            st_sums[n_stack + 1] = child_sums[0]
            st_weight[n_stack + 1] = w_left
            st_squares[n_stack + 1] = sq_left
            st_constants[n_stack + 1] = n_constants
            n_stack += 2

        if parent < 0:
            root = code
        elif parent % 2 == 0:
            left_child[parent // 2] = code
        else:
            right_child[parent // 2] = code

    feature = feature[:n_internal].copy()
    threshold = threshold[:n_internal].copy()
    left_child = left_child[:n_internal].copy()
    right_child = right_child[:n_internal].copy()
    values = values[:n_values].copy()

    if out_sum.shape[0] > 0:
        if score_out_of_bag:
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
                        X_rows,
                        r,
                        root,
                        feature,
                        threshold,
                        left_child,
                        right_child,
                        values,
                        n_pure,
                        out_sum,
                        out_count,
                    )
        else:
            for r in held_out:
                _score_row(
                    X_rows,
                    r,
                    root,
                    feature,
                    threshold,
                    left_child,
                    right_child,
                    values,
                    n_pure,
                    out_sum,
                    out_count,
                )
    return feature, threshold, left_child, right_child, values, root, importances


@njit(nogil=True, cache=True, inline="always")
def _score_row(X, r, root, feature, threshold, left, right, values, n_pure, out_sum, out_count):
    ref = leaf_of(X, r, root, feature, threshold, left, right)
    if ref < n_pure:
        out_sum[r, ref] += 1.0
    else:
        row = ref - n_pure
        for c in range(out_sum.shape[1]):
            out_sum[r, c] += values[row, c]
    out_count[r] += 1


@njit(nogil=True, cache=True)
def _grown(array, capacity):
    grown = np.empty(capacity, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown
