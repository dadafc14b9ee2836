"""The benchmark harness: an end-to-end run of the tiny suite, the loader's skip behaviour,
and the pieces the report is made of."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import _datasets, _depth, _report, _runner
from benchmarks._datasets import DatasetUnavailable, load_dataset

# Slow: runs the benchmark suite end to end on tiny data.
pytestmark = pytest.mark.slow

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    """``python -m benchmarks run --suite tiny --check`` once for the module (< 60 s)."""
    pytest.importorskip("matplotlib")
    pytest.importorskip("xgboost")
    out = tmp_path_factory.mktemp("bench") / "tiny"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "run",
            "--suite",
            "tiny",
            "--out",
            str(out),
            "--offline",
            "--check",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    return out, completed


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
        "figures/cascade_layers.png",
    ):
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size > 0, name
    # Each job's stderr is kept, with the cascade's per-layer progress.
    assert "layer 0" in (out / "logs" / "digits-cascade.log").read_text()


def test_gcforest_on_mnist_uses_the_scanning_script_settings():
    import runpy

    from benchmarks._datasets import Dataset
    from benchmarks._models import MODELS

    script = runpy.run_path(str(PROJECT_ROOT / "benchmarks" / "mnist_scanning.py"), run_name="x")
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

    script = runpy.run_path(str(PROJECT_ROOT / "benchmarks" / "mnist_scanning.py"), run_name="x")
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
    from benchmarks._models import MODELS

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
    data = np.zeros(100_000, dtype=np.uint8)
    assert _runner.pickled_size(data) >= 100_000


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

    from benchmarks._gcforest_settings import GCFOREST_SETTINGS
    from deepforest import GCForestClassifier

    X_train, y_train, X_test, y_test = load_npz("mnist")
    n_train, n_test = 300, 200
    scan_overrides = {"n_trees": 6, "max_windows": 3000}
    cascade_overrides = {"n_trees": 4, "max_layers": 2}
    env = {**os.environ, "DEEPFOREST_DATA_DIR": str(data_dir)}
    script = [sys.executable, str(PROJECT_ROOT / "benchmarks" / "scanning_parts.py")]
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
