"""Measurements behind the layer estimators' design, and Deep-Forest 0.1.7's README example.

    python benchmarks/layer_estimators.py new-rows   # fold-model mean against a refit
    python benchmarks/layer_estimators.py readme     # 0.1.7's README example on digits

``new-rows``: how a layer estimator should score rows it never saw (prediction time). Either the
mean of its fold models (no extra fit) or one more model fitted on all rows. Both are run on
ADULT (the shared data's one-hot table, its own train/test split) with HistGradientBoosting
beside the forests, 3 seeds; test accuracy and fit time are printed.

``readme``: Deep-Forest 0.1.7's README example as it is (``load_digits``,
``train_test_split(random_state=1)``, ``CascadeForestClassifier(random_state=1)``), which 0.1.7
reports at 98.667 %; then the same split with seeds 0-4 of the model, and with
0.1.7's leaf size (``min_samples_leaf=1``), to show the spread behind a single figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def new_rows(seeds: int) -> None:
    from sklearn.metrics import accuracy_score

    from benchmarks._datasets import load_dataset
    from deepforest import CascadeForestClassifier
    from deepforest._core import layer_estimators

    data = load_dataset("adult")
    print("ADULT: HistGradientBoosting beside the forests; new rows scored by ...")
    for mode in ("fold_mean", "refit"):
        layer_estimators.NEW_ROWS = mode
        scores, times = [], []
        for seed in range(seeds):
            model = CascadeForestClassifier(
                layer_estimators=["hist_gb"], n_jobs=2, random_state=seed
            )
            start = time.perf_counter()
            model.fit(data.X_train, data.y_train)
            times.append(time.perf_counter() - start)
            scores.append(accuracy_score(data.y_test, model.predict(data.X_test)))
            print(f"  {mode:9s} seed {seed}: {scores[-1]:.4f}, fit {times[-1]:.1f} s", flush=True)
        print(
            f"{mode:9s} accuracy {np.mean(scores):.4f} ± {np.std(scores):.4f}, "
            f"fit {np.mean(times):.1f} s",
            flush=True,
        )


def readme() -> None:
    from sklearn.datasets import load_digits
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split

    from deepforest import CascadeForestClassifier

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=1)
    model = CascadeForestClassifier(random_state=1)
    model.fit(X_train, y_train)
    y_pred = model.predict(X_test)
    acc = accuracy_score(y_test, y_pred) * 100
    print(f"0.1.7's README example here: {acc:.3f} % (0.1.7 reports 98.667 %)")
    for label, params in [("defaults", {}), ("min_samples_leaf=1", {"min_samples_leaf": 1})]:
        scores = []
        for seed in range(5):
            fitted = CascadeForestClassifier(random_state=seed, **params).fit(X_train, y_train)
            scores.append(accuracy_score(y_test, fitted.predict(X_test)) * 100)
        shown = ", ".join(f"{s:.3f}" for s in scores)
        print(f"  {label}: seeds 0-4 {shown}; mean {np.mean(scores):.3f} %", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["new-rows", "readme"])
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "new-rows":
        new_rows(args.seeds)
    else:
        readme()


if __name__ == "__main__":
    main()
