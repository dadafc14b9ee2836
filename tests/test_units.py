"""Unit tests of internals a review found untested: fold assignment, the leaf-size probe, layer
scores, the out-of-sample switch, batched prediction and spill files left by a refit."""

from __future__ import annotations

import dataclasses
import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    log_loss,
    mean_absolute_error,
    r2_score,
    roc_auc_score,
)

from deepforest import CascadeForestClassifier, CascadeForestRegressor, _prediction
from deepforest._core import leaf_size
from deepforest._core.binning import QuantileBinner
from deepforest._core.folds import DUPLICATE_SHARE_FOR_FOLDS, assign_folds, duplicate_groups
from deepforest._core.forests import ForestSettings, Target
from deepforest._core.leaf_size import choose_min_samples_leaf
from deepforest._core.scoring import layer_score
from deepforest._core.spill import SpilledLayer

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


# ------------------------------------------------------------------ leaf size

SETTINGS = ForestSettings(
    is_classifier=True,
    n_trees=50,
    max_features="sqrt",
    max_depth=None,
    min_samples_leaf=1,
    criterion="gini",
    max_samples=None,
    class_weight="balanced",
    n_jobs=None,
)


def _probe(X, y, seed=0, **kwargs):
    X_binned = QuantileBinner(255, None, random_state=0).fit_transform(X)
    classes, codes = np.unique(y, return_inverse=True)
    settings = dataclasses.replace(SETTINGS, class_weight=None)
    return choose_min_samples_leaf(
        settings,
        X_binned,
        Target.classes(codes, len(classes)),
        y,
        None,
        classes,
        np.random.RandomState(seed),
        **kwargs,
    )


def _chosen_by_rule(scores: dict[int, float]) -> int:
    best = max(scores.values())
    return min(size for size, score in scores.items() if score >= best - 0.005 * abs(best))


@pytest.mark.parametrize("seed", [0, 1])
def test_leaf_size_is_small_for_clean_and_large_for_noisy_labels(seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(3000, 6))
    clean = (X[:, 0] + X[:, 1] > 0).astype(int)
    # Labels drawn from a logistic model: about 30 % of them disagree with the Bayes rule.
    noisy = (rng.random_sample(3000) < 1 / (1 + np.exp(-1.5 * X[:, 0]))).astype(int)
    size_clean, scores_clean = _probe(X, clean, seed)
    size_noisy, scores_noisy = _probe(X, noisy, seed)
    assert size_clean <= 2, scores_clean
    assert size_noisy >= 4, scores_noisy
    for size, scores in ((size_clean, scores_clean), (size_noisy, scores_noisy)):
        assert set(scores) <= set(leaf_size.LEAF_SIZE_CANDIDATES)
        assert size in scores
        assert size == _chosen_by_rule(scores)
        assert all(0.0 <= score <= 1.0 for score in scores.values())  # accuracies


def test_leaf_size_is_deterministic_for_a_seed():
    X, y = load_iris(return_X_y=True)
    first = _probe(X, y, seed=4)
    again = _probe(X, y, seed=4)
    assert first == again
    assert first[0] in leaf_size.LEAF_SIZE_CANDIDATES


class _ScriptedProbe:
    """Stands in for fit_forests and layer_score: the probe of leaf size s scores script[s]."""

    def __init__(self, script: dict[int, float]):
        self.script = script
        self.calls = []

    def fit_forests(self, requests, settings, X, target, sample_weight, folds, groups=None):
        self.calls.append(
            {
                "requests": requests,
                "settings": settings,
                "X": X,
                "target": target,
                "sample_weight": sample_weight,
                "folds": folds,
                "groups": groups,
            }
        )
        return [(None, request[2].min_samples_leaf) for request in requests]

    def layer_score(self, scoring, *, mean_output, **kwargs):
        return self.script[mean_output]

    def sizes(self) -> list[list[int]]:
        return [[request[2].min_samples_leaf for request in c["requests"]] for c in self.calls]


