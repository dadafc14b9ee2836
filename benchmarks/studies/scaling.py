"""How the costs grow with the rows: fit seconds, peak memory, model size and predict speed.

For each table and training size (log-spaced), each model is fitted in a child process of its
own, so that its peak memory (the child's peak resident set after the data are made, minus
before) is its own. Reported per fit: test score, fit wall and CPU seconds, peak MB, pickled
model MB and predict rows/s on the test rows; then, per model and cost, the slope of
log(cost) against log(rows) fitted over the sizes (1: linear; below 1: sub-linear). Tables:

- ``friedman``: scikit-learn's ``make_friedman1`` with 20 features and noise of standard
  deviation 1 (a known noise level: the best possible test R² is printed with it); test on
  20,000 fresh rows.
- ``diamonds`` and ``fertility``: the panel's tables (``benchmarks/harness/datasets.py``), training
  rows subsampled from the panel's training split, tested on its test split.

Deep-Forest 0.1.7 is not run here yet: it fits in its own environment's child process
(``python -m benchmarks peers setup``), which only the panel's runner drives. Run, then draw::

    python benchmarks/studies/scaling.py friedman --rows 10000 30000 100000 300000 1000000 \\
        --out benchmarks/results/scaling.jsonl
    python benchmarks/studies/scaling.py --summary benchmarks/results/scaling.jsonl \\
        --figure docs/figures/scaling.png
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.harness.measure import peak_rss_mb, pickled_size, timed  # noqa: E402

MODELS = ("cascade", "lightgbm", "hist_gb")
COSTS = {
    "fit_cpu": "fit CPU s",
    "peak_mb": "peak MB",
    "model_mb": "model MB",
    "predict_rows_per_s": "predict rows/s",
}
# Below these a cost reads as noise (a fit of no measurable extra memory), not as 0 on a log scale.
COST_FLOORS = {"fit_cpu": 0.01, "peak_mb": 1.0, "model_mb": 0.01, "predict_rows_per_s": 1.0}
FRIEDMAN_TEST_ROWS = 20_000
FRIEDMAN_FEATURES = 20


def _table(name: str, rows: int, seed: int):
    """Training rows, test rows and the task of one table at one size."""
    if name == "friedman":
        from sklearn.datasets import make_friedman1

        X, y = make_friedman1(
            rows + FRIEDMAN_TEST_ROWS, n_features=FRIEDMAN_FEATURES, noise=1.0, random_state=seed
        )
        return X[:rows], y[:rows], X[rows:], y[rows:], "regression"
    from benchmarks.harness.datasets import load_dataset

    data = load_dataset(name, allow_download=False)
    if rows > len(data.X_train):
        raise SystemExit(f"{name} has {len(data.X_train)} training rows, fewer than {rows}")
    keep = np.sort(np.random.default_rng(seed).permutation(len(data.X_train))[:rows])
    task = "regression" if data.is_regression else "classification"
    return data.X_train[keep], data.y_train[keep], data.X_test, data.y_test, task


def _model(name: str, task: str, threads: int, seed: int):
    regression = task == "regression"
    if name == "cascade":
        from deepforest import CascadeForestClassifier, CascadeForestRegressor

        estimator = CascadeForestRegressor if regression else CascadeForestClassifier
        return estimator(n_jobs=threads, random_state=seed)
    if name == "lightgbm":
        import lightgbm

        estimator = lightgbm.LGBMRegressor if regression else lightgbm.LGBMClassifier
        return estimator(n_jobs=threads, random_state=seed, verbose=-1)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    estimator = HistGradientBoostingRegressor if regression else HistGradientBoostingClassifier
    return estimator(random_state=seed)


def measure_one(table: str, model_name: str, rows: int, threads: int, seed: int) -> dict:
    """Fit and score one model at one size (run in a child process of its own)."""
    from sklearn.metrics import accuracy_score, r2_score

    X, y, X_test, y_test, task = _table(table, rows, seed)
    model = _model(model_name, task, threads, seed)
    before = peak_rss_mb()
    _, wall, cpu = timed(model.fit, X, y)
    peak = peak_rss_mb() - before
    start = time.perf_counter()
    predicted = model.predict(X_test)
    predict_seconds = time.perf_counter() - start
    if task == "regression":
        score = r2_score(y_test, predicted)
    else:
        score = 100 * accuracy_score(y_test, predicted)
    row = {
        "table": table,
        "model": model_name,
        "rows": rows,
        "seed": seed,
        "task": task,
        "score": float(score),
        "fit_wall": wall,
        "fit_cpu": cpu,
        "peak_mb": peak,
        "model_mb": pickled_size(model, protocol=pickle.DEFAULT_PROTOCOL) / 1e6,
        "predict_rows_per_s": len(X_test) / predict_seconds,
    }
    if table == "friedman":
        row["best_possible_r2"] = float(1.0 - 1.0 / np.var(y_test))
    return row


def slopes(rows: list[dict]) -> dict:
    """Per (table, model, cost): the slope of log(cost) on log(rows), over the sizes run."""
    fitted = {}
    for key in sorted({(r["table"], r["model"]) for r in rows}):
        runs = sorted((r for r in rows if (r["table"], r["model"]) == key), key=lambda r: r["rows"])
        if len(runs) < 2:
            continue
        n = np.log([r["rows"] for r in runs])
        for cost in COSTS:
            values = np.array([max(r[cost], COST_FLOORS[cost]) for r in runs])
            fitted[(*key, cost)] = float(np.polyfit(n, np.log(values), 1)[0])
    return fitted


def summarise(rows: list[dict]) -> str:
    lines = [
        "| table | model | rows | score | fit s | fit CPU s | peak MB | model MB "
        "| predict rows/s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["table"], r["model"], r["rows"])):
        score = f"{r['score']:.4f}" if r["task"] == "regression" else f"{r['score']:.2f}"
        lines.append(
            f"| {r['table']} | {r['model']} | {r['rows']:,} | {score} | {r['fit_wall']:.1f} | "
            f"{r['fit_cpu']:.1f} | {r['peak_mb']:,.0f} | {r['model_mb']:.2f} | "
            f"{r['predict_rows_per_s']:,.0f} |"
        )
    best = {r["table"]: r["best_possible_r2"] for r in rows if "best_possible_r2" in r}
    for table, value in best.items():
        lines.append(f"\n{table}: best possible test R² (noise alone) {value:.4f}")
    lines += [
        "",
        "| table | model | " + " | ".join(f"slope of {label}" for label in COSTS.values()) + " |",
        "|---|---|" + "---:|" * len(COSTS),
    ]
    fitted = slopes(rows)
    for table, model in sorted({key[:2] for key in fitted}):
        cells = " | ".join(f"{fitted[(table, model, cost)]:.2f}" for cost in COSTS)
        lines.append(f"| {table} | {model} | {cells} |")
    return "\n".join(lines)


def draw(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = sorted({r["table"] for r in rows})
    figure, axes = plt.subplots(
        len(tables), len(COSTS), figsize=(3.2 * len(COSTS), 2.8 * len(tables)), squeeze=False
    )
    fitted = slopes(rows)
    for i, table in enumerate(tables):
        for j, (cost, label) in enumerate(COSTS.items()):
            ax = axes[i, j]
            for k, model in enumerate(MODELS):
                runs = sorted(
                    (r for r in rows if r["table"] == table and r["model"] == model),
                    key=lambda r: r["rows"],
                )
                if not runs:
                    continue
                slope = fitted.get((table, model, cost))
                name = model if slope is None else f"{model} (slope {slope:.2f})"
                ax.loglog(
                    [r["rows"] for r in runs],
                    [max(r[cost], COST_FLOORS[cost]) for r in runs],
                    "o-",
                    color=f"C{k}",
                    label=name,
                )  # fmt: skip
            ax.set_title(f"{table}: {label}", fontsize=9)
            ax.set_xlabel("training rows", fontsize=8)
            ax.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tables", nargs="*", default=["friedman"])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="append each fit's JSON line to this file")
    parser.add_argument("--summary", type=Path, help="only summarise this file of JSON lines")
    parser.add_argument("--figure", type=Path, help="with --summary: draw the log-log figure")
    parser.add_argument(
        "--one", nargs=3, metavar=("TABLE", "MODEL", "ROWS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.one:
        table, model, rows = args.one
        print(json.dumps(measure_one(table, model, int(rows), args.threads, args.seed)))
        return
    if args.summary:
        rows = [json.loads(line) for line in args.summary.read_text().splitlines() if line]
        print(summarise(rows))
        if args.figure:
            draw(rows, args.figure)
        return
    results = []
    for table in args.tables:
        for rows in args.rows:
            for model in args.models:
                child = subprocess.run(
                    [sys.executable, __file__, "--one", table, model, str(rows),
                     "--threads", str(args.threads), "--seed", str(args.seed)],
                    capture_output=True, text=True, env=os.environ.copy(), check=False,
                )  # fmt: skip
                if child.returncode != 0:
                    print(f"{table} {model} {rows}: failed\n{child.stderr[-2000:]}", flush=True)
                    continue
                line = child.stdout.strip().splitlines()[-1]
                results.append(json.loads(line))
                print(line, flush=True)
                if args.out:
                    with args.out.open("a") as handle:
                        handle.write(line + "\n")
    print(summarise(results))


if __name__ == "__main__":
    main()
