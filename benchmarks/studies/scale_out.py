"""Scale out and scale up: peak memory and fit time of a cascade on 1,000,000 x 50 synthetic rows.

Configurations, each fitted in a fresh child process so that its peak resident memory
(``ru_maxrss``) is its own:

* ``float32``: plain float32 array in memory, local threads (the baseline);
* ``memmap``: the same data as a read-only float32 ``.npy`` memmap, local threads;
* ``memmap+spill``: as ``memmap``, with every fitted layer spilled to disk as soon as it is
  fitted (``spill_dir`` when the cascade has it, else the same hook patched in from outside);
* ``dask-1`` and ``dask-2``: float32 in memory, trained through a Dask ``LocalCluster`` of one
  worker with two threads, and of two single-threaded worker processes (both use the two
  cores), with joblib's ``"dask"`` backend.

For Dask runs the client's peak and the largest worker process's peak are reported apart
(workers are the client's grandchildren, reaped when the cluster closes). Every run predicts
the same 20,000 rows, and the digest of those probabilities shows whether the models are equal.

Usage::

    nice -n 10 python benchmarks/studies/scale_out.py --out benchmarks/results/scale_out
    nice -n 10 python benchmarks/studies/scale_out.py --rows 100000 \\
        --configs float32 dask-2  # quick

The machine is shared: the runs go one at a time, and ``--configs`` picks a subset.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from benchmarks.harness.measure import peak_rss_mb, rusage_mb, wait_child

CONFIGS = ("float32", "memmap", "memmap+spill", "dask-1", "dask-2")
# Small cascade settings so that one fit of a million rows takes minutes on two cores:
# one forest pair per layer, 20 trees, two layers, a fixed leaf size (no probe forests) and
# bootstrap samples of a tenth of the rows.
CASCADE = {
    "n_estimators": 1,
    "n_trees": 20,
    "max_layers": 2,
    "min_samples_leaf": 4,
    "max_samples": 0.1,
    "n_jobs": 2,
    "random_state": 0,
}
PREDICT_ROWS = 20_000


def make_data(directory: Path, n_rows: int, n_features: int) -> tuple[Path, Path]:
    """Write the synthetic binary problem as float32 ``X.npy`` and int8 ``y.npy`` (once)."""
    x_path, y_path = directory / "X.npy", directory / "y.npy"
    if x_path.exists() and y_path.exists():
        X = np.load(x_path, mmap_mode="r")
        if X.shape == (n_rows, n_features):
            return x_path, y_path
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=n_rows,
        n_features=n_features,
        n_informative=10,
        n_redundant=10,
        flip_y=0.05,
        random_state=0,
    )
    np.save(x_path, X.astype(np.float32))
    np.save(y_path, y.astype(np.int8))
    return x_path, y_path


# --------------------------------------------------------------------------- child process
class _RssSampler:
    """Largest anonymous and file-backed resident memory of this process, sampled.

    ``ru_maxrss`` counts the pages of a memmap that have been read, although they are clean
    file pages the kernel can drop under pressure; sampling ``RssAnon`` separates the memory
    that really has to stay.
    """

    def __init__(self, interval: float = 0.2):
        self.interval = interval
        self.peak_kib = {"RssAnon": 0, "RssFile": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        with open("/proc/self/status") as status:
            for line in status:
                key = line.split(":")[0]
                if key in self.peak_kib:
                    self.peak_kib[key] = max(self.peak_kib[key], int(line.split()[1]))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> _RssSampler:
        if os.path.exists("/proc/self/status"):
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()


def run_child(config: str, x_path: Path, y_path: Path, result_path: Path) -> None:
    """Fit one configuration and write its measurements as JSON."""
    import joblib

    from deepforest import CascadeForestClassifier

    record: dict = {"config": config}
    mmap = config.startswith("memmap")
    X = np.load(x_path, mmap_mode="r" if mmap else None)
    y = np.load(y_path)
    record["input"] = f"{type(X).__name__} {X.dtype} {X.shape}"
    params = dict(CASCADE)
    spill_dir = None
    if config == "memmap+spill":
        spill_dir = Path(tempfile.mkdtemp(prefix="deepforest-spill-", dir=result_path.parent))
        params["spill_dir"] = str(spill_dir)
    model = CascadeForestClassifier(**params)

    cluster = client = None
    if config.startswith("dask-"):
        from distributed import Client, LocalCluster

        n_workers = int(config.split("-")[1])
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=2 // n_workers,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        )
        client = Client(cluster)
        client.wait_for_workers(n_workers)
        record["workers"] = f"{n_workers} x {2 // n_workers} threads"

    start = time.perf_counter()
    with _RssSampler() as sampler:
        if client is not None:
            with joblib.parallel_backend("dask"):
                model.fit(X, y)
        else:
            model.fit(X, y)
    record["fit_seconds"] = round(time.perf_counter() - start, 1)
    record["fit_peak_anon_mib"] = round(sampler.peak_kib["RssAnon"] / 1024, 1)
    record["fit_peak_file_mib"] = round(sampler.peak_kib["RssFile"] / 1024, 1)
    record["layer_fit_seconds"] = [round(t, 1) for t in model.history_["fit_time"]]
    record["n_layers"] = model.n_layers_
    record["oob_accuracy"] = round(float(model.best_score_), 5)
    proba = model.predict_proba(np.asarray(X[:PREDICT_ROWS]))
    record["proba_digest"] = hashlib.sha1(np.ascontiguousarray(proba).tobytes()).hexdigest()[:12]
    if spill_dir is not None:
        record["spilled_mib"] = round(sum(p.stat().st_size for p in spill_dir.iterdir()) / 2**20, 1)
    if client is not None:
        client.close()
        cluster.close()
        record["worker_peak_mib"] = round(peak_rss_mb(resource.RUSAGE_CHILDREN), 1)
    record["peak_mib"] = round(peak_rss_mb(resource.RUSAGE_SELF), 1)
    if spill_dir is not None:
        shutil.rmtree(spill_dir, ignore_errors=True)
    result_path.write_text(json.dumps(record))


# -------------------------------------------------------------------------- parent process
def run_config(config: str, x_path: Path, y_path: Path, out: Path) -> dict:
    result_path = out / f"{config}.json"
    result_path.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--child", config, "--x", str(x_path), "--y", str(y_path)]
    command += ["--result", str(result_path)]
    start = time.perf_counter()
    process = subprocess.Popen(command)
    # The child's own resource usage, as a check of what it reports.
    usage = wait_child(process)
    if process.returncode != 0 or not result_path.exists():
        return {"config": config, "error": f"exit code {process.returncode}"}
    record = json.loads(result_path.read_text())
    record["wall_seconds"] = round(time.perf_counter() - start, 1)
    record["wait4_peak_mib"] = round(rusage_mb(usage.ru_maxrss), 1)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale_out"))
    parser.add_argument("--data-dir", type=Path, default=None, help="where X.npy and y.npy go")
    parser.add_argument("--child", choices=CONFIGS, help=argparse.SUPPRESS)
    parser.add_argument("--x", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--y", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        run_child(args.child, args.x, args.y, args.result)
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    data_dir = args.data_dir or args.out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    x_path, y_path = make_data(data_dir, args.rows, args.features)
    print(f"data {args.rows} x {args.features}: {time.perf_counter() - start:.0f}s", flush=True)
    records = []
    for config in args.configs:
        record = run_config(config, x_path, y_path, args.out)
        print(json.dumps(record), flush=True)
        records.append(record)
    summary = {
        "rows": args.rows,
        "features": args.features,
        "cascade": CASCADE,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "python": platform.python_version(),
        "results": records,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(_table(records))
    return 0


def _table(records: list[dict]) -> str:
    lines = [
        "| configuration | fit s | peak RSS MiB | of it anonymous (sampled) | largest worker MiB "
        "| digest |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in records:
        if "error" in r:
            lines.append(f"| {r['config']} | failed: {r['error']} | | | | |")
            continue
        worker = r.get("worker_peak_mib", "")
        anon = r.get("fit_peak_anon_mib", "")
        lines.append(
            f"| {r['config']} | {r['fit_seconds']} | {r['peak_mib']} | {anon} | {worker} | "
            f"{r['proba_digest']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
