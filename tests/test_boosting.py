"""The boosting stage on the cascade's out-of-sample output (``_core.boosting``)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score
from test_stopping import _duplicate_heavy

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.boosting import (
    BoostingSettings,
    _tree_step,
    base_margin,
    choose_smoothing,
    fit_boosting,
    grow_boosted_tree,
    histogram_offsets,
    histogram_space,
)
from deepforest._core.folds import duplicate_groups

MISSING = 255


def _grow(X, grad, hess, max_depth=1, min_leaf=5):
    rows = np.arange(len(X), dtype=np.int64)
    row_step = np.zeros_like(grad)
    n_bins = [int(X[X[:, j] != MISSING, j].max()) + 1 for j in range(X.shape[1])]
    features = np.arange(X.shape[1])
    offsets = histogram_offsets(n_bins)
    space = histogram_space(offsets, X.shape[1], grad.shape[1], max_depth)
    gradients = np.hstack([grad, hess])
    tree = grow_boosted_tree(
        X,
        rows,
        gradients,
        features,
        offsets,
        MISSING,
        max_depth,
        min_leaf,
        1.0,
        0.5,
        row_step,
        *space,
    )
    return tree, rows, row_step


def test_a_tree_finds_the_step_and_takes_newton_leaf_values():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 20, size=(400, 3)).astype(np.uint8)
    # The residual steps on feature 1 at bin 7, for both outputs (in opposite directions).
    step = np.where(X[:, 1] <= 7, -1.0, 2.0)
    grad = np.column_stack([step, -step])
    hess = np.ones((400, 2))
    tree, rows, row_step = _grow(X, grad, hess)
    feature, threshold, left, right, values, root, importances = tree
    assert root == 0 and feature[0] == 1 and threshold[0] == 7
    n_left = int((X[:, 1] <= 7).sum())
    expected_left = -0.5 * (-1.0 * n_left) / (n_left + 1.0)
    expected_right = -0.5 * (2.0 * (400 - n_left)) / (400 - n_left + 1.0)
    np.testing.assert_allclose(values[-1 - left[0]], [expected_left, -expected_left])
    np.testing.assert_allclose(values[-1 - right[0]], [expected_right, -expected_right])
    assert importances.argmax() == 1
    # The rows' updates during growth are what routing them down the tree gives.
    routed = np.zeros_like(row_step)
    _tree_step(X, rows, feature, threshold, left, right, values, root, routed)
    np.testing.assert_allclose(row_step, routed)


def test_missing_values_go_right_and_can_be_split_off():
    rng = np.random.default_rng(2)
    X = rng.integers(0, 10, size=(300, 1)).astype(np.uint8)
    X[:100, 0] = MISSING
    grad = np.where(X[:, 0] == MISSING, 3.0, -1.0)[:, None]  # only missingness matters
    tree, _, row_step = _grow(X, grad, np.ones((300, 1)))
    threshold = tree[1]
    # The split puts every value left of the missing slot: missing rows alone go right.
    assert threshold[0] == 9
    assert np.all(row_step[:100] < 0) and np.all(row_step[100:] > 0)


def test_smoothing_calibrates_overconfident_class_vectors():
    rng = np.random.default_rng(1)
    y_codes = rng.integers(0, 3, 2000)
    # Hard votes, right 70 % of the time: the calibrated share of the uniform is large.
    votes = np.where(rng.random(2000) < 0.7, y_codes, rng.integers(0, 3, 2000))
    base = np.eye(3)[votes]
    y = np.eye(3)[y_codes]
    smoothing = choose_smoothing(base, y, np.ones(2000))
    assert 0.2 < smoothing <= 0.5
    # Mixing in the uniform never changes which class a row's margin favours.
    assert np.array_equal(base_margin(base, True, smoothing).argmax(axis=1), votes)


def _additive(n_rows: int, seed: int):
    """A sum of smooth effects, which a forest of deep trees approximates in coarse steps."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, size=(n_rows, 6))
    y = 2 * X[:, 0] + X[:, 1] ** 2 + np.sin(2 * X[:, 2]) + 0.3 * rng.normal(size=n_rows)
    return X, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_stage_adds_accuracy_out_of_sample_where_forests_are_weak(seed):
    X, y = _additive(600, seed)
    X_test, y_test = _additive(4000, seed + 50)
    scores = {}
    for rounds in (0, "auto"):
        model = CascadeForestRegressor(n_trees=40, boost_rounds=rounds, random_state=seed)
        model.fit(X, y)
        scores[rounds] = r2_score(y_test, model.predict(X_test))
    stage = model.history_["boosting"]
    assert stage["rounds"] > 0 and model.booster_ is not None
    # A tenth of the cascade's unexplained variance, at least, is fitted.
    assert 1 - scores["auto"] < 0.9 * (1 - scores[0]), scores
    # The search's out-of-sample score tells the gain before any test row is seen.
    assert stage["score_after"] > stage["score_before"]
    assert abs(stage["score_after"] - scores["auto"]) < 0.03


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_on_pure_noise_the_stage_takes_few_rounds_and_costs_nothing(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 5))
    y = rng.normal(size=500)
    X_test, y_test = rng.normal(size=(3000, 5)), rng.normal(size=3000)
    predictions = {}
    for rounds in (0, "auto"):
        model = CascadeForestRegressor(n_trees=40, boost_rounds=rounds, random_state=seed)
        predictions[rounds] = model.fit(X, y).predict(X_test)
    assert model.history_["boosting"]["rounds"] <= 15
    loss = {k: np.mean((y_test - p) ** 2) for k, p in predictions.items()}
    assert loss["auto"] <= loss[0] * 1.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_stage_score_stays_out_of_sample_on_duplicate_heavy_data(seed):
    """Identical rows share a search fold: a row's twin never trains the booster that scores
    it, so the stage's score tracks held-out accuracy as the layers' scores do."""
    X, y = _duplicate_heavy(1500, seed)
    X_test, y_test = _duplicate_heavy(20_000, seed + 100)
    model = CascadeForestClassifier(n_trees=50, boost_rounds="auto", random_state=seed).fit(X, y)
    stage = model.history_["boosting"]
    test_accuracy = np.mean(model.predict(X_test) == y_test)
    for score in (stage["score_before"], stage["score_after"]):
        if score is not None:
            assert score - test_accuracy < 0.035, (stage, test_accuracy)


