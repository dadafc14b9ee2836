"""Is depth what matters? Three sweeps that take the question to data.

``depth``
    Cascades at the library's defaults capped at ``k`` layers, for ``k`` in :data:`DEPTHS`,
    with growth forced to ``k`` (``max_layers=k, n_tolerant_rounds=k``): the model keeps the
    best prefix by out-of-sample score, as a user capping depth would get. With one seed the
    first ``k`` layers are the same in every run (the random stream is consumed in the same
    order), so the points differ only by how deep the cascade may go. The deepest run's
    per-layer out-of-sample score is plotted too.
``width``
    Trees per forest (:data:`WIDTHS`, four forests per layer at the default ``n_estimators``),
    once for a single layer (``max_layers=1``) and once for the cascade with its default
    growth. Width and depth are then comparable at an equal number of trees.
``mlp``
    ``MLPClassifier`` (standardised inputs, early stopping, as in the main suite) with 1 to 8
    hidden layers of equal width, the width chosen so that every network has the same number
    of parameters (:data:`MLP_BUDGETS`, weights and biases).

Points are appended to ``depth.jsonl`` as they come; ``depth.md``, ``depth.csv`` and the
figures ``depth_layers.png``, ``width_trees.png`` and ``mlp_deep_vs_wide.png`` are rendered from
it (``python -m benchmarks report DIR`` re-renders).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

DEPTHS = [1, 2, 3, 5, 8]
WIDTHS = [10, 25, 50, 100, 200, 400]
MLP_DEPTHS = [1, 2, 3, 4, 6, 8]
MLP_BUDGETS = [50_000]


@dataclass
class DepthConfig:
    """Settings of ``python -m benchmarks depth``."""

    out: str = "benchmarks/results/depth"
    data_dir: str | None = None
    datasets: list[str] = field(default_factory=lambda: ["letter", "mnist10k"])
    studies: list[str] = field(default_factory=lambda: ["depth", "width", "mlp"])
    seeds: int = 1
    threads: int = 2
    allow_download: bool = True
    command: str = ""


def mlp_parameters(n_inputs: int, width: int, n_hidden: int, n_outputs: int) -> int:
    """Weights and biases of an MLP with ``n_hidden`` hidden layers of ``width`` units.

    Parameters
    ----------
    n_inputs, width, n_hidden, n_outputs : int

    Returns
    -------
    count : int
    """
    count = (n_inputs + 1) * width + (n_hidden - 1) * (width + 1) * width
    return count + (width + 1) * n_outputs


def width_for_budget(n_inputs: int, n_hidden: int, n_outputs: int, budget: int) -> int:
    """The hidden width whose parameter count is closest to ``budget``."""
    best, best_gap = 1, math.inf
    for width in range(1, 4096):
        gap = abs(mlp_parameters(n_inputs, width, n_hidden, n_outputs) - budget)
        if gap < best_gap:
            best, best_gap = width, gap
        elif mlp_parameters(n_inputs, width, n_hidden, n_outputs) > budget:
            break
    return best


def _cascade_point(dataset, threads: int, seed: int, **params) -> dict:
    from deepforest import CascadeForestClassifier

    model = CascadeForestClassifier(n_jobs=threads, random_state=seed, **params)
    start = time.perf_counter()
    model.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    accuracy = float(model.score(dataset.X_test, dataset.y_test))
    layers_grown = len(model.history_["score"])
    return {
        "accuracy": accuracy,
        "fit_seconds": fit_seconds,
        "n_layers": int(model.n_layers_),
        "layers_grown": layers_grown,
        "trees_grown": int(model.n_estimators * 2 * model.n_trees * layers_grown),
        "trees_kept": int(model.n_estimators * 2 * model.n_trees * model.n_layers_),
        "history": [float(v) for v in model.history_["score"]],
    }


def _mlp_point(dataset, seed: int, hidden: tuple[int, ...]) -> dict:
    from .models import make_mlp

    model = make_mlp(seed, hidden_layer_sizes=hidden)
    start = time.perf_counter()
    model.fit(dataset.X_train, dataset.y_train)
    fit_seconds = time.perf_counter() - start
    return {
        "accuracy": float(model.score(dataset.X_test, dataset.y_test)),
        "fit_seconds": fit_seconds,
        "n_iter": int(model[-1].n_iter_),
    }


def _points(config: DepthConfig, dataset) -> list[tuple[str, dict, callable]]:
    """(study, description, thunk) for every point of the requested studies."""
    from deepforest import CascadeForestClassifier

    defaults = CascadeForestClassifier().get_params()
    points = []
    for seed in range(config.seeds):
        if "depth" in config.studies:
            for k in DEPTHS:
                points.append(
                    (
                        "depth",
                        {"seed": seed, "max_layers": k},
                        lambda k=k, seed=seed: _cascade_point(
                            dataset, config.threads, seed, max_layers=k, n_tolerant_rounds=k
                        ),
                    )
                )
        if "width" in config.studies:
            widths = sorted(set(WIDTHS) | {defaults["n_trees"]})
            for growth in ("one layer", "cascade"):
                for n_trees in widths:
                    extra = {"max_layers": 1} if growth == "one layer" else {}
                    points.append(
                        (
                            "width",
                            {"seed": seed, "growth": growth, "n_trees": n_trees},
                            lambda n=n_trees, extra=extra, seed=seed: _cascade_point(
                                dataset, config.threads, seed, n_trees=n, **extra
                            ),
                        )
                    )
        if "mlp" in config.studies:
            n_inputs, n_outputs = dataset.X_train.shape[1], dataset.n_classes
            for budget in MLP_BUDGETS:
                for n_hidden in MLP_DEPTHS:
                    width = width_for_budget(n_inputs, n_hidden, n_outputs, budget)
                    hidden = (width,) * n_hidden
                    points.append(
                        (
                            "mlp",
                            {
                                "seed": seed,
                                "budget": budget,
                                "n_hidden": n_hidden,
                                "width": width,
                                "parameters": mlp_parameters(n_inputs, width, n_hidden, n_outputs),
                            },
                            lambda hidden=hidden, seed=seed: _mlp_point(dataset, seed, hidden),
                        )
                    )
    return points


def run_depth_study(config: DepthConfig) -> Path:
    """Run the requested sweeps on each dataset, then render them.

    Parameters
    ----------
    config : DepthConfig

    Returns
    -------
    report : Path
        The path of ``depth.md``.
    """
    from threadpoolctl import threadpool_limits

    from .datasets import DatasetUnavailable, default_data_dir, load_dataset
    from .runner import cascade_defaults, machine_info

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    data_dir = config.data_dir or (str(default_data_dir()) if default_data_dir() else None)
    meta = {
        "command": config.command,
        "threads": config.threads,
        "seeds": config.seeds,
        "studies": config.studies,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "cascade_defaults": cascade_defaults(),
        "skipped": [],
    }
    (out / "depth.json").write_text(json.dumps(meta, indent=1, default=str))
    points_path = out / "depth.jsonl"
    if points_path.exists():
        points_path.unlink()
    with threadpool_limits(limits=config.threads):
        for name in config.datasets:
            try:
                dataset = load_dataset(name, data_dir, config.allow_download)
            except DatasetUnavailable as reason:
                print(f"skipping dataset {name}: {reason}", flush=True)
                meta["skipped"].append({"dataset": name, "reason": str(reason)})
                continue
            for study, description, thunk in _points(config, dataset):
                result = {"dataset": name, "study": study, **description, **thunk()}
                with open(points_path, "a", encoding="utf-8") as handle:
                    handle.write(json.dumps(result) + "\n")
                shown = {k: v for k, v in result.items() if k != "history"}
                print(json.dumps(shown), flush=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    (out / "depth.json").write_text(json.dumps(meta, indent=1, default=str))
    return render_depth(out)


# ------------------------------------------------------------------------------ rendering
def _read(out: Path) -> list[dict]:
    path = out / "depth.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _grouped(points: list[dict], keys: tuple[str, ...]) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = {}
    for point in points:
        groups.setdefault(tuple(point.get(k) for k in keys), []).append(point)
    return groups


def _panel_axes(plt, n: int):
    figure, axes = plt.subplots(1, n, figsize=(4.6 * n, 3.6), squeeze=False)
    return figure, list(axes[0])


def _plot_depth(points: list[dict], path: Path, plt) -> bool:
    data = [p for p in points if p["study"] == "depth"]
    datasets = list(dict.fromkeys(p["dataset"] for p in data))
    if not datasets:
        return False
    figure, axes = _panel_axes(plt, len(datasets))
    for ax, dataset in zip(axes, datasets, strict=True):
        rows = [p for p in data if p["dataset"] == dataset]
        groups = _grouped(rows, ("max_layers",))
        ks = sorted(k for (k,) in groups)
        ax.plot(
            ks,
            [100 * statistics.fmean([p["accuracy"] for p in groups[(k,)]]) for k in ks],
            marker="o",
            label="test accuracy, cascade capped at k layers",
        )
        deepest = max(rows, key=lambda p: p["max_layers"])
        history = deepest["history"]
        ax.plot(
            range(1, len(history) + 1),
            [100 * v for v in history],
            marker=".",
            linestyle="--",
            label=f"out-of-sample score per layer (k={deepest['max_layers']})",
        )
        ax.set_title(dataset)
        ax.set_xlabel("cascade layers (depth)")
        ax.set_ylabel("accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _plot_width(points: list[dict], path: Path, plt) -> bool:
    data = [p for p in points if p["study"] == "width"]
    datasets = list(dict.fromkeys(p["dataset"] for p in data))
    if not datasets:
        return False
    figure, axes = _panel_axes(plt, len(datasets))
    for ax, dataset in zip(axes, datasets, strict=True):
        for growth, marker in (("one layer", "s"), ("cascade", "o")):
            rows = [p for p in data if p["dataset"] == dataset and p["growth"] == growth]
            if not rows:
                continue
            groups = _grouped(rows, ("n_trees",))
            widths = sorted(w for (w,) in groups)
            accuracy = [
                100 * statistics.fmean([p["accuracy"] for p in groups[(w,)]]) for w in widths
            ]
            label = "one layer" if growth == "one layer" else "cascade (default growth; "
            if growth == "cascade":
                layers = "/".join(str(groups[(w,)][0]["n_layers"]) for w in widths)
                label += f"kept layers {layers})"
            ax.plot(widths, accuracy, marker=marker, label=label)
        ax.set_xscale("log")
        ax.set_title(dataset)
        ax.set_xlabel("trees per forest (width; 4 forests per layer)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _plot_mlp(points: list[dict], path: Path, plt) -> bool:
    data = [p for p in points if p["study"] == "mlp"]
    datasets = list(dict.fromkeys(p["dataset"] for p in data))
    if not datasets:
        return False
    figure, axes = _panel_axes(plt, len(datasets))
    for ax, dataset in zip(axes, datasets, strict=True):
        rows = [p for p in data if p["dataset"] == dataset]
        for budget in sorted({p["budget"] for p in rows}):
            groups = _grouped([p for p in rows if p["budget"] == budget], ("n_hidden",))
            depths = sorted(d for (d,) in groups)
            accuracy = [
                100 * statistics.fmean([p["accuracy"] for p in groups[(d,)]]) for d in depths
            ]
            widths = "/".join(str(groups[(d,)][0]["width"]) for d in depths)
            ax.plot(
                depths,
                accuracy,
                marker="o",
                label=f"{budget // 1000}k parameters (widths {widths})",
            )
        ax.set_title(dataset)
        ax.set_xlabel("hidden layers (equal parameter count)")
        ax.set_ylabel("test accuracy (%)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def _table(points: list[dict], study: str, keys: tuple[str, ...], extra: tuple[str, ...]) -> str:
    data = [p for p in points if p["study"] == study]
    if not data:
        return ""
    header = ["dataset", *keys, "test accuracy (%)", "fit s", *extra, "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for key, rows in _grouped(data, ("dataset", *keys)).items():
        accuracy = [100 * p["accuracy"] for p in rows]
        cells = [str(v) for v in key]
        mean = statistics.fmean(accuracy)
        spread = f" ± {statistics.stdev(accuracy):.2f}" if len(accuracy) > 1 else ""
        cells += [
            f"{mean:.2f}{spread}",
            f"{statistics.fmean([p['fit_seconds'] for p in rows]):.1f}",
        ]
        cells += ["/".join(str(p.get(e)) for p in rows) for e in extra]
        cells.append(str(len(rows)))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_depth(out: str | Path, plots: bool = True) -> Path:
    """Write ``depth.csv``, ``depth.md`` and the three figures from ``depth.jsonl``.

    Parameters
    ----------
    out : path-like
        The study's directory.
    plots : bool, default=True

    Returns
    -------
    report : Path
        The path of ``depth.md``.
    """
    import csv

    out = Path(out)
    points = _read(out)
    meta_path = out / "depth.json"
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    fields = [
        "dataset",
        "study",
        "seed",
        "max_layers",
        "growth",
        "n_trees",
        "budget",
        "n_hidden",
        "width",
        "parameters",
        "accuracy",
        "fit_seconds",
        "n_layers",
        "layers_grown",
        "trees_grown",
        "trees_kept",
        "n_iter",
    ]
    with open(out / "depth.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(points)
    figures = []
    if plots and points:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        (out / "figures").mkdir(exist_ok=True)
        for name, plot in (
            ("depth_layers.png", _plot_depth),
            ("width_trees.png", _plot_width),
            ("mlp_deep_vs_wide.png", _plot_mlp),
        ):
            if plot(points, out / "figures" / name, plt):
                figures.append(name)
    parts = ["# Is depth what matters?", ""]
    for title, table in (
        (
            "Cascade capped at k layers (growth forced to k, best prefix kept)",
            _table(points, "depth", ("max_layers",), ("n_layers", "trees_grown")),
        ),
        (
            "Trees per forest: one layer against the default cascade",
            _table(points, "width", ("growth", "n_trees"), ("n_layers", "trees_kept")),
        ),
        (
            "MLP at equal parameter count",
            _table(points, "mlp", ("budget", "n_hidden", "width"), ("parameters", "n_iter")),
        ),
    ):
        if table:
            parts += [f"## {title}", "", table, ""]
    if meta.get("skipped"):
        parts += ["Datasets skipped:", ""]
        parts += [f"- {s['dataset']}: {s['reason']}" for s in meta["skipped"]] + [""]
    parts += [f"![{f}](figures/{f})" for f in figures]
    parts += [
        "",
        f"- command: `{meta.get('command', '?')}`",
        f"- threads: {meta.get('threads')}; started {meta.get('started')}, finished "
        f"{meta.get('finished', '(not finished)')}",
        f"- machine: {meta.get('machine', {})}",
        "",
    ]
    report = out / "depth.md"
    report.write_text("\n".join(parts))
    return report
