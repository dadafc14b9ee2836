"""One benchmark job of a peer library, run by the peer's own interpreter (see ``_peers``).

Standalone on purpose: it imports nothing of this repository (whose ``deepforest`` would shadow
the peer's) and runs on the peer's older Python. The parent hands it a job file naming a split
saved as ``.npz``; it fits and scores the peer once per seed with the same measurements as
``_runner.run_job`` and appends one JSON row per seed to the job's results file.

    <peer python> benchmarks/_peer_child.py JOB.json
"""

from __future__ import annotations

import gc
import json
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _build(model: str, seed: int, threads: int, params: dict):
    if model == "deep_forest_017":
        from deepforest import CascadeForestClassifier

        return CascadeForestClassifier(n_jobs=threads, random_state=seed, **params)
    raise ValueError(f"no peer model {model!r}")


def main(job_path: str) -> None:
    with open(job_path) as handle:
        job = json.load(handle)
    threads = int(job["threads"])
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    import numpy as np

    with np.load(job["split"], allow_pickle=False) as data:
        X_train, y_train = data["X_train"], data["y_train"]
        X_test, y_test = data["X_test"], data["y_test"]
    # Peers take integer class codes; predictions are mapped back to the labels.
    classes, codes = np.unique(y_train, return_inverse=True)
    gc.collect()
    baseline_mb = _maxrss_mb()
    for index, seed in enumerate(job["seeds"]):
        row = {
            "dataset": job["dataset"],
            "model": job["model"],
            "seed": seed,
            "threads": threads,
            "fresh_process": index == 0,
        }
        try:
            model = _build(job["model"], seed, threads, job["params"])
            gc.collect()
            cpu_start = _cpu_seconds()
            start = time.perf_counter()
            model.fit(X_train, codes)
            fit_seconds = time.perf_counter() - start
            fit_cpu_seconds = _cpu_seconds() - cpu_start
            start = time.perf_counter()
            predicted = classes[np.asarray(model.predict(X_test), dtype=np.int64)]
            predict_seconds = time.perf_counter() - start
            peak_mb = _maxrss_mb()
            writer = _CountingWriter()
            pickle.dump(model, writer, protocol=pickle.HIGHEST_PROTOCOL)
            row.update(
                status="ok",
                accuracy=float(np.mean(predicted == y_test)),
                fit_seconds=fit_seconds,
                fit_cpu_seconds=fit_cpu_seconds,
                predict_seconds=predict_seconds,
                peak_rss_mb=peak_mb,
                peak_delta_mb=peak_mb - baseline_mb,
                model_mb=writer.size / 2**20,
                details={"n_layers_": int(getattr(model, "n_layers_", 0))},
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