def test_classification_stage_gives_probabilities_and_a_fixed_round_count():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, 4))
    y = np.array(["a", "b", "c"])[(X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)]
    model = CascadeForestClassifier(n_trees=20, boost_rounds=7, random_state=0).fit(X, y)
    # A tree per round, its leaves a value per class.
    assert model.booster_.n_trees == 7 and model.booster_.n_outputs == 3
    assert model.history_["boosting"]["rounds"] == 7
    assert model.history_["boosting"]["score_after"] is None  # a given count is not searched
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])


def test_a_given_round_count_with_a_final_predictor_is_refused():
    X, y = _additive(100, 0)
    model = CascadeForestRegressor(n_trees=10, predictor="forest", boost_rounds=5)
    with pytest.raises(ValueError, match="boost_rounds=5 needs the cascade's out-of-sample"):
        model.fit(X, y)
    # "auto" leaves the stage out when a final predictor is used.
    model.set_params(boost_rounds="auto").fit(X, y)
    assert model.booster_ is None and "boosting" not in model.history_


def test_the_stage_uses_the_sample_weights():
    """Rows of weight 0 do not move the booster: it fits as if they were not there."""
    X, y = _additive(400, 1)
    flipped = y.copy()
    flipped[:100] = -10 * y[:100]  # rows whose targets would pull every leaf if they counted
    weight = np.ones(400)
    weight[:100] = 0.0
    groups = duplicate_groups(np.zeros((400, 1), dtype=np.uint8) + np.arange(400)[:, None] % 256)
    settings = BoostingSettings(50, 0.1, 3, 5, 1.0, histogram_offsets([256] * 6), 256)
    X_binned = np.clip((X + 2) * 60, 0, 255).astype(np.uint8)
    base = np.zeros((400, 1))
    kwargs = dict(is_classification=False, rounds=20, rng=np.random.RandomState(0))
    weighted = fit_boosting(X_binned, flipped[:, None], base, weight, groups, settings, **kwargs)
    kept = fit_boosting(
        X_binned[100:], y[100:, None], base[100:], weight[100:], groups[100:], settings, **kwargs
    )
    probe = X_binned[:50]
    weighted_forest, kept_forest = weighted.forest, kept.forest
    np.testing.assert_allclose(
        weighted_forest.output(probe) * weighted_forest.n_trees,
        kept_forest.output(probe) * kept_forest.n_trees,
        atol=1e-6,
    )


def test_the_verbose_log_says_what_the_stage_added(capsys):
    X, y = _additive(300, 2)
    CascadeForestRegressor(n_trees=20, verbose=1, random_state=0).fit(X, y)
    log = capsys.readouterr().err
    assert "boosting: " in log and "out-of-sample score" in log


def test_a_saved_model_predicts_with_its_stage_as_before(tmp_path):
    X, y = _additive(300, 4)
    model = CascadeForestRegressor(n_trees=20, boost_rounds=12, random_state=0).fit(X, y)
    model.save(tmp_path / "model")
    restored = CascadeForestRegressor().load(tmp_path / "model")
    assert restored.booster_.n_trees == 12
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    unboosted = CascadeForestRegressor(n_trees=20, boost_rounds=0, random_state=0).fit(X, y)
    assert not np.array_equal(unboosted.predict(X), model.predict(X))


