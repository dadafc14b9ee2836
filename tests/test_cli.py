"""End-to-end tests of the ``deepforest`` command: the real command in a subprocess, real files.

A small model is trained once per module on a sample of the raw UCI Adult CSV (strings, missing
values); the other tests predict, evaluate and inspect with it, and feed the command the files
and options a user gets wrong, expecting one line on stderr, exit code 2 and no traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA_DIR_VARIABLE, shared_data_dir

from deepforest.cli import main
from deepforest.cli.model_file import read_metadata

# Slow: the command line run as a subprocess on real CSV files.
pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]
# Small settings keep each training run to seconds; the figures asserted hold with margin.
FAST = ["--n-trees", "10", "--max-layers", "2", "--n-jobs", "2"]
PREDICT_OPTIONS = ["--proba", "--id-column", "age"]


def run(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``python -m deepforest ARGS`` the way a user would, from ``cwd``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env.pop("DEEPFOREST_DEBUG", None)
    result = subprocess.run(
        [sys.executable, "-m", "deepforest", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert "Traceback" not in result.stderr, result.stderr
    if check:
        assert result.returncode == 0, result.stderr
    return result


def run_all(*commands: tuple, cwd: Path) -> list[subprocess.CompletedProcess]:
    """Run independent commands two at a time (the machines that run this have 2 cores)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(run, *command, cwd=cwd, check=False) for command in commands]
        return [future.result() for future in futures]


