"""_core.folds: rows identical after binning, stratified folds that keep them together, how a
forest's trees are shared out among the folds, and what out_of_sample="auto" resolves to."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from deepforest import CascadeForestClassifier
from deepforest._core.folds import (
    DUPLICATE_SHARE_FOR_FOLDS,
    assign_folds,
    duplicate_groups,
    fold_plan,
)

# ------------------------------------------------------------------ folds


def _fold_counts(labels: np.ndarray, folds: np.ndarray, n_folds: int) -> np.ndarray:
    """counts[c, f]: rows of label c in fold f."""
    counts = np.zeros((labels.max() + 1, n_folds), dtype=int)
    np.add.at(counts, (labels, folds), 1)
    return counts


def test_duplicate_groups_match_identical_rows_only():
    X = np.array([[1, 2], [3, 4], [1, 2], [1, 3], [3, 4], [2, 1]], dtype=np.uint8)
    groups = duplicate_groups(X)
    assert groups.shape == (6,)
    # Dense group numbers 0..k-1, one per distinct row.
    assert sorted(set(groups.tolist())) == [0, 1, 2, 3]
    for i in range(len(X)):
        for j in range(len(X)):
            assert (groups[i] == groups[j]) == bool(np.array_equal(X[i], X[j])), (i, j)
    # The memory order of the array does not change the grouping.
    np.testing.assert_array_equal(duplicate_groups(np.asfortranarray(X)), groups)
    # Rows differing in one column only (1,2 / 2,1 / 1,3) are different groups.
    assert len({groups[0], groups[3], groups[5]}) == 3


def test_folds_are_stratified_balanced_and_cover_every_fold():
    rng = np.random.RandomState(0)
    n_rows, n_folds = 1000, 5
    X = np.column_stack([np.arange(n_rows) % 256, np.arange(n_rows) // 256]).astype(np.uint8)
    y = rng.choice(3, n_rows, p=[0.6, 0.3, 0.1])
    groups = duplicate_groups(X)
    assert groups.max() + 1 == n_rows  # no duplicates
    folds = assign_folds(groups, n_folds, np.random.RandomState(1), y)
    assert folds.shape == (n_rows,)
    assert set(folds.tolist()) == set(range(n_folds))
    # Every class is spread over the folds as evenly as possible: counts differ by at most one.
    counts = _fold_counts(y, folds, n_folds)
    np.testing.assert_array_equal(counts.sum(axis=1), np.bincount(y))
    assert np.all(counts.max(axis=1) - counts.min(axis=1) <= 1), counts
    # And so are the folds' sizes.
    sizes = np.bincount(folds, minlength=n_folds)
    assert sizes.max() - sizes.min() <= 1, sizes


def test_folds_are_deterministic_for_a_seed_and_change_with_it():
    groups = np.arange(300)
    y = np.arange(300) % 3
    first = assign_folds(groups, 4, np.random.RandomState(7), y)
    again = assign_folds(groups, 4, np.random.RandomState(7), y)
    other = assign_folds(groups, 4, np.random.RandomState(8), y)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # Different seeds shuffle, but both stay stratified.
    for folds in (first, other):
        counts = _fold_counts(y, folds, 4)
        assert np.all(counts.max(axis=1) - counts.min(axis=1) <= 1)


def test_identical_rows_always_share_a_fold():
    rng = np.random.RandomState(3)
    # 40 distinct rows, each repeated 1 to 6 times, in shuffled order; labels mostly follow the
    # row, and some duplicates disagree with their twins.
    distinct = rng.randint(0, 4, size=(40, 3)).astype(np.uint8)
    distinct[:, 0] = np.arange(40)  # make the 40 rows distinct
    repeats = rng.randint(1, 7, size=40)
    X = np.repeat(distinct, repeats, axis=0)
    y = np.repeat(np.arange(40) % 2, repeats)
    flip = rng.rand(len(y)) < 0.15
    y[flip] = 1 - y[flip]
    order = rng.permutation(len(X))
    X, y = X[order], y[order]
    groups = duplicate_groups(X)
    assert groups.max() + 1 == 40
    for seed in range(5):
        folds = assign_folds(groups, 3, np.random.RandomState(seed), y)
        for group in range(40):
            assert len(set(folds[groups == group].tolist())) == 1, (seed, group)
        assert set(folds.tolist()) == {0, 1, 2}
        # Whole groups are stratified by their majority class: per class, the number of groups
        # in each fold differs by at most one.
        counts = np.zeros((40, 2), dtype=int)
        np.add.at(counts, (groups, y), 1)
        majority = counts.argmax(axis=1)
        group_fold = np.array([folds[groups == g][0] for g in range(40)])
        per_class = _fold_counts(majority, group_fold, 3)
        assert np.all(per_class.max(axis=1) - per_class.min(axis=1) <= 1), per_class


def test_a_class_with_fewer_rows_than_folds_lands_in_distinct_folds():
    n_folds = 5
    # Class 1 has 2 rows, class 2 a single row, class 0 the rest.
    y = np.array([0] * 20 + [1, 1, 2])
    groups = np.arange(len(y))
    for seed in range(10):
        folds = assign_folds(groups, n_folds, np.random.RandomState(seed), y)
        assert set(folds.tolist()) == set(range(n_folds))
        # The two rows of class 1 never share a fold.
        assert folds[20] != folds[21], seed
        counts = _fold_counts(y, folds, n_folds)
        assert np.all(counts.max(axis=1) - counts.min(axis=1) <= 1), counts
        sizes = np.bincount(folds, minlength=n_folds)
        assert sizes.max() - sizes.min() <= 1, sizes


def test_fewer_groups_than_folds_leave_folds_empty():
    """assign_folds cannot fill more folds than there are groups: the cascade must not ask it to
    (out_of_sample="kfold" raises, "auto" falls back to out of bag; tested below)."""
    folds = assign_folds(
        np.array([0, 1, 1, 0]), 3, np.random.RandomState(0), np.array([0, 1, 1, 0])
    )
    assert folds[0] == folds[3]
    assert folds[1] == folds[2]
    assert folds[0] != folds[1]
    assert len(set(folds.tolist())) == 2


def test_regression_folds_are_balanced_groups():
    groups = np.repeat(np.arange(11), 3)  # 11 groups of 3 identical rows
    folds = assign_folds(groups, 3, np.random.RandomState(0))
    group_fold = folds[::3]
    np.testing.assert_array_equal(np.repeat(group_fold, 3), folds)
    np.testing.assert_array_equal(np.sort(np.bincount(group_fold)), [3, 4, 4])


def test_the_fold_plan_shares_the_trees_out_and_never_lets_a_fold_train_on_itself():
    folds = np.array([0, 1, 2, 0, 1, 2, 0])
    plan = fold_plan(folds, 7, n_trees=8)
    # 8 trees over 3 folds: the first two folds take one more.
    assert [count for _, _, count in plan] == [3, 3, 2]
    for fold, (eligible, held_out, _) in enumerate(plan):
        np.testing.assert_array_equal(held_out, np.flatnonzero(folds == fold))
        np.testing.assert_array_equal(eligible, np.flatnonzero(folds != fold))
        assert eligible.dtype == held_out.dtype == np.int64
    # Fewer trees than folds: every fold still gets a tree.
    assert [count for _, _, count in fold_plan(folds, 7, n_trees=2)] == [1, 1, 1]
    # Out of bag: all trees draw from every row and score none here.
    ((eligible, held_out, count),) = fold_plan(None, 5, n_trees=8)
    np.testing.assert_array_equal(eligible, np.arange(5))
    assert held_out.size == 0 and count == 8


# ------------------------------------------------------------ out_of_sample="auto"

TINY = {"n_trees": 10, "max_layers": 1, "min_samples_leaf": 1, "random_state": 0}


def _distinct_rows(n_rows=200, seed=0):
    rng = np.random.RandomState(seed)
    # Halves, not whole numbers: distinct whole numbers in a narrow range look like row ids.
    X = np.column_stack([rng.permutation(n_rows), rng.permutation(n_rows)]) + 0.5
    y = (X[:, 0] >= n_rows // 2).astype(int)
    return X, y


def _with_twins(X, n_pairs):
    """Copy row 2i onto row 2i+1 for i < n_pairs: 2 * n_pairs rows with a twin."""
    X = X.copy()
    for i in range(n_pairs):
        X[2 * i + 1] = X[2 * i]
    return X


def _fit_without_warnings(model, X, y, **kwargs):
    """Fit, failing on any UserWarning (the category of the out-of-bag weights warning)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return model.fit(X, y, **kwargs)