def test_a_tree_splits_only_on_the_features_it_was_given():
    rng = np.random.default_rng(5)
    X = rng.integers(0, 20, size=(400, 3)).astype(np.uint8)
    grad = np.where(X[:, 1] <= 7, -1.0, 2.0)[:, None]  # the signal is in feature 1
    rows, row_step = np.arange(400, dtype=np.int64), np.zeros((400, 1))
    offsets = histogram_offsets([20, 20, 20])
    features = np.array([0, 2])
    gradients = np.hstack([grad, np.ones((400, 1))])
    space = histogram_space(offsets, len(features), 1, 3)
    tree = grow_boosted_tree(
        X, rows, gradients, features, offsets, MISSING, 3, 5, 1.0, 0.5, row_step, *space
    )
    assert set(tree[0].tolist()) <= {0, 2}


def test_class_weights_reach_the_stage():
    """Weighting a class up makes the boosted model predict it more often."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(600, 4))
    y = (X[:, 0] + rng.normal(scale=1.5, size=600) > 1.2).astype(int)  # a noisy minority
    counts = {}
    for class_weight in (None, {0: 1.0, 1: 6.0}):
        model = CascadeForestClassifier(
            n_trees=20, boost_rounds=15, class_weight=class_weight, random_state=0
        ).fit(X, y)
        counts[class_weight is None] = int((model.predict(X) == 1).sum())
    assert counts[False] > counts[True]


def test_the_stage_takes_categorical_columns_of_a_dataframe():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    colour = rng.choice(["red", "green", "blue"], 400)
    x = rng.normal(size=400)
    y = 2 * x + np.select([colour == "red", colour == "green"], [3.0, -1.0], 0.5)
    frame = pd.DataFrame({"x": x, "colour": pd.Categorical(colour)})
    model = CascadeForestRegressor(n_trees=20, random_state=0).fit(frame, y)
    assert model.is_categorical_.tolist() == [False, True]
    assert model.history_["boosting"]["rounds"] > 0
    assert model.score(frame, y) > 0.9


def test_the_search_bound_follows_the_learning_rate(monkeypatch):
    from deepforest import _growth

    # The same reach, the sum of the rates, at any step size.
    assert [_growth.boost_max_rounds(rate) for rate in (0.05, 0.1, 0.3, 1.0)] == [400, 200, 67, 20]
    bounds = []
    original = _growth.fit_boosting

    def recording(*args, **kwargs):
        bounds.append(args[5].max_rounds)  # the BoostingSettings the stage searches with
        return original(*args, **kwargs)

    monkeypatch.setattr(_growth, "fit_boosting", recording)
    X, y = _duplicate_heavy(300, 0)
    for rate in (None, 1.0):
        params = {} if rate is None else {"boost_learning_rate": rate}
        CascadeForestClassifier(n_trees=5, max_layers=1, random_state=0, **params).fit(X, y)
    assert bounds == [400, 20]


def test_histograms_by_subtraction_grow_the_trees_summing_every_node_grows(monkeypatch):
    """A child's histogram taken from its parent's (LightGBM's trick) picks the same splits,
    leaf values and row updates as summing every node's rows, which the stage falls back on
    when the histograms would exceed their memory budget."""
    from deepforest._core import memory

    rng = np.random.default_rng(8)
    X = rng.integers(0, 30, size=(3000, 12)).astype(np.uint8)
    X[rng.random(X.shape) < 0.05] = MISSING
    signal = (X[:, 3] % 7 == 0) * 2.0 - (X[:, 8] > 20) + rng.normal(scale=0.3, size=3000)
    grad = np.column_stack([signal, -0.5 * signal, rng.normal(size=3000)])
    gradients = np.hstack([grad, rng.uniform(0.5, 1.5, size=(3000, 3))])
    rows = np.sort(rng.choice(3000, 2400, replace=False)).astype(np.int64)
    offsets = histogram_offsets([30] * 12)
    features = np.array([0, 2, 3, 5, 8, 9, 11])
    grown = {}
    for budget in (memory.HISTOGRAM_BUDGET_BYTES, 0):
        monkeypatch.setattr(memory, "HISTOGRAM_BUDGET_BYTES", budget)
        space = histogram_space(offsets, len(features), 3, 6)
        row_step = np.zeros((3000, 3))
        tree = grow_boosted_tree(
            X, rows, gradients, features, offsets, MISSING, 6, 5, 1.0, 0.5, row_step, *space
        )
        grown[budget] = (space[0].shape[0], tree, row_step)
    (kept, subtracted, step_a), (single, summed, step_b) = grown.values()
    assert (kept, single) == (8, 1)
    assert len(subtracted[0]) > 20  # a tree deep enough to subtract at several levels
    for ours, theirs in zip(subtracted[:6], summed[:6], strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(step_a, step_b)
    np.testing.assert_allclose(subtracted[6], summed[6], rtol=1e-12)
