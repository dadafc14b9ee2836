"""Behaviour of the cascade estimators: the scikit-learn contract, growth, input errors."""

from __future__ import annotations

import pickle
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    make_classification,
    make_friedman1,
    make_regression,
)
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._preparation import resolved_max_features

SMALL = {"n_trees": 10, "max_layers": 3, "random_state": 0}


def _expected_failed_checks(estimator):
    return {
        # Bootstrap resampling draws rows, not weight: a row of weight 2 is not the same as the
        # row repeated, exactly as for scikit-learn's own random forests, which fail this too.
        "check_sample_weight_equivalence_on_dense_data": (
            "bootstrap forests: sample_weight is not equivalent to repeating rows"
        ),
    }


# check_array_api_input is skipped by scikit-learn itself unless SCIPY_ARRAY_API is set; the
# cascade's trees are scikit-learn's, which take NumPy arrays only, so it does not apply.
@parametrize_with_checks(
    [CascadeForestClassifier(**SMALL), CascadeForestRegressor(**SMALL)],
    expected_failed_checks=_expected_failed_checks,
)
def test_scikit_learn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


# ---------------------------------------------------------------- contract


def test_fit_returns_self_and_refit_works(iris):
    X, y = iris
    model = CascadeForestClassifier(**SMALL)
    assert model.fit(X, y) is model
    first = model.predict_proba(X)
    assert model.fit(X[:, :3], y) is model
    assert model.n_features_in_ == 3
    assert model.predict_proba(X[:, :3]).shape == first.shape


def test_init_only_stores_parameters():
    model = CascadeForestClassifier(n_trees=7, predictor_params={"max_depth": 3})
    assert model.get_params()["n_trees"] == 7
    assert not [name for name in vars(model) if name.endswith("_")]
    model.set_params(n_trees=9)
    assert clone(model).n_trees == 9


@pytest.mark.parametrize(
    "labels",
    [
        np.array(["setosa", "versicolor", "virginica"]),
        np.array([10, -3, 7]),
        np.array([True, False]),
    ],
    ids=["strings", "integers", "booleans"],
)
def test_labels_round_trip(iris, labels):
    X, y = iris
    if len(labels) == 2:
        X, y = X[y < 2], y[y < 2]
    y_labels = labels[y]
    model = CascadeForestClassifier(**SMALL).fit(X, y_labels)
    np.testing.assert_array_equal(model.classes_, np.sort(labels))
    predicted = model.predict(X)
    assert predicted.dtype == y_labels.dtype
    assert np.mean(predicted == y_labels) > 0.95
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], predicted)


def test_pipeline_grid_search_and_cross_validation(iris):
    X, y = iris
    pipeline = make_pipeline(StandardScaler(), CascadeForestClassifier(**SMALL))
    scores = cross_val_score(pipeline, X, y, cv=3)
    assert scores.mean() > 0.9
    search = GridSearchCV(
        CascadeForestClassifier(n_trees=5, max_layers=2, random_state=0),
        {"n_estimators": [1, 2]},
        cv=3,
    ).fit(X, y)
    assert search.best_params_["n_estimators"] in (1, 2)
    assert search.best_score_ > 0.9


def test_feature_names_from_dataframes(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    model = CascadeForestClassifier(**SMALL).fit(frame, y)
    np.testing.assert_array_equal(model.feature_names_in_, frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X)
    with pytest.raises(ValueError, match="feature names"):
        model.predict(frame.rename(columns={"petal_w": "other"}))


def test_feature_importances_point_at_informative_features():
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=2, n_redundant=0, shuffle=False, random_state=0
    )
    model = CascadeForestClassifier(**SMALL).fit(X, y)
    importances = model.feature_importances_
    assert importances.shape == (8,)
    assert importances.sum() == pytest.approx(1.0)
    assert set(np.argsort(importances)[-2:]) == {0, 1}


