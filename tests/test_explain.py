"""explain(): per-row feature contributions that add up to the prediction, traced through layers."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from deepforest import CascadeForestClassifier, CascadeForestRegressor, Contributions

# Contributions add up to the prediction to float precision, not approximately.
EXACT = 1e-10
# Three layers grown and kept, so that contributions pass through class vectors.
DEEP = dict(n_trees=30, max_layers=3, n_tolerant_rounds=3, max_loss_se=np.inf)


def _noisy(X, n_noise, seed):
    """X with ``n_noise`` columns of noise appended (each a shuffled copy of a real column)."""
    rng = np.random.default_rng(seed)
    noise = np.column_stack([rng.permutation(X[:, i % X.shape[1]]) for i in range(n_noise)])
    return np.hstack([X, noise])


def _assert_adds_up(explanation, expected):
    total = explanation.base_values + explanation.values.sum(axis=1)
    np.testing.assert_allclose(total, expected, rtol=0, atol=EXACT)


@pytest.fixture(scope="module")
def deep_classifier():
    """Three classes, two layers or more (so contributions pass through class vectors), and a
    boosting stage of fixed rounds (so they pass through the log and the softmax)."""
    X, y = load_wine(return_X_y=True)
    model = CascadeForestClassifier(**DEEP, boost_rounds=20, random_state=0).fit(X, y)
    assert model.n_layers_ >= 2 and model.booster_ is not None
    return model, X


def test_classifier_contributions_add_up_to_predict_proba_through_layers_and_softmax(
    deep_classifier,
):
    model, X = deep_classifier
    explanation = model.explain(X)
    assert explanation.values.shape == (len(X), X.shape[1], 3)
    assert explanation.base_values.shape == (len(X), 3)
    _assert_adds_up(explanation, model.predict_proba(X))
    # The base is the same for every row (no screening) and is a distribution.
    np.testing.assert_allclose(
        explanation.base_values, explanation.base_values[:1].repeat(len(X), 0)
    )
    assert explanation.base_values[0].sum() == pytest.approx(1.0)
    # A class probability's contributions sum to 0 over the classes: probabilities sum to 1.
    np.testing.assert_allclose(explanation.values.sum(axis=2), 0.0, atol=EXACT)


def test_given_background_sets_the_base_and_small_batches_are_explained(deep_classifier):
    model, X = deep_classifier
    explanation = model.explain(X[:3], background=X)
    _assert_adds_up(explanation, model.predict_proba(X[:3]))
    whole = model.explain(X, background=X)
    np.testing.assert_allclose(explanation.values, whole.values[:3], rtol=0, atol=EXACT)
    # A background of the rows lowest in alcohol expects another output.
    skewed = X[np.argsort(X[:, 0])[:60]]
    other = model.explain(X[:3], background=skewed)
    assert not np.allclose(other.base_values, explanation.base_values)
    _assert_adds_up(other, model.predict_proba(X[:3]))


def test_one_layer_base_value_is_the_mean_prediction_over_the_background():
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(n_trees=20, max_layers=1, boost_rounds=0, random_state=0)
    model.fit(X, y)
    background = X[::3]
    explanation = model.explain(X[:5], background=background)
    # A node's expected output weighs its children by the background rows that reach them, so
    # a tree's root expects the mean of its outputs over the background, and so does the forest.
    np.testing.assert_allclose(
        explanation.base_values[0], model.predict_proba(background).mean(axis=0), atol=EXACT
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_contributions_go_to_the_features_that_decide_and_not_to_noise(seed):
    X, y = load_breast_cancer(return_X_y=True)
    X = _noisy(X, 10, seed)
    train = np.random.default_rng(seed).random(len(X)) < 0.7
    model = CascadeForestClassifier(**DEEP, random_state=seed).fit(X[train], y[train])
    assert model.n_layers_ == 3
    explanation = model.explain(X[~train], background=X[train])
    strength = np.abs(explanation.values[:, :, 1]).mean(axis=0)
    real, noise = strength[:30], strength[30:]
    # The tumour's measures decide; shuffled copies of them decide nothing. The measures are
    # strongly correlated, so the credit spreads over many of them.
    assert strength.argmax() < 30
    assert real.max() > 5 * noise.max()
    assert noise.sum() < 0.1 * real.sum()


def test_regressor_contributions_add_up_to_predict_and_follow_the_signal():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(600, 6))
    y = 3 * X[:, 0] + np.sin(3 * X[:, 1]) + 0.05 * rng.normal(size=600)
    model = CascadeForestRegressor(**DEEP, random_state=0).fit(X, y)
    assert model.n_layers_ >= 2
    explanation = model.explain(X)
    assert explanation.values.shape == (600, 6) and explanation.base_values.shape == (600,)
    _assert_adds_up(explanation, model.predict(X))
    # Feature 0's contribution rises with it, as the target does (3 x0).
    slope = np.polyfit(X[:, 0], explanation.values[:, 0], 1)[0]
    assert 2.0 < slope < 4.0
    assert np.abs(explanation.values[:, 2:]).mean() < 0.1 * np.abs(explanation.values[:, 0]).mean()


def test_multi_output_regressor_and_boosting_stage_add_up():
    X, y = load_diabetes(return_X_y=True)
    Y = np.column_stack([y, -0.5 * y + 10 * X[:, 0]])
    model = CascadeForestRegressor(n_trees=20, boost_rounds=10, random_state=0).fit(X, Y)
    assert model.booster_ is not None
    explanation = model.explain(X)
    assert explanation.values.shape == (len(X), X.shape[1], 2)
    assert explanation.output_names == ["y0", "y1"]
    _assert_adds_up(explanation, model.predict(X))


def test_rows_screened_at_an_early_layer_start_from_that_layers_base():
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        **DEEP, confidence_screening=True, boost_rounds=0, random_state=0
    ).fit(X, y)
    assert model.n_layers_ >= 2
    explanation = model.explain(X)
    _assert_adds_up(explanation, model.predict_proba(X))
    bases = np.unique(explanation.base_values.round(12), axis=0)
    assert len(bases) >= 2  # some rows left at the first layer, some went on


def test_categorical_dataframe_spill_and_threads_give_the_same_numbers(tmp_path):
    rng = np.random.default_rng(0)
    n = 1500  # more than one block of rows per thread
    frame = pd.DataFrame(
        {
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "size": rng.normal(size=n),
            "noise": rng.normal(size=n),
        }
    )
    y = ((frame["colour"] == "red") ^ (frame["size"] > 0.3)).astype(int)
    params = dict(n_trees=20, max_layers=2, random_state=0)
    one = CascadeForestClassifier(n_jobs=1, **params).fit(frame, y)
    two = CascadeForestClassifier(n_jobs=2, spill_dir=tmp_path, **params).fit(frame, y)
    first, second = one.explain(frame), two.explain(frame)
    np.testing.assert_array_equal(first.values, second.values)
    _assert_adds_up(second, two.predict_proba(frame))
    assert first.feature_names == ["colour", "size", "noise"]
    assert list(first.data[0]) == list(frame.iloc[0])
    strength = np.abs(first.values[:, :, 1]).mean(axis=0)
    assert strength[2] < 0.2 * min(strength[0], strength[1])


def test_plain_contributions_without_shap(deep_classifier, monkeypatch):
    model, X = deep_classifier
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "shap" else real(name, *a)
    )
    explanation = model.explain(X)
    assert isinstance(explanation, Contributions)
    assert explanation.output_names == [0, 1, 2]
    _assert_adds_up(explanation, model.predict_proba(X))


def test_shap_plots_take_the_explanation(deep_classifier):
    shap = pytest.importorskip("shap")
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, X = deep_classifier
    explanation = model.explain(X)
    assert isinstance(explanation, shap.Explanation)
    shap.plots.waterfall(explanation[0, :, 1], show=False)
    shap.plots.beeswarm(explanation[:, :, 1], show=False)
    plt.close("all")


def test_what_explain_refuses_is_named():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(NotFittedError):
        CascadeForestClassifier().explain(X)
    model = CascadeForestClassifier(n_trees=10, max_layers=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match=r"too few to stand for the data.*background="):
        model.explain(X[:10])
    with pytest.raises(ValueError, match="0 sample"):
        model.explain(X[:10], background=X[:0])
    with pytest.raises(ValueError, match="30 features"):
        model.explain(X[:, :5], background=X)
    with pytest.raises(ValueError, match=r"^background: .*30 features"):
        model.explain(X, background=X[:, :5])


@pytest.mark.parametrize(
    "estimator, params, message",
    [
        (CascadeForestClassifier, {"predictor": "forest"}, "final predictor"),
        (CascadeForestClassifier, {"use_predictor": True}, "use_predictor unset"),
        (
            CascadeForestClassifier,
            {"layer_estimators": [LogisticRegression(max_iter=2000)]},
            "layer_estimators",
        ),
        (CascadeForestClassifier, {"engine": "sklearn"}, "engine='numba'"),
        (
            CascadeForestRegressor,
            {"criterion": "absolute_error"},
            "a criterion only scikit-learn's trees offer",
        ),
    ],
)
def test_parts_explain_cannot_trace_are_named(estimator, params, message):
    X, y = load_breast_cancer(return_X_y=True)
    model = estimator(n_trees=10, max_layers=1, random_state=0, **params).fit(X[:200], y[:200])
    with pytest.raises(ValueError, match=message):
        model.explain(X[:200])


def test_a_spilled_layer_is_read_once_for_the_background_and_once_per_batch(tmp_path, monkeypatch):
    from deepforest._core import spill

    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(**DEEP, spill_dir=tmp_path, random_state=0).fit(X, y)
    reads = []
    load = spill.SpilledLayer._load_forests
    monkeypatch.setattr(
        spill.SpilledLayer, "_load_forests", lambda self: reads.append(self) or load(self)
    )
    explanation = model.explain(X)  # 569 rows: one batch
    assert len(reads) == 2 * model.n_layers_
    _assert_adds_up(explanation, model.predict_proba(X))


def test_batches_keep_each_array_within_the_budget_and_give_the_same_numbers(monkeypatch):
    from deepforest import _explain

    assert _explain.batch_rows(30, 2) == _explain.MAX_BATCH_ROWS
    assert _explain.batch_rows(2240 + 40, 10) * 2280 * 10 * 8 <= _explain.EXPLAIN_BATCH_BYTES
    assert _explain.batch_rows(10**6, 10) == _explain.MIN_BATCH_ROWS
    X, y = load_wine(return_X_y=True)
    model = CascadeForestClassifier(**DEEP, boost_rounds=20, random_state=0).fit(X, y)
    whole = model.explain(X)
    monkeypatch.setattr(_explain, "MAX_BATCH_ROWS", 7)
    monkeypatch.setattr(_explain, "MIN_BATCH_ROWS", 7)
    np.testing.assert_allclose(model.explain(X).values, whole.values, rtol=0, atol=EXACT)