def test_auto_is_out_of_bag_on_distinct_unweighted_rows():
    X, y = _distinct_rows()
    model = _fit_without_warnings(CascadeForestClassifier(**TINY), X, y)
    assert duplicate_groups(model._binner.transform(X)).max() + 1 == len(X)
    assert model.out_of_sample_ == "oob"
    # Constant weights are no weights.
    model = _fit_without_warnings(
        CascadeForestClassifier(**TINY), X, y, sample_weight=np.full(200, 2.0)
    )
    assert model.out_of_sample_ == "oob"


def test_auto_switches_to_folds_past_five_percent_of_rows_with_twins(capsys):
    """With 10 trees a row with one twin expects 10 * (1 - 2/200) ** 200 = 1.3 < 3 trees to leave
    it out of bag: 10 such rows of 200 are 5 % (not past the threshold), 12 are 6 %."""
    X, y = _distinct_rows()
    at_threshold = _fit_without_warnings(
        CascadeForestClassifier(**TINY, verbose=1), _with_twins(X, 5), y
    )
    assert at_threshold.out_of_sample_ == "oob"
    assert "(5.0% of the rows have identical twins" in capsys.readouterr().err
    past = _fit_without_warnings(CascadeForestClassifier(**TINY, verbose=1), _with_twins(X, 6), y)
    assert past.out_of_sample_ == "kfold"
    assert "(6.0% of the rows have identical twins" in capsys.readouterr().err
    # After binning the rows really hold 5 and 6 pairs of twins, and no other duplicates.
    for model, n_pairs in ((at_threshold, 5), (past, 6)):
        sizes = np.bincount(duplicate_groups(model._binner.transform(_with_twins(X, n_pairs))))
        np.testing.assert_array_equal(np.bincount(sizes), [0, 200 - 2 * n_pairs, n_pairs])
    assert DUPLICATE_SHARE_FOR_FOLDS == 0.05