def error_line(result: subprocess.CompletedProcess) -> str:
    """The one error line of a failed command (progress lines may come before it)."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith("deepforest") for line in lines), result.stderr
    errors = [line for line in lines if "error:" in line]
    assert errors == lines[-1:], result.stderr
    return errors[0]


@pytest.fixture(scope="module")
def adult(tmp_path_factory) -> dict:
    """A trained model on 3000 Adult rows, with 1000 other rows to score."""
    # The data_dir fixture is per test; this one trains once per module, so it asks directly.
    data_dir = shared_data_dir()
    if data_dir is None:
        pytest.skip(f"the offline datasets are absent: set {DATA_DIR_VARIABLE}")
    folder = tmp_path_factory.mktemp("adult")
    frame = pd.read_csv(data_dir / "adult_raw.csv.gz", dtype=str, keep_default_na=False)
    rows = np.random.default_rng(0).permutation(len(frame))
    train, test = frame.iloc[rows[:3000]], frame.iloc[rows[3000:4000]]
    train.to_csv(folder / "train.csv.gz", index=False)
    test.to_csv(folder / "test.csv", index=False)
    result = run(
        "train",
        "train.csv.gz",
        "--target",
        "income",
        "-o",
        "adult.skops",
        *FAST,
        "--json",
        cwd=folder,
    )
    # Reference predictions, which several tests compare with.
    run("predict", "adult.skops", "test.csv", "-o", "out.csv", *PREDICT_OPTIONS, cwd=folder)
    return {
        "dir": folder,
        "train": json.loads(result.stdout),
        "stderr": result.stderr,
        "test": test.reset_index(drop=True),
    }


# ---------------------------------------------------------------------------- happy paths
def test_train_on_adult_reports_held_out_metrics_and_progress(adult):
    result = adult["train"]
    assert result["task"] == "classification"
    assert result["target"] == "income"
    assert result["rows"] == 3000 and result["train_rows"] == 2400
    metrics = result["metrics"]
    assert metrics["n_rows"] == 600
    assert 0.78 <= metrics["accuracy"] <= 1
    assert 0.6 <= metrics["balanced_accuracy"] <= metrics["accuracy"] + 0.2
    assert 0 < metrics["log_loss"] < 0.6
    matrix = np.array(metrics["confusion_matrix"]["matrix"])
    assert metrics["confusion_matrix"]["labels"] == ["<=50K", ">50K"]
    assert matrix.sum() == 600
    assert np.trace(matrix) / 600 == pytest.approx(metrics["accuracy"])
    assert 1 <= result["n_layers"] <= 2
    assert (adult["dir"] / "adult.skops").stat().st_size == result["model_bytes"]
    # Progress on stderr: what was read, what was inferred, the layers as they grow.
    stderr = adult["stderr"]
    assert "read 3000 rows, 15 columns" in stderr
    assert "6 numeric, 8 categorical" in stderr
    assert "layer 0" in stderr.lower()


def test_predict_writes_string_labels_and_probabilities(adult):
    folder = adult["dir"]
    out = pd.read_csv(folder / "out.csv", keep_default_na=False)
    assert list(out.columns) == ["age", "income", "proba_<=50K", "proba_>50K"]
    assert len(out) == 1000
    assert out["age"].tolist() == adult["test"]["age"].astype(int).tolist()
    proba = out[["proba_<=50K", "proba_>50K"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-5)
    expected = np.where(proba[:, 1] > proba[:, 0], ">50K", "<=50K")
    decided = np.abs(proba[:, 1] - proba[:, 0]) > 1e-6
    assert (out["income"].to_numpy()[decided] == expected[decided]).all()
    accuracy = (out["income"] == adult["test"]["income"]).mean()
    assert accuracy >= 0.78

    # evaluate agrees with the predictions written by predict
    evaluation = json.loads(run("evaluate", "adult.skops", "test.csv", "--json", cwd=folder).stdout)
    assert evaluation["metrics"]["accuracy"] == pytest.approx(accuracy)
    assert evaluation["metrics"]["n_rows"] == 1000


def test_predict_in_chunks_into_a_pipe_matches_one_pass(adult, tmp_path):
    # Devices and pipes (-o /dev/stdout, a named pipe) are written into, never renamed over.
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    model, data = adult["dir"] / "adult.skops", adult["dir"] / "test.csv"
    with ThreadPoolExecutor(max_workers=1) as pool:
        received = pool.submit(pipe.read_text)
        try:
            options = ["-o", pipe, "--chunk-size", "77", *PREDICT_OPTIONS]
            result = run("predict", model, data, *options, cwd=tmp_path)
        finally:
            # Had the command failed before opening the pipe, the reader would wait forever.
            try:
                os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass  # the reader is gone already
        text = received.result(timeout=1500)
    assert "scored 77 rows" in result.stderr and "scored 1000 rows" in result.stderr
    assert text == (adult["dir"] / "out.csv").read_text()
    assert len(text.splitlines()) == 1001  # a header, then one line per row
    assert pipe.is_fifo() and [path.name for path in tmp_path.iterdir()] == ["pipe"]


def test_predict_checks_columns_and_handles_unseen_categories(adult):
    folder = adult["dir"]
    rows = adult["test"].iloc[[0, 0, 1]].drop(columns="income").copy()
    rows["comment"] = "an extra column"
    # Row 0 has an unseen category and a number that is not one; row 1 is row 0 with both
    # cells empty, which the model must treat the same.
    rows["workclass"] = ["Never-heard-of", "", "Private"]
    rows["age"] = ["forty", "", rows["age"].iloc[2]]
    rows.to_csv(folder / "odd.csv", index=False)
    rows.drop(columns=["education", "sex"]).to_csv(folder / "short.csv", index=False)
    odd, short = run_all(
        ("predict", "adult.skops", "odd.csv", "--proba"),
        ("predict", "adult.skops", "short.csv"),
        cwd=folder,
    )
    assert odd.returncode == 0
    assert "ignoring 1 columns unknown to the model: 'comment'" in odd.stderr
    assert "column 'workclass': 1 cells hold categories unseen in training" in odd.stderr
    assert "numeric column 'age': 1 cells are not numbers" in odd.stderr
    header, first, twin, _ = odd.stdout.splitlines()
    assert header == "income,proba_<=50K,proba_>50K" and first == twin
    assert "lacks the columns 'education', 'sex' that the model needs" in error_line(short)


def test_info_describes_schema_layers_metrics_and_versions(adult, capsys):
    folder = adult["dir"]
    # The text rendering in process (the JSON below comes from the real command).
    assert main(["info", str(folder / "adult.skops")]) == 0
    text = capsys.readouterr().out
    assert "classification of 'income', classes: <=50K, >50K" in text
    assert "types         all trusted" in text and "parts         not checked" in text
    assert main(["info", str(folder / "adult.skops"), "--check"]) == 0
    assert "parts         checked: they fit together" in capsys.readouterr().out
    assert "versions      deepforest" in text and "scikit-learn" in text
    assert "native-country" in text and "categorical" in text
    description = json.loads(run("info", "adult.skops", "--json", cwd=folder).stdout)
    assert description["format_version"] == 3
    assert description["metrics"] == adult["train"]["metrics"]
    columns = {column["name"]: column for column in description["schema"]["columns"]}
    assert len(columns) == 14 and "income" not in columns
    assert columns["workclass"]["type"] == "categorical" and columns["age"]["type"] == "numeric"
    assert columns["workclass"]["missing_in_training"] > 0  # empty cells in the raw file
    assert set(description["versions"]) >= {"deepforest", "scikit-learn", "numpy", "skops"}
    assert len(description["estimator"]["history"]["score"]) >= description["estimator"]["n_layers"]


def _regression_frame(n_rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n_rows)
    colour = rng.choice(["red", "green", "blue"], n_rows)
    effect = pd.Series(colour).map({"red": 0.0, "green": 5.0, "blue": 10.0}).to_numpy()
    price = 3 * x + effect + rng.normal(0, 0.5, n_rows)
    frame = pd.DataFrame({"x": x.round(3), "colour": colour, "price": price.round(3)})
    frame.loc[::17, "colour"] = "NA"
    return frame


def test_regression_with_semicolons_validation_file_and_auto_task(tmp_path):
    _regression_frame(400, 0).to_csv(tmp_path / "train.csv", sep=";", index=False)
    _regression_frame(200, 1).to_csv(tmp_path / "valid.csv", sep=";", index=False)
    options = ["--validation", "valid.csv", *FAST, "--json"]
    result = json.loads(run("train", "train.csv", "-t", "price", *options, cwd=tmp_path).stdout)
    assert result["task"] == "regression"
    assert result["train_rows"] == 400 and result["metrics"]["n_rows"] == 200
    assert result["metrics"]["r2"] > 0.9
    assert 0 < result["metrics"]["mae"] <= result["metrics"]["rmse"] < 3
    assert (tmp_path / "train.skops").exists()  # the default name
    evaluation, prediction, with_proba = run_all(
        ("evaluate", "train.skops", "valid.csv", "--json"),
        ("predict", "train.skops", "valid.csv", "-o", "prices.csv.gz"),
        ("predict", "train.skops", "valid.csv", "--proba"),
        cwd=tmp_path,
    )
    assert json.loads(evaluation.stdout)["metrics"] == pytest.approx(result["metrics"])
    assert prediction.returncode == 0
    predicted = pd.read_csv(tmp_path / "prices.csv.gz")  # written compressed
    assert list(predicted.columns) == ["price"] and len(predicted) == 200
    assert "--proba is only for classification" in error_line(with_proba)


def test_whole_number_labels_without_header_stay_whole_numbers(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    label = (x[:, 0] + x[:, 1] > 0).astype(int)
    lines = [f"{a:.4f}\t{b:.4f}\t{c}" for (a, b), c in zip(x, label, strict=True)]
    (tmp_path / "plain.tsv").write_text("\n".join(lines) + "\n")
    result = json.loads(run("train", "plain.tsv", "-t", "3", *FAST, "--json", cwd=tmp_path).stdout)
    assert result["task"] == "classification"
    assert result["metrics"]["confusion_matrix"]["labels"] == [0, 1]
    assert result["metrics"]["accuracy"] > 0.85
    out = run("predict", "plain.skops", "plain.tsv", "-q", cwd=tmp_path).stdout.splitlines()
    assert out[0] == "3" and set(out[1:]) == {"0", "1"}


def test_help_of_every_command_has_examples(tmp_path):
    assert "examples:" in run("train", "--help", cwd=tmp_path).stdout
    # The other commands' help in process: a subprocess each would only repeat the import.
    from deepforest.cli.main import build_parser

    commands = build_parser()._subparsers._group_actions[0].choices
    for name in ("train", "predict", "evaluate", "info"):
        text = commands[name].format_help()
        assert "examples:" in text and f"deepforest {name} " in text, name
    assert {"demo", "train", "predict", "evaluate", "info"} <= set(commands)


# ------------------------------------------------------------------------ user mistakes
def _write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


CSV_MISTAKES = {
    # name: (file name, content or None for "absent", extra arguments, expected message part)
    "missing file": ("absent.csv", None, [], "absent.csv: no such file"),
    "empty file": ("empty.csv", "", [], "empty.csv is empty"),
    "header only": ("header.csv", "a,b,y\n", [], "has a header but no data rows"),
    "binary file": ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00", [], "holds binary data"),
    "damaged gzip": ("data.csv.gz", b"\x1f\x8b\x08\x00not gzip at all", [], "damaged or truncated"),
    "not utf-8": ("latin.csv", "a,y\n1,caf\xe9\n2,b\n".encode("latin-1"), [], "--encoding"),
    "no such target": ("data.csv", "a,b,Y\n1,2,x\n3,4,z\n", [], "did you mean 'Y'?"),
    "one class": ("data.csv", "a,y\n1,x\n2,x\n3,x\n", [], "'y' has only one class ('x')"),
    "text target for regression": (
        "data.csv",
        "a,y\n1,1.5\n2,high\n3,2.5\n",
        ["--task", "regression"],
        "target column 'y' is not numeric (e.g. 'high')",
    ),
}


@pytest.fixture(scope="module")
def csv_mistakes(tmp_path_factory) -> dict:
    """Each mistake in a folder of its own, all run at once: case -> (folder, result)."""
    folders = {}
    for index, (case, (name, content, _, _)) in enumerate(CSV_MISTAKES.items()):
        folders[case] = tmp_path_factory.mktemp(f"mistake{index}")
        if content is not None:
            _write(folders[case] / name, content)
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            case: pool.submit(
                run, "train", name, "--target", "y", *arguments, cwd=folders[case], check=False
            )
            for case, (name, _, arguments, _) in CSV_MISTAKES.items()
        }
        return {case: (folders[case], future.result()) for case, future in futures.items()}


@pytest.mark.parametrize("case", CSV_MISTAKES, ids=list(CSV_MISTAKES))
def test_train_mistakes_give_one_line_and_exit_code_2(csv_mistakes, case):
    name, content, _, message = CSV_MISTAKES[case]
    folder, result = csv_mistakes[case]
    assert message in error_line(result)
    # Nothing written: no model file, no leftover temporary file.
    assert sorted(path.name for path in folder.iterdir()) == ([name] if content is not None else [])


def test_train_refuses_to_overwrite_unless_forced(tmp_path):
    _write(tmp_path / "data.csv", "a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    precious = _write(tmp_path / "model.skops", "my thesis")
    line = error_line(
        run("train", "data.csv", "-t", "y", "-o", "model.skops", cwd=tmp_path, check=False)
    )
    assert "model.skops already exists; pass --force" in line
    assert precious.read_text() == "my thesis"
    run("train", "data.csv", "-t", "y", "-o", "model.skops", "--force", *FAST, cwd=tmp_path)
    assert read_metadata(tmp_path / "model.skops")["schema"]["target"]["name"] == "y"


def _model_with(adult_model: Path, path: Path, metadata_changes: dict) -> Path:
    """A copy of a model file whose JSON description has been edited."""
    with zipfile.ZipFile(adult_model) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "deepforest-model.json":
                data = json.dumps({**json.loads(data), **metadata_changes}).encode()
            target.writestr(item, data)
    return path


def test_model_file_mistakes_give_one_line_and_exit_code_2(adult, tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    model = adult["dir"] / "adult.skops"
    data = adult["dir"] / "test.csv"
    size = model.stat().st_size
    _write(tmp_path / "truncated.skops", model.read_bytes()[: size // 2])
    _model_with(model, tmp_path / "future.skops", {"format_version": 99})
    # A skops file that would call os.system, dressed up with a genuine model description.
    sio.dump(FunctionTransformer(func=os.system), tmp_path / "plain.skops")
    sio.dump(FunctionTransformer(func=os.system), tmp_path / "evil.skops")
    with zipfile.ZipFile(tmp_path / "evil.skops", "a") as archive:
        archive.writestr("deepforest-model.json", _metadata_of(model))
    cases = [
        ("not-a-model.csv", "is not a deepforest model file"),
        ("truncated.skops", "is truncated or damaged"),
        ("future.skops", "uses model format 99"),
        ("plain.skops", "not a deepforest model file but a plain skops file"),
        ("evil.skops", "refusing to load evil.skops"),
        ("absent.skops", "absent.skops: no such model file"),
    ]
    _write(tmp_path / "not-a-model.csv", "a,b\n1,2\n")
    results = run_all(
        *[("predict", name, data, "-o", f"out-{name}.csv") for name, _ in cases],
        ("info", "future.skops"),
        ("info", "evil.skops"),
        cwd=tmp_path,
    )
    for (name, message), result in zip(cases, results, strict=False):
        assert message in error_line(result), name
        assert not (tmp_path / f"out-{name}.csv").exists()
    assert "upgrade deepforest" in error_line(results[-2])
    assert "types         NOT TRUSTED" in results[-1].stdout and "system" in results[-1].stdout


def _metadata_of(model: Path) -> str:
    with zipfile.ZipFile(model) as archive:
        return archive.read("deepforest-model.json").decode()


def test_predict_never_leaves_a_half_written_or_clobbered_output(adult, tmp_path):
    model = adult["dir"] / "adult.skops"
    good = adult["test"].drop(columns="income")
    text = good.to_csv(index=False)
    lines = text.splitlines()
    # Row 600 has one cell too many: the failure comes after several chunks were written.
    lines[600] += ",surplus"
    _write(tmp_path / "broken.csv", "\n".join(lines) + "\n")
    precious = _write(tmp_path / "out.csv", "yesterday's predictions")
    options = ["-o", "out.csv", "--force", "--chunk-size", "100"]
    result = run("predict", model, "broken.csv", *options, cwd=tmp_path, check=False)
    assert "cannot parse broken.csv as CSV" in error_line(result)
    assert precious.read_text() == "yesterday's predictions"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["broken.csv", "out.csv"]
    line = error_line(
        run("predict", model, "broken.csv", "-o", "out.csv", cwd=tmp_path, check=False)
    )
    assert "out.csv already exists; pass --force" in line


@pytest.mark.parametrize(
    "argv", [["--help"], ["train", "--help"], ["predict"], ["train", "data.csv"], ["--version"]]
)
def test_help_and_usage_errors_answer_without_importing_scikit_learn(argv):
    # What makes them answer in a tenth of a second rather than two: scikit-learn, pandas and
    # skops load only when a command runs.
    code = (
        "import sys\n"
        "from deepforest.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "heavy = sorted(m for m in ('sklearn', 'pandas', 'skops', 'numba') if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    exit_code, heavy = result.stdout.strip().splitlines()[-1].split(" ", 1)
    assert heavy == "[]"
    assert exit_code == ("2" if argv in (["predict"], ["train", "data.csv"]) else "0")


def test_info_reads_a_model_file_without_importing_scikit_learn(adult):
    # info reads the file's description and type list: importing scikit-learn (and through
    # it scipy.stats) took 0.9 of the 1.2 s it answered in; without, 0.3 s. (numba imports
    # scipy's top package, a few milliseconds.)
    model = adult["dir"] / "adult.skops"
    code = (
        "import sys\n"
        "from deepforest.cli import main\n"
        f"code = main(['info', {str(model)!r}])\n"
        "heavy = ('sklearn', 'scipy.stats', 'pandas', 'skops')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print(code, heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "classification of 'income'" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 []"


def test_predict_imports_neither_scikit_learns_forests_nor_its_model_selection(adult, tmp_path):
    # A model of the compiled engine predicts without scikit-learn's forests (which load its
    # trees, neighbours and linear models) or model_selection (train's split): about 80 ms of
    # the start-up. scikit-learn itself loads, since the model file holds a Pipeline.
    folder = adult["dir"]
    code = (
        "import sys\n"
        "from deepforest.cli import main\n"
        f"code = main(['predict', {str(folder / 'adult.skops')!r}, {str(folder / 'test.csv')!r},"
        f" '-o', {str(tmp_path / 'out.csv')!r}, *{PREDICT_OPTIONS!r}])\n"
        "unused = ('sklearn.ensemble', 'sklearn.tree', 'sklearn.model_selection')\n"
        "print(code, sorted(m for m in unused if m in sys.modules), 'sklearn' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "0 [] True"
    assert (tmp_path / "out.csv").read_text() == (folder / "out.csv").read_text()


def test_train_with_gradient_boosting_in_the_layers_and_a_final_predictor(adult, tmp_path):
    folder = adult["dir"]
    model = tmp_path / "boosted.skops"
    result = run(
        "train",
        folder / "train.csv.gz",
        "--target",
        "income",
        "-o",
        model,
        *FAST,
        "--layer-estimator",
        "hist_gb",
        "--predictor",
        "forest",
        "--json",
        cwd=tmp_path,
    )
    trained = json.loads(result.stdout)
    assert trained["metrics"]["accuracy"] >= 0.8
    params = read_metadata(model)["estimator"]["params"]
    assert params["layer_estimators"] == ["hist_gb"] and params["predictor"] == "forest"
    # The saved model holds HistGradientBoosting fold models, and loads as a safe file.
    run("predict", model, folder / "test.csv", "-o", tmp_path / "out.csv", cwd=tmp_path)
    assert len(pd.read_csv(tmp_path / "out.csv")) == 1000
    only = run(
        "train", folder / "train.csv.gz", "--target", "income", "-o", tmp_path / "only.skops",
        *FAST, "--n-estimators", "0", "--layer-estimator", "hist_gb", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert json.loads(only.stdout)["metrics"]["accuracy"] >= 0.8


# ------------------------------------------------------------------ refit, sampling, output
def test_refit_trains_the_saved_model_on_all_rows_once_measured(tmp_path):
    _regression_frame(200, 0).to_csv(tmp_path / "data.csv", index=False)
    _regression_frame(50, 1).to_csv(tmp_path / "valid.csv", index=False)
    train = ("train", "data.csv", "-t", "price", *FAST)
    measured, refit, everything, validated = run_all(
        (*train, "--test-size", "0.25", "-o", "measured.skops"),
        (*train, "--test-size", "0.25", "--refit", "-o", "refit.skops", "--json"),
        (*train, "--test-size", "0", "-o", "all.skops"),
        (*train, "--validation", "valid.csv", "--refit", "-o", "validated.skops", "--json"),
        cwd=tmp_path,
    )
    # Without --refit the output says plainly what the saved model is missing.
    assert measured.returncode == everything.returncode == 0, measured.stderr + everything.stderr
    assert "trained on 150 of 200 rows" in measured.stdout
    assert "note: the saved model was trained on 150 of the 200 rows" in measured.stdout
    assert "--refit trains it on all 200 rows" in measured.stdout
    before = read_metadata(tmp_path / "measured.skops")
    assert before["training"]["train_rows"] == 150 and before["training"]["refit"] is False

    result = json.loads(refit.stdout)
    assert result["refit"] is True and result["rows"] == result["train_rows"] == 200
    assert result["metrics_train_rows"] == 150 and result["metrics"]["n_rows"] == 50
    assert "model trained on 150 rows" in result["note"] and "all 200 rows" in result["note"]
    # The metrics are those of the model before the refit: the same as without --refit.
    assert result["metrics"] == before["metrics"]
    after = read_metadata(tmp_path / "refit.skops")["training"]
    assert after["refit"] is True and after["train_rows"] == 200
    assert after["metrics_train_rows"] == 150
    # The refit model is the model trained on all rows (same seed, same rows).
    predictions = run_all(
        ("predict", "refit.skops", "valid.csv"),
        ("predict", "all.skops", "valid.csv"),
        ("predict", "measured.skops", "valid.csv"),
        cwd=tmp_path,
    )
    refit_out, all_out, measured_out = (p.stdout for p in predictions)
    assert refit_out == all_out and refit_out != measured_out

    # The validation file only measures: the model has seen all of the training file already.
    validated = json.loads(validated.stdout)
    assert validated["refit"] is False and validated["train_rows"] == 200
    assert validated["note"].startswith("--refit changed nothing")
    assert "the validation file only measures it" in validated["note"]


def test_max_samples_and_spill_dir_reach_the_estimator_and_the_model_holds_its_forests(tmp_path):
    _regression_frame(200, 0).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "a-file").write_text("not a directory")
    train = ("train", "data.csv", "-t", "price", *FAST, "--max-samples", "0.5")
    spilled, plain, file_as_dir = run_all(
        (*train, "--spill-dir", "spill", "-o", "spilled.skops"),
        (*train, "-o", "plain.skops"),
        (*train, "--spill-dir", "a-file", "-o", "never.skops"),
        cwd=tmp_path,
    )
    assert spilled.returncode == plain.returncode == 0, spilled.stderr + plain.stderr
    params = read_metadata(tmp_path / "spilled.skops")["estimator"]["params"]
    assert params["max_samples"] == 0.5 and params["spill_dir"] == "spill"
    # The layers were read back into the model file and their spill files deleted: the model
    # needs nothing from the spill directory.
    assert (tmp_path / "spill").is_dir() and not any((tmp_path / "spill").iterdir())
    (tmp_path / "spill").rmdir()
    outputs = run_all(
        ("predict", "spilled.skops", "data.csv"),
        ("predict", "plain.skops", "data.csv"),
        cwd=tmp_path,
    )
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert outputs[0].stdout == outputs[1].stdout  # spilling does not change the model
    assert "cannot use --spill-dir a-file" in error_line(file_as_dir)
    assert not (tmp_path / "never.skops").exists()


@pytest.mark.parametrize("value", ["0", "1.5", "-3", "half"])
def test_max_samples_must_be_a_count_or_a_fraction(value, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["train", "data.csv", "-t", "y", "--max-samples", value])
    assert stop.value.code == 2
    assert "--max-samples" in capsys.readouterr().err


def test_regression_predictions_are_written_without_float_noise(tmp_path):
    rng = np.random.default_rng(0)
    colour = rng.choice(["red", "green", "blue"], 240)
    x = rng.uniform(0, 10, 240).round(3)
    # Constant targets for red and green rows: the trees' leaves hold exactly those values.
    price = np.where(colour == "red", 81.94, np.where(colour == "green", 12.5, 3 * x + 0.01))
    frame = pd.DataFrame({"x": x, "colour": colour, "price": price})
    frame.to_csv(tmp_path / "data.csv", index=False)
    # No boosting stage: its sums of leaf values would move the constant rows' outputs.
    options = [*FAST, "--min-samples-leaf", "1", "--test-size", "0", "-o", "m.skops"]
    run("train", "data.csv", "-t", "price", *options, "--boost-rounds", "0", cwd=tmp_path)
    lines = run("predict", "m.skops", "data.csv", "-q", cwd=tmp_path).stdout.splitlines()
    assert lines[0] == "price" and len(lines) == 241
    written = np.array(lines[1:])
    # 81.94 as stored in float32 is 81.94000244140625: written as 81.94 again. (A few rows
    # fall in leaves that mix colours.)
    assert np.mean(written[colour == "red"] == "81.94") > 0.9
    assert np.mean(written[colour == "green"] == "12.5") > 0.9
    # No value carries more digits than a float32 holds.
    digits = [len(text.replace("-", "").replace(".", "").strip("0")) for text in written]
    assert max(digits) <= 9


def test_a_fit_beyond_the_memory_limit_is_refused_unless_forced_or_shrunk(tmp_path, monkeypatch):
    # 2 MB stands for a small machine: 100 fully grown trees per forest on 1,600 rows need ~7.
    monkeypatch.setenv("DEEPFOREST_MEMORY_LIMIT", "2000000")
    _regression_frame(2000, 0).to_csv(tmp_path / "data.csv", index=False)
    train = ("train", "data.csv", "-t", "price", "--max-layers", "1", "--n-jobs", "2")
    refused, shrunk, forced = run_all(
        (*train, "-o", "refused.skops"),
        (*train, "--n-trees", "10", "--max-samples", "0.2", "-o", "shrunk.skops"),
        (*train, "--n-trees", "10", "--force", "-o", "forced.skops"),
        cwd=tmp_path,
    )
    assert refused.returncode == 2
    message = refused.stderr
    assert "may need more memory than the 1.9 MiB available" in message
    for option in ("--max-samples", "--min-samples-leaf", "--n-trees", "--spill-dir", "--force"):
        assert option in message
    assert not (tmp_path / "refused.skops").exists()
    assert shrunk.returncode == 0, shrunk.stderr
    assert "memory" not in shrunk.stderr
    assert forced.returncode == 0, forced.stderr
    assert "(--force: training anyway)" in forced.stderr
    # The estimator's own warning is not repeated.
    assert forced.stderr.count("may need more memory") == 1


def test_info_gives_each_regression_layer_its_r2_and_mae(tmp_path):
    _regression_frame(200, 0).to_csv(tmp_path / "data.csv", index=False)
    run("train", "data.csv", "-t", "price", *FAST, "-o", "m.skops", "-q", cwd=tmp_path)
    history = read_metadata(tmp_path / "m.skops")["estimator"]["history"]
    info = run("info", "m.skops", cwd=tmp_path).stdout
    for index, (score, error) in enumerate(zip(history["score"], history["mae"], strict=True)):
        assert f"layer {index}: out-of-sample score {score:.4f}, MAE {error:.4g}," in info


def test_train_boost_rounds_reaches_the_model_and_info_reports_the_stage(tmp_path):
    _regression_frame(300, 1).to_csv(tmp_path / "data.csv", index=False)
    train = ("train", "data.csv", "-t", "price", *FAST, "-q")
    fixed, off, searched = run_all(
        (*train, "--boost-rounds", "6", "-o", "fixed.skops"),
        (*train, "--boost-rounds", "0", "-o", "off.skops"),
        (*train, "-o", "searched.skops"),
        cwd=tmp_path,
    )
    assert fixed.returncode == off.returncode == searched.returncode == 0, fixed.stderr
    stage = read_metadata(tmp_path / "fixed.skops")["estimator"]["history"]["boosting"]
    assert stage["rounds"] == 6 and stage["score_after"] is None
    assert "boosting" not in read_metadata(tmp_path / "off.skops")["estimator"]["history"]
    searched_stage = read_metadata(tmp_path / "searched.skops")["estimator"]["history"]["boosting"]
    info = run("info", "searched.skops", cwd=tmp_path).stdout
    assert f"boosting: {searched_stage['rounds']} rounds" in info
    assert f"out-of-sample score {searched_stage['score_before']:.4f} -> " in info
    assert "boosting: 6 rounds (a given count" in run("info", "fixed.skops", cwd=tmp_path).stdout
    refused = run(
        "train", "data.csv", "-t", "price", "--boost-rounds", "-2", cwd=tmp_path, check=False
    )
    assert refused.returncode == 2 and "--boost-rounds" in refused.stderr


def test_a_model_file_loads_in_python_and_predicts_as_the_command_line(tmp_path):
    import deepforest

    frame = pd.DataFrame(
        {
            "age": np.arange(120) % 50,
            "city": np.where(np.arange(120) % 3 == 0, "Lyon", "Nice"),
            "score": np.sin(np.arange(120)),
        }
    )
    frame["label"] = np.where(frame["score"] + (frame["city"] == "Lyon") > 0.3, "yes", "no")
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.drop(columns="label").head(30).to_csv(tmp_path / "new.csv", index=False)
    run("train", "train.csv", "-t", "label", "-o", "m.skops", *FAST, cwd=tmp_path)
    run("predict", "m.skops", "new.csv", "--proba", "-o", "out.csv", cwd=tmp_path)
    pipeline = deepforest.load_model(tmp_path / "m.skops")
    proba = pipeline.predict_proba(pd.read_csv(tmp_path / "new.csv"))
    by_cli = pd.read_csv(tmp_path / "out.csv")
    np.testing.assert_allclose(proba, by_cli[["proba_no", "proba_yes"]], atol=1e-6)
    assert list(pipeline.predict(pd.read_csv(tmp_path / "new.csv"))) == list(by_cli["label"])
    (tmp_path / "bad.skops").write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ValueError, match=r"bad\.skops"):
        deepforest.load_model(tmp_path / "bad.skops")
