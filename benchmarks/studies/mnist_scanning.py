"""Multi-grained scanning targets (issue 3): gcForest against the cascade alone.

Usage (from the project root)::

    python benchmarks/studies/mnist_scanning.py --config digits  # 5 seeds on sklearn's 8×8 digits
    python benchmarks/studies/mnist_scanning.py --config fast    # 10,000 MNIST training images
    python benchmarks/studies/mnist_scanning.py --config full    # all 60,000 training images
    python benchmarks/studies/mnist_scanning.py --config target  # issue 3's target (about 95 min)

``fast``, ``full`` and ``target`` fit each model in a child process of its own, so that each
one's peak memory (``ru_maxrss``, the resident set size high-water mark) is its own; they report
test accuracy on the 10,000 MNIST test images, fit seconds, predict seconds and peak memory.
``fast`` also fits the cascade alone on the same images with the same cascade settings.
``target`` is ``full`` with the settings that met issue 3's target (test accuracy 0.990, fit
90 minutes, 12 GiB): 216 scanning trees per forest with ``extra_max_features="sqrt"``, up to 12
cascade layers of trees on 40 % of the rows; both stages spill their forests to a temporary
directory, removed after the run, unless a ``spill_dir`` is given.
``--param key=value`` overrides a GCForestClassifier parameter, ``--models`` picks the models.
Data: $DEEPFOREST_DATA_DIR or ../shared/data (mnist.npz), else OpenML (needs a network).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

# The settings live beside the suite's, so that both run the same gcForest on MNIST.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.harness.gcforest_settings import GCFOREST_SETTINGS
from benchmarks.harness.measure import data_dir, peak_rss_mb

CONFIGS = {
    "fast": {
        "n_train": 10_000,
        "gcforest": {**GCFOREST_SETTINGS["mnist10k"], "image_shape": (28, 28)},
    },
    "full": {
        "n_train": 60_000,
        "gcforest": {**GCFOREST_SETTINGS["mnist"], "image_shape": (28, 28)},
    },
    "target": {
        "n_train": 60_000,
        "gcforest": {
            **GCFOREST_SETTINGS["mnist"],
            "image_shape": (28, 28),
            "scan_n_trees": 216,
            "max_windows": 1_200_000,
            "scan_params": {"extra_max_features": "sqrt"},
            "max_layers": 12,
            "max_samples": 0.4,
        },
        # Spilled, the scanner's 216-tree forests (9 GiB) stay out of the 12 GiB budget.
        "spill": True,
    },
}
CASCADE_KEYS = ("n_estimators", "n_trees", "max_layers", "max_samples")


def load_mnist():
    path = data_dir() / "mnist.npz"
    if path.exists():
        with np.load(path) as data:
            return data["X_train"], data["y_train"], data["X_test"], data["y_test"]
    from sklearn.datasets import fetch_openml

    X, y = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False)
    X, y = X.astype(np.uint8), y.astype(np.int64)
    return X[:60000], y[:60000], X[60000:], y[60000:]


def peak_memory_gib() -> float:
    return peak_rss_mb() / 1024


def gcforest_params(config: str, overrides: dict) -> dict:
    return {**CONFIGS[config]["gcforest"], **overrides}


def cascade_params(gc_params: dict) -> dict:
    """The cascade-alone settings: the same as gcForest's cascade stage."""
    params = {key: gc_params[key] for key in CASCADE_KEYS if key in gc_params}
    return {**params, **gc_params.get("cascade_params", {})}


def fit_and_score(model, X_train, y_train, X_test, y_test) -> tuple[float, float, float]:
    """Fit, then predict the test samples: (test accuracy, fit seconds, predict seconds)."""
    start = time.perf_counter()
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    return accuracy, fit_seconds, time.perf_counter() - start


def with_spill_dirs(params: dict, root: Path) -> dict:
    """``params`` with the scanner's and the cascade's forests spilled under ``root``.

    A ``spill_dir`` already in ``scan_params`` or ``cascade_params`` is kept.
    """
    return {
        **params,
        "scan_params": {"spill_dir": str(root / "scan"), **(params.get("scan_params") or {})},
        "cascade_params": {
            "spill_dir": str(root / "cascade"),
            **(params.get("cascade_params") or {}),
        },
    }


