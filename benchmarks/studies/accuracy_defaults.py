"""Today's cascade defaults against earlier ones, side by side on the panel's tables.

The defaults of ``extra_max_features`` and ``boost_rounds`` were chosen on the benchmark panel
(docs/benchmarks.md). This script measures any set of settings against a baseline, in one run,
seed for seed on the panel's fixed splits: the test score (accuracy in % or R²), the paired
difference to the baseline with its standard error over seeds, and the costs as ratios to the
baseline's in the same run: fit CPU seconds, predict CPU seconds and pickled model bytes (CPU
seconds, so that a busy machine skews them less than wall time).

Variants are JSON objects of cascade parameters; the first is the baseline. The default pair is
the cascade before the accuracy work (gcForest's completely-random forests, no boosting stage)
and today's defaults::

    python benchmarks/studies/accuracy_defaults.py --seeds 3
    python benchmarks/studies/accuracy_defaults.py carseats loans --seeds 3 --variants \\
        '{"before": {"boost_rounds": 0}, "sqrt": {"extra_max_features": "sqrt"}}'

Every fit is one JSON line on stdout (and in ``--out``); the summary table follows.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import sys
from pathlib import Path

from sklearn.metrics import accuracy_score, r2_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.harness.datasets import PANEL_CLASSIFICATION, PANEL_REGRESSION, load_dataset
from benchmarks.harness.measure import pickled_size, timed
from deepforest import CascadeForestClassifier, CascadeForestRegressor

BEFORE = {"extra_max_features": 1, "boost_rounds": 0}
DEFAULT_VARIANTS = {"before": BEFORE, "today": {}}


def fit_once(dataset, params: dict, seed: int, threads: int) -> dict:
    """Fit one cascade; return its test score and costs."""
    estimator = CascadeForestRegressor if dataset.is_regression else CascadeForestClassifier
    model = estimator(n_jobs=threads, random_state=seed, **params)
    _, _, fit_cpu = timed(model.fit, dataset.X_train, dataset.y_train)
    predicted, _, predict_cpu = timed(model.predict, dataset.X_test)
    if dataset.is_regression:
        score = r2_score(dataset.y_test, predicted)
    else:
        score = 100 * accuracy_score(dataset.y_test, predicted)
    stage = model.history_.get("boosting") or {}
    return {
        "score": float(score),
        "fit_cpu": fit_cpu,
        "predict_cpu": predict_cpu,
        "model_bytes": pickled_size(model, protocol=pickle.DEFAULT_PROTOCOL),
        "layers": int(model.n_layers_),
        "boost_rounds": stage.get("rounds"),
    }


def summarise(rows: list[dict], variants: list[str]) -> str:
    """A table: each variant's mean score, paired gain over the baseline ± SE, cost ratios."""
    baseline = variants[0]
    by_key = {(r["dataset"], r["seed"], r["variant"]): r for r in rows}
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    lines = [
        "| dataset | variant | score | gain over "
        f"{baseline} ± SE | beyond 2 SE | fit CPU x | predict CPU x | model bytes x |",
        "|---|---|---:|---:|---|---:|---:|---:|",
    ]
    ratios: dict[str, dict[str, list[float]]] = {v: {} for v in variants}
    for dataset in datasets:
        seeds = sorted({r["seed"] for r in rows if r["dataset"] == dataset})
        for variant in variants:
            pairs = [
                (by_key[(dataset, s, variant)], by_key[(dataset, s, baseline)])
                for s in seeds
                if (dataset, s, variant) in by_key and (dataset, s, baseline) in by_key
            ]
            if not pairs:
                continue
            gains = [new["score"] - old["score"] for new, old in pairs]
            mean_gain = statistics.mean(gains)
            se = statistics.stdev(gains) / len(gains) ** 0.5 if len(gains) > 1 else float("nan")
            beyond = "yes" if len(gains) > 1 and abs(mean_gain) > 2 * se else "no"
            cost = {
                key: statistics.mean(new[key] / max(old[key], 1e-9) for new, old in pairs)
                for key in ("fit_cpu", "predict_cpu", "model_bytes")
            }
            for key, value in cost.items():
                ratios[variant].setdefault(key, []).append(value)
            score = statistics.mean(new["score"] for new, _ in pairs)
            lines.append(
                f"| {dataset} | {variant} | {score:.4f} | {mean_gain:+.4f} ± {se:.4f} | "
                f"{beyond} | {cost['fit_cpu']:.2f} | {cost['predict_cpu']:.2f} | "
                f"{cost['model_bytes']:.2f} |"
            )
    lines.append("")
    lines.append("Median cost ratio to the baseline over the tables:")
    for variant in variants[1:]:
        medians = {key: statistics.median(values) for key, values in ratios[variant].items()}
        lines.append(
            f"- {variant}: fit CPU {medians.get('fit_cpu', float('nan')):.2f} x, predict CPU "
            f"{medians.get('predict_cpu', float('nan')):.2f} x, model bytes "
            f"{medians.get('model_bytes', float('nan')):.2f} x"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "datasets", nargs="*", help="panel tables (default: all 24, smallest first)"
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", help="JSON: name -> cascade parameters (first: baseline)")
    parser.add_argument("--out", type=Path, help="append the JSON lines to this file")
    parser.add_argument("--summary", type=Path, help="only summarise this file of JSON lines")
    args = parser.parse_args(argv)
    variants = json.loads(args.variants) if args.variants else DEFAULT_VARIANTS
    if args.summary:
        rows = [json.loads(line) for line in args.summary.read_text().splitlines() if line]
        print(summarise(rows, list(dict.fromkeys(r["variant"] for r in rows))))
        return
    datasets = args.datasets or [*PANEL_CLASSIFICATION, *PANEL_REGRESSION]
    rows = []
    for name in datasets:
        dataset = load_dataset(name, allow_download=False)
        for seed in range(args.seeds):
            for variant, params in variants.items():
                row = {"dataset": name, "seed": seed, "variant": variant}
                row.update(fit_once(dataset, params, seed, args.threads))
                rows.append(row)
                print(json.dumps(row), flush=True)
                if args.out:
                    with args.out.open("a") as handle:
                        handle.write(json.dumps(row) + "\n")
    print(summarise(rows, list(variants)))


if __name__ == "__main__":
    main()
