"""Rendering a results directory: CSV and JSON tables, a Markdown report and figures.

Everything is derived from ``results.jsonl`` (one row per dataset, model and seed) and
``meta.json`` (command, machine, versions), so ``python -m benchmarks report DIR`` can render
a run that is still going or was interrupted. The report opens with the verdict
(``verdict``: winners, mean ranks, Friedman test and Nemenyi CD), then the results per task,
and draws each model's score against each of its costs (fit seconds, predicted rows per second,
peak memory, model size).
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path

import numpy as np

from .verdict import (
    dataset_verdicts,
    head_to_head,
    head_to_head_table,
    plot_cd_diagram,
    rank_table,
    rank_tests,
    test_lines,
    verdict_table,
)

# Published test accuracies (%) on the same splits, from ../shared/data/README.md.
REFERENCE = {
    "mnist": {
        "gcForest paper": "99.26 (scanning), 98.02 (cascade only)",
        "Deep-Forest 0.1.7 docs": "98.11 (cascade only)",
        "random forest": "96.80 (gcForest paper)",
        "MLP": "98.4-98.6",
    },
    "letter": {
        "gcForest paper": "97.40",
        "Deep-Forest 0.1.7 docs": "95.92 (15000/5000 split)",
        "random forest": "96.50 (gcForest paper)",
        "MLP": "95.70 (gcForest paper)",
    },
    "adult": {
        "gcForest paper": "86.40",
        "Deep-Forest 0.1.7 docs": "-",
        "random forest": "85.49 (gcForest paper)",
        "MLP": "85.25 (gcForest paper)",
    },
}
MODEL_ORDER = [
    "cascade",
    "cascade_hist_gb",
    "cascade_sklearn",
    "gcforest",
    "deep_forest_017",
    "random_forest",
    "xgboost",
    "lightgbm",
    "catboost",
    "hist_gb",
    "mlp",
    "cnn",
]
LABELS = {
    "cascade": "CascadeForest",
    "cascade_hist_gb": "CascadeForest + HistGB in layers",
    "cascade_sklearn": "CascadeForest (engine=sklearn)",
    "gcforest": "gcForest (scan + cascade)",
    "deep_forest_017": "Deep-Forest 0.1.7",
    "random_forest": "RandomForest (same trees)",
    "xgboost": "XGBoost",
    "lightgbm": "LightGBM",
    "catboost": "CatBoost",
    "hist_gb": "HistGradientBoosting",
    "mlp": "MLP",
    "cnn": "CNN (PyTorch)",
}
MARKERS = dict(zip(MODEL_ORDER, "oph*PsD<>^vX", strict=True))
# Ten colours of matplotlib's cycle, then two more: no two models share one.
COLORS = dict(zip(MODEL_ORDER, [f"C{i}" for i in range(10)] + ["black", "goldenrod"], strict=True))
SUMMARY_FIELDS = [
    "dataset",
    "task",
    "model",
    "n_seeds",
    "metric",
    "score_mean",
    "score_std",
    "accuracy_mean",
    "accuracy_std",
    "r2_mean",
    "r2_std",
    "mae_mean",
    "rmse_mean",
    "fit_seconds_mean",
    "fit_seconds_std",
    "fit_cpu_seconds_mean",
    "predict_seconds_mean",
    "predict_rows_per_second",
    "peak_delta_mb",
    "peak_rss_mb_max",
    "model_mb_mean",
    "notes",
]
ROW_FIELDS = [
    "dataset",
    "task",
    "model",
    "seed",
    "status",
    "metric",
    "score",
    "accuracy",
    "r2",
    "mae",
    "rmse",
    "fit_seconds",
    "fit_cpu_seconds",
    "predict_seconds",
    "predict_rows_per_second",
    "peak_rss_mb",
    "peak_delta_mb",
    "model_mb",
    "threads",
    "reason",
]


def read_rows(out: Path) -> list[dict]:
    """The rows of ``out/results.jsonl`` (empty when absent)."""
    path = Path(out) / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (NaN for one value; NaN and inf pass through, which
    ``statistics.stdev`` refuses)."""
    mean = float(np.mean(values))
    return mean, float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def _order(key: tuple[str, str], dataset_order: list[str]) -> tuple:
    dataset, model = key
    return (
        dataset_order.index(dataset) if dataset in dataset_order else len(dataset_order),
        MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER),
        model,
    )


