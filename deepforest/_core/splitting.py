"""Find a node's split on binned features: best over the bins (random forests) or one random cut.

Compiled with numba. A node is the slice ``rows[start:end]`` of a row-index array; a split sends
rows whose bin is at most ``threshold`` to the left child. Classification and regression share
the criteria: a node's statistics are per-output sums of ``weight`` (classification: the weight
of each class) or of ``weight * y`` (regression), and every criterion scores a node from those
sums and the node's total weight.

Criteria (``criterion`` codes):

* ``GINI_OR_SQUARED`` -- Gini for classes, squared error for targets: both choose the split that
  maximises ``sum(left**2) / w_left + sum(right**2) / w_right``. Kept up to date row by row (or
  bin by bin), so a candidate cut costs O(1) whatever the number of classes.
* ``ENTROPY`` -- maximises ``sum(s * log(s / w))`` over both children.
* ``POISSON`` -- maximises ``sum(s * log(s / w))`` over both children; a child whose sum is not
  positive cannot be split off.

Every hot loop exists twice, for classes and for targets: LLVM does not hoist a task test out of
a loop whose body it cannot otherwise simplify, and a row loop with both bodies ran ten times
slower than either alone.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .rng import rand_below

GINI_OR_SQUARED = 0
ENTROPY = 1
POISSON = 2

# Nodes with at most this many rows are split by sorting their rows by bin, not by a histogram:
# a histogram costs a pass over every bin between the lowest and highest present (times the
# number of outputs), which dominates in the many small nodes near the leaves.
SORTED_SPLIT_MAX_ROWS = 48

# What a split search found.
CONSTANT = 0  # the feature takes one bin in the node: it does not count as a candidate
NO_VALID_SPLIT = 1  # every cut leaves a child below min_samples_leaf or min_weight_leaf
FOUND = 2

_NEG_INF = -np.inf


@njit(nogil=True, cache=True)
def node_score(criterion, sums, weight):
    """The part of a node's weighted impurity that depends on its split; higher is purer.

    A split's impurity decrease is ``node_score(left) + node_score(right) - node_score(parent)``.
    """
    score = 0.0
    if criterion == ENTROPY or criterion == POISSON:
        for s in sums:
            if s > 0.0:
                score += s * np.log(s / weight)
        return score
    for s in sums:
        score += s * s
    return score / weight


@njit(nogil=True, cache=True)
def _split_score(criterion, left, w_left, total, w_total):
    """Score of cutting a node of sums ``total`` into ``left`` and the rest; higher is better."""
    w_right = w_total - w_left
    if w_left <= 0.0 or w_right <= 0.0:
        return _NEG_INF
    score = 0.0
    if criterion == GINI_OR_SQUARED:
        sq_left = 0.0
        sq_right = 0.0
        for c in range(left.shape[0]):
            sq_left += left[c] * left[c]
            right = total[c] - left[c]
            sq_right += right * right
        return sq_left / w_left + sq_right / w_right
    for c in range(left.shape[0]):
        s_left = left[c]
        s_right = total[c] - left[c]
        if criterion == POISSON and (s_left <= 1e-12 or s_right <= 1e-12):
            return _NEG_INF
        if s_left > 0.0:
            score += s_left * np.log(s_left / w_left)
        if s_right > 0.0:
            score += s_right * np.log(s_right / w_right)
    return score


@njit(nogil=True, cache=True, inline="always")
def _sum_of_squares(sums):
    total = 0.0
    for s in sums:
        total += s * s
    return total


@njit(nogil=True, cache=True)
def best_split(
    X,
    feature,
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
    left,
    order,
    bins,
):
    """The best cut of one feature in the node ``rows[start:end]``.

    Returns ``(status, score, threshold)``. ``hist_*`` are zeroed scratch histograms over the 256
    bins (left zeroed on return), ``left`` scratch sums, ``order`` and ``bins`` scratch buffers of
    at least ``SORTED_SPLIT_MAX_ROWS`` entries.
    """
    n_rows = end - start
    if n_rows <= SORTED_SPLIT_MAX_ROWS:
        return _best_split_sorted(
            X,
            feature,
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
            left,
            order,
            bins,
        )
    # One pass fills the histogram; the bins present are found afterwards from their weight
    # (tracking the lowest and highest bin in the loop made it a third slower). Row counts
    # per bin matter only to min_samples_leaf.
    column = X[:, feature]
    count_rows = min_samples_leaf > 1
    if is_classification:
        for i in range(start, end):
            r = rows[i]
            b = column[r]
            w = weights[r]
            hist_sums[b, codes[r]] += w
            hist_w[b] += w
            if count_rows:
                hist_n[b] += 1
    else:
        n_outputs = targets.shape[1]
        for i in range(start, end):
            r = rows[i]
            b = column[r]
            w = weights[r]
            for c in range(n_outputs):
                hist_sums[b, c] += w * targets[r, c]
            hist_w[b] += w
            hist_n[b] += 1
    low = 0
    while hist_w[low] == 0.0 and hist_n[low] == 0:
        low += 1
    high = 255
    while hist_w[high] == 0.0 and hist_n[high] == 0:
        high -= 1
    if low == high:
        hist_sums[low, :] = 0.0
        hist_w[low] = 0.0
        hist_n[low] = 0
        return CONSTANT, _NEG_INF, 0
    left[:] = 0.0
    w_left = 0.0
    n_left = 0
    best_score = _NEG_INF
    best_threshold = -1
    incremental = criterion == GINI_OR_SQUARED
    sq_left = 0.0
    sq_right = _sum_of_squares(total)
    for b in range(low, high):
        bin_weight = hist_w[b]
        bin_rows = hist_n[b]
        if bin_weight == 0.0 and bin_rows == 0:
            continue  # no row in this bin
        hist_w[b] = 0.0
        hist_n[b] = 0
        if incremental:
            for c in range(left.shape[0]):
                h = hist_sums[b, c]
                if h != 0.0:
                    sq_left += h * (2.0 * left[c] + h)
                    sq_right += h * (h - 2.0 * (total[c] - left[c]))
                    left[c] += h
                    hist_sums[b, c] = 0.0
        else:
            for c in range(left.shape[0]):
                left[c] += hist_sums[b, c]
                hist_sums[b, c] = 0.0
        w_left += bin_weight
        if count_rows or not is_classification:
            n_left += bin_rows
            if n_left < min_samples_leaf or n_rows - n_left < min_samples_leaf:
                continue
        if w_left < min_weight_leaf or w_total - w_left < min_weight_leaf:
            continue
        if incremental:
            w_right = w_total - w_left
            if w_left <= 0.0 or w_right <= 0.0:
                continue
            score = sq_left / w_left + sq_right / w_right
        else:
            score = _split_score(criterion, left, w_left, total, w_total)
        if score > best_score:
            best_score = score
            best_threshold = b
    hist_sums[high, :] = 0.0
    hist_w[high] = 0.0
    hist_n[high] = 0
    if best_threshold < 0:
        return NO_VALID_SPLIT, _NEG_INF, 0
    return FOUND, best_score, best_threshold


@njit(nogil=True, cache=True)
def _best_split_sorted(
    X,
    feature,
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
    left,
    order,
    bins,
):
    """``best_split`` for small nodes: sort the rows by bin, then sweep the cuts between bins."""
    n_rows = end - start
    # Insertion sort of (bin, row) pairs: the fastest sort for a few dozen items.
    for i in range(n_rows):
        r = rows[start + i]
        b = X[r, feature]
        j = i
        while j > 0 and bins[j - 1] > b:
            bins[j] = bins[j - 1]
            order[j] = order[j - 1]
            j -= 1
        bins[j] = b
        order[j] = r
    if bins[0] == bins[n_rows - 1]:
        return CONSTANT, _NEG_INF, 0
    left[:] = 0.0
    w_left = 0.0
    best_score = _NEG_INF
    best_threshold = -1
    incremental = criterion == GINI_OR_SQUARED
    sq_left = 0.0
    sq_right = _sum_of_squares(total)
    n_outputs = left.shape[0]
    for i in range(n_rows - 1):
        r = order[i]
        w = weights[r]
        if is_classification:
            c = codes[r]
            sq_left += w * (2.0 * left[c] + w)
            sq_right += w * (w - 2.0 * (total[c] - left[c]))
            left[c] += w
        else:
            for c in range(n_outputs):
                h = w * targets[r, c]
                sq_left += h * (2.0 * left[c] + h)
                sq_right += h * (h - 2.0 * (total[c] - left[c]))
                left[c] += h
        w_left += w
        if bins[i + 1] == bins[i]:
            continue
        n_left = i + 1
        if n_left < min_samples_leaf or n_rows - n_left < min_samples_leaf:
            continue
        if w_left < min_weight_leaf or w_total - w_left < min_weight_leaf:
            continue
        if incremental:
            w_right = w_total - w_left
            if w_left <= 0.0 or w_right <= 0.0:
                continue
            score = sq_left / w_left + sq_right / w_right
        else:
            score = _split_score(criterion, left, w_left, total, w_total)
        if score > best_score:
            best_score = score
            best_threshold = bins[i]
    if best_threshold < 0:
        return NO_VALID_SPLIT, _NEG_INF, 0
    return FOUND, best_score, best_threshold


@njit(nogil=True, cache=True)
def random_split(
    X,
    feature,
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
    left,
    state,
    need_score,
):
    """One random cut of one feature, uniform between the lowest and highest bin in the node.

    The cut of a completely-random (extremely randomized) tree. Returns
    ``(status, score, threshold)``; a cut that leaves a child below ``min_samples_leaf`` rows
    or ``min_weight_leaf`` weight is not redrawn, as in scikit-learn's ExtraTrees. Without
    ``need_score`` (the only candidate of the node) the cut is not scored.
    """
    column = X[:, feature]
    # int64 and branches: min() / max() on the uint8 bins compiled to a slower loop.
    low = np.int64(255)
    high = np.int64(0)
    for i in range(start, end):
        b = np.int64(column[rows[i]])
        if b < low:
            low = b
        if b > high:
            high = b
    if low == high:
        return CONSTANT, _NEG_INF, 0
    threshold = low + rand_below(state, high - low)
    n_rows = end - start
    if not need_score:
        # Only the children's sizes matter; with one row per leaf allowed, both children of a
        # cut between present bins are non-empty.
        if min_samples_leaf <= 1 and min_weight_leaf <= 0.0:
            return FOUND, 0.0, threshold
        n_left = 0
        w_left = 0.0
        for i in range(start, end):
            r = rows[i]
            if column[r] <= threshold:
                n_left += 1
                w_left += weights[r]
        if n_left < min_samples_leaf or n_rows - n_left < min_samples_leaf:
            return NO_VALID_SPLIT, _NEG_INF, threshold
        if w_left < min_weight_leaf or w_total - w_left < min_weight_leaf:
            return NO_VALID_SPLIT, _NEG_INF, threshold
        return FOUND, 0.0, threshold
    left[:] = 0.0
    w_left = 0.0
    n_left = 0
    if is_classification:
        for i in range(start, end):
            r = rows[i]
            if X[r, feature] <= threshold:
                w = weights[r]
                left[codes[r]] += w
                w_left += w
                n_left += 1
    else:
        for i in range(start, end):
            r = rows[i]
            if X[r, feature] <= threshold:
                w = weights[r]
                for c in range(left.shape[0]):
                    left[c] += w * targets[r, c]
                w_left += w
                n_left += 1
    if n_left < min_samples_leaf or n_rows - n_left < min_samples_leaf:
        return NO_VALID_SPLIT, _NEG_INF, threshold
    if w_left < min_weight_leaf or w_total - w_left < min_weight_leaf:
        return NO_VALID_SPLIT, _NEG_INF, threshold
    return FOUND, _split_score(criterion, left, w_left, total, w_total), threshold


@njit(nogil=True, cache=True)
def partition(
    X,
    feature,
    threshold,
    rows,
    start,
    end,
    codes,
    targets,
    weights,
    is_classification,
    left_sums,
    right_sums,
):
    """Reorder ``rows[start:end]`` so that rows going left come first, and sum both children.

    Returns ``(middle, w_left, w_right, sq_left, sq_right)``: where the right child starts, each
    child's weight, and (regression) each child's sum of ``w * y**2``; ``left_sums`` and
    ``right_sums`` receive the children's per-output sums.
    """
    left_sums[:] = 0.0
    right_sums[:] = 0.0
    w_left = 0.0
    w_right = 0.0
    sq_left = 0.0
    sq_right = 0.0
    i = start
    j = end - 1
    if is_classification:
        while i <= j:
            r = rows[i]
            w = weights[r]
            if X[r, feature] <= threshold:
                w_left += w
                left_sums[codes[r]] += w
                i += 1
            else:
                w_right += w
                right_sums[codes[r]] += w
                rows[i] = rows[j]
                rows[j] = r
                j -= 1
        return i, w_left, w_right, sq_left, sq_right
    n_outputs = targets.shape[1]
    while i <= j:
        r = rows[i]
        w = weights[r]
        if X[r, feature] <= threshold:
            w_left += w
            for c in range(n_outputs):
                y = targets[r, c]
                left_sums[c] += w * y
                sq_left += w * y * y
            i += 1
        else:
            w_right += w
            for c in range(n_outputs):
                y = targets[r, c]
                right_sums[c] += w * y
                sq_right += w * y * y
            rows[i] = rows[j]
            rows[j] = r
            j -= 1
    return i, w_left, w_right, sq_left, sq_right


@njit(nogil=True, cache=True)
def node_statistics(rows, start, end, codes, targets, weights, is_classification, sums):
    """Fill ``sums`` with the node's per-output sums; return its weight and sum of w * y**2."""
    sums[:] = 0.0
    w_total = 0.0
    sum_squares = 0.0
    if is_classification:
        for i in range(start, end):
            r = rows[i]
            w = weights[r]
            w_total += w
            sums[codes[r]] += w
        return w_total, sum_squares
    for i in range(start, end):
        r = rows[i]
        w = weights[r]
        w_total += w
        for c in range(sums.shape[0]):
            y = targets[r, c]
            sums[c] += w * y
            sum_squares += w * y * y
    return w_total, sum_squares
