"""Deep-Forest 0.1.7's README example, as it is and over seeds.

    python benchmarks/studies/layer_estimators.py readme     # 0.1.7's README example on digits

(The ``new-rows`` study, the fold models' mean against a refit for new rows, was retired with
the refit it measured; docs/estimators.md quotes its result and the commit that ran it.)

``readme``: Deep-Forest 0.1.7's README example as it is (``load_digits``,
``train_test_split(random_state=1)``, ``CascadeForestClassifier(random_state=1)``), which 0.1.7
reports at 98.667 %; then the same split with seeds 0-4 of the model, and with
0.1.7's leaf size (``min_samples_leaf=1``), to show the spread behind a single figure.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


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
    parser.add_argument("what", choices=["readme"])
    parser.parse_args()
    readme()


if __name__ == "__main__":
    main()