def summarise(rows: list[dict], dataset_order: list[str] | None = None) -> list[dict]:
    """Aggregate the seeds of every (dataset, model) that ran.

    Parameters
    ----------
    rows : list of dict
        Rows of ``results.jsonl``.
    dataset_order : list of str, optional
        Order of datasets in the output.

    Returns
    -------
    summary : list of dict
        One dict per pair with the keys of :data:`SUMMARY_FIELDS`; std is NaN for one seed,
        and the fields of the other task (R² for classification, accuracy for regression)
        None.
    """
    dataset_order = dataset_order or []
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["status"] == "ok":
            groups.setdefault((row["dataset"], row["model"]), []).append(row)
    summary = []
    for key in sorted(groups, key=lambda k: _order(k, dataset_order)):
        runs = groups[key]
        # Rows of runs before regression existed hold only the accuracy.
        task = runs[0].get("task", "classification")
        score = _mean_std([r.get("score", r.get("accuracy")) for r in runs])
        fit = _mean_std([r["fit_seconds"] for r in runs])
        regression = task == "regression"
        rates = [r.get("predict_rows_per_second") for r in runs]
        summary.append(
            {
                "dataset": key[0],
                "task": task,
                "model": key[1],
                "n_seeds": len(runs),
                "metric": "r2" if regression else "accuracy",
                "score_mean": score[0],
                "score_std": score[1],
                "accuracy_mean": None if regression else score[0],
                "accuracy_std": None if regression else score[1],
                "r2_mean": score[0] if regression else None,
                "r2_std": score[1] if regression else None,
                "mae_mean": _mean_std([r["mae"] for r in runs])[0] if regression else None,
                "rmse_mean": _mean_std([r["rmse"] for r in runs])[0] if regression else None,
                "fit_seconds_mean": fit[0],
                "fit_seconds_std": fit[1],
                "fit_cpu_seconds_mean": _mean_std(
                    [r.get("fit_cpu_seconds", math.nan) for r in runs]
                )[0],
                "predict_seconds_mean": _mean_std([r["predict_seconds"] for r in runs])[0],
                "predict_rows_per_second": (_mean_std(rates)[0] if None not in rates else None),
                "peak_delta_mb": _fresh_peak(runs),
                "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs),
                "model_mb_mean": _mean_std([r["model_mb"] for r in runs])[0],
                "notes": _notes(key[1], runs),
            }
        )
    return summary


def _fresh_peak(runs: list[dict]) -> float:
    """Peak memory of the first seed, run in a fresh process (else the largest)."""
    fresh = [r["peak_delta_mb"] for r in runs if r.get("fresh_process")]
    return fresh[0] if fresh else max(r["peak_delta_mb"] for r in runs)


def _notes(model: str, runs: list[dict]) -> str:
    details = [r.get("details", {}) for r in runs]
    if model in (
        "cascade",
        "cascade_hist_gb",
        "cascade_sklearn",
        "gcforest",
        "deep_forest_017",
    ) and all("n_layers_" in d for d in details):
        kept = "/".join(str(d["n_layers_"]) for d in details)
        if not all("history" in d for d in details):
            imputed = "; NaN imputed (medians)" if any("imputed" in d for d in details) else ""
            return f"layers kept {kept}{imputed}"
        grown = "/".join(str(len(d["history"]["score"])) for d in details)
        boosting = ""
        if all("boosting" in d for d in details):
            boosting = "; boost rounds " + "/".join(str(d["boosting"]["rounds"]) for d in details)
        return f"layers kept {kept} of grown {grown}{boosting}"
    if model == "random_forest":
        return "trees " + "/".join(str(d.get("n_estimators")) for d in details)
    if model in ("xgboost", "lightgbm", "catboost"):
        return "rounds " + "/".join(
            str(d.get("rounds", d.get("best_iteration", -1) + 1)) for d in details
        )
    if model in ("mlp", "hist_gb"):
        return "iterations " + "/".join(str(d.get("n_iter")) for d in details)
    if model == "cnn":
        return "epochs " + "/".join(str(d.get("n_epochs")) for d in details)
    return ""