def run_one(config: str, model_name: str, overrides: dict, n_jobs: int, seed: int) -> dict:
    """Fit and score one model on MNIST in this process; return the measurements."""
    from deepforest import CascadeForestClassifier, GCForestClassifier

    X_train, y_train, X_test, y_test = load_mnist()
    n_train = CONFIGS[config]["n_train"]
    X_train, y_train = X_train[:n_train], y_train[:n_train]
    params = gcforest_params(config, overrides)
    with tempfile.TemporaryDirectory(prefix="deepforest-mnist-") as spill_root:
        if CONFIGS[config].get("spill"):
            params = with_spill_dirs(params, Path(spill_root))
        if model_name == "gcforest":
            model = GCForestClassifier(**params, n_jobs=n_jobs, random_state=seed, verbose=1)
        else:
            model = CascadeForestClassifier(
                **cascade_params(params), n_jobs=n_jobs, random_state=seed, verbose=1
            )
        accuracy, fit_seconds, predict_seconds = fit_and_score(
            model, X_train, y_train, X_test, y_test
        )
    return {
        "config": config,
        "model": model_name,
        "n_train": n_train,
        "accuracy": accuracy,
        "fit_seconds": round(fit_seconds, 1),
        "predict_seconds": round(predict_seconds, 1),
        "peak_memory_gib": round(peak_memory_gib(), 2),
        "n_layers": int(model.n_layers_),
        "params": params if model_name == "gcforest" else cascade_params(params),
    }


def run_in_child(config: str, model_name: str, args) -> dict:
    """Run one model in a fresh interpreter so that its peak memory is its own."""
    command = [
        sys.executable,
        __file__,
        "--config",
        config,
        "--child",
        model_name,
        "--n-jobs",
        str(args.n_jobs),
        "--seed",
        str(args.seed),
    ]
    for item in args.param:
        command += ["--param", item]
    completed = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_digits(n_jobs: int, seeds=range(5)) -> list[dict]:
    """Scanner + cascade against the cascade alone on 8×8 digits, several splits and seeds."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    from deepforest import CascadeForestClassifier, GCForestClassifier

    X, y = load_digits(return_X_y=True)
    cascade = {"n_trees": 50, "cascade_params": {"min_samples_leaf": 1}}
    rows = []
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.3, random_state=seed, stratify=y
        )
        models = {
            "gcforest": GCForestClassifier(
                window_sizes=[3, 4, 5],
                image_shape=(8, 8),
                # Scanning forests are cheap on 8×8 images, and the out-of-fold vectors of a
                # third of 30 trees were too noisy to beat the cascade alone (mean 0.9781
                # against 0.9789 over the 5 seeds).
                scan_n_trees=90,
                **cascade,
                n_jobs=n_jobs,
                random_state=seed,
            ),
            "cascade": CascadeForestClassifier(
                **cascade_params(cascade), n_jobs=n_jobs, random_state=seed
            ),
        }
        for name, model in models.items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            accuracy = float(np.mean(model.predict(X_test) == y_test))
            rows.append({"seed": seed, "model": name, "accuracy": accuracy, "fit_seconds": seconds})
            print(f"seed {seed} {name:<9} accuracy={accuracy:.4f} fit={seconds:.1f}s", flush=True)
    return rows


def parse_overrides(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            overrides[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            overrides[key] = value
    return overrides


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=["digits", "fast", "full", "target"], required=True)
    parser.add_argument("--models", nargs="+", choices=["gcforest", "cascade"], default=None)
    parser.add_argument("--param", action="append", default=[], help="gcForest key=value")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", choices=["gcforest", "cascade"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        result = run_one(
            args.config, args.child, parse_overrides(args.param), args.n_jobs, args.seed
        )
        print(json.dumps(result), flush=True)
        return

    print(f"# {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}")
    if args.config == "digits":
        rows = run_digits(args.n_jobs)
        for name in ("gcforest", "cascade"):
            scores = [row["accuracy"] for row in rows if row["model"] == name]
            seconds = [row["fit_seconds"] for row in rows if row["model"] == name]
            print(
                f"{name:<9} mean accuracy over {len(scores)} seeds: {np.mean(scores):.4f} "
                f"(std {np.std(scores):.4f}), mean fit {np.mean(seconds):.1f}s"
            )
        return

    models = args.models or (["gcforest", "cascade"] if args.config == "fast" else ["gcforest"])
    results = []
    for name in models:
        result = run_in_child(args.config, name, args)
        results.append(result)
        print(json.dumps(result), flush=True)
    print(
        f"{'model':<10}{'n_train':>9}{'accuracy':>10}{'fit s':>9}{'predict s':>11}{'peak GiB':>10}"
    )
    for r in results:
        print(
            f"{r['model']:<10}{r['n_train']:>9}{r['accuracy']:>10.4f}{r['fit_seconds']:>9.1f}"
            f"{r['predict_seconds']:>11.1f}{r['peak_memory_gib']:>10.2f}"
        )


if __name__ == "__main__":
    main()
