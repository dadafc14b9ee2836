"""The built-in demonstration: a cascade against a random forest on a bundled dataset.

Runs offline on scikit-learn's handwritten digits (1,797 8×8 images), prints the cascade's
per-layer progress and both models' test accuracy and fit time.
"""

from __future__ import annotations

import sys
import time

from sklearn.datasets import load_digits
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

from ..cascade import CascadeForestClassifier


def run_demo(n_jobs: int = -1, random_state: int = 0, out=None) -> dict:
    """Train a cascade and a random forest on digits; print and return their test accuracy.

    Parameters
    ----------
    n_jobs : int, default=-1
        Parallel jobs for both models.
    random_state : int, default=0
        Seed of the split and of both models.
    out : file-like, default=sys.stdout
        Where the results table goes (per-layer progress goes to stderr).

    Returns
    -------
    results : dict
        ``{"cascade": {...}, "random_forest": {...}}`` with ``accuracy``, ``fit_seconds`` and,
        for the cascade, ``n_layers`` and ``compile_seconds`` (the first, small fit that readies
        the compiled engine).
    """
    out = out or sys.stdout
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=random_state
    )
    print(
        f"digits: {X_train.shape[0]} training and {X_test.shape[0]} test images, "
        f"{X.shape[1]} features, 10 classes",
        file=out,
    )
    # A fresh install compiles the tree engine (numba) on its first fit, and caches it on disk:
    # a small fit first, timed apart, so that the cascade's fit seconds are its own.
    start = time.perf_counter()
    CascadeForestClassifier(n_trees=4, max_layers=1, n_jobs=n_jobs, random_state=0).fit(
        X_train[:300], y_train[:300]
    )
    compile_seconds = time.perf_counter() - start
    print(
        f"tree engine ready in {compile_seconds:.1f} s (compiled by numba on the first run "
        "after installing, read from its cache afterwards)",
        file=out,
    )
    cascade = CascadeForestClassifier(n_jobs=n_jobs, random_state=random_state, verbose=1)
    start = time.perf_counter()
    cascade.fit(X_train, y_train)
    cascade_seconds = time.perf_counter() - start
    # The forest gets as many trees as the cascade grew, so the comparison is at equal size.
    n_trees = cascade.n_estimators * 2 * cascade.n_trees * len(cascade.history_["score"])
    forest = RandomForestClassifier(n_estimators=n_trees, n_jobs=n_jobs, random_state=random_state)
    start = time.perf_counter()
    forest.fit(X_train, y_train)
    forest_seconds = time.perf_counter() - start
    results = {
        "cascade": {
            "accuracy": float(cascade.score(X_test, y_test)),
            "fit_seconds": cascade_seconds,
            "n_layers": int(cascade.n_layers_),
            "compile_seconds": compile_seconds,
        },
        "random_forest": {
            "accuracy": float(forest.score(X_test, y_test)),
            "fit_seconds": forest_seconds,
            "n_trees": n_trees,
        },
    }
    print(f"{'model':<28}{'test accuracy':>14}{'fit seconds':>13}", file=out)
    layers = f"{cascade.n_layers_} layer{'s' if cascade.n_layers_ > 1 else ''}"
    label = f"CascadeForest ({layers})"
    print(f"{label:<28}{results['cascade']['accuracy']:>14.4f}{cascade_seconds:>13.1f}", file=out)
    label = f"RandomForest ({n_trees} trees)"
    print(
        f"{label:<28}{results['random_forest']['accuracy']:>14.4f}{forest_seconds:>13.1f}", file=out
    )
    return results
