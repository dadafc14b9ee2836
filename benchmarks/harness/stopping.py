"""How well does the cascade choose its depth? Stopping and keep rules against the oracle depth.

For every dataset and seed a cascade with the defaults is grown to ``--max-layers`` layers with
no early stopping, and every layer is recorded: its out-of-sample outputs on the training rows
(what the stopping rule reads), its predictions on the test set (what the rule should serve) and
its fit time. Rules are then replayed on those records, each deciding as it would during a fit:
which layers it grows (so its fit time) and which it keeps (so its test accuracy). The *oracle
depth* is the number of layers with the best test accuracy; a rule is good when its choice is
close to the oracle's accuracy at little cost.

Rules replayed:

* ``today`` -- release 0.1.0: a gain of more than ``delta=1e-5`` is an improvement, growth
  stops after 2 layers without one, and layers within ``depth_tolerance=0.0025`` of the best
  score are kept.
* ``z=Z, patience=P, keep=K`` -- the cascade's statistical rule (``min_gain_se``,
  ``max_loss_se``): an improvement is a gain over the best layer larger than Z standard
  errors of the paired difference; growth stops after P layers without one; layers after
  the best are kept unless worse than it by more than K standard errors (``keep=none``: up
  to the best only).

Usage::

    python -m benchmarks stopping --datasets letter adult --seeds 3 --out DIR
    python -m benchmarks stopping --replay DIR      # re-render from the records
"""

from __future__ import annotations

import itertools
import json
import time
import warnings
from pathlib import Path

import numpy as np

OLD_DELTA = 1e-5
OLD_PATIENCE = 2
OLD_DEPTH_TOLERANCE = 0.0025


def record(dataset_name: str, seed: int, max_layers: int, threads: int, data_dir, out: Path):
    """Grow a default cascade to ``max_layers`` layers and save every layer's evidence."""
    from deepforest import CascadeForestClassifier

    from .datasets import load_dataset

    dataset = load_dataset(dataset_name, data_dir, allow_download=False)
    captured: list[np.ndarray] = []
    model = CascadeForestClassifier(
        max_layers=max_layers,
        n_tolerant_rounds=max_layers,
        depth_tolerance=1.0,  # keep every layer, to test each one
        boost_rounds=0,  # every stage a layer's mean, the last one too
        n_jobs=threads,
        random_state=seed,
    )

    def capture(report):
        # Every layer's averaged out-of-sample output, as the stopping rule sees it.
        captured.append(report.out_of_sample_output.astype(np.float32))

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.fit(dataset.X_train, dataset.y_train, callbacks=[capture])
    fit_seconds = time.perf_counter() - start
    classes = model.classes_
    oos_correct = np.array([classes[o.argmax(axis=1)] == dataset.y_train for o in captured])
    test_correct, test_log_loss = [], []
    y_codes = np.searchsorted(classes, dataset.y_test)
    for proba in model.staged_predict_proba(dataset.X_test):
        test_correct.append(classes[proba.argmax(axis=1)] == dataset.y_test)
        picked = np.clip(proba[np.arange(len(y_codes)), y_codes], 1e-15, 1)
        test_log_loss.append(float(-np.mean(np.log(picked))))
    layer_seconds = np.asarray(model.history_["fit_time"])
    path = out / f"{dataset_name}-seed{seed}.npz"
    np.savez_compressed(
        path,
        oos_correct=oos_correct,
        test_correct=np.array(test_correct),
        test_log_loss=np.array(test_log_loss),
        layer_seconds=layer_seconds,
        other_seconds=fit_seconds - layer_seconds.sum(),
        n_train=len(dataset.y_train),
    )
    return path


# ------------------------------------------------------------------------------ the rules
def _paired(new: np.ndarray, old: np.ndarray) -> tuple[float, float]:
    difference = new.astype(np.float64) - old.astype(np.float64)
    n = len(difference)
    return float(difference.mean()), float(difference.std() / np.sqrt(max(n - 1, 1)))


def replay_today(oos_correct: np.ndarray) -> tuple[int, int]:
    """(layers grown, layers kept) under release 0.1.0's rule."""
    scores = oos_correct.mean(axis=1)
    best, best_score, grown = -1, -np.inf, 0
    for index, score in enumerate(scores):
        grown = index + 1
        if score > best_score + OLD_DELTA:
            best, best_score = index, score
        if index - best >= OLD_PATIENCE:
            break
    kept = max(i for i in range(best, grown) if scores[i] >= best_score - OLD_DEPTH_TOLERANCE)
    return grown, kept + 1


def replay_statistical(
    oos_correct: np.ndarray, z: float, patience: int, keep_z: float | None
) -> tuple[int, int]:
    """(layers grown, layers kept) under the statistical rule with these settings."""
    best, grown = 0, 1
    for index in range(1, len(oos_correct)):
        grown = index + 1
        gain, error = _paired(oos_correct[index], oos_correct[best])
        if gain > z * error:
            best = index
        if index - best >= patience:
            break
    last = best
    if keep_z is not None:
        for index in range(best + 1, grown):
            gain, error = _paired(oos_correct[index], oos_correct[best])
            if gain >= -keep_z * error:
                last = index
            else:
                break
    return grown, last + 1