@pytest.mark.parametrize("out_of_sample", ["oob", "kfold"])
def test_same_random_state_same_predictions_whatever_n_jobs(iris, out_of_sample):
    from deepforest._core.forests import TREES_PER_TASK

    X, y = iris
    # Several chunks of trees per forest, the last one partial: their out-of-sample sums are
    # added in an order that must not depend on which thread grew which chunk.
    params = {**SMALL, "n_trees": 3 * TREES_PER_TASK + 5}
    predictions = [
        CascadeForestClassifier(**params, out_of_sample=out_of_sample, n_jobs=n_jobs)
        .fit(X, y)
        .predict_proba(X)
        for n_jobs in (1, 2, -1)
    ]
    np.testing.assert_array_equal(predictions[0], predictions[1])
    np.testing.assert_array_equal(predictions[0], predictions[2])


def test_different_random_states_differ(iris):
    X, y = iris
    a = CascadeForestClassifier(n_trees=10, random_state=0).fit(X, y).predict_proba(X)
    b = CascadeForestClassifier(n_trees=10, random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("dump_load", ["pickle", "joblib"])
def test_persistence_round_trip(tmp_path, iris, dump_load):
    X, y = iris
    model = CascadeForestClassifier(**SMALL).fit(X, y)
    if dump_load == "pickle":
        restored = pickle.loads(pickle.dumps(model))
    else:
        joblib.dump(model, tmp_path / "model.joblib")
        restored = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


# ------------------------------------------------------------------ growth


def test_growth_stops_after_tolerant_rounds_and_keeps_the_best(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = CascadeForestClassifier(
        n_trees=20, max_layers=10, n_tolerant_rounds=2, random_state=0
    ).fit(X_train, y_train)
    scores = model.history_["score"]
    assert len(scores) == len(model.history_["fit_time"])
    assert model.best_score_ == scores[model.best_layer_]
    # Stopped early: exactly n_tolerant_rounds layers followed the best one.
    assert len(scores) < 10 and len(scores) == model.best_layer_ + 1 + 2
    assert model.best_layer_ < model.n_layers_ == len(model.layers_) <= len(scores)
    assert model.score(X_test, y_test) > 0.93


def test_zero_max_loss_keeps_up_to_the_best(digits_split):
    X_train, _, y_train, _ = digits_split
    model = CascadeForestClassifier(
        n_trees=10, max_layers=4, n_tolerant_rounds=3, max_loss_se=0.0, random_state=0
    ).fit(X_train, y_train)
    # Only layers at least as good as the best, right after it, could be kept.
    gains = model.history_["gain"]
    kept_after = model.n_layers_ - 1 - model.best_layer_
    assert all(gain >= 0 for gain in gains[model.best_layer_ + 1 : model.n_layers_])
    assert kept_after == 0 or gains[model.best_layer_ + 1] >= 0


def test_depth_tolerance_keeps_deeper_ties():
    X, y = load_iris(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=5, max_layers=3, n_tolerant_rounds=5, depth_tolerance=1.0, random_state=0
    )
    with pytest.warns(FutureWarning, match="depth_tolerance is deprecated"):
        model.fit(X, y)
    assert model.n_layers_ == 3


def test_max_layers_caps_growth(iris):
    X, y = iris
    model = CascadeForestClassifier(n_trees=5, max_layers=1, random_state=0).fit(X, y)
    assert len(model.history_["score"]) == 1
    assert model.n_layers_ == 1


def test_delta_counts_only_real_improvements(iris):
    X, y = iris
    # No score can improve by more than 1: layer 0 stays the best and growth stops one layer on.
    model = CascadeForestClassifier(n_trees=5, delta=1.0, n_tolerant_rounds=1, random_state=0)
    model.fit(X, y)
    assert len(model.history_["score"]) == 2
    assert model.best_score_ == model.history_["score"][0]


def test_later_layers_see_class_vectors(digits_split):
    X_train, _, y_train, _ = digits_split
    model = CascadeForestClassifier(
        n_trees=10, max_layers=2, n_tolerant_rounds=5, max_loss_se=1e9, random_state=0
    )
    model.fit(X_train, y_train)
    assert len(model.history_["score"]) == 2
    # Layer 0 sees the 64 pixels, layer 1 also 4 forests x 10 class probabilities.
    assert model.layers_[0].forests[0].n_features_in_ == 64
    assert model.n_layers_ == 2
    assert model.layers_[1].forests[0].n_features_in_ == 64 + 4 * 10


def test_verbose_logs_one_line_per_layer(capsys, iris):
    X, y = iris
    model = CascadeForestClassifier(
        n_trees=5, max_layers=3, n_tolerant_rounds=5, verbose=1, random_state=0
    )
    model.fit(X, y)
    err = capsys.readouterr().err
    layer_lines = [line for line in err.splitlines() if line.startswith("[deepforest] layer ")]
    assert len(layer_lines) == 3
    assert "layer 0: score=" in layer_lines[0] and "s " in layer_lines[0]
    kept = next(line for line in err.splitlines() if " kept " in line)
    assert f"kept {model.n_layers_} of 3 layers grown (layers 0 to {model.n_layers_ - 1})" in kept
    best = int(re.search(r"layer (\d) was the last to improve the out-of-sample", kept).group(1))
    assert model.history_["score"][best] == max(model.history_["score"][: best + 1])
    after = model.n_layers_ - 1 - best
    assert (f"the {after} layer" in kept) == (after > 0), kept


def test_the_kept_layers_line_says_why_each_layer_is_kept_or_dropped():
    from deepforest._core.stopping import GrowthRecord
    from deepforest._growth import kept_layers_summary

    record = GrowthRecord()
    record.scores, record.standard_errors, record.best_index = [0.9, 0.95, 0.94, 0.8], [0.01] * 4, 1
    line = kept_layers_summary(3, 4, record)
    assert line.startswith("kept 3 of 4 layers grown (layers 0 to 2); layer 1 was the last to")
    assert "improve the out-of-sample score significantly (0.95000 ± 0.01000)" in line
    assert "the 1 layer after it is kept as not clearly worse" in line
    assert line.endswith("the 1 deeper layer scored clearly worse and was dropped")
    assert kept_layers_summary(2, 2, record).endswith("significantly (0.95000 ± 0.01000)")


def test_silent_by_default(capsys, iris):
    CascadeForestClassifier(**SMALL).fit(*iris)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_user_scoring(iris):
    X, y = iris
    calls = []

    def scorer(estimator, X_, y_true):
        calls.append(len(y_true))
        return float(np.mean(estimator.predict(X_) == y_true))

    model = CascadeForestClassifier(**SMALL, scoring=scorer).fit(X, y)
    # Every call scores the out-of-sample outputs of all training rows (or a bootstrap resample
    # of them, as many rows): once per grown layer and per probed leaf size, and once per
    # resample for the standard errors of the layers' scores and gains.
    assert calls and all(n == len(y) for n in calls)
    assert len(calls) > len(model.history_["score"]) + len(model.leaf_size_scores_)
    assert all(se > 0 for se in model.history_["score_se"])
    log_loss_model = CascadeForestClassifier(**SMALL, scoring="neg_log_loss").fit(X, y)
    assert all(score < 0 for score in log_loss_model.history_["score"])


def test_kfold_out_of_sample(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    model = CascadeForestClassifier(
        n_trees=12, n_folds=3, out_of_sample="kfold", max_layers=3, random_state=0
    ).fit(X_train, y_train)
    forest = model.layers_[0].forests[0]
    # The forest's 12 trees are shared out among the 3 folds.
    np.testing.assert_array_equal(forest.fold_bounds, [0, 4, 8, 12])
    assert model.score(X_test, y_test) > 0.93


@pytest.mark.parametrize("predictor", ["forest", "xgboost"])
def test_final_predictor(iris, predictor):
    if predictor == "xgboost":
        pytest.importorskip("xgboost")
    X, y = iris
    model = CascadeForestClassifier(
        **SMALL, predictor=predictor, predictor_params={"n_estimators": 20}
    ).fit(X, y)
    assert model.predictor_ is not None
    assert model.predictor_.get_params()["n_estimators"] == 20
    proba = model.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert model.score(X, y) > 0.95


def test_xgboost_regression_predictor():
    pytest.importorskip("xgboost")
    X, y = load_diabetes(return_X_y=True)
    model = CascadeForestRegressor(**SMALL, predictor="xgboost").fit(X, y)
    assert model.predict(X).shape == y.shape


# -------------------------------------------------------- weights and NaN


def test_sample_weight_zero_removes_a_class(iris):
    X, y = iris
    weight = np.where(y == 2, 0.0, 1.0)
    model = CascadeForestClassifier(**SMALL).fit(X, y, sample_weight=weight)
    assert list(model.classes_) == [0, 1, 2]
    assert not np.any(model.predict(X) == 2)


@pytest.mark.parametrize("engine", ["numba", "sklearn"])
def test_class_weight_favours_the_rare_class(engine):
    recalls = {None: [], "balanced": [], "balanced_subsample": []}
    rare_proba = {key: [] for key in recalls}
    for seed in range(3):
        X, y = make_classification(
            n_samples=1000, weights=[0.93, 0.07], flip_y=0.05, class_sep=0.5, random_state=seed
        )
        X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
        for class_weight, found in recalls.items():
            model = CascadeForestClassifier(
                **SMALL, min_samples_leaf=5, class_weight=class_weight, engine=engine
            ).fit(X_train, y_train)
            found.append(np.mean(model.predict(X_test)[y_test == 1] == 1))
            rare_proba[class_weight].append(model.predict_proba(X_test)[:, 1].mean())
    # The rare class is 7% of the rows: weighted, the forests give it about twice the
    # probability (measured 0.09 unweighted, 0.17 to 0.3 weighted) and miss it less often.
    for weighted in ("balanced", "balanced_subsample"):
        assert np.mean(rare_proba[weighted]) > 1.5 * np.mean(rare_proba[None])
        assert np.mean(recalls[weighted]) > np.mean(recalls[None])


def test_missing_values_are_accepted_and_used():
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    X = X.copy()
    X[rng.uniform(size=X.shape) < 0.2] = np.nan
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
    model = CascadeForestClassifier(**SMALL).fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.9
    # Missingness that carries the label is learned, not lost.
    X_signal = np.where(y[:, None] == 1, np.nan, 1.0) * np.ones((1, 3))
    signal_model = CascadeForestClassifier(**SMALL).fit(X_signal, y)
    assert signal_model.score(X_signal, y) == 1.0


# ------------------------------------------------------------ regression


def test_regressor_matches_a_forest_and_is_honest():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = CascadeForestRegressor(n_trees=30, random_state=0).fit(X_train, y_train)
    forest = RandomForestRegressor(100, random_state=0).fit(X_train, y_train)
    assert model.score(X_test, y_test) > forest.score(X_test, y_test) - 0.02
    assert model.score(X_test, y_test) > 0.2
    assert -0.2 < model.best_score_ < 0.7  # out-of-sample R², not a training fit


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regressor_considers_every_feature_by_default(seed):
    """One strong feature among 40: with ``"sqrt"`` most random-forest splits never see it
    (the default was ``"sqrt"`` until measured on regression tables; see max_features)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1000, 40))
    y = 10 * X[:, 0] + np.sin(3 * X[:, 1]) + rng.normal(scale=0.3, size=1000)
    X_train, X_test, y_train, y_test = X[:700], X[700:], y[:700], y[700:]
    # The random forests alone decide: the completely-random forests draw one feature, and no
    # boosting stage fits the strong feature's slope after them.
    fixed = {"extra_max_features": 1, "boost_rounds": 0, "random_state": seed}
    default = CascadeForestRegressor(n_trees=30, **fixed).fit(X_train, y_train)
    sqrt = CascadeForestRegressor(n_trees=30, max_features="sqrt", **fixed)
    sqrt.fit(X_train, y_train)
    assert default.max_features == 1.0
    assert default.score(X_test, y_test) > sqrt.score(X_test, y_test) + 0.01


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_regressor_beats_a_random_forest_with_its_trees_on_noisy_features(seed):
    """Friedman #1 with 25 noise features: a completely-random forest alone scores R² about
    0.13, so the equal-weight mean of a layer's forests lost to a plain random forest
    (0.70 against 0.79); weighting the forests by their out-of-sample fit wins."""
    X, y = make_friedman1(n_samples=600, n_features=30, noise=1.0, random_state=seed)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=seed)
    model = CascadeForestRegressor(n_trees=50, random_state=seed).fit(X_train, y_train)
    # The first layer's 4 forests of 50 trees.
    forest = RandomForestRegressor(200, random_state=seed).fit(X_train, y_train)
    assert model.score(X_test, y_test) > forest.score(X_test, y_test)
    weights = model.layers_[-1].output_weights
    assert weights.min() >= 0 and weights.sum() == pytest.approx(1.0)
    # With gcForest's completely-random forests (one candidate feature), the random forests
    # (even positions) carry most of the weight.
    gcforest_like = CascadeForestRegressor(
        n_trees=50, extra_max_features=1, boost_rounds=0, random_state=seed
    ).fit(X_train, y_train)
    assert gcforest_like.layers_[-1].output_weights[0::2].sum() > 0.8


def test_multi_output_regression():
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -2 * y + 5])
    model = CascadeForestRegressor(**SMALL).fit(X, Y)
    predicted = model.predict(X[:50])
    assert predicted.shape == (50, 2)
    np.testing.assert_allclose(predicted[:, 1], -2 * predicted[:, 0] + 5, rtol=0.05, atol=5)
    single = CascadeForestRegressor(**SMALL).fit(X, y)
    assert single.predict(X[:5]).shape == (5,)


# ------------------------------------------------------------ bad input


def test_predict_before_fit():
    with pytest.raises(NotFittedError):
        CascadeForestClassifier().predict(np.zeros((2, 2)))
    with pytest.raises(NotFittedError):
        CascadeForestRegressor().predict(np.zeros((2, 2)))


def test_wrong_dimensions(iris):
    X, y = iris
    with pytest.raises(ValueError, match="2D array"):
        CascadeForestClassifier().fit(X[:, 0], y)
    model = CascadeForestClassifier(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        model.predict(X[:, :3])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        CascadeForestClassifier().fit(X, y[:-1])


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_target(bad):
    X, y = load_diabetes(return_X_y=True)
    y = y.copy()
    y[3] = bad
    with pytest.raises(ValueError, match=r"y contains (NaN|infinity)"):
        CascadeForestRegressor().fit(X, y)
    with pytest.raises(ValueError):
        CascadeForestClassifier().fit(X, y)


def test_infinite_features_rejected(iris):
    X, y = iris
    X = X.copy()
    X[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        CascadeForestClassifier().fit(X, y)


def test_one_class(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        CascadeForestClassifier().fit(X, np.zeros(len(X)))


def test_continuous_target_for_classifier():
    X, y = load_diabetes(return_X_y=True)
    with pytest.raises(ValueError, match="Unknown label type"):
        CascadeForestClassifier().fit(X, y + 0.5)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_trees": 0}, "n_trees"),
        ({"n_bins": 300}, "n_bins"),
        ({"out_of_sample": "loo"}, "out_of_sample"),
        ({"predictor": "svm"}, "predictor"),
        ({"n_tolerant_rounds": 0}, "n_tolerant_rounds"),
        ({"max_features": "all"}, "max_features"),
    ],
)
def test_invalid_parameters(iris, params, message):
    X, y = iris
    with pytest.raises(ValueError, match=message):
        CascadeForestClassifier(**params).fit(X, y)


def test_kfold_needs_enough_distinct_rows():
    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    y = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="distinct samples"):
        CascadeForestClassifier(out_of_sample="kfold", n_folds=3).fit(X, y)


def test_sparse_input_rejected_clearly(iris):
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = iris
    with pytest.raises(TypeError, match="dense data is required"):
        CascadeForestClassifier().fit(scipy_sparse.csr_matrix(X), y)


# ------------------------------------------------------------ real data


@pytest.mark.parametrize("dataset, noisy", [("adult", True), ("letter", False)])
def test_leaf_size_follows_the_noise_and_scores_stay_honest(load_npz, dataset, noisy):
    X_train, y_train, X_test, y_test = load_npz(dataset)
    X_train, y_train, X_test, y_test = X_train[:6000], y_train[:6000], X_test[:4000], y_test[:4000]
    model = CascadeForestClassifier(n_trees=30, random_state=0, n_jobs=-1).fit(X_train, y_train)
    # Income (ADULT) is noisy: fully grown trees lose to larger leaves out of bag. The letters
    # are clean: one sample per leaf wins.
    assert (model.min_samples_leaf_ > 1) == noisy
    # The smallest leaf size within half a percent of the best probe score.
    scores = model.leaf_size_scores_
    close = [size for size, score in scores.items() if score >= 0.995 * max(scores.values())]
    assert model.min_samples_leaf_ == min(close)
    # The out-of-sample score tracks the test accuracy: the boosting stage's, when it kept
    # rounds, else the one that chose the depth.
    stage = model.history_.get("boosting")
    estimate = stage["score_after"] if stage and stage["rounds"] else model.best_score_
    assert abs(estimate - model.score(X_test, y_test)) < 0.015


# ------------------------------------------------------------ memory options


def test_spill_dir_keeps_only_the_kept_layers_on_disk(tmp_path, digits_split):
    X_train, X_test, y_train, _ = digits_split
    params = {"n_trees": 8, "max_layers": 4, "n_tolerant_rounds": 1, "random_state": 0}
    in_memory = CascadeForestClassifier(**params).fit(X_train, y_train)
    spilled = CascadeForestClassifier(**params, spill_dir=tmp_path).fit(X_train, y_train)
    np.testing.assert_array_equal(spilled.predict_proba(X_test), in_memory.predict_proba(X_test))
    assert len(list(tmp_path.iterdir())) == spilled.n_layers_
    assert spilled.feature_importances_.shape == (64,)


def test_uint8_input_is_used_as_it_is(digits_split):
    X_train, X_test, y_train, _ = digits_split
    as_float = CascadeForestClassifier(**SMALL).fit(X_train, y_train)
    as_uint8 = CascadeForestClassifier(**SMALL).fit(X_train.astype(np.uint8), y_train)
    np.testing.assert_array_equal(
        as_uint8.predict_proba(X_test.astype(np.uint8)), as_float.predict_proba(X_test)
    )


@pytest.mark.parametrize("engine", ["numba", "sklearn"])
def test_class_weight_dict_names_the_user_s_labels(engine):
    # The forests train on class codes; a dict keyed by the labels must reach them.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.where(X[:, 0] + rng.normal(scale=1.0, size=300) > 0.8, "rare", "common")
    params = {"n_trees": 20, "max_layers": 1, "random_state": 0, "engine": engine}
    plain = CascadeForestClassifier(**params).fit(X, y)
    weighted = CascadeForestClassifier(**params, class_weight={"rare": 10.0}).fit(X, y)
    # The same fit on integer labels whose codes are the same (common: 0, rare: 1).
    codes = CascadeForestClassifier(**params, class_weight={1: 10.0}).fit(X, (y == "rare") * 1)
    np.testing.assert_array_equal(weighted.predict_proba(X), codes.predict_proba(X))
    assert not np.array_equal(weighted.predict_proba(X), plain.predict_proba(X))
    with pytest.raises(ValueError, match=r"class_weight names classes that are not in y: \['c'\]"):
        CascadeForestClassifier(**params, class_weight={"c": 2.0}).fit(X, y)


@pytest.mark.parametrize("weighted", [False, True])
def test_regression_history_records_each_layers_mean_absolute_error(weighted):
    # Scored by MAE, a layer's score is minus the MAE the history records beside it.
    X, y = make_regression(n_samples=200, n_features=6, noise=10.0, random_state=0)
    sample_weight = np.linspace(0.5, 2.0, len(y)) if weighted else None
    model = CascadeForestRegressor(
        n_trees=20, max_layers=3, scoring="neg_mean_absolute_error", random_state=0
    ).fit(X, y, sample_weight=sample_weight)
    assert len(model.history_["mae"]) == len(model.history_["score"])
    np.testing.assert_allclose(model.history_["mae"], -np.array(model.history_["score"]))
    assert "mae" not in CascadeForestClassifier(n_trees=10, max_layers=1).fit(X, y > 0).history_


def test_regression_targets_beyond_float32_are_refused():
    # The trees store their outputs as float32: larger targets would predict infinity.
    X, y = make_regression(n_samples=50, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="as large as 1e\\+39: the trees store their outputs"):
        CascadeForestRegressor(n_trees=5).fit(X, y / np.abs(y).max() * 1e39)
    model = CascadeForestRegressor(n_trees=5, max_layers=1).fit(X, y * 1e30)
    assert np.isfinite(model.predict(X)).all()


@pytest.mark.parametrize(
    "weights, message",
    [
        (np.r_[np.ones(59), -1.0], "sample_weight holds 1 negative values"),
        (np.zeros(60), "at least one non-zero"),
    ],
)
def test_weights_no_forest_can_use_are_refused(weights, message):
    """A negative weight made probability rows sum to 0 (accuracy 0.51 on a clean table)."""
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=message):
        CascadeForestClassifier(n_trees=5).fit(X, y, sample_weight=weights)


@pytest.mark.parametrize("Estimator", [CascadeForestClassifier, CascadeForestRegressor])
def test_nan_in_the_target_is_named_as_the_target(Estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = (X[:, 0] > 0).astype(float)
    y[[7, 40]] = np.nan
    with pytest.raises(
        ValueError,
        match=r"Input y contains NaN: the target is missing in 2 of 100 rows \(the first at "
        r"position 7\); drop those rows",
    ):
        Estimator(**SMALL).fit(X, y)


def test_text_in_a_column_fitted_as_numbers_is_named_with_its_cell():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), columns=["age", "income", "score"])
    frame["city"] = pd.Categorical(rng.choice(["Lyon", "Nice"], 80))
    model = CascadeForestClassifier(**SMALL).fit(frame, frame["age"] > 0)
    new = frame.head(10).copy()
    new["income"] = new["income"].astype(object)
    new.loc[4, "income"] = "n/a"
    with pytest.raises(
        ValueError,
        match=r"column 'income' held numbers when the model was fitted, and holds text here "
        r"\('n/a' in row 4\)",
    ):
        model.predict(new)
    new.loc[4, "income"] = "12.5"  # text that reads as a number is a number
    assert model.predict(new).shape == (10,)


def test_max_samples_auto_draws_at_most_8192_rows_a_regression_tree_and_all_for_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9000, 4))
    y = X[:, 0] + 0.5 * X[:, 1] ** 2 + 0.1 * rng.normal(size=9000)
    params = dict(
        n_trees=4, max_layers=1, boost_rounds=0, min_samples_leaf=8, out_of_sample="oob",
        random_state=0,
    )  # fmt: skip

    def fitted(estimator, target, max_samples):
        return estimator(max_samples=max_samples, **params).fit(X, target).predict(X[:500])

    auto = fitted(CascadeForestRegressor, y, "auto")
    np.testing.assert_array_equal(auto, fitted(CascadeForestRegressor, y, 8192))
    assert not np.array_equal(auto, fitted(CascadeForestRegressor, y, None))
    labels = (y > np.median(y)).astype(int)
    np.testing.assert_array_equal(
        fitted(CascadeForestClassifier, labels, "auto"),
        fitted(CascadeForestClassifier, labels, None),
    )
    # At or below the bound every row's worth is drawn, as before.
    small = CascadeForestRegressor(max_samples="auto", **params).fit(X[:8192], y[:8192])
    same = CascadeForestRegressor(max_samples=None, **params).fit(X[:8192], y[:8192])
    np.testing.assert_array_equal(small.predict(X[:500]), same.predict(X[:500]))


def test_max_features_auto_draws_every_feature_of_a_narrow_classification_table():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 9))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    params = dict(n_trees=8, max_layers=1, boost_rounds=0, min_samples_leaf=2, random_state=0)

    def proba(X, **extra):
        return CascadeForestClassifier(**params, **extra).fit(X, y).predict_proba(X)

    # Eight features: every one is a candidate; nine: the square root, as before.
    np.testing.assert_array_equal(proba(X[:, :8]), proba(X[:, :8], max_features=None))
    assert not np.array_equal(proba(X[:, :8]), proba(X[:, :8], max_features="sqrt"))
    np.testing.assert_array_equal(proba(X), proba(X, max_features="sqrt"))
    regressor = CascadeForestRegressor(max_features="auto", n_trees=8, max_layers=1)
    assert regressor.fit(X[:, :8], y).predict(X[:3, :8]).shape == (3,)
    assert resolved_max_features(regressor) == 1.0