def _fmt(value, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def _accuracy_cell(entry: dict) -> str:
    mean = 100 * entry["score_mean"]
    std = entry["score_std"]
    if math.isnan(std):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {100 * std:.2f}"


def _r2_cell(entry: dict) -> str:
    mean, std = entry["score_mean"], entry["score_std"]
    if math.isnan(std):
        return f"{mean:.3f}"
    return f"{mean:.3f} ± {std:.3f}"


def _fit_cell(entry: dict) -> str:
    std = entry["fit_seconds_std"]
    if math.isnan(std):
        return _fmt(entry["fit_seconds_mean"])
    return f"{entry['fit_seconds_mean']:.1f} ± {std:.1f}"


def _rate(value) -> str:
    """Rows per second, in plain digits with thousands separated."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,.0f}"


def _costs(entry: dict) -> str:
    return (
        f"| {_fit_cell(entry)} | {_fmt(entry['fit_cpu_seconds_mean'], 0)} "
        f"| {_fmt(entry['predict_seconds_mean'], 2)} "
        f"| {_rate(entry.get('predict_rows_per_second'))} "
        f"| {_fmt(entry['peak_delta_mb'], 0)} | {_fmt(entry['model_mb_mean'])} "
        f"| {entry['n_seeds']} | {entry['notes']} |"
    )


COST_HEADER = (
    "| fit s | fit CPU s | predict s | predict rows/s | peak MB | model MB | seeds | notes |"
)
COST_ALIGN = "|---:|---:|---:|---:|---:|---:|---:|---|"


def markdown_table(summary: list[dict]) -> str:
    """The classification results as one Markdown table, a row per dataset and model."""
    lines = [
        "| dataset | model | test accuracy (%) " + COST_HEADER,
        "|---|---|---:" + COST_ALIGN,
    ]
    for entry in summary:
        if entry.get("task", "classification") != "classification":
            continue
        lines.append(
            f"| {entry['dataset']} | {LABELS.get(entry['model'], entry['model'])} "
            f"| {_accuracy_cell(entry)} " + _costs(entry)
        )
    return "\n".join(lines)


def regression_table(summary: list[dict]) -> str:
    """The regression results as one Markdown table: test R², MAE and RMSE, and the costs."""
    lines = [
        "| dataset | model | test R² | MAE | RMSE " + COST_HEADER,
        "|---|---|---:|---:|---:" + COST_ALIGN,
    ]
    for entry in summary:
        if entry.get("task") != "regression":
            continue
        lines.append(
            f"| {entry['dataset']} | {LABELS.get(entry['model'], entry['model'])} "
            f"| {_r2_cell(entry)} | {_fmt_g(entry['mae_mean'])} | {_fmt_g(entry['rmse_mean'])} "
            + _costs(entry)
        )
    return "\n".join(lines)


def _fmt_g(value) -> str:
    """Four significant digits: errors range from hundredths (rates) to thousands (prices)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.4g}"


def reference_table(datasets: list[str]) -> str:
    """Published accuracies for the datasets that have them, as a Markdown table."""
    names = [d for d in ("mnist", "letter", "adult") if d in datasets or f"{d}10k" in datasets]
    if not names:
        return ""
    columns = list(next(iter(REFERENCE.values())))
    lines = ["| dataset | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(REFERENCE[name][c] for c in columns) + " |")
    return "\n".join(lines)


def write_tables(out: Path, rows: list[dict], summary: list[dict], meta: dict) -> None:
    """``results.csv`` (per run), ``summary.csv`` (per pair) and ``results.json`` (all)."""
    with open(out / "results.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ROW_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "summary.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, SUMMARY_FIELDS)
        writer.writeheader()
        writer.writerows(summary)
    clean = [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in s.items()}
        for s in summary
    ]
    (out / "results.json").write_text(
        json.dumps({"meta": meta, "summary": clean, "runs": rows}, indent=1, default=str)
    )


