"""Rendering a results directory: CSV and JSON tables, a Markdown report and figures.

Everything is derived from ``results.jsonl`` (one row per dataset, model and seed) and
``meta.json`` (command, machine, versions), so ``python -m benchmarks report DIR`` can render
a run that is still going or was interrupted.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

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
    "hist_gb": "HistGradientBoosting",
    "mlp": "MLP",
    "cnn": "CNN (PyTorch)",
}
MARKERS = dict(zip(MODEL_ORDER, "oph*PsD^vX", strict=True))
SUMMARY_FIELDS = [
    "dataset",
    "model",
    "n_seeds",
    "accuracy_mean",
    "accuracy_std",
    "fit_seconds_mean",
    "fit_seconds_std",
    "fit_cpu_seconds_mean",
    "predict_seconds_mean",
    "peak_delta_mb",
    "peak_rss_mb_max",
    "model_mb_mean",
    "notes",
]
ROW_FIELDS = [
    "dataset",
    "model",
    "seed",
    "status",
    "accuracy",
    "fit_seconds",
    "fit_cpu_seconds",
    "predict_seconds",
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
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, math.nan
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


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
        One dict per pair with the keys of :data:`SUMMARY_FIELDS`; std is NaN for one seed.
    """
    dataset_order = dataset_order or []
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["status"] == "ok":
            groups.setdefault((row["dataset"], row["model"]), []).append(row)
    summary = []
    for key in sorted(groups, key=lambda k: _order(k, dataset_order)):
        runs = groups[key]
        accuracy = _mean_std([r["accuracy"] for r in runs])
        fit = _mean_std([r["fit_seconds"] for r in runs])
        summary.append(
            {
                "dataset": key[0],
                "model": key[1],
                "n_seeds": len(runs),
                "accuracy_mean": accuracy[0],
                "accuracy_std": accuracy[1],
                "fit_seconds_mean": fit[0],
                "fit_seconds_std": fit[1],
                "fit_cpu_seconds_mean": _mean_std(
                    [r.get("fit_cpu_seconds", math.nan) for r in runs]
                )[0],
                "predict_seconds_mean": _mean_std([r["predict_seconds"] for r in runs])[0],
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
            return f"layers kept {kept}"
        grown = "/".join(str(len(d["history"]["score"])) for d in details)
        return f"layers kept {kept} of grown {grown}"
    if model == "random_forest":
        return "trees " + "/".join(str(d.get("n_estimators")) for d in details)
    if model == "xgboost":
        return "rounds " + "/".join(str(d.get("best_iteration", 0) + 1) for d in details)
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
    mean = 100 * entry["accuracy_mean"]
    std = entry["accuracy_std"]
    if math.isnan(std):
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {100 * std:.2f}"


def _fit_cell(entry: dict) -> str:
    std = entry["fit_seconds_std"]
    if math.isnan(std):
        return _fmt(entry["fit_seconds_mean"])
    return f"{entry['fit_seconds_mean']:.1f} ± {std:.1f}"


def markdown_table(summary: list[dict]) -> str:
    """The results as one Markdown table, a row per dataset and model."""
    lines = [
        "| dataset | model | test accuracy (%) | fit s | fit CPU s | predict s | peak MB "
        "| model MB | seeds | notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for entry in summary:
        lines.append(
            f"| {entry['dataset']} | {LABELS.get(entry['model'], entry['model'])} "
            f"| {_accuracy_cell(entry)} | {_fit_cell(entry)} "
            f"| {_fmt(entry['fit_cpu_seconds_mean'], 0)} "
            f"| {_fmt(entry['predict_seconds_mean'], 2)} | {_fmt(entry['peak_delta_mb'], 0)} "
            f"| {_fmt(entry['model_mb_mean'])} | {entry['n_seeds']} | {entry['notes']} |"
        )
    return "\n".join(lines)


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
    """Label a log x axis at 1, 2 and 5 times powers of ten, in plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def _grid(n: int, plt, width: float = 4.2, height: float = 3.4):
    columns = min(n, 3)
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(
        rows, columns, figsize=(width * columns, height * rows), squeeze=False
    )
    flat = [ax for row in axes for ax in row]
    for ax in flat[n:]:
        ax.set_visible(False)
    return figure, flat[:n]


def plot_accuracy_vs_time(summary: list[dict], path: Path) -> Path | None:
    """Test accuracy against fit seconds, one panel per dataset, one marker per model."""
    datasets = list(dict.fromkeys(s["dataset"] for s in summary))
    if not datasets:
        return None
    plt = _pyplot()
    figure, axes = _grid(len(datasets), plt)
    for ax, dataset in zip(axes, datasets, strict=True):
        for entry in (s for s in summary if s["dataset"] == dataset):
            model = entry["model"]
            std = entry["accuracy_std"]
            ax.errorbar(
                entry["fit_seconds_mean"],
                100 * entry["accuracy_mean"],
                yerr=None if math.isnan(std) else 100 * std,
                marker=MARKERS.get(model, "o"),
                markersize=8,
                capsize=3,
                linestyle="none",
                label=LABELS.get(model, model),
                color=f"C{MODEL_ORDER.index(model) if model in MODEL_ORDER else 9}",
            )
        ax.set_xscale("log")
        _log_ticks(ax)
        ax.set_title(dataset)
        ax.set_xlabel("fit seconds (log scale)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(handles.values(), handles.keys(), loc="center right", frameon=False)
    legend_width = 2.4
    total_width = figure.get_figwidth() + legend_width
    figure.set_figwidth(total_width)
    figure.tight_layout(rect=(0, 0, 1 - legend_width / total_width, 1))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_cascade_layers(rows: list[dict], path: Path) -> Path | None:
    """The cascade's out-of-sample score per grown layer, one panel per dataset."""
    curves: dict[str, list[tuple[str, int, list[float], int]]] = {}
    for row in rows:
        details = row.get("details") or {}
        history = (details.get("history") or {}).get("score")
        if row["status"] == "ok" and history and row["model"] in ("cascade", "gcforest"):
            curves.setdefault(row["dataset"], []).append(
                (row["model"], row["seed"], history, details.get("n_layers_", len(history)))
            )
    if not curves:
        return None
    plt = _pyplot()
    figure, axes = _grid(len(curves), plt)
    for ax, (dataset, entries) in zip(axes, curves.items(), strict=True):
        for model, seed, history, kept in entries:
            color = "C0" if model == "cascade" else "C1"
            layers = range(1, len(history) + 1)
            ax.plot(
                layers,
                [100 * v for v in history],
                marker=".",
                color=color,
                alpha=0.7,
                label=LABELS.get(model, model) if seed == 0 else None,
            )
            ax.plot(
                [kept],
                [100 * history[kept - 1]],
                marker="o",
                markersize=9,
                markerfacecolor="none",
                color=color,
            )
        ax.set_title(dataset)
        ax.set_xlabel("layer")
        ax.set_ylabel("out-of-sample training accuracy (%)")
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
    figures = []
    if plots:
        (out / "figures").mkdir(exist_ok=True)
        for name, made in (
            (
                "accuracy_vs_fit_time.png",
                plot_accuracy_vs_time(summary, out / "figures" / "accuracy_vs_fit_time.png"),
            ),
            (
                "cascade_layers.png",
                plot_cascade_layers(rows, out / "figures" / "cascade_layers.png"),
            ),
        ):
            if made is not None:
                figures.append(name)
    skipped = [r for r in rows if r["status"] == "skipped"]
    errors = [r for r in rows if r["status"] == "error"]
    parts = [
        f"# Benchmark results: {meta.get('suite', '?')} suite",
        "",
        markdown_table(summary),
        "",
        "Accuracy is the mean ± sample standard deviation over seeds on the fixed test split; "
        "fit and predict are wall-clock seconds (fit CPU s: user + system seconds of all "
        "threads); peak MB is the resident-memory high-water mark above the level after "
        "loading the data (first seed, in a fresh process); model MB is the pickled size.",
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
    if figures:
        parts += ["", "Figures:", ""] + [f"![{f}](figures/{f})" for f in figures]
    parts += ["", "## Setup", "", _meta_markdown(meta), ""]
    report = out / "report.md"
    report.write_text("\n".join(parts))
    return report
