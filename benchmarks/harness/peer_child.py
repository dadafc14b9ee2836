"""One benchmark job of a peer library, run by the peer's own interpreter (see ``peers``).

Standalone on purpose: it imports nothing of this repository (whose ``deepforest`` would shadow
the peer's) and runs on the peer's older Python. The parent hands it a job file naming a split
saved as ``.npz`` and its task; it fits and scores the peer's classifier or regressor once per
seed with the same measurements and score formulas as ``runner.run_job`` and appends one JSON
row per seed to the job's results file. Deep-Forest 0.1.7 rejects missing values: where the
split has any, they are replaced by the training columns' medians, and the row says so.

    <peer python> benchmarks/harness/peer_child.py JOB.json
"""

from __future__ import annotations

import gc
import json
import math
import pickle
import resource
import sys
import time
import traceback


class _CountingWriter:
    def __init__(self):
        self.size = 0

    def write(self, data):
        # Protocol 5 hands large arrays over as buffers, which have no len().
        size = memoryview(data).nbytes
        self.size += size
        return size


def _maxrss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    scale = 1 / 2**20 if sys.platform == "darwin" else 1 / 2**10
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _reset_peak_rss() -> None:
    """Lower the resident-memory high-water mark to the current level, where Linux allows it.

    Reading a table (pandas parsing a CSV) peaks above what stays resident; without the reset
    that passing peak would hide the peak of every smaller model (``/proc/self/clear_refs``,
    Linux 4.0 and later; elsewhere nothing happens).
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_rss_mb() -> float:
    """The resident-memory high-water mark in MB: ``VmHWM`` where ``/proc`` has it.

    ``ru_maxrss`` (the fallback) also keeps the peak of threads that have exited, which the
    reset does not lower.
    """
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    return _maxrss_mb()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
    _reset_peak_rss()
    baseline_mb = _peak_rss_mb()
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
            cpu_start = _cpu_seconds()
            start = time.perf_counter()
            # 0.1.7's fit returns None: the model is not chained.
            model.fit(X_train, targets)
            fit_seconds = time.perf_counter() - start
            fit_cpu_seconds = _cpu_seconds() - cpu_start
            start = time.perf_counter()
            predicted = np.asarray(model.predict(X_test))
            predict_seconds = time.perf_counter() - start
            if classes is not None:
                predicted = classes[predicted.astype(np.int64)]
            peak_mb = _peak_rss_mb()
            writer = _CountingWriter()
            pickle.dump(model, writer, protocol=pickle.HIGHEST_PROTOCOL)
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
                model_mb=writer.size / 2**20,
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
    main(sys.argv[1])
