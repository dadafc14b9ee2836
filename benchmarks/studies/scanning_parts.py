"""gcForest on MNIST in two parts: scan once, then try cascades on the cached class vectors.

A full-MNIST gcForest run takes 40 minutes, most of it scanning. This script splits it so that
the parts can be studied on their own (issue 3)::

    python benchmarks/studies/scanning_parts.py scan --param n_trees=96 \\
        --param max_windows=1200000
    python benchmarks/studies/scanning_parts.py cascade CACHE --param n_trees=50 \\
        --param max_layers=1

``scan`` fits the ``MultiGrainScanner`` of the full configuration (``--param`` overrides its
parameters), saves the training samples' out-of-fold vectors and the test samples' vectors to
``CACHE/features.npz`` and reports, per grain and forest kind, the nodes and bytes of the fitted
trees: where the scanner's memory goes. ``cascade`` fits the full configuration's cascade on a
cache and reports, layer by layer, the out-of-bag and the test accuracy and the bytes of the
trees. With the same seed, ``scan`` then ``cascade`` gives the same model as
``mnist_scanning.py --config full`` with the same settings, which makes cascade settings cheap
to compare.

Bytes are counted as scikit-learn stores a tree: per node 64 bytes of structure plus one
float64 per class.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.harness.gcforest_settings import GCFOREST_SETTINGS
from benchmarks.studies.mnist_scanning import (
    fit_and_score,
    load_mnist,
    parse_overrides,
    peak_memory_gib,
)


def build_parts(
    scan_overrides: dict, cascade_overrides: dict, n_jobs: int, seed: int, verbose: int
):
    """The full configuration's scanner and cascade, as ``GCForestClassifier`` builds them."""
    from deepforest import GCForestClassifier

    model = GCForestClassifier(
        **GCFOREST_SETTINGS["mnist"],
        image_shape=(28, 28),
        n_jobs=n_jobs,
        random_state=seed,
        verbose=verbose,
    )
    pipeline = model.make_pipeline()
    scanner, cascade = pipeline[0], pipeline[-1]
    return scanner.set_params(**scan_overrides), cascade.set_params(**cascade_overrides)


def run_scan(args) -> None:
    X_train, y_train, X_test, y_test = load_mnist()
    X_train, y_train = X_train[: args.n_train], y_train[: args.n_train]
    X_test, y_test = X_test[: args.n_test], y_test[: args.n_test]
    scanner, _ = build_parts(parse_overrides(args.param), {}, args.n_jobs, args.seed, args.verbose)
    start = time.perf_counter()
    train_features = scanner.fit_transform(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    test_features = scanner.transform(X_test)
    transform_seconds = time.perf_counter() - start
    peak = peak_memory_gib()

    print(f"scan: fit_transform {fit_seconds:.1f} s, test transform {transform_seconds:.1f} s")
    print(f"features: {train_features.shape[1]} per sample, {train_features.dtype}")
    total = 0
    for grain in scanner.grains_:
        size = "x".join(map(str, grain.window))
        for kind, forest in grain.forests.items():
            total += forest.nbytes
            print(
                f"grain {size} {kind}: {forest.n_trees} trees, {forest.n_nodes} nodes, "
                f"{forest.nbytes / 2**30:.2f} GiB"
            )
    print(f"scanner trees: {total / 2**30:.2f} GiB; peak memory {peak:.2f} GiB")

    args.cache.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.cache / "features.npz",
        X_train=train_features,
        y_train=y_train,
        X_test=test_features,
        y_test=y_test,
    )
    record = {"scanner": scanner.get_params(), "n_train": len(y_train)}
    (args.cache / "scanner.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"cached in {args.cache}")


def run_cascade(args) -> None:
    with np.load(args.cache / "features.npz") as data:
        X_train, y_train = data["X_train"], data["y_train"]
        X_test, y_test = data["X_test"], data["y_test"]
    _, model = build_parts({}, parse_overrides(args.param), args.n_jobs, args.seed, args.verbose)
    print(f"cascade {model.get_params()}")
    accuracy, fit_seconds, predict_seconds = fit_and_score(model, X_train, y_train, X_test, y_test)
    peak = peak_memory_gib()

    # Each kept layer's test accuracy: what the cascade would predict if it stopped there (the
    # last layer's with the boosting stage, as predict).
    staged = model.staged_predict(X_test)
    for index, (layer, predicted) in enumerate(zip(model.layers_, staged, strict=True)):
        nodes = sum(forest.n_nodes for forest in layer.forests)
        n_bytes = sum(forest.nbytes for forest in layer.forests)
        print(
            f"layer {index}: out-of-bag {model.history_['score'][index]:.4f}, "
            f"test {np.mean(predicted == y_test):.4f}, "
            f"fit {model.history_['fit_time'][index]:.1f} s, "
            f"trees {nodes} nodes, {n_bytes / 2**30:.2f} GiB"
        )
    print(
        f"test accuracy {accuracy:.4f} with {model.n_layers_} layers; fit {fit_seconds:.1f} s, "
        f"predict {predict_seconds:.1f} s, peak memory {peak:.2f} GiB"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser("scan", help="fit the scanner, cache its class vectors")
    scan.add_argument(
        "--cache",
        type=Path,
        default=Path(__file__).resolve().parents[1] / "results" / "scanning-parts",
        help="directory for features.npz (default: benchmarks/results/scanning-parts)",
    )
    scan.add_argument("--n-train", type=int, default=60_000)
    scan.add_argument("--n-test", type=int, default=10_000)
    cascade = commands.add_parser("cascade", help="fit a cascade on cached class vectors")
    cascade.add_argument("cache", type=Path, help="a directory written by scan")
    for sub in (scan, cascade):
        sub.add_argument("--param", action="append", default=[], help="key=value override")
        sub.add_argument("--n-jobs", type=int, default=-1)
        sub.add_argument("--seed", type=int, default=0)
        sub.add_argument("--verbose", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "scan":
        run_scan(args)
    else:
        if not (args.cache / "features.npz").is_file():
            parser.error(f"{args.cache} has no features.npz: run the scan command first")
        run_cascade(args)


if __name__ == "__main__":
    main()