# ------------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _log_ticks(ax) -> None:
    """Label a log x axis at 1, 2 and 5 times powers of ten, in plain numbers.

    Over more than three decades only the powers of ten are labelled, which would crowd
    otherwise.
    """
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    low, high = ax.get_xlim()
    wide = low > 0 and high / low > 1e3
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,) if wide else (1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grid(n: int, plt, width: float = 4.2, height: float = 3.4, columns: int = 3):
    columns = min(n, columns)
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False
    )
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return figure, flat[:n]


# Each cost of a model: its summary field, axis label and figure, and whether more is better.
COSTS = {
    "fit_seconds_mean": ("fit seconds", "accuracy_vs_fit_time.png", False),
    "predict_rows_per_second": (
        "predicted rows per second (whole test set)",
        "score_vs_predict_speed.png",
        True,
    ),
    "peak_delta_mb": ("peak memory above the data (MB)", "score_vs_peak_memory.png", False),
    "model_mb_mean": ("model size, pickled (MB)", "score_vs_model_size.png", False),
}
FIGURES_WITHOUT_COST = ("costs_overview.png", "cascade_layers.png", "cd_diagram.png")
# Log axes cannot show 0: a peak that did not rise above the data's level (the allocator reused
# its pages) is drawn at 1 MB, a smaller model at 1 kB.
COST_FLOOR = {"peak_delta_mb": 1.0, "model_mb_mean": 1e-3}


def _cost(entry: dict, cost: str) -> float | None:
    value = entry.get(cost)
    if value is None or math.isnan(value):
        return None
    return max(value, COST_FLOOR.get(cost, 1e-9))