def rules() -> dict[str, callable]:
    found = {"today": replay_today}
    for z, patience, keep in itertools.product((0.0, 1.0, 1.645, 2.0), (1, 2), (None, 1.0, 2.0)):
        name = f"z={z:g} patience={patience} keep={'none' if keep is None else f'{keep:g}'}"
        found[name] = lambda c, z=z, p=patience, k=keep: replay_statistical(c, z, p, k)
    return found


def evaluate(directory: Path) -> dict:
    """Replay every rule on every record; return per-rule, per-dataset summaries."""
    records = sorted(directory.glob("*-seed*.npz"))
    results: dict = {}
    for path in records:
        dataset = path.stem.rsplit("-seed", 1)[0]
        with np.load(path) as data:
            oos, test = data["oos_correct"], data["test_correct"]
            seconds, other = data["layer_seconds"], float(data["other_seconds"])
            log_loss = data["test_log_loss"]
        test_accuracy = test.mean(axis=1)
        oracle = int(np.argmax(test_accuracy))
        for name, rule in rules().items():
            grown, kept = rule(oos)
            entry = results.setdefault(name, {}).setdefault(dataset, [])
            entry.append(
                {
                    "grown": grown,
                    "kept": kept,
                    "accuracy": float(test_accuracy[kept - 1]),
                    "oracle_accuracy": float(test_accuracy[oracle]),
                    "oracle_layers": oracle + 1,
                    "fit_seconds": other + float(seconds[:grown].sum()),
                    "oos_score": float(oos[kept - 1].mean()),
                    "log_loss": float(log_loss[kept - 1]),
                    "layer0_log_loss": float(log_loss[0]),
                }
            )
    return results


def summarise(results: dict) -> list[dict]:
    """One row per rule: mean gap to the oracle, worst dataset against today's, costs."""
    today = results["today"]
    rows = []
    for name, by_dataset in results.items():
        gaps, versus_today, layers, seconds, today_seconds = [], [], [], [], []
        for dataset, runs in by_dataset.items():
            gaps.append(np.mean([r["oracle_accuracy"] - r["accuracy"] for r in runs]))
            versus_today.append(
                np.mean([r["accuracy"] for r in runs])
                - np.mean([r["accuracy"] for r in today[dataset]])
            )
            layers.append(np.mean([r["kept"] for r in runs]))
            seconds.append(sum(r["fit_seconds"] for r in runs))
            today_seconds.append(sum(r["fit_seconds"] for r in today[dataset]))
        rows.append(
            {
                "rule": name,
                "mean_gap_points": 100 * float(np.mean(gaps)),
                "worst_vs_today_points": 100 * float(np.min(versus_today)),
                "mean_layers_kept": float(np.mean(layers)),
                "fit_time_vs_today": float(np.sum(seconds) / np.sum(today_seconds)),
            }
        )
    return sorted(rows, key=lambda r: (r["mean_gap_points"], r["fit_time_vs_today"]))


def compare_screening(datasets, seeds: int, threads: int, data_dir, out: Path) -> list[dict]:
    """Fit the default cascade with and without confidence screening; time, size, accuracy."""
    import pickle

    from deepforest import CascadeForestClassifier

    from .datasets import load_dataset
    from .measure import pickled_size

    rows = []
    for name in datasets:
        dataset = load_dataset(name, data_dir, allow_download=False)
        for seed in range(seeds):
            for screening in (False, True):
                model = CascadeForestClassifier(
                    confidence_screening=screening, n_jobs=threads, random_state=seed
                )
                start = time.perf_counter()
                model.fit(dataset.X_train, dataset.y_train)
                fit_seconds = time.perf_counter() - start
                start = time.perf_counter()
                accuracy = float(np.mean(model.predict(dataset.X_test) == dataset.y_test))
                predict_seconds = time.perf_counter() - start
                row = {
                    "dataset": name,
                    "seed": seed,
                    "screening": screening,
                    "accuracy": accuracy,
                    "fit_seconds": fit_seconds,
                    "predict_seconds": predict_seconds,
                    "model_mb": pickled_size(model, protocol=pickle.DEFAULT_PROTOCOL) / 2**20,
                    "layers": model.n_layers_,
                    "screened_share": getattr(model, "screened_share_", np.zeros(1)).tolist(),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    (out / "screening.json").write_text(json.dumps(rows, indent=1))
    return rows


def main(args) -> int:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.screening:
        compare_screening(args.datasets, args.seeds, args.threads, args.data_dir, out)
        return 0
    if not args.replay:
        for dataset in args.datasets:
            for seed in range(args.seeds):
                start = time.perf_counter()
                path = record(dataset, seed, args.max_layers, args.threads, args.data_dir, out)
                print(f"{path.name}: {time.perf_counter() - start:.0f} s", flush=True)
    results = evaluate(out)
    (out / "rules.json").write_text(json.dumps(results, indent=1))
    summary = summarise(results)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    for row in summary[:15] + [r for r in summary if r["rule"] == "today"]:
        print(
            f"{row['rule']:<32} gap {row['mean_gap_points']:5.2f} pt  worst vs today "
            f"{row['worst_vs_today_points']:+5.2f} pt  layers {row['mean_layers_kept']:4.2f}  "
            f"time x{row['fit_time_vs_today']:.2f}"
        )
    return 0
