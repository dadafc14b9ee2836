"""_core.splitting: the split search on tables small enough to score every cut by hand, through
both of its paths (rows sorted by bin, and histograms), and the random cut, the row partition
and the node scores."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepforest._core.rng import new_state
from deepforest._core.splitting import (
    CONSTANT,
    ENTROPY,
    FOUND,
    GINI_OR_SQUARED,
    NO_VALID_SPLIT,
    SORTED_SPLIT_MAX_ROWS,
    best_split,
    node_score,
    partition,
    random_split,
)

# Eight rows: bins of the feature, and classes. Cuts after bin 0, 1 and 2 score (Gini's form,
# sum(left**2) / w_left + sum(right**2) / w_right):
#   <= 0: (2, 0) | (1, 5): 4 / 2 + 26 / 6 = 6.33
#   <= 1: (3, 1) | (0, 4): 10 / 4 + 16 / 4 = 6.5   <- best
#   <= 2: (3, 3) | (0, 2): 18 / 6 + 4 / 2 = 5
BINS = [0, 0, 1, 1, 2, 2, 3, 3]
CLASSES = [0, 0, 0, 1, 1, 1, 1, 1]


def _table(bins, classes=None, targets=None, weights=None):
    """The arguments a node of all rows passes to the split kernels, as the grower types them."""
    n_rows = len(bins)
    # The feature is column 1 of a Fortran-ordered table, as the grower reads it.
    X = np.asfortranarray(np.column_stack([np.zeros(n_rows), bins]).astype(np.uint8))
    weights = np.ones(n_rows) if weights is None else np.asarray(weights, dtype=np.float64)
    if classes is not None:
        codes = np.asarray(classes, dtype=np.int32)
        targets = np.empty((0, codes.max() + 1))
        total = np.bincount(codes, weights=weights).astype(np.float64)
    else:
        codes = np.empty(0, dtype=np.int32)
        targets = np.asarray(targets, dtype=np.float64).reshape(n_rows, -1)
        total = weights @ targets
    rows = np.arange(n_rows, dtype=np.int64)
    return X, rows, codes, targets, weights, total


def _best_split(bins, classes=None, targets=None, weights=None, **settings):
    X, rows, codes, targets, weights, total = _table(bins, classes, targets, weights)
    n_outputs = total.shape[0]
    hist_sums, hist_w = np.zeros((256, n_outputs)), np.zeros(256)
    hist_n = np.zeros(256, dtype=np.int64)
    result = best_split(
        X,
        1,
        rows,
        0,
        len(rows),
        codes,
        targets,
        weights,
        classes is not None,
        total,
        weights.sum(),
        settings.get("criterion", GINI_OR_SQUARED),
        settings.get("min_samples_leaf", 1),
        settings.get("min_weight_leaf", 0.0),
        hist_sums,
        hist_w,
        hist_n,
        np.zeros(n_outputs),
        np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.int64),
        np.empty(SORTED_SPLIT_MAX_ROWS, dtype=np.uint8),
    )
    # The histograms are scratch space the next feature reuses: left zeroed.
    assert not hist_sums.any() and not hist_w.any() and not hist_n.any()
    return result


@pytest.mark.parametrize("copies", [1, 10], ids=["sorted rows", "histograms"])
def test_the_best_gini_cut_is_the_one_computed_by_hand(copies):
    bins, classes = np.tile(BINS, copies), np.tile(CLASSES, copies)
    assert (len(bins) <= SORTED_SPLIT_MAX_ROWS) == (copies == 1)
    status, score, threshold = _best_split(bins, classes)
    # Every sum grows ``copies`` times, so the score does too.
    assert (status, threshold) == (FOUND, 1)
    assert score == pytest.approx(6.5 * copies, rel=1e-12)


def test_the_best_entropy_cut_is_the_one_computed_by_hand():
    status, score, threshold = _best_split(BINS, CLASSES, criterion=ENTROPY)
    # sum(s * log(s / w)) over both children: (3, 1) of 4 rows and a pure (0, 4).
    assert (status, threshold) == (FOUND, 1)
    assert score == pytest.approx(3 * math.log(3 / 4) + math.log(1 / 4), rel=1e-12)


def test_the_best_squared_error_cut_is_the_one_computed_by_hand():
    # sum(w * y) per child: <= 0: 1 | 21 (w 1 | 5): 1 + 88.2; <= 1: 2 | 20 (w 2 | 4): 2 + 100;
    # <= 2: 7 | 15 (w 3 | 3): 16.33 + 75.
    status, score, threshold = _best_split([0, 1, 2, 3], targets=[1, 1, 5, 5], weights=[1, 1, 1, 3])
    assert (status, threshold) == (FOUND, 1)
    assert score == pytest.approx(102.0, rel=1e-12)


def test_weights_move_the_cut():
    # Classes 0, 1, 0 in bins 0, 1, 2: both cuts score 2 unweighted, and the first is kept.
    assert _best_split([0, 1, 2], [0, 1, 0])[::2] == (FOUND, 0)
    # Row 2 three times as heavy: <= 0 scores 1 + 10 / 4, <= 1 scores 2 / 2 + 9 / 3.
    status, score, threshold = _best_split([0, 1, 2], [0, 1, 0], weights=[1, 1, 3])
    assert (status, threshold, score) == (FOUND, 1, pytest.approx(4.0))
    assert _best_split([0, 1, 2], [0, 1, 0], weights=[3, 1, 1])[::2] == (FOUND, 0)


def test_leaf_limits_rule_cuts_out_and_a_constant_feature_is_no_candidate():
    # Leaves of 3 rows or more leave only the cut after bin 1 (4 | 4 rows).
    assert _best_split(BINS, CLASSES, min_samples_leaf=3)[::2] == (FOUND, 1)
    assert _best_split(BINS, CLASSES, min_samples_leaf=5)[0] == NO_VALID_SPLIT
    assert _best_split(BINS, CLASSES, min_weight_leaf=4.5)[0] == NO_VALID_SPLIT
    assert _best_split([4] * 6, [0, 1, 0, 1, 0, 1])[0] == CONSTANT
    assert _best_split([4] * 60, [0, 1] * 30)[0] == CONSTANT


def _gini_score(bins, classes, threshold):
    bins, classes = np.asarray(bins), np.asarray(classes)
    score = 0.0
    for side in (bins <= threshold, bins > threshold):
        sums = np.bincount(classes[side], minlength=2)
        score += (sums**2).sum() / side.sum()
    return score


def test_a_random_cut_falls_between_the_node_s_lowest_and_highest_bin():
    bins, classes = [2, 2, 5, 7, 7], [0, 0, 1, 1, 0]
    X, rows, codes, targets, weights, total = _table(bins, classes)
    cuts = []
    for seed in range(200):
        status, score, threshold = random_split(
            X, 1, rows, 0, 5, codes, targets, weights, True, total, 5.0, GINI_OR_SQUARED,
            1, 0.0, np.zeros(2), new_state(seed), True,
        )  # fmt: skip
        assert status == FOUND
        assert score == pytest.approx(_gini_score(bins, classes, threshold))
        cuts.append(int(threshold))
    # Uniform over bins 2..6: every child non-empty, every cut drawn.
    assert sorted(set(cuts)) == [2, 3, 4, 5, 6]
    # A cut is drawn, not searched: one that leaves a child below two rows is not drawn again
    # (here the cuts after bins 2 to 4, which leave one row on the left).
    X, rows, codes, targets, weights, total = _table([2, 5, 5, 7, 7], classes)
    statuses = set()
    for seed in range(50):
        status, _, threshold = random_split(
            X, 1, rows, 0, 5, codes, targets, weights, True, total, 5.0, GINI_OR_SQUARED,
            2, 0.0, np.zeros(2), new_state(seed), False,
        )  # fmt: skip
        assert status == (FOUND if threshold >= 5 else NO_VALID_SPLIT)
        statuses.add(status)
    assert statuses == {FOUND, NO_VALID_SPLIT}


def test_partition_puts_the_left_rows_first_and_sums_both_children():
    X, rows, codes, targets, weights, _ = _table(BINS[::-1], CLASSES, weights=np.arange(1.0, 9))
    left, right = np.zeros(2), np.zeros(2)
    middle, w_left, w_right, _, _ = partition(
        X, 1, 1, rows, 0, 8, codes, targets, weights, True, left, right
    )
    # Bins 3, 3, 2, 2, 1, 1, 0, 0: rows 4..7 go left.
    assert middle == 4 and sorted(rows[:4]) == [4, 5, 6, 7] and sorted(rows[4:]) == [0, 1, 2, 3]
    assert (w_left, w_right) == (5 + 6 + 7 + 8, 1 + 2 + 3 + 4)
    np.testing.assert_array_equal(left, [0, 5 + 6 + 7 + 8])
    np.testing.assert_array_equal(right, [1 + 2 + 3, 4])
    # Regression: per-child sums of w * y and of w * y**2.
    X, rows, codes, targets, weights, _ = _table([0, 1, 2, 3], targets=[1, 1, 5, 5])
    left, right = np.zeros(1), np.zeros(1)
    middle, w_left, w_right, sq_left, sq_right = partition(
        X, 1, 1, rows, 0, 4, codes, targets, weights, False, left, right
    )
    assert (middle, w_left, w_right, sq_left, sq_right) == (2, 2.0, 2.0, 2.0, 50.0)
    assert (left[0], right[0]) == (2.0, 10.0)


def test_node_scores_follow_their_formulas():
    sums = np.array([3.0, 1.0])
    assert node_score(GINI_OR_SQUARED, sums, 4.0) == pytest.approx(10 / 4)
    assert node_score(ENTROPY, sums, 4.0) == pytest.approx(3 * math.log(3 / 4) + math.log(1 / 4))
    assert node_score(ENTROPY, np.array([4.0, 0.0]), 4.0) == 0.0
