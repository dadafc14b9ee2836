"""How fast ``explain`` runs, against TreeSHAP on a random forest, side by side in one run.

For each table: the default cascade and scikit-learn's ``RandomForestClassifier`` (100 trees,
its defaults) are fitted on the training rows; then ``explain`` of the test rows (background:
500 training rows) and shap's ``TreeExplainer`` (its default, path-dependent algorithm, which
weighs splits by the training rows) on the first ``--shap-rows`` of them (it is far slower on
fully grown trees). Reported: seconds and rows per
second of each, the trees each model holds (a cascade row passes through every kept layer's
forests and the boosting stage), rows x trees per second, the largest gap between a row's
contributions plus base value and its prediction, and how many of the five features of largest
mean |contribution| the two share. CPU seconds, so a busy machine skews them less::

    python benchmarks/studies/explain_speed.py letter adult --rows 2000 --shap-rows 100 --threads 2
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.harness.datasets import load_dataset
from benchmarks.harness.measure import timed
from deepforest import CascadeForestClassifier

BACKGROUND_ROWS = 500


def _top(strength: np.ndarray, k: int = 5) -> set:
    return set(np.argsort(strength)[::-1][:k].tolist())


def run(name: str, rows: int, shap_rows: int, threads: int) -> dict:
    import shap
    from sklearn.ensemble import RandomForestClassifier

    data = load_dataset(name, allow_download=False)
    X_test = data.X_test[:rows]
    cascade = CascadeForestClassifier(n_jobs=threads, random_state=0)
    _, _, cascade_fit = timed(cascade.fit, data.X_train, data.y_train)
    background = data.X_train[np.random.default_rng(0).permutation(len(data.X_train))][
        :BACKGROUND_ROWS
    ]
    cascade.explain(X_test[:100], background=background[:100])  # the kernels' first compile
    explanation, _, cascade_seconds = timed(cascade.explain, X_test, background=background)
    gap = np.abs(
        explanation.base_values + explanation.values.sum(axis=1) - cascade.predict_proba(X_test)
    ).max()
    trees = sum(f.n_trees for layer in cascade.layers_ for f in layer.forests)
    booster = getattr(cascade, "booster_", None)
    trees += 0 if booster is None else booster.n_trees
    forest = RandomForestClassifier(n_estimators=100, n_jobs=threads, random_state=0)
    forest.fit(data.X_train, data.y_train)
    explainer = shap.TreeExplainer(forest)
    X_shap = X_test[:shap_rows]
    shap_values, _, shap_seconds = timed(explainer.shap_values, X_shap, check_additivity=False)
    shap_values = np.asarray(shap_values)
    if shap_values.ndim == 3 and shap_values.shape[0] != len(X_shap):
        shap_values = np.moveaxis(shap_values, 0, -1)  # older shap: a list per class
    strength = np.abs(explanation.values[:shap_rows]).mean(axis=(0, 2))
    shap_strength = np.abs(shap_values).mean(axis=(0, 2))
    return {
        "dataset": name,
        "rows": len(X_test),
        "features": X_test.shape[1],
        "classes": len(cascade.classes_),
        "cascade_fit_cpu": cascade_fit,
        "cascade_layers": cascade.n_layers_,
        "cascade_trees": trees,
        "explain_cpu": cascade_seconds,
        "explain_rows_per_s": len(X_test) / cascade_seconds,
        "explain_row_trees_per_s": len(X_test) * trees / cascade_seconds,
        "explain_max_gap": float(gap),
        "treeshap_cpu": shap_seconds,
        "treeshap_rows": len(X_shap),
        "treeshap_rows_per_s": len(X_shap) / shap_seconds,
        "treeshap_row_trees_per_s": len(X_shap) * 100 / shap_seconds,
        "top5_shared": len(_top(strength) & _top(shap_strength)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", default=["letter", "adult"])
    parser.add_argument("--rows", type=int, default=2000, help="test rows explained")
    parser.add_argument(
        "--shap-rows", type=int, default=100, help="of those, rows TreeSHAP explains (slow)"
    )
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    results = [run(name, args.rows, args.shap_rows, args.threads) for name in args.datasets]
    print(
        "| dataset | rows | features | classes | cascade layers / trees | explain CPU s | "
        "explain rows/s | TreeSHAP (random forest, 100 trees) CPU s | TreeSHAP rows/s | "
        "rows x trees / s: explain / TreeSHAP | largest sum gap | top-5 shared (TreeSHAP's rows) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['dataset']} | {r['rows']} | {r['features']} | {r['classes']} | "
            f"{r['cascade_layers']} / {r['cascade_trees']} | {r['explain_cpu']:.2f} | "
            f"{r['explain_rows_per_s']:,.0f} | {r['treeshap_cpu']:.2f} | "
            f"{r['treeshap_rows_per_s']:,.1f} ({r['treeshap_rows']} rows) | "
            f"{r['explain_row_trees_per_s']:,.0f} / "
            f"{r['treeshap_row_trees_per_s']:,.0f} | {r['explain_max_gap']:.1e} | "
            f"{r['top5_shared']} |"
        )


if __name__ == "__main__":
    main()
