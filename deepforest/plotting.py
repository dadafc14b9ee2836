"""Plots of a fitted cascade: how it grew, and which features it used (matplotlib, optional).

``plot_history`` shows what the stopping rule saw: each layer's out-of-sample score with its
standard error, the layers kept, and the boosting stage's score; ``plot_importance`` the
features with the largest impurity-based importance, as XGBoost's and LightGBM's
``plot_importance`` do; ``plot_contributions`` one row's largest feature contributions from
``explain``. Each draws on a matplotlib ``Axes`` (a new figure's unless ``ax`` is given) and
returns it; matplotlib is imported only when a plot is drawn
(``pip install "deep-forest-learn[plot]"``).
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_contributions", "plot_history", "plot_importance"]


def _axes(ax):
    if ax is not None:
        return ax
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            'plotting needs matplotlib: pip install "deep-forest-learn[plot]"'
        ) from None
    return plt.subplots(figsize=(6.4, 3.6))[1]


def plot_history(model, *, ax=None):
    """Plot each grown layer's out-of-sample score, the layers kept, and the boosting stage.

    Parameters
    ----------
    model : CascadeForestClassifier, CascadeForestRegressor or GCForestClassifier
        A fitted cascade (a gcForest's cascade is plotted).
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes if None.

    Returns
    -------
    matplotlib.axes.Axes
        Error bars are one standard error of each score; filled markers are the layers kept,
        hollow ones those grown and dropped; a dotted line marks the depth chosen; a star is
        the boosting stage's held-out score, when the stage was searched.
    """
    cascade = _cascade(model)
    history = cascade.history_
    scores = np.asarray(history["score"], dtype=float)
    errors = np.asarray(history["score_se"], dtype=float)
    layers = np.arange(len(scores))
    kept = layers < cascade.n_layers_
    ax = _axes(ax)
    ax.errorbar(layers, scores, yerr=errors, color="0.6", linestyle="-", capsize=3, zorder=1)
    ax.scatter(layers[kept], scores[kept], color="C0", zorder=2, label="kept")
    if (~kept).any():
        ax.scatter(
            layers[~kept], scores[~kept], facecolor="white", edgecolor="C0", zorder=2,
            label="grown, dropped",
        )  # fmt: skip
    ax.axvline(cascade.n_layers_ - 1, color="C0", linestyle=":", linewidth=1)
    stage = history.get("boosting")
    if stage is not None and stage.get("score_after") is not None:
        ax.scatter(
            [cascade.n_layers_ - 1], [stage["score_after"]], marker="*", s=120, color="C1",
            zorder=3, label=f"with boosting ({stage['rounds']} rounds)",
        )  # fmt: skip
    ax.set_xticks(layers)
    ax.set_xlabel("layer")
    ax.set_ylabel(f"out-of-sample {_score_name(cascade)}")
    ax.set_title(f"{cascade.n_layers_} of {len(scores)} layers kept")
    ax.legend(loc="best", frameon=False)
    return ax


def plot_importance(model, *, max_features: int = 20, feature_names=None, ax=None):
    """Plot the features of largest impurity-based importance, largest on top.

    Parameters
    ----------
    model : CascadeForestClassifier, CascadeForestRegressor or GCForestClassifier
        A fitted cascade (a gcForest's cascade: its features are the scanner's outputs).
    max_features : int, default=20
        How many features to show.
    feature_names : sequence of str, default=None
        Names of the input features; the names seen in fit (a DataFrame's columns) if None,
        else ``x0``, ``x1``, ...
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes if None.

    Returns
    -------
    matplotlib.axes.Axes
    """
    cascade = _cascade(model)
    importances = np.asarray(cascade.feature_importances_, dtype=float)
    if feature_names is None:
        feature_names = getattr(cascade, "feature_names_in_", None)
    if feature_names is None:
        feature_names = [f"x{index}" for index in range(len(importances))]
    if len(feature_names) != len(importances):
        raise ValueError(
            f"feature_names has {len(feature_names)} names for {len(importances)} features"
        )
    if not (isinstance(max_features, (int, np.integer)) and max_features >= 1):
        raise ValueError(f"max_features must be a positive integer, got {max_features!r}")
    top = np.argsort(importances, kind="stable")[::-1][:max_features][::-1]
    ax = _axes(ax)
    ax.barh(np.arange(len(top)), importances[top], color="C0")
    ax.set_yticks(np.arange(len(top)), [str(feature_names[index]) for index in top])
    ax.set_xlabel("importance (impurity decrease, mean over the layers' forests)")
    ax.set_title(f"top {len(top)} of {len(importances)} features")
    return ax


def plot_contributions(explanation, *, row: int = 0, output=None, max_features: int = 10, ax=None):
    """Plot one row's largest feature contributions, from its base value to its prediction.

    Parameters
    ----------
    explanation : shap.Explanation or deepforest.Contributions
        What a cascade's ``explain`` returned.
    row : int, default=0
        Which explained row.
    output : class label, target name or None, default=None
        Which output of a classifier (a class label) or multi-output regressor (``"y0"``...);
        None: the row's largest output (for a classifier, the class it predicts).
    max_features : int, default=10
        How many features to show; the others are summed into one bar.
    ax : matplotlib.axes.Axes, default=None
        Where to draw; a new figure's axes if None.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per feature (largest magnitude on top; red raises the output, blue lowers it)
        with the feature's value in its label; the title gives the base value and the
        prediction they add up to.
    """
    values = np.asarray(explanation.values, dtype=float)
    base = np.asarray(explanation.base_values, dtype=float)
    if not (isinstance(row, (int, np.integer)) and -len(values) <= row < len(values)):
        raise ValueError(f"row must be an index of the {len(values)} explained rows, got {row!r}")
    if not (isinstance(max_features, (int, np.integer)) and max_features >= 1):
        raise ValueError(f"max_features must be a positive integer, got {max_features!r}")
    names = list(explanation.output_names or [])
    if values.ndim == 3:
        totals = base[row] + values[row].sum(axis=0)
        if output is None:
            index = int(np.argmax(totals))
        elif output in names:
            index = names.index(output)
        else:
            raise ValueError(f"output must be one of {names}, got {output!r}")
        contributions, start = values[row, :, index], base[row, index]
        label = f" of {names[index]!r}" if names else ""
    else:
        if output is not None:
            raise ValueError("a single-target explanation has no outputs to choose from")
        contributions, start, label = values[row], float(base[row]), ""
    features = list(explanation.feature_names)
    data = np.asarray(explanation.data, dtype=object)[row]
    order = np.argsort(np.abs(contributions), kind="stable")[::-1]
    shown, rest = order[:max_features], order[max_features:]
    bars = [contributions[i] for i in shown]
    labels = [f"{features[i]} = {_short(data[i])}" for i in shown]
    if len(rest):
        bars.append(float(contributions[rest].sum()))
        labels.append(f"{len(rest)} other features")
    bars, labels = bars[::-1], labels[::-1]
    ax = _axes(ax)
    colors = ["C3" if value > 0 else "C0" for value in bars]
    ax.barh(np.arange(len(bars)), bars, color=colors)
    ax.set_yticks(np.arange(len(bars)), labels)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    ax.set_xlabel(f"contribution to the prediction{label}")
    ax.set_title(f"base {start:.4g} + contributions = {start + contributions.sum():.4g}")
    return ax


def _short(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 20 else text[:19] + "…"


def _cascade(model):
    cascade = getattr(model, "cascade_", model)  # gcForest holds its cascade
    check_is_fitted(cascade, "layers_")
    return cascade


def _score_name(cascade) -> str:
    scoring = getattr(cascade, "scoring", None)
    if isinstance(scoring, str):
        return scoring
    return "accuracy" if cascade._is_classifier else "R²"