def _scripted(monkeypatch, script, n_rows=100, **kwargs):
    probe = _ScriptedProbe(script)
    monkeypatch.setattr(leaf_size, "fit_forests", probe.fit_forests)
    monkeypatch.setattr(leaf_size, "layer_score", probe.layer_score)
    X = np.column_stack([np.arange(n_rows) % 256, np.arange(n_rows) // 256]).astype(np.uint8)
    codes = np.arange(n_rows) % 2
    result = choose_min_samples_leaf(
        SETTINGS,
        X,
        Target.classes(codes, 2),
        codes,
        None,
        np.array([0, 1]),
        np.random.RandomState(0),
        **kwargs,
    )
    return result, probe, X, codes


def test_leaf_size_search_stops_once_a_larger_leaf_is_clearly_worse(monkeypatch):
    # After (1, 2) the best is 0.802 and size 2 is the best: go on. After (4, 8) size 8 scores
    # 0.79, more than 1 % below the best 0.81: stop, and 16 is never probed (however good).
    script = {1: 0.80, 2: 0.802, 4: 0.81, 8: 0.79, 16: 0.99}
    (size, scores), probe, _, _ = _scripted(monkeypatch, script)
    assert probe.sizes() == [[1, 2], [4, 8]]
    assert scores == {1: 0.80, 2: 0.802, 4: 0.81, 8: 0.79}
    # Within half a percent of 0.81 (>= 0.80595) only size 4 is.
    assert size == 4


def test_leaf_size_takes_the_smallest_size_within_the_margin(monkeypatch):
    script = {1: 0.900, 2: 0.903, 4: 0.904, 8: 0.904, 16: 0.9045}
    (size, scores), probe, _, _ = _scripted(monkeypatch, script)
    assert probe.sizes() == [[1, 2], [4, 8], [16]]
    assert scores == script
    assert size == 1  # 0.900 >= 0.9045 * (1 - 0.005) = 0.89998
    script[1] = 0.899  # just outside the margin
    (size, _), _, _, _ = _scripted(monkeypatch, script)
    assert size == 2


def test_leaf_size_probes_share_one_seed_and_ignore_weights_out_of_bag(monkeypatch):
    script = dict.fromkeys(leaf_size.LEAF_SIZE_CANDIDATES, 0.5)
    weights = np.linspace(0.5, 2.0, 100)
    (size, _), probe, _, _ = _scripted(monkeypatch, script, sample_weight=weights)
    assert size == 1  # all tie: the smallest
    assert probe.sizes() == [[1, 2], [4, 8], [16]]
    seeds = {request[1] for call in probe.calls for request in call["requests"]}
    assert len(seeds) == 1
    for call in probe.calls:
        assert all(request[0] == "random" for request in call["requests"])
        assert call["settings"].n_trees == leaf_size.PROBE_TREES
        # Out of bag (no folds) the probes drop the sample and class weights.
        assert call["settings"].class_weight is None
        assert call["sample_weight"] is None
        assert call["folds"] is None
        for request in call["requests"]:
            assert request[2].n_trees == leaf_size.PROBE_TREES
            assert request[2].class_weight is None


def test_leaf_size_probes_keep_weights_fold_wise(monkeypatch):
    script = dict.fromkeys(leaf_size.LEAF_SIZE_CANDIDATES, 0.5)
    weights = np.linspace(0.5, 2.0, 100)
    folds = np.arange(100) % 3
    _, probe, _, _ = _scripted(monkeypatch, script, sample_weight=weights, folds=folds)
    assert probe.sizes() == [[1, 2], [4, 8], [16]]
    for call in probe.calls:
        assert call["settings"].n_trees == leaf_size.PROBE_TREES
        assert call["settings"].class_weight == "balanced"
        np.testing.assert_array_equal(call["sample_weight"], weights)
        np.testing.assert_array_equal(call["folds"], folds)


def test_leaf_size_candidates_need_four_rows_per_leaf(monkeypatch):
    script = dict.fromkeys(leaf_size.LEAF_SIZE_CANDIDATES, 0.5)
    _, probe, _, _ = _scripted(monkeypatch, script, n_rows=20)
    assert probe.sizes() == [[1, 2], [4]]  # 8 * 4 > 20
    (size, scores), probe, _, _ = _scripted(monkeypatch, script, n_rows=3)
    assert (size, scores) == (1, {})
    assert probe.calls == []


def test_leaf_size_probe_subsamples_large_data_consistently(monkeypatch):
    monkeypatch.setattr(leaf_size, "PROBE_MAX_ROWS", 30)
    script = dict.fromkeys(leaf_size.LEAF_SIZE_CANDIDATES, 0.5)
    groups = np.arange(100) // 2
    folds = groups % 3
    weights = np.arange(100, dtype=float)
    _, probe, X, codes = _scripted(
        monkeypatch, script, groups=groups, folds=folds, sample_weight=weights
    )
    assert probe.sizes() == [[1, 2], [4]]  # candidates follow the 30 rows probed: 8 * 4 > 30
    call = probe.calls[0]
    assert call["X"].shape == (30, 2)
    np.testing.assert_array_equal(probe.calls[1]["X"], call["X"])
    # Column 0 holds the row number: the rows kept, in their order, and everything subset alike.
    rows = call["X"][:, 0].astype(int)
    assert np.all(np.diff(rows) > 0)
    np.testing.assert_array_equal(call["X"], X[rows])
    np.testing.assert_array_equal(call["target"].codes, codes[rows])
    np.testing.assert_array_equal(call["groups"], groups[rows])
    np.testing.assert_array_equal(call["folds"], folds[rows])
    np.testing.assert_array_equal(call["sample_weight"], weights[rows])


# ------------------------------------------------------------------ layer scores


def _class_score(scoring, y, proba, sample_weight, classes):
    return layer_score(
        scoring,
        is_classifier=True,
        y=y,
        mean_output=proba,
        sample_weight=sample_weight,
        classes=classes,
    )


def _value_score(scoring, y, output, sample_weight):
    return layer_score(
        scoring, is_classifier=False, y=y, mean_output=output, sample_weight=sample_weight
    )


@pytest.fixture(scope="module")
def probabilities():
    rng = np.random.RandomState(0)
    classes = np.array(["ant", "bee", "cat"])
    proba = rng.dirichlet([1.0, 1.0, 1.0], size=60)
    y = classes[rng.randint(0, 3, size=60)]
    weights = rng.uniform(0.2, 3.0, size=60)
    return classes, proba, y, weights


def test_default_classifier_score_is_accuracy(probabilities):
    classes, proba, y, weights = probabilities
    predicted = classes[proba.argmax(axis=1)]
    expected = accuracy_score(y, predicted)
    assert 0.2 < expected < 0.6  # neither trivial nor perfect
    assert _class_score(None, y, proba, None, classes) == pytest.approx(expected, abs=1e-12)
    weighted = accuracy_score(y, predicted, sample_weight=weights)
    assert weighted != pytest.approx(expected)
    assert _class_score(None, y, proba, weights, classes) == pytest.approx(weighted, abs=1e-12)


def test_custom_classifier_scores_match_sklearn_metrics(probabilities):
    classes, proba, y, weights = probabilities
    predicted = classes[proba.argmax(axis=1)]
    assert _class_score("neg_log_loss", y, proba, None, classes) == pytest.approx(
        -log_loss(y, proba, labels=classes), rel=1e-12
    )
    assert _class_score("neg_log_loss", y, proba, weights, classes) == pytest.approx(
        -log_loss(y, proba, labels=classes, sample_weight=weights), rel=1e-12
    )
    assert _class_score("balanced_accuracy", y, proba, None, classes) == pytest.approx(
        balanced_accuracy_score(y, predicted), rel=1e-12
    )
    assert _class_score("balanced_accuracy", y, proba, weights, classes) == pytest.approx(
        balanced_accuracy_score(y, predicted, sample_weight=weights), rel=1e-12
    )


def test_binary_roc_auc_uses_the_second_class_column():
    rng = np.random.RandomState(1)
    classes = np.array(["no", "yes"])
    positive = rng.uniform(size=80)
    proba = np.column_stack([1 - positive, positive])
    y = np.where(rng.uniform(size=80) < positive, "yes", "no")
    expected = roc_auc_score(y == "yes", positive)
    assert 0.6 < expected < 0.95
    assert _class_score("roc_auc", y, proba, None, classes) == pytest.approx(expected)


def test_callable_scoring_gets_the_precomputed_outputs(probabilities):
    classes, proba, y, _ = probabilities
    seen = {}

    def scorer(estimator, X, y_true):
        seen["X"] = X
        seen["proba"] = estimator.predict_proba(X)
        return float(np.mean(estimator.predict(X) == y_true)) - 1.0

    expected = accuracy_score(y, classes[proba.argmax(axis=1)]) - 1.0
    assert _class_score(scorer, y, proba, None, classes) == pytest.approx(expected)
    np.testing.assert_array_equal(seen["proba"], proba)
    assert seen["X"].shape == (len(y), 1)


def test_regression_scores_match_r2_and_named_scorers():
    rng = np.random.RandomState(2)
    y = rng.normal(size=50)
    prediction = y + rng.normal(scale=0.5, size=50)
    weights = rng.uniform(0.5, 2.0, size=50)
    expected = r2_score(y, prediction)
    assert 0.3 < expected < 0.95
    # The forests' outputs come as a column; the score ravels them for a 1-d target.
    column = prediction.reshape(-1, 1)
    assert _value_score(None, y, column, None) == pytest.approx(expected, rel=1e-12)
    assert _value_score(None, y, column, weights) == pytest.approx(
        r2_score(y, prediction, sample_weight=weights), rel=1e-12
    )
    assert _value_score("neg_mean_absolute_error", y, column, None) == pytest.approx(
        -mean_absolute_error(y, prediction), rel=1e-12
    )
    # Several targets: R² averaged over them.
    Y = np.column_stack([y, 3 * y + rng.normal(size=50)])
    P = np.column_stack([prediction, 3 * prediction])
    assert _value_score(None, Y, P, None) == pytest.approx(r2_score(Y, P), rel=1e-12)


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


# ------------------------------------------------------------ batched prediction


@pytest.fixture(scope="module")
def two_layer_classifier():
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=2, max_loss_se=np.inf, min_samples_leaf=1, random_state=0
    ).fit(X, y)
    assert model.n_layers_ == 2  # the augmented features of layer 1 are exercised too
    return model, X


def _in_slices(predict, X, size):
    assert size < _prediction.PREDICT_BATCH_ROWS
    return np.concatenate([predict(X[start : start + size]) for start in range(0, len(X), size)])


def test_prediction_over_several_batches_equals_prediction_in_slices(two_layer_classifier):
    model, X = two_layer_classifier
    assert _prediction.PREDICT_BATCH_ROWS == 65_536
    rng = np.random.RandomState(0)
    X_many = np.tile(X, (116, 1)) + rng.normal(scale=0.01, size=(116 * len(X), X.shape[1]))
    assert _prediction.PREDICT_BATCH_ROWS < len(X_many) < 2 * _prediction.PREDICT_BATCH_ROWS
    whole = model.predict_proba(X_many)
    assert whole.shape == (len(X_many), 2)
    np.testing.assert_array_equal(whole, _in_slices(model.predict_proba, X_many, 10_000))
    np.testing.assert_array_equal(
        model.predict(X_many),
        model.classes_[_in_slices(model.predict_proba, X_many, 10_000).argmax(axis=1)],
    )


def _count_batches(monkeypatch):
    sizes = []
    real = _prediction.final_outputs_batch

    def counting(model, X):
        sizes.append(len(X))
        return real(model, X)

    monkeypatch.setattr(_prediction, "final_outputs_batch", counting)
    return sizes


def _predict_in_patched_batches(monkeypatch, model, X, batch_rows):
    """predict_proba with PREDICT_BATCH_ROWS patched; return it and the batch sizes used."""
    sizes = _count_batches(monkeypatch)
    monkeypatch.setattr(_prediction, "PREDICT_BATCH_ROWS", batch_rows)
    output = model.predict_proba(X)
    monkeypatch.undo()
    return output, sizes


def test_small_batches_give_the_same_classifier_outputs(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=3, min_samples_leaf=1, random_state=0
    ).fit(X, y)
    assert model.n_layers_ == 2
    expected = model.predict_proba(X)  # one batch
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 50)
    # The patched path was taken: 569 rows in batches of 50.
    assert sizes == [50] * 11 + [19]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_screened_outputs(monkeypatch):
    """With confidence screening each batch lets a different number of rows leave early."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=10,
        max_layers=3,
        min_samples_leaf=1,
        max_loss_se=np.inf,
        confidence_screening=True,
        random_state=0,
    ).fit(X, y)
    assert model.n_layers_ == 2
    assert 0.5 < model.screened_share_[0] < 1.0  # some rows leave at layer 0, not all
    expected = model.predict_proba(X)
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 64)
    assert sizes == [64] * 8 + [57]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_final_predictor_outputs(monkeypatch):
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=4, max_layers=3, min_samples_leaf=1, predictor="forest", random_state=0
    ).fit(X, y)
    assert model.predictor_ is not None
    expected = model.predict_proba(X)
    batched, sizes = _predict_in_patched_batches(monkeypatch, model, X, 100)
    assert sizes == [100] * 5 + [69]
    np.testing.assert_array_equal(batched, expected)


def test_small_batches_give_the_same_regressor_outputs(monkeypatch):
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -y])
    for target in (y, Y):
        model = CascadeForestRegressor(
            n_trees=4, max_layers=2, max_loss_se=np.inf, min_samples_leaf=1, random_state=0
        ).fit(X, target)
        expected = model.predict(X)
        sizes = _count_batches(monkeypatch)
        monkeypatch.setattr(_prediction, "PREDICT_BATCH_ROWS", 100)
        batched = model.predict(X)
        monkeypatch.undo()
        assert sizes == [100] * 4 + [42]
        assert batched.shape == target.shape
        np.testing.assert_array_equal(batched, expected)


# ------------------------------------------------------------ spill files and refits

SPILL = {"n_trees": 8, "max_layers": 4, "max_loss_se": 0, "min_samples_leaf": 1}


def _spill_files(directory):
    return {path.name for path in directory.iterdir()}


def test_refit_keeps_the_first_fits_files_and_the_refit_predicts_correctly(tmp_path):
    """docs/distributed.md: the files belong to the user; deleting the model does not delete them,
    only the files of layers grown but not kept are removed, at the end of fit. A refit replaces
    the layers but leaves the first fit's files, which a pickle of the first model still needs."""
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(**SPILL, random_state=2, spill_dir=tmp_path)
    model.fit(X, y)
    # Seed 2 grows two layers and keeps one: the dropped layer's file is removed.
    assert len(model.history_["score"]) == 2
    assert model.n_layers_ == 1
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    first_files = {layer.path.name for layer in model.layers_}
    assert _spill_files(tmp_path) == first_files
    first_pickle = pickle.dumps(model)
    first_proba = model.predict_proba(X)

    X_second, y_second = X[::2], y[::2]
    model.fit(X_second, y_second)
    second_files = {layer.path.name for layer in model.layers_}
    assert all(isinstance(layer, SpilledLayer) for layer in model.layers_)
    assert second_files
    assert not first_files & second_files
    # The first fit's files are kept, unchanged (the digest check would refuse them otherwise);
    # only the second fit's kept layers are added.
    assert _spill_files(tmp_path) == first_files | second_files
    np.testing.assert_array_equal(pickle.loads(first_pickle).predict_proba(X), first_proba)
    # The refitted model is the model a fresh in-memory fit gives.
    in_memory = CascadeForestClassifier(**SPILL, random_state=2).fit(X_second, y_second)
    assert model.n_layers_ == in_memory.n_layers_
    np.testing.assert_array_equal(model.predict_proba(X), in_memory.predict_proba(X))
    assert not np.array_equal(model.predict_proba(X), first_proba)
    assert model.score(X[1::2], y[1::2]) > 0.9
