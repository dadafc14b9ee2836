"""deepforest.plotting: what the plots show, read back from the matplotlib axes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import NotFittedError

from deepforest import CascadeForestClassifier, CascadeForestRegressor, GCForestClassifier
from deepforest.plotting import plot_contributions, plot_history, plot_importance

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(scope="module")
def cascade():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return CascadeForestClassifier(
        n_trees=10, max_layers=4, n_tolerant_rounds=3, max_loss_se=0.0, random_state=0
    ).fit(X, y)


def test_the_history_shows_every_layer_grown_and_which_were_kept(cascade):
    ax = plot_history(cascade)
    grown = len(cascade.history_["score"])
    kept, *rest = ax.collections[1:]  # after the error bars: kept, then dropped, then boosting
    np.testing.assert_allclose(
        kept.get_offsets()[:, 1], cascade.history_["score"][: cascade.n_layers_]
    )
    dropped = [c for c in rest if c.get_label() == "grown, dropped"]
    assert len(dropped) == (grown > cascade.n_layers_)
    assert ax.get_title() == f"{cascade.n_layers_} of {grown} layers kept"
    (depth,) = [line for line in ax.lines if line.get_linestyle() == ":"]
    assert depth.get_xdata()[0] == cascade.n_layers_ - 1
    boosting = [c for c in rest if c.get_label().startswith("with boosting")]
    assert len(boosting) == 1
    assert boosting[0].get_offsets()[0, 1] == pytest.approx(
        cascade.history_["boosting"]["score_after"]
    )
    assert ax.get_ylabel() == "out-of-sample accuracy"
    plt.close(ax.figure)


def test_importances_are_the_largest_first_named_by_the_columns(cascade):
    ax = plot_importance(cascade, max_features=5)
    widths = [bar.get_width() for bar in ax.patches]
    expected = np.sort(cascade.feature_importances_)[::-1][:5][::-1]
    np.testing.assert_allclose(widths, expected)
    names = [label.get_text() for label in ax.get_yticklabels()]
    top = np.argsort(cascade.feature_importances_)[::-1][:5][::-1]
    assert names == list(cascade.feature_names_in_[top])
    plt.close(ax.figure)


def test_plots_draw_on_given_axes_for_a_regressor_and_a_gcforest():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    regressor = CascadeForestRegressor(n_trees=6, max_layers=2, random_state=0)
    regressor.fit(X, X[:, 1] * 2)
    figure, (left, right) = plt.subplots(1, 2)
    assert plot_history(regressor, ax=left) is left and left.get_ylabel() == "out-of-sample R²"
    assert plot_importance(regressor, ax=right) is right
    assert [label.get_text() for label in right.get_yticklabels()][-1] == "x1"
    plt.close(figure)
    X, y = load_digits(return_X_y=True)
    gcforest = GCForestClassifier(
        image_shape=(8, 8), window_sizes=[4], scan_n_trees=4, max_windows=2000, n_trees=6,
        max_layers=1, random_state=0,
    ).fit(X[:300], y[:300])  # fmt: skip
    ax = plot_history(gcforest)
    assert ax.get_title().startswith("1 of ")
    plt.close(ax.figure)


def test_mistakes_are_named():
    with pytest.raises(NotFittedError):
        plot_history(CascadeForestClassifier())
    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="feature_names has 2 names for 30 features"):
        plot_importance(model, feature_names=["a", "b"])
    with pytest.raises(ValueError, match="max_features must be a positive integer"):
        plot_importance(model, max_features=0)


def test_without_matplotlib_the_error_says_what_to_install(monkeypatch):
    import sys

    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r'pip install "deep-forest-learn\[plot\]"'):
        plot_history(model)


def test_contributions_show_one_rows_largest_features_and_add_up():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = CascadeForestClassifier(n_trees=10, max_layers=2, random_state=0).fit(X, y)
    explanation = model.explain(X.iloc[:3], background=X)
    ax = plot_contributions(explanation, row=1, max_features=5)
    predicted = int(np.argmax(model.predict_proba(X.iloc[1:2])))
    values = explanation.values[1, :, predicted]
    order = np.argsort(np.abs(values))[::-1]
    bars = [patch.get_width() for patch in ax.patches]
    # Top to bottom: the five largest by magnitude, then the rest summed into one bar.
    np.testing.assert_allclose(bars[::-1], [*values[order[:5]], values[order[5:]].sum()])
    labels = [label.get_text() for label in ax.get_yticklabels()][::-1]
    assert labels[0] == f"{X.columns[order[0]]} = {X.iloc[1, order[0]]:.4g}"
    assert labels[-1] == "25 other features"
    assert all((p.get_facecolor()[0] > 0.5) == (p.get_width() > 0) for p in ax.patches)  # red up
    start = float(ax.get_title().split()[1])
    assert start == pytest.approx(explanation.base_values[1, predicted], rel=1e-3)
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="output must be one of"):
        plot_contributions(explanation, output="benign")
    with pytest.raises(ValueError, match="row must be an index"):
        plot_contributions(explanation, row=3)
