"""How the cascade decides its depth: honest layer scores, paired tests, stopping and keeping."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.stopping import CascadeGrowth, LayerEvidence, LayerScorer


def _duplicate_heavy(n_rows: int, seed: int):
    """A Titanic-like table: three coarse columns (48 distinct rows) and a noisy label."""
    rng = np.random.default_rng(seed)
    X = np.column_stack(
        [rng.integers(0, 2, n_rows), rng.integers(0, 3, n_rows), rng.integers(0, 8, n_rows)]
    ).astype(float)
    signal = 0.8 * X[:, 0] - 0.5 * X[:, 1] + 0.15 * X[:, 2]
    probability = 1 / (1 + np.exp(-(signal - 0.6) * 2))
    y = (rng.random(n_rows) < probability).astype(int)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_layer_scores_track_held_out_accuracy_on_duplicate_heavy_data(seed):
    """Out of bag, a row's twin used to train the trees that scored it: the layers' scores rose
    far above held-out accuracy (Titanic: 0.80 -> 0.87 against 0.75). Scores of every layer must
    now stay within noise of held-out accuracy, with both schemes."""
    X, y = _duplicate_heavy(1500, seed)
    X_test, y_test = _duplicate_heavy(20_000, seed + 100)
    for out_of_sample in ("oob", "auto"):
        model = CascadeForestClassifier(
            n_trees=50,
            max_layers=4,
            n_tolerant_rounds=4,
            depth_tolerance=1.0,
            out_of_sample=out_of_sample,
            random_state=seed,
        )
        with pytest.warns(FutureWarning, match="depth_tolerance is deprecated"):
            model.fit(X, y)
        tests = [
            np.mean(model.classes_[np.mean(outputs, axis=0).argmax(axis=1)] == y_test)
            for outputs in model._layer_outputs(model._binner.transform(X_test))
        ]
        scores = np.asarray(model.history_["score"])
        # 1500 rows: a score's standard error is about 0.012.
        assert np.all(scores - np.asarray(tests) < 0.035), (out_of_sample, scores, tests)
    # With most rows duplicated, "auto" grows the forests fold-wise.
    assert model.out_of_sample_ == "kfold"


def test_paired_gain_is_the_mean_difference_of_per_row_results():
    y = np.array([0, 1, 1, 0, 1, 0, 1, 1])
    scorer = LayerScorer(
        None, is_classifier=True, y=y, sample_weight=None, classes=np.array([0, 1]), seed=0
    )
    old = scorer.evidence(np.eye(2)[[0, 1, 0, 0, 1, 1, 1, 0]])  # 5 of 8 right
    new = scorer.evidence(np.eye(2)[[0, 1, 1, 0, 1, 1, 1, 0]])  # 6 of 8 right
    assert old.score == pytest.approx(5 / 8) and new.score == pytest.approx(6 / 8)
    gain, error = scorer.gain(new, old)
    differences = np.array([0, 0, 1, 0, 0, 0, 0, 0])
    assert gain == pytest.approx(1 / 8)
    assert error == pytest.approx(differences.std() / np.sqrt(7))


def test_regression_gains_are_differences_in_r2():
    rng = np.random.default_rng(0)
    y = rng.normal(size=500)
    scorer = LayerScorer(None, is_classifier=False, y=y, sample_weight=None, classes=None, seed=0)
    rough = scorer.evidence(y + rng.normal(scale=0.8, size=500))
    fine = scorer.evidence(y + rng.normal(scale=0.3, size=500))
    r2 = [1 - np.mean((y - p) ** 2) / np.var(y) for p in (y + 0, y + 0)]
    assert r2[0] == 1.0  # the formula the terms follow
    gain, error = scorer.gain(fine, rough)
    assert gain == pytest.approx(fine.score - rough.score)
    assert gain > 5 * error > 0


def test_any_scorer_is_compared_with_a_paired_bootstrap():
    y = np.tile([0, 1], 300)
    rng = np.random.default_rng(1)
    good = np.clip(np.eye(2)[y] * 0.6 + rng.uniform(0, 0.4, (600, 2)), 0, 1)
    noisy = np.clip(np.eye(2)[y] * 0.2 + rng.uniform(0, 0.8, (600, 2)), 0, 1)
    good /= good.sum(axis=1, keepdims=True)
    noisy /= noisy.sum(axis=1, keepdims=True)
    scorer = LayerScorer(
        "roc_auc", is_classifier=True, y=y, sample_weight=None, classes=np.array([0, 1]), seed=0
    )
    better, worse = scorer.evidence(good), scorer.evidence(noisy)
    assert better.terms is None and better.standard_error > 0
    gain, error = scorer.gain(better, worse)
    assert gain == pytest.approx(better.score - worse.score)
    assert gain > 3 * error


def _growth(scores_terms, z=1.0, patience=2):
    y = np.ones(len(scores_terms[0]))
    scorer = LayerScorer(None, is_classifier=False, y=y, sample_weight=None, classes=None, seed=0)
    growth = CascadeGrowth(scorer, z=z, delta=0.0, patience=patience, keep_z=z)
    decisions = []
    for terms in scores_terms:
        terms = np.asarray(terms, dtype=float)
        decisions.append(growth.add(LayerEvidence(terms.mean(), 0.0, terms=terms)))
        if growth.should_stop():
            break
    return growth, decisions


def test_a_gain_within_noise_is_no_improvement_and_growth_stops_after_patience():
    base = np.r_[np.ones(900), np.zeros(100)]
    one_more = base.copy()
    one_more[900] = 1  # one row better of 1000: gain 0.001, well within noise
    many_more = base.copy()
    many_more[900:960] = 1  # 60 rows better: a real gain
    growth, decisions = _growth([base, one_more, one_more, many_more])
    assert decisions == [True, False, False]
    assert growth.should_stop() and growth.record.best_index == 0
    growth, decisions = _growth([base, many_more, many_more, many_more])
    assert decisions == [True, True, False, False]
    assert growth.record.best_index == 1


def test_layers_after_the_best_are_kept_unless_clearly_worse():
    base = np.r_[np.ones(900), np.zeros(100)]
    better = base.copy()
    better[900:960] = 1
    slightly_worse = better.copy()
    slightly_worse[0] = 0  # one row worse: not significantly
    much_worse = better.copy()
    much_worse[:80] = 0
    growth, _ = _growth([base, better, slightly_worse, slightly_worse], patience=2)
    assert growth.record.best_index == 1 and growth.last_kept() == 3
    growth, _ = _growth([base, better, much_worse, much_worse], patience=2)
    assert growth.last_kept() == 1


def test_history_reports_scores_with_their_uncertainty_and_the_chosen_depth(capsys):
    X, y = load_digits(return_X_y=True)
    model = CascadeForestClassifier(n_trees=20, max_layers=4, verbose=1, random_state=0)
    model.fit(X, y)
    history = model.history_
    n_grown = len(history["score"])
    assert {len(history[key]) for key in ("score_se", "gain", "gain_se", "fit_time")} == {n_grown}
    assert np.isnan(history["gain"][0]) and all(se > 0 for se in history["score_se"])
    assert 0 <= model.best_layer_ < model.n_layers_ <= n_grown
    assert model.best_score_ == history["score"][model.best_layer_]
    err = capsys.readouterr().err
    assert "layer 1: score=" in err and " ± " in err and "gain=" in err


def test_delta_still_raises_the_bar():
    X, y = load_digits(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=10, delta=1.0, max_layers=3, n_tolerant_rounds=2, random_state=0
    )
    model.fit(X, y)
    assert model.best_layer_ == 0 and len(model.history_["score"]) == 3


def test_depth_tolerance_is_deprecated_but_still_works():
    X, y = load_digits(return_X_y=True)
    model = CascadeForestRegressor(
        n_trees=8, max_layers=3, n_tolerant_rounds=3, depth_tolerance=1e6, random_state=0
    )
    with pytest.warns(FutureWarning, match="max_loss_se"):
        model.fit(X, y)
    assert model.n_layers_ == 3
