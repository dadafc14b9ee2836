"""Issue-2 targets for the cascade estimators, measured side by side in one run.

Usage (from the project root)::

    python benchmarks/cascade_targets.py                      # every target
    python benchmarks/cascade_targets.py --only letter adult  # a subset
    python benchmarks/cascade_targets.py --param n_trees=50   # try other settings

Reports, per dataset: test accuracy and fit seconds of CascadeForestClassifier with default
parameters (n_jobs=-1), of the same with the xgboost final predictor, of XGBoost alone (500
rounds) and of a random forest; the speed-up of binning (a forest on binned against raw
features); and on sklearn's diabetes, the cascade regressor's test MSE against a random forest
with the same total number of trees (5 seeds). Data: $DEEPFOREST_DATA_DIR or ../shared/data.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import mean_squared_error
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import deepforest
from benchmarks.harness.measure import data_dir
from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core.binning import QuantileBinner

CORES = os.cpu_count() or 1


def load(name: str):
    with np.load(data_dir() / f"{name}.npz") as data:
        return data["X_train"], data["y_train"], data["X_test"], data["y_test"]


def timed_fit(model, X, y):
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def classification_row(name, model, X, y, X_test, y_test) -> dict:
    seconds = timed_fit(model, X, y)
    row = {"model": name, "accuracy": float(model.score(X_test, y_test)), "fit_s": seconds}
    if hasattr(model, "n_layers_"):
        row["layers"] = f"{model.n_layers_}/{len(model.history_['score'])}"
        row["layer_scores"] = [round(s, 4) for s in model.history_["score"]]
    return row


def classification_targets(
    dataset: str, params: dict, with_baselines: bool, seeds: int = 1
) -> list[dict]:
    X, y, X_test, y_test = load(dataset)
    rows = [
        classification_row(
            f"cascade (defaults, random_state={seed})",
            CascadeForestClassifier(n_jobs=-1, random_state=seed, **params),
            X,
            y,
            X_test,
            y_test,
        )
        for seed in range(seeds)
    ]
    if seeds > 1:
        accuracies = [row["accuracy"] for row in rows]
        seconds = [row["fit_s"] for row in rows]
        rows.append(
            {
                "model": f"cascade (defaults), mean of {seeds} seeds",
                "accuracy": float(np.mean(accuracies)),
                "accuracy_std": float(np.std(accuracies)),
                "fit_s": float(np.mean(seconds)),
            }
        )
    if dataset == "adult" or with_baselines:
        rows.append(
            classification_row(
                "cascade + xgboost predictor",
                CascadeForestClassifier(n_jobs=-1, random_state=0, predictor="xgboost", **params),
                X,
                y,
                X_test,
                y_test,
            )
        )
    if with_baselines:
        import xgboost

        rows.append(
            classification_row(
                "xgboost (500 rounds)",
                xgboost.XGBClassifier(n_estimators=500, n_jobs=CORES, random_state=0),
                X,
                y,
                X_test,
                y_test,
            )
        )
        rows.append(
            classification_row(
                "random forest (100 trees)",
                RandomForestClassifier(100, n_jobs=-1, random_state=0),
                X,
                y,
                X_test,
                y_test,
            )
        )
        binner = QuantileBinner(random_state=0).fit(X)
        binned = binner.transform(X)
        raw_s = timed_fit(RandomForestClassifier(100, n_jobs=-1, random_state=0), X, y)
        binned_s = timed_fit(RandomForestClassifier(100, n_jobs=-1, random_state=0), binned, y)
        rows.append({"model": "binning speed-up: RF fit raw / binned", "fit_s": raw_s / binned_s})
    for row in rows:
        row["dataset"] = dataset
    return rows


def regression_target(params: dict, seeds: int = 5) -> list[dict]:
    X, y = load_diabetes(return_X_y=True)
    cascade_mse, forest_mse, n_trees_used = [], [], []
    for seed in range(seeds):
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed)
        cascade = CascadeForestRegressor(n_jobs=-1, random_state=seed, **params)
        cascade.fit(X_train, y_train)
        cascade_mse.append(mean_squared_error(y_test, cascade.predict(X_test)))
        # Same total number of trees as the cascade grew (all layers, kept or not).
        n_trees = cascade.n_estimators * 2 * cascade.n_trees * len(cascade.history_["score"])
        n_trees_used.append(n_trees)
        forest = RandomForestRegressor(n_trees, n_jobs=-1, random_state=seed)
        forest.fit(X_train, y_train)
        forest_mse.append(mean_squared_error(y_test, forest.predict(X_test)))
    return [
        {
            "dataset": "diabetes",
            "model": "cascade regressor",
            "mse_mean": float(np.mean(cascade_mse)),
        },
        {
            "dataset": "diabetes",
            "model": f"random forest (same trees: {n_trees_used})",
            "mse_mean": float(np.mean(forest_mse)),
        },
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--only", nargs="*", default=["letter", "adult", "diabetes"])
    parser.add_argument("--param", action="append", default=[], help="NAME=VALUE for the cascade")
    parser.add_argument("--no-baselines", action="store_true", help="cascade only")
    parser.add_argument("--seeds", type=int, default=1, help="seeds of the default cascade")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    params = {}
    for item in args.param:
        key, value = item.split("=", 1)
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value

    print(
        f"# deepforest {deepforest.__version__}, scikit-learn {sklearn.__version__}, "
        f"numpy {np.__version__}, Python {platform.python_version()}, {CORES} cores; "
        f"params {params or 'defaults'}",
        flush=True,
    )
    rows = []
    for dataset in args.only:
        if dataset == "diabetes":
            new = regression_target(params)
        else:
            new = classification_targets(dataset, params, not args.no_baselines, args.seeds)
        for row in new:
            print(json.dumps(row), flush=True)
        rows.extend(new)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
