"""Time the ``deepforest`` command on the raw Adult CSV: training, then large-file prediction.

Runs the real command in subprocesses and measures each one from outside (wall time, and peak
resident memory from the kernel's accounting of that child, ``os.wait4``):

1. ``deepforest train adult_raw.csv.gz --target income`` with the command's defaults
   (20 % held out): time, held-out accuracy, peak memory, model file size;
2. ``deepforest predict`` on CSV files made by repeating the Adult rows, by default 200,000
   and 1,000,000 rows: rows per second and peak memory, which should not grow with the file
   since it is read and scored in chunks.

Usage (from the project root)::

    python benchmarks/studies/cli_throughput.py  # $DEEPFOREST_DATA_DIR or ../shared/data
    python benchmarks/studies/cli_throughput.py --rows 200000 1000000 --json results.json

The machine is assumed shared: run it with ``nice -n 10``.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from benchmarks.harness.measure import cpu_seconds, data_dir, rusage_mb, wait_child  # noqa: E402

DEFAULT_DATA = data_dir() / "adult_raw.csv.gz"


def measure(command: list[str], cwd: Path) -> dict:
    """Run ``command``; return its wall time, peak RSS (MB), exit code, stdout and stderr."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err)
        usage = wait_child(process)
        seconds = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {
            "seconds": seconds,
            # CPU time does not depend on what else the machine runs, unlike wall time.
            "cpu_seconds": cpu_seconds(usage),
            "peak_rss_mb": rusage_mb(usage.ru_maxrss),
            "returncode": process.returncode,
            "stdout": out.read().decode(),
            "stderr": err.read().decode(),
        }


def repeat_rows(source: Path, target: Path, n_rows: int) -> None:
    """Write a CSV of ``n_rows`` rows: the source's header, then its rows over and over."""
    with gzip.open(source, "rt", newline="") as handle:
        header, *rows = handle.read().splitlines()
    with open(target, "w", newline="") as handle:
        handle.write(header + "\n")
        for line in itertools.islice(itertools.cycle(rows), n_rows):
            handle.write(line + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="adult_raw.csv.gz")
    parser.add_argument(
        "--rows", type=int, nargs="*", default=[200_000, 1_000_000], help="none: train only"
    )
    parser.add_argument("--workdir", type=Path, help="where files go (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if not args.data.exists():
        parser.error(f"{args.data} is absent; pass --data")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="deepforest-cli-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    deepforest = [sys.executable, "-m", "deepforest"]
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}, files in {workdir}")
    # Wall times on a shared machine depend on its load: record it next to every figure.

    model = workdir / "adult.skops"
    options = ["--target", "income", "-o", str(model), "--force", "--json"]
    train = measure([*deepforest, "train", str(args.data), *options], workdir)
    if train["returncode"] != 0:
        print(train["stderr"], file=sys.stderr)
        return 1
    trained = json.loads(train["stdout"])
    results = {
        "train": {
            "seconds": round(train["seconds"], 1),
            "cpu_seconds": round(train["cpu_seconds"], 1),
            "fit_seconds": trained["fit_seconds"],
            "peak_rss_mb": round(train["peak_rss_mb"]),
            "held_out_rows": trained["metrics"]["n_rows"],
            "accuracy": round(trained["metrics"]["accuracy"], 4),
            "balanced_accuracy": round(trained["metrics"]["balanced_accuracy"], 4),
            "log_loss": round(trained["metrics"]["log_loss"], 4),
            "n_layers": trained["n_layers"],
            "model_mb": round(trained["model_bytes"] / 1e6, 1),
        },
        "predict": [],
    }
    results["train"]["load_average"] = round(os.getloadavg()[0], 1)
    print(f"train: {json.dumps(results['train'])}", flush=True)

    for n_rows in args.rows:
        data = workdir / f"adult_{n_rows}.csv"
        repeat_rows(args.data, data, n_rows)
        output = workdir / f"predictions_{n_rows}.csv"
        options = ["-o", str(output), "--force", "--proba", "--json"]
        run = measure([*deepforest, "predict", str(model), str(data), *options], workdir)
        if run["returncode"] != 0:
            print(run["stderr"], file=sys.stderr)
            return 1
        summary = json.loads(run["stdout"])
        entry = {
            "rows": n_rows,
            "seconds": round(run["seconds"], 1),
            "cpu_seconds": round(run["cpu_seconds"], 1),
            "rows_per_second": round(n_rows / run["seconds"]),
            "load_seconds": summary["load_seconds"],
            "rows_per_second_after_load": round(summary["rows_per_second"]),
            "peak_rss_mb": round(run["peak_rss_mb"]),
            "input_mb": round(data.stat().st_size / 1e6),
        }
        entry["load_average"] = round(os.getloadavg()[0], 1)
        results["predict"].append(entry)
        print(f"predict: {json.dumps(entry)}", flush=True)
        data.unlink()
        output.unlink()

    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