def _legend_right(figure, axes, legend_width: float = 2.4) -> None:
    """One legend for all panels, to the right of them."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(handles.values(), handles.keys(), loc="center right", frameon=False)
    total_width = figure.get_figwidth() + legend_width
    figure.set_figwidth(total_width)
    figure.tight_layout(rect=(0, 0, 1 - legend_width / total_width, 1))


def plot_score_vs_cost(summary: list[dict], cost: str, path: Path) -> Path | None:
    """Test score against one cost, one panel per dataset, one marker per model.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`summarise`.
    cost : str
        A key of :data:`COSTS`.
    path : Path
        The PNG written.

    Returns
    -------
    path : Path or None
        None when no model has both a score and that cost.
    """
    label = COSTS[cost][0]
    entries = [s for s in summary if _cost(s, cost) is not None]
    datasets = list(dict.fromkeys(s["dataset"] for s in entries))
    if not datasets:
        return None
    plt = _pyplot()
    figure, axes = _grid(len(datasets), plt, columns=4 if len(datasets) > 6 else 3)
    for ax, dataset in zip(axes, datasets, strict=True):
        regression = False
        for entry in (s for s in entries if s["dataset"] == dataset):
            model = entry["model"]
            regression = entry.get("task") == "regression"
            scale = 1 if regression else 100
            std = entry["score_std"]
            ax.errorbar(
                _cost(entry, cost),
                scale * entry["score_mean"],
                yerr=None if math.isnan(std) else scale * std,
                marker=MARKERS.get(model, "o"),
                markersize=8,
                capsize=3,
                linestyle="none",
                label=LABELS.get(model, model),
                color=COLORS.get(model, "grey"),
            )
        ax.set_xscale("log")
        _log_ticks(ax)
        ax.set_title(dataset)
        ax.set_xlabel(f"{label} (log scale)")
        ax.set_ylabel("test R²" if regression else "test accuracy (%)")
        ax.grid(True, alpha=0.3)
    _legend_right(figure, axes)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def plot_accuracy_vs_time(summary: list[dict], path: Path) -> Path | None:
    """Test score against fit seconds, one panel per dataset, one marker per model."""
    return plot_score_vs_cost(summary, "fit_seconds_mean", path)


# How far below the best score the overview's y axis goes at most (accuracy points, R²); models
# further behind are drawn on its edge.
OVERVIEW_DEFICIT = {"classification": 15.0, "regression": 0.3}


def plot_costs_overview(summary: list[dict], path: Path, reference: str = "cascade") -> Path | None:
    """Every dataset at once: each model's gap to the best score against its cost ratio.

    One row of panels per task, one column per cost. A small mark is a (dataset, model): its
    score minus the dataset's best, against its cost over the cascade's on that dataset (or
    over the dataset's median cost, without a cascade). A large mark is the model's median
    over the datasets.
    """
    tasks = [t for t in ("classification", "regression") if any(_task(s) == t for s in summary)]
    if not tasks:
        return None
    plt = _pyplot()
    figure, axes = plt.subplots(
        len(tasks), len(COSTS), figsize=(4.0 * len(COSTS), 3.6 * len(tasks)), squeeze=False
    )
    for row, task in zip(axes, tasks, strict=True):
        entries = [s for s in summary if _task(s) == task]
        scale = 1 if task == "regression" else 100
        deficit = OVERVIEW_DEFICIT[task]
        best = {}
        for entry in entries:
            best[entry["dataset"]] = max(best.get(entry["dataset"], -math.inf), entry["score_mean"])
        for ax, (cost, (label, _, more_is_better)) in zip(row, COSTS.items(), strict=True):
            points: dict[str, list[tuple[float, float]]] = {}
            lowest = 0.0
            for dataset in best:
                costs = {s["model"]: _cost(s, cost) for s in entries if s["dataset"] == dataset}
                costs = {m: c for m, c in costs.items() if c is not None}
                if not costs:
                    continue
                base = costs.get(reference) or statistics.median(list(costs.values()))
                for entry in (s for s in entries if s["dataset"] == dataset):
                    if entry["model"] in costs:
                        gap = max(scale * (entry["score_mean"] - best[dataset]), -deficit)
                        lowest = min(lowest, gap)
                        points.setdefault(entry["model"], []).append(
                            (costs[entry["model"]] / base, gap)
                        )
            for model in sorted(points, key=_model_rank):
                xs, ys = zip(*points[model], strict=True)
                color, marker = COLORS.get(model, "grey"), MARKERS.get(model, "o")
                ax.scatter(xs, ys, s=14, color=color, marker=marker, alpha=0.35, linewidths=0)
                ax.scatter(
                    [math.exp(statistics.median([math.log(x) for x in xs]))],
                    [statistics.median(list(ys))],
                    s=90,
                    color=color,
                    marker=marker,
                    edgecolors="black",
                    linewidths=0.6,
                    label=LABELS.get(model, model),
                    zorder=3,
                )
            ax.axvline(1.0, color="0.5", linewidth=0.8)
            ax.axhline(0.0, color="0.5", linewidth=0.8)
            ax.set_xscale("log")
            _log_ticks(ax)
            margin = 0.05 * max(-lowest, deficit / 10)
            ax.set_ylim(lowest - margin, margin)
            ax.set_xlabel(f"{label}\nrelative to the {LABELS.get(reference, reference)}'s (log)")
            if more_is_better:
                ax.set_title(f"{task}: more is better →", fontsize=9)
            else:
                ax.set_title(f"{task}: ← less is better", fontsize=9)
            ax.grid(True, alpha=0.3)
        row[0].set_ylabel(
            "R² minus the dataset's best"
            if task == "regression"
            else "accuracy minus the dataset's\nbest (points)"
        )
    _legend_right(figure, [ax for row in axes for ax in row])
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _task(entry: dict) -> str:
    return entry.get("task", "classification")


def _model_rank(model: str) -> int:
    return MODEL_ORDER.index(model) if model in MODEL_ORDER else len(MODEL_ORDER)


def plot_cascade_layers(rows: list[dict], path: Path) -> Path | None:
    """The cascade's out-of-sample score per grown layer, one panel per dataset."""
    curves: dict[str, list[tuple[str, int, list[float], int]]] = {}
    regression = set()
    for row in rows:
        details = row.get("details") or {}
        history = (details.get("history") or {}).get("score")
        if row["status"] == "ok" and history and row["model"] in ("cascade", "gcforest"):
            curves.setdefault(row["dataset"], []).append(
                (row["model"], row["seed"], history, details.get("n_layers_", len(history)))
            )
            if row.get("task") == "regression":
                regression.add(row["dataset"])
    if not curves:
        return None
    plt = _pyplot()
    figure, axes = _grid(len(curves), plt, columns=4 if len(curves) > 6 else 3)
    for ax, (dataset, entries) in zip(axes, curves.items(), strict=True):
        # A regressor's layer score is its out-of-sample R², drawn as it is.
        scale = 1 if dataset in regression else 100
        for model, seed, history, kept in entries:
            color = "C0" if model == "cascade" else "C1"
            layers = range(1, len(history) + 1)
            ax.plot(
                layers,
                [scale * v for v in history],
                marker=".",
                color=color,
                alpha=0.7,
                label=LABELS.get(model, model) if seed == 0 else None,
            )
            ax.plot(
                [kept],
                [scale * history[kept - 1]],
                marker="o",
                markersize=9,
                markerfacecolor="none",
                color=color,
            )
        ax.set_title(dataset)
        ax.set_xlabel("layer")
        ax.set_ylabel(
            "out-of-sample training R²"
            if dataset in regression
            else "out-of-sample training accuracy (%)"
        )
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small", title="circle: last kept layer", title_fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


# ------------------------------------------------------------------------------ markdown
def _fewer_seeds(meta: dict) -> str:
    fewer = {**meta.get("seeds_by_model", {}), **meta.get("seeds_by_dataset", {})}
    if not fewer:
        return ""
    return "; fewer seeds for " + ", ".join(f"{k}: {v}" for k, v in fewer.items())


# Cascade parameters the harness sets per run, not defaults worth reporting.
PER_RUN_PARAMS = ("verbose", "random_state", "n_jobs")


def merge(out: str | Path, sources: list[str | Path]) -> Path:
    """Combine the rows of several results directories into ``out`` (then render it).

    Rows of a later source replace those of an earlier one for the same dataset and model, so
    a partial run can be completed by another. The metadata keeps every source's command.

    Parameters
    ----------
    out : path-like
        The combined directory (created).
    sources : list of path-like
        Results directories, each with ``results.jsonl`` and ``meta.json``.

    Returns
    -------
    out : Path
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[tuple[str, str], list[dict]] = {}
    # Which source's rows each (dataset, model) pair keeps, skipped pairs aside.
    kept_from: dict[tuple[str, str], int] = {}
    metas = []
    for index, source in enumerate(sources):
        source = Path(source)
        metas.append(json.loads((source / "meta.json").read_text()))
        by_pair: dict[tuple[str, str], list[dict]] = {}
        for row in read_rows(source):
            by_pair.setdefault((row["dataset"], row["model"]), []).append(row)
            if row.get("status") != "skipped":
                kept_from[(row["dataset"], row["model"])] = index
        rows.update(by_pair)
    meta = dict(metas[0])
    meta["command"] = " ; ".join(m.get("command", "?") for m in metas)
    meta["suite"] = " + ".join(dict.fromkeys(str(m.get("suite", "?")) for m in metas))
    meta["datasets"] = {k: v for m in metas for k, v in m.get("datasets", {}).items()}
    ran = set(meta["datasets"])
    meta["skipped"] = [s for m in metas for s in m.get("skipped", []) if s["dataset"] not in ran]
    meta["started"] = min(m.get("started", "") for m in metas)
    meta["finished"] = max(m.get("finished", "(not finished)") for m in metas)
    meta["total_seconds"] = sum(m.get("total_seconds") or 0 for m in metas)
    meta["load_average_at_start"] = [
        m.get("machine", {}).get("load_average_at_start") for m in metas
    ]
    meta["sources"] = [str(s) for s in sources]
    # Each source ran at its own commit, load and cascade defaults: keep them run by run, with
    # the pairs whose rows survived the merge.
    meta["runs"] = [
        {
            "source": str(source),
            "command": m.get("command"),
            "git_commit": m.get("git_commit"),
            "started": m.get("started"),
            "finished": m.get("finished"),
            "load_average_at_start": m.get("machine", {}).get("load_average_at_start"),
            "load_average_at_end": m.get("load_average_at_end"),
            "cascade_defaults": m.get("cascade_defaults", {}),
            "pairs": [f"{d}/{n}" for (d, n), i in kept_from.items() if i == index],
        }
        for index, (source, m) in enumerate(zip(sources, metas, strict=True))
    ]
    (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))
    with open(out / "results.jsonl", "w", encoding="utf-8") as handle:
        for pair_rows in rows.values():
            for row in pair_rows:
                handle.write(json.dumps(row, default=str) + "\n")
    return out


def _meta_markdown(meta: dict) -> str:
    machine = meta.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    defaults = ", ".join(
        f"{k}={v}" for k, v in meta.get("cascade_defaults", {}).items() if k not in PER_RUN_PARAMS
    )
    lines = [
        f"- command: `{meta.get('command', '?')}`",
        f"- suite: {meta.get('suite')} ({meta.get('suite_description', '')}); seeds: "
        f"{meta.get('seeds')}" + _fewer_seeds(meta),
        f"- threads per model: {meta.get('threads')} (n_jobs / nthread / OpenMP / BLAS); "
        f"OMP_WAIT_POLICY={meta.get('omp_wait_policy', '?')}",
        f"- machine: {machine.get('cpu', '?')}, {machine.get('usable_cpus', '?')} usable cores, "
        f"{machine.get('memory_gib', '?')} GiB; {machine.get('platform', '')}; load average "
        f"at start {machine.get('load_average_at_start')}, at end "
        f"{meta.get('load_average_at_end', '?')} (1, 5, 15 min)",
        f"- versions: {versions}",
        f"- git commit: {meta.get('git_commit')}",
        f"- cascade defaults at run time: {defaults}",
        f"- started {meta.get('started')}, finished {meta.get('finished', '(not finished)')}"
        + (f", {meta['total_seconds']:.0f} s" if meta.get("total_seconds") else ""),
        f"- timing: {meta.get('timing', '')}",
    ]
    if meta.get("params_overrides"):
        lines.append(f"- parameter overrides: {meta['params_overrides']}")
    if meta.get("runs"):
        # A merged report: the lines above describe its first run; say what differs per run.
        first = meta["runs"][0].get("cascade_defaults", {})
        lines.append("- runs merged (later ones win per dataset and model):")
        for run in meta["runs"]:
            changed = {
                k: v
                for k, v in run.get("cascade_defaults", {}).items()
                if first.get(k) != v and k not in PER_RUN_PARAMS
            }
            lines.append(
                f"  - `{run.get('command')}`: commit {run.get('git_commit')}, "
                f"{run.get('started')} to {run.get('finished')}, load average at start "
                f"{run.get('load_average_at_start')}, at end {run.get('load_average_at_end')}"
                + (f"; cascade defaults differing from the first run: {changed}" if changed else "")
                + f"; rows kept: {', '.join(run.get('pairs', [])) or 'none'}"
            )
    return "\n".join(lines)


def render(out: str | Path, plots: bool = True) -> Path:
    """Write the tables, figures and ``report.md`` of a results directory.

    Parameters
    ----------
    out : path-like
        A directory with ``results.jsonl`` and ``meta.json``.
    plots : bool, default=True
        Whether to draw the figures (needs matplotlib).

    Returns
    -------
    report : Path
        The path of ``report.md``.
    """
    out = Path(out)
    meta_path = out / "meta.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    rows = read_rows(out)
    dataset_order = list(meta.get("datasets", {})) or list(
        dict.fromkeys(r["dataset"] for r in rows)
    )
    summary = summarise(rows, dataset_order)
    write_tables(out, rows, summary, meta)
    tests = rank_tests(summary)
    figures = []
    if plots:
        directory = out / "figures"
        directory.mkdir(exist_ok=True)
        drawn = [
            plot_score_vs_cost(summary, cost, directory / name)
            for cost, (_, name, _) in COSTS.items()
        ]
        if len(dataset_order) > 1:
            drawn.append(plot_costs_overview(summary, directory / "costs_overview.png"))
        drawn.append(plot_cascade_layers(rows, directory / "cascade_layers.png"))
        drawn.append(plot_cd_diagram(tests, LABELS, directory / "cd_diagram.png"))
        figures = [path.name for path in drawn if path is not None]
        # A figure of an earlier rendering that has nothing to show now would be stale.
        for name in [*(c[1] for c in COSTS.values()), *FIGURES_WITHOUT_COST]:
            if name not in figures:
                (directory / name).unlink(missing_ok=True)
    skipped = [r for r in rows if r["status"] == "skipped"]
    errors = [r for r in rows if r["status"] == "error"]
    parts = [f"# Benchmark results: {meta.get('suite', '?')} suite", ""]
    verdicts = dataset_verdicts(summary)
    if verdicts:
        parts += [
            "## Verdict",
            "",
            verdict_table(verdicts, LABELS),
            "",
            "Per dataset, the model with the best mean test score (accuracy in %, or R²), its "
            "lead over the runner-up, the CascadeForest's score and its gap to the best (when "
            "the cascade wins: its lead over the runner-up), whether that gap exceeds two "
            "standard errors of the difference of the means over seeds "
            "(sqrt(s1²/n1 + s2²/n2)), and the fit seconds of the winner against the cascade's.",
        ]
        comparisons = head_to_head(summary)
        if comparisons:
            parts += [
                "",
                "### Each model against the cascade",
                "",
                head_to_head_table(comparisons, LABELS),
                "",
                "Datasets where the model's mean score is above, below or equal to the "
                "CascadeForest's (in brackets: by more than two standard errors over seeds), and "
                "the median over those datasets of the model's cost over the cascade's: below "
                "1 x it fits faster, needs less memory or stores less; above 1 x it predicts "
                "more rows per second.",
            ]
        ranked = rank_table(tests, LABELS)
        if ranked:
            parts += [
                "",
                "### Mean ranks",
                "",
                ranked,
                "",
                "Rank 1 is the best mean score on a dataset (ties share their mean rank); the "
                "mean is over the datasets where every model compared has a score. `*`: not "
                "significantly worse than the best model of that column (mean rank within the "
                "Nemenyi critical difference, Demšar 2006).",
                "",
                *test_lines(tests, LABELS),
            ]
        if "cd_diagram.png" in figures:
            parts += ["", "![cd_diagram.png](figures/cd_diagram.png)"]
    parts += ["", "## Results", ""]
    if any(s.get("task", "classification") == "classification" for s in summary):
        parts += [markdown_table(summary), ""]
    if any(s.get("task") == "regression" for s in summary):
        parts += [regression_table(summary), ""]
    parts += [
        "Scores are the mean ± sample standard deviation over seeds on the fixed test split "
        "(accuracy in %; R², with the mean absolute and root-mean-square errors, for "
        "regression); fit and predict are wall-clock seconds (fit CPU s: user + system seconds "
        "of all threads); predict rows/s is the test rows over the predict seconds, the whole "
        "test set in one call; peak MB is the resident-memory high-water mark above the level "
        "after loading the data (first seed, in a fresh process); model MB is the pickled "
        "size.",
    ]
    if meta.get("skipped"):
        parts += ["", "Datasets skipped:", ""]
        parts += [f"- {s['dataset']}: {s['reason']}" for s in meta["skipped"]]
    if skipped:
        parts += ["", "Models skipped:", ""]
        seen = set()
        for row in skipped:
            if (row["model"], row["reason"]) not in seen:
                seen.add((row["model"], row["reason"]))
                parts.append(f"- {row['model']}: {row['reason']}")
    if errors:
        parts += ["", "Errors:", ""]
        parts += [
            f"- {r['dataset']}/{r['model']} seed {r.get('seed')}: {r.get('reason')}" for r in errors
        ]
    reference = reference_table(dataset_order)
    if reference:
        parts += [
            "",
            "Published test accuracies (%) on the same splits, for comparison:",
            "",
            reference,
        ]
    others = [f for f in figures if f != "cd_diagram.png"]
    if others:
        parts += ["", "Figures:", ""] + [f"![{f}](figures/{f})" for f in others]
    parts += ["", "## Setup", "", _meta_markdown(meta), ""]
    report = out / "report.md"
    report.write_text("\n".join(parts))
    return report
