"""gcForest's defaults against the cascade alone and LightGBM on flat pixels, on image sets.

The question of the issue "Images": do ``GCForestClassifier``'s defaults beat the models that
read an image as a bag of pixels, on image data of different sizes, and how fast do they
predict? One run fits every model on the same split, seed for seed, and reports the test
accuracy, fit CPU seconds and predicted images per second (wall, all threads)::

    python benchmarks/studies/image_defaults.py digits --seeds 5
    python benchmarks/studies/image_defaults.py animal_shape mnist10k --seeds 2
    python benchmarks/studies/image_defaults.py mnist --models gcforest
    python benchmarks/studies/image_defaults.py animal_shape --models gcforest --variants \\
        '{"defaults": {}, "20 trees": {"scan_n_trees": 20}}'

Image sets:

- ``digits``: scikit-learn's 8×8 digits, a random stratified 70/30 split per seed.
- ``mnist10k``: MNIST's first 10,000 training images (seed 0; another seed draws 10,000 at
  random) against the 10,000 test images, from ``mnist.npz`` in the shared data directory.
- ``mnist``: all 60,000 MNIST training images against the 10,000 test images.
- ``animal_shape``: Animal-Shape, 10,000 28×28 grey silhouettes of 10 animals (1,000 each), as
  the PyPI package ``animal-shape-mnist`` 0.39 ships them (MIT licence, by Sina Mohammadi;
  ``pip install animal-shape-mnist==0.39``), split 50/50 stratified per seed. The package's own
  loader imports TensorFlow, so its two gzipped pickles are read here, with an unpickler that
  builds numpy arrays and nothing else.

Every fit is one JSON line on stdout (and in ``--out``); a summary table follows.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.harness.measure import data_dir, peak_rss_mb, timed
from deepforest import CascadeForestClassifier, GCForestClassifier

IMAGE_SETS = ("digits", "mnist10k", "animal_shape", "mnist")
MODELS = ("gcforest", "cascade", "lightgbm")
# What a pickle of a plain numpy array may name; anything else is refused before it runs.
ARRAY_PICKLE_NAMES = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in ARRAY_PICKLE_NAMES:
            raise pickle.UnpicklingError(f"{module}.{name} is not part of a numpy array")
        return super().find_class(module, name)


def _animal_shape() -> tuple[np.ndarray, np.ndarray]:
    spec = importlib.util.find_spec("animal_shape_mnist")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("animal_shape needs: pip install animal-shape-mnist==0.39")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data" / "Animal Shape"
    arrays = []
    for name in ("animal_data_version_3.gz", "animal_label_version_3.gz"):
        with gzip.open(folder / name, "rb") as handle:
            arrays.append(_ArrayUnpickler(handle).load())
    return arrays[0], arrays[1]


def load_images(name: str, seed: int):
    """``(X_train, X_test, y_train, y_test)`` with images as ``(n, height, width)``."""
    if name == "digits":
        X, y = load_digits(return_X_y=True)
        X = X.reshape(-1, 8, 8)
        return train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    if name == "animal_shape":
        X, y = _animal_shape()
        return train_test_split(X, y, test_size=0.5, random_state=seed, stratify=y)
    if name in ("mnist10k", "mnist"):
        with np.load(data_dir() / "mnist.npz") as data:
            X_train, y_train = data["X_train"], data["y_train"]
            X_test, y_test = data["X_test"], data["y_test"]
        if name == "mnist":
            rows = np.arange(60_000)
        elif seed:
            rows = np.random.RandomState(seed).choice(60_000, 10_000, replace=False)
        else:
            rows = np.arange(10_000)
        return X_train[rows].reshape(-1, 28, 28), X_test.reshape(-1, 28, 28), y_train[rows], y_test
    raise ValueError(f"unknown image set {name!r}; choose from {', '.join(IMAGE_SETS)}")


def make_model(kind: str, params: dict, seed: int, threads: int):
    """The estimator, and whether it reads flat pixels."""
    if kind == "gcforest":
        return GCForestClassifier(n_jobs=threads, random_state=seed, **params), False
    if kind == "cascade":
        return CascadeForestClassifier(n_jobs=threads, random_state=seed, **params), True
    if kind == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMClassifier(n_jobs=threads, random_state=seed, verbose=-1, **params)
        return model, True
    raise ValueError(f"unknown model {kind!r}; choose from {', '.join(MODELS)}")


def fit_once(name: str, kind: str, params: dict, seed: int, threads: int) -> dict:
    X_train, X_test, y_train, y_test = load_images(name, seed)
    model, flat = make_model(kind, params, seed, threads)
    if flat:
        X_train, X_test = X_train.reshape(len(X_train), -1), X_test.reshape(len(X_test), -1)
    _, fit_wall, fit_cpu = timed(model.fit, X_train, y_train)
    start = time.perf_counter()
    predicted = model.predict(X_test)
    predict_seconds = time.perf_counter() - start
    return {
        "accuracy": float(100 * np.mean(predicted == y_test)),
        "fit_cpu": fit_cpu,
        "images_per_second": len(X_test) / predict_seconds,
        "fit_wall": fit_wall,
        # The process's high-water mark so far: run one model per process to read it alone.
        "peak_mb": peak_rss_mb(),
        "layers": getattr(model, "n_layers_", None),
    }


def summarize(rows: list[dict]) -> str:
    lines = [
        "| image set | model | accuracy % (mean ± SE) | fit CPU s | predict images/s | seeds |",
        "|---|---|---:|---:|---:|---:|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["image_set"], row["model"]), []).append(row)
    for (name, model), group in groups.items():
        accuracies = [row["accuracy"] for row in group]
        se = statistics.stdev(accuracies) / len(accuracies) ** 0.5 if len(group) > 1 else 0.0
        lines.append(
            f"| {name} | {model} | {statistics.fmean(accuracies):.2f} ± {se:.2f} | "
            f"{statistics.median(row['fit_cpu'] for row in group):.1f} | "
            f"{statistics.median(row['images_per_second'] for row in group):.0f} | {len(group)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image_sets", nargs="*", default=list(IMAGE_SETS), choices=IMAGE_SETS)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument(
        "--variants",
        default='{"defaults": {}}',
        help="JSON object: variant name -> parameters of every model run (default: defaults)",
    )
    parser.add_argument("--out", type=Path, help="also append the JSON lines to this file")
    args = parser.parse_args(argv)
    variants = json.loads(args.variants)
    rows = []
    for name in args.image_sets:
        for seed in range(args.seeds):
            for kind in args.models:
                for variant, params in variants.items():
                    label = kind if len(variants) == 1 else f"{kind} ({variant})"
                    row = {"image_set": name, "model": label, "seed": seed}
                    row.update(fit_once(name, kind, params, seed, args.threads))
                    rows.append(row)
                    line = json.dumps(row)
                    print(line, flush=True)
                    if args.out:
                        with open(args.out, "a") as handle:
                            handle.write(line + "\n")
    print(summarize(rows))


if __name__ == "__main__":
    main()
