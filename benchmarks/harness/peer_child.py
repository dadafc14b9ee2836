"""One benchmark job of a peer library, run by the peer's own interpreter (see ``peers``).

Nearly standalone on purpose: of this repository it imports only :mod:`measure` (standard
library only), never this ``deepforest``, which would shadow the peer's, and it runs on the
peer's older Python. The parent hands it a job file naming a split saved as ``.npz`` and its
task; it fits and scores the peer's classifier or regressor once per seed with the same
measurements and score formulas as ``runner.run_job`` and appends one JSON row per seed to the
job's results file. Deep-Forest 0.1.7 rejects missing values: where the split has any, they are
replaced by the training columns' medians, and the row says so.

    <peer python> benchmarks/harness/peer_child.py JOB.json
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
import time
import traceback

if __package__:  # imported by the runner, for the score formulas
    from .measure import cpu_seconds, pickled_size, reset_peak_rss, resettable_peak_mb
else:  # run by path by the peer's interpreter: this folder is sys.path[0]
    from measure import cpu_seconds, pickled_size, reset_peak_rss, resettable_peak_mb


def _build(model: str, task: str, seed: int, threads: int, params: dict):
    if model == "deep_forest_017":
        from deepforest import CascadeForestClassifier, CascadeForestRegressor

        cascade = CascadeForestRegressor if task == "regression" else CascadeForestClassifier
        return cascade(n_jobs=threads, random_state=seed, **params)
    raise ValueError(f"no peer model {model!r}")


def _scores(task: str, y_true, y_pred) -> dict:
    """Accuracy, or R², MAE and RMSE: ``runner.prediction_scores`` for both environments."""
    import numpy as np

    if task == "regression":
        y_true = np.asarray(y_true, dtype=np.float64).ravel()
        residuals = y_true - np.asarray(y_pred, dtype=np.float64).ravel()
        squares = float(np.sum((y_true - y_true.mean()) ** 2))
        r2 = 1.0 - float(residuals @ residuals) / squares if squares > 0 else math.nan
        return {
            "metric": "r2",
            "score": r2,
            "r2": r2,
            "mae": float(np.mean(np.abs(residuals))),
            "rmse": float(np.sqrt(np.mean(residuals**2))),
        }
    accuracy = float(np.mean(np.asarray(y_pred) == np.asarray(y_true)))
    return {"metric": "accuracy", "score": accuracy, "accuracy": accuracy}


def _imputed(X_train, X_test):
    """Missing cells replaced by the training column's median (0 for an empty column)."""
    import warnings

    import numpy as np

    with warnings.catch_warnings():
        # An all-missing column's median is NaN, with a warning: it becomes 0.
        warnings.simplefilter("ignore", RuntimeWarning)
        medians = np.nan_to_num(np.nanmedian(X_train, axis=0))
    return (np.where(np.isnan(X), medians, X) for X in (X_train, X_test))


def main(job_path: str) -> None:
    with open(job_path) as handle:
        job = json.load(handle)
    threads = int(job["threads"])
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    import numpy as np

    task = job.get("task", "classification")
    with np.load(job["split"], allow_pickle=False) as data:
        X_train, y_train = data["X_train"], data["y_train"]
        X_test, y_test = data["X_test"], data["y_test"]
    imputed = bool(np.isnan(X_train).any() or np.isnan(X_test).any())
    if imputed:
        X_train, X_test = _imputed(X_train, X_test)
    if task == "regression":
        classes, targets = None, y_train.astype(np.float64)
    else:
        # Peers take integer class codes; predictions are mapped back to the labels.
        classes, targets = np.unique(y_train, return_inverse=True)
    gc.collect()
    reset_peak_rss()
    baseline_mb = resettable_peak_mb()
    for index, seed in enumerate(job["seeds"]):
        row = {
            "dataset": job["dataset"],
            "model": job["model"],
            "seed": seed,
            "threads": threads,
            "fresh_process": index == 0,
        }
        try:
            model = _build(job["model"], task, seed, threads, job["params"])
            gc.collect()
            cpu_start = cpu_seconds()
            start = time.perf_counter()
            # 0.1.7's fit returns None: the model is not chained.
            model.fit(X_train, targets)
            fit_seconds = time.perf_counter() - start
            fit_cpu_seconds = cpu_seconds() - cpu_start
            start = time.perf_counter()
            predicted = np.asarray(model.predict(X_test))
            predict_seconds = time.perf_counter() - start
            if classes is not None:
                predicted = classes[predicted.astype(np.int64)]
            peak_mb = resettable_peak_mb()
            details = {"n_layers_": int(getattr(model, "n_layers_", 0))}
            if imputed:
                details["imputed"] = (
                    "missing values replaced by training medians (0.1.7 rejects NaN)"
                )
            n_test = int(X_test.shape[0])
            row.update(
                status="ok",
                task=task,
                **_scores(task, y_test, predicted),
                fit_seconds=fit_seconds,
                fit_cpu_seconds=fit_cpu_seconds,
                predict_seconds=predict_seconds,
                n_test=n_test,
                predict_rows_per_second=n_test / max(predict_seconds, 1e-9),
                peak_rss_mb=peak_mb,
                peak_delta_mb=peak_mb - baseline_mb,
                model_mb=pickled_size(model) / 2**20,
                details=details,
            )
            del model
        except Exception as error:
            row.update(
                status="error",
                reason=f"{type(error).__name__}: {error}",
                traceback=traceback.format_exc(limit=8),
            )
        with open(job["rows_path"], "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps({k: row.get(k) for k in ("dataset", "model", "seed", "status")}))
        sys.stdout.flush()
        gc.collect()


if __name__ == "__main__":
    # This folder leaves the path before the peer's libraries load: the harness modules' plain
    # names (datasets, models, report, ...) must not shadow theirs.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    main(sys.argv[1])