def test_auto_uses_folds_when_too_few_trees_leave_any_row_out():
    """The out-of-sample scheme: a row that expects fewer than 3 out-of-bag trees counts. With 8
    trees even a row without twins expects 8 * (1 - 1/200) ** 200 = 2.94 of them."""
    X, y = _distinct_rows()
    assert _fit_without_warnings(CascadeForestClassifier(**TINY), X, y).out_of_sample_ == "oob"
    eight = {**TINY, "n_trees": 8}
    assert _fit_without_warnings(CascadeForestClassifier(**eight), X, y).out_of_sample_ == "kfold"


@pytest.mark.parametrize(
    "fit_kwargs, params",
    [
        ({"sample_weight": np.linspace(0.5, 2.0, 200)}, {}),
        ({}, {"class_weight": "balanced"}),
        ({}, {"class_weight": {0: 1.0, 1: 3.0}}),
    ],
)
def test_auto_uses_folds_for_weighted_fits_without_warning(fit_kwargs, params):
    X, y = _distinct_rows()
    model = CascadeForestClassifier(**TINY, **params)
    assert _fit_without_warnings(model, X, y, **fit_kwargs).out_of_sample_ == "kfold"


def test_auto_stays_out_of_bag_with_fewer_distinct_rows_than_folds():
    X = np.array([[0.0], [0.0], [0.0], [1.0], [1.0], [1.0]])
    y = np.array([0, 0, 1, 1, 1, 0])
    weights = np.array([1.0, 2.0, 3.0, 1.0, 2.0, 3.0])
    model = CascadeForestClassifier(**TINY, n_folds=3)
    assert _fit_without_warnings(model, X, y, sample_weight=weights).out_of_sample_ == "oob"


def test_explicit_out_of_bag_with_weights_warns_with_sklearn_only():
    X, y = _distinct_rows()
    weights = np.linspace(0.5, 2.0, 200)
    sklearn_oob = CascadeForestClassifier(
        **{**TINY, "n_trees": 4}, out_of_sample="oob", engine="sklearn"
    )
    with pytest.warns(UserWarning, match="out_of_sample='oob' with sample_weight or class_weight"):
        sklearn_oob.fit(X, y, sample_weight=weights)
    assert sklearn_oob.out_of_sample_ == "oob"
    numba_oob = CascadeForestClassifier(**TINY, out_of_sample="oob")
    assert _fit_without_warnings(numba_oob, X, y, sample_weight=weights).out_of_sample_ == "oob"
    kfold = CascadeForestClassifier(**TINY, out_of_sample="kfold")
    assert _fit_without_warnings(kfold, X, y).out_of_sample_ == "kfold"
