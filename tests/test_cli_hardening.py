"""Regression tests of the hardening pass: each case an adversarial or careless user found.

Every test runs the real command in a subprocess (see ``test_cli.run``) on files made here, and
asserts what must hold: one line on stderr and exit code 2 for a file or option that cannot be
used, exit code 0 with a warning for data that can, and nothing overwritten or left behind.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_cli import FAST, REPO_ROOT, error_line, run

from deepforest.cli import model_file as _model_file
from deepforest.cli.atomic import atomic_write
from deepforest.cli.errors import UserError

# Slow: the command line run as a subprocess on damaged and hostile files.
pytestmark = pytest.mark.slow


def _table(n_rows: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    size = rng.normal(size=n_rows)
    return pd.DataFrame(
        {
            "size": size.round(3),
            "colour": rng.choice(["red", "green", "blue"], size=n_rows),
            "label": np.where(size > 0, "pos", "neg"),
        }
    )


@pytest.fixture(scope="module")
def small_model(tmp_path_factory) -> Path:
    """A model file trained on 120 rows: 'size' (numeric), 'colour', target 'label'."""
    folder = tmp_path_factory.mktemp("small")
    _table().to_csv(folder / "train.csv", index=False)
    run("train", "train.csv", "-t", "label", "-o", "model.skops", *FAST, cwd=folder)
    return folder / "model.skops"


def _rewrite(source: Path, path: Path, replace: dict[str, bytes | int]) -> Path:
    """A copy of a model file with members replaced (an int: that many spaces), deflated."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as new:
        for item in old.infolist():
            data = replace.get(item.filename, None)
            if isinstance(data, int):
                # Streamed, so that this process never holds the bomb either.
                with new.open(item.filename, "w", force_zip64=True) as member:
                    for _ in range(data // 2**20):
                        member.write(b" " * 2**20)
            else:
                new.writestr(item.filename, old.read(item) if data is None else data)
    return path


def _run_measured(*args, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    """Run the command in a child that reports its own peak memory (MB) on its last line."""
    script = (
        "import sys\n"
        "from deepforest.cli import main\n"
        "code = main(sys.argv[1:])\n"
        # VmHWM is this program's own peak (ru_maxrss would include the parent's, before exec).
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(f'peak-mb {int(status.split()[0]) / 1024:.0f}', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script, *map(str, args)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    *lines, last = result.stderr.strip().splitlines()
    result.stderr = "\n".join(lines) + "\n"
    return result, float(last.split()[1])


# -- 2. bounded model loading -------------------------------------------------------------------


@pytest.mark.parametrize("command", ["info", "predict", "evaluate"])
def test_a_zip_bomb_is_refused_before_it_is_read(small_model, tmp_path, command):
    # 400 MB of zeros deflate to about 400 KB; declared sizes give the bomb away.
    _rewrite(small_model, tmp_path / "bomb.skops", {"schema.json": 400 * 2**20})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    arguments = {
        "info": ("info", "bomb.skops"),
        "predict": ("predict", "bomb.skops", "new.csv", "-o", "out.csv"),
        "evaluate": ("evaluate", "bomb.skops", "new.csv"),
    }[command]
    result, peak_mb = _run_measured(*arguments, cwd=tmp_path)
    line = error_line(result)
    assert "bomb.skops is not a deepforest model file" in line and "zip bomb" in line
    assert not (tmp_path / "out.csv").exists()
    # The command never held the bomb's content (reading it whole took over 400 MB).
    assert peak_mb < 300


def test_an_oversized_description_is_refused(small_model, tmp_path):
    with zipfile.ZipFile(small_model) as archive:
        description = json.loads(archive.read(_model_file.METADATA_MEMBER))
    description["padding"] = " " * (_model_file.MAX_METADATA_BYTES + 1)
    member = json.dumps(description).encode()
    _rewrite(small_model, tmp_path / "big.skops", {_model_file.METADATA_MEMBER: member})
    line = error_line(run("info", "big.skops", cwd=tmp_path, check=False))
    assert "big.skops is not a deepforest model file" in line
    assert "a model's description takes under" in line


def test_the_archive_limit_leaves_real_models_alone(small_model):
    with zipfile.ZipFile(small_model) as archive:
        content = sum(item.file_size for item in archive.infolist())
    # Real model files expand a few times at most: far from the limit.
    assert content < small_model.stat().st_size * _model_file.MAX_EXPANSION / 5


# -- 7. malformed descriptions ---------------------------------------------------------------------


def _description(model: Path) -> dict:
    with zipfile.ZipFile(model) as archive:
        return json.loads(archive.read(_model_file.METADATA_MEMBER))


def _column_types(model: Path) -> dict[str, str]:
    return {c["name"]: c["type"] for c in _description(model)["schema"]["columns"]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("schema"), "no schema"),
        (lambda d: d["schema"].update(columns="size,colour"), "schema's columns are not a list"),
        (lambda d: d["schema"]["columns"][0].update(type="date"), "schema's columns are not"),
        (lambda d: d["schema"]["target"].pop("task"), "target lacks a name or a task"),
        (lambda d: d["schema"].update(na_values=None), "na_values are not a list"),
        (lambda d: d.update(metrics=[0.9]), "metrics is not an object"),
    ],
    ids=["no-schema", "columns-text", "unknown-type", "no-task", "na-values", "metrics-list"],
)
def test_a_malformed_description_is_not_a_model_file(small_model, tmp_path, change, message):
    description = _description(small_model)
    change(description)
    member = json.dumps(description).encode()
    _rewrite(small_model, tmp_path / "odd.skops", {_model_file.METADATA_MEMBER: member})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    for arguments in [("info", "odd.skops"), ("predict", "odd.skops", "new.csv")]:
        line = error_line(run(*arguments, cwd=tmp_path, check=False))
        assert "odd.skops is not a deepforest model file" in line and message in line


def test_a_description_that_is_not_json_is_not_a_model_file(small_model, tmp_path):
    _rewrite(small_model, tmp_path / "odd.skops", {_model_file.METADATA_MEMBER: b"\xff{not json"})
    line = error_line(run("info", "odd.skops", cwd=tmp_path, check=False))
    assert "odd.skops is not a deepforest model file" in line and "not JSON" in line


def test_info_on_an_unknown_skops_loader_is_not_a_model_file(small_model, tmp_path):
    with zipfile.ZipFile(small_model) as archive:
        schema = json.loads(archive.read("schema.json"))
    schema["__loader__"] = "NoSuchNode"
    _rewrite(small_model, tmp_path / "odd.skops", {"schema.json": json.dumps(schema).encode()})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    line = error_line(run("info", "odd.skops", cwd=tmp_path, check=False))
    assert "odd.skops is not a deepforest model file" in line and "NoSuchNode" in line
    result = run("predict", "odd.skops", "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    line = error_line(result)
    assert "odd.skops is not a deepforest model file" in line and "NoSuchNode" in line


# -- 3. ids never overwritten --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_name", "options"), [("label", []), ("proba_pos", ["--proba"])], ids=["target", "proba"]
)
def test_an_id_column_named_like_a_prediction_is_refused(small_model, tmp_path, id_name, options):
    frame = _table(10, seed=1).drop(columns="label")
    frame.insert(0, id_name, [f"row{i}" for i in range(10)])
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = run(
        "predict", small_model, "new.csv", "--id-column", id_name, *options, "-o", "out.csv",
        cwd=tmp_path, check=False,
    )  # fmt: skip
    line = error_line(result)
    assert f"--id-column {id_name!r} is also the name of a column of predictions" in line
    assert not (tmp_path / "out.csv").exists()


# -- 4. no silent overwrite by a concurrent run --------------------------------------------------


def test_an_exclusive_write_fails_when_the_name_is_taken_meanwhile(tmp_path):
    path = tmp_path / "out.csv"
    with pytest.raises(UserError, match="was created by someone else while this ran"):
        with atomic_write(path, exclusive=True) as destination:
            destination.write_text("mine")
            path.write_text("theirs")  # another process finishing first
    assert path.read_text() == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    # Without exclusive (--force), the last writer wins, as asked.
    with atomic_write(path) as destination:
        destination.write_text("mine")
    assert path.read_text() == "mine"


def test_two_predicts_to_one_new_output_never_both_succeed(small_model, tmp_path):
    big = pd.concat([_table(120, seed=s).drop(columns="label") for s in range(50)])
    big.to_csv(tmp_path / "new.csv", index=False)
    command = [sys.executable, "-m", "deepforest", "predict", str(small_model), "new.csv"]
    command += ["-o", "out.csv", "--chunk-size", "500"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    runs = [
        subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outcomes = sorted((p.wait(timeout=1500), p.stderr.read()) for p in runs)
    assert [code for code, _ in outcomes] == [0, 2], outcomes
    assert "out.csv" in outcomes[1][1] and "--force" in outcomes[1][1]
    assert len(pd.read_csv(tmp_path / "out.csv")) == len(big)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out.csv"]


# -- 5. infinity is data ------------------------------------------------------------------------


def test_infinite_cells_train_and_predict_with_a_warning(tmp_path):
    frame = _table(120)
    frame["size"] = frame["size"].astype(object)
    frame.loc[:4, "size"] = ["inf", "-inf", "1e400", "-Infinity", "INF"]
    frame.loc[:4, "label"] = ["pos", "neg", "pos", "neg", "pos"]
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run("train", "train.csv", "-t", "label", "-o", "m.skops", *FAST, cwd=tmp_path)
    assert "numeric column 'size': 5 cells are infinite" in result.stderr
    new = frame.drop(columns="label").iloc[:10]
    new.to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "m.skops", "new.csv", "-o", "out.csv", cwd=tmp_path)
    assert "numeric column 'size': 5 cells are infinite" in result.stderr
    predictions = pd.read_csv(tmp_path / "out.csv")["label"]
    # Beyond every number: +inf is as positive as the largest sizes, -inf as negative.
    assert predictions.tolist()[:4] == ["pos", "neg", "pos", "neg"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("inf", "holds infinite values (1 rows)"),
        ("1e400", "holds infinite values (1 rows)"),
        ("1.7e308", "holds values as large as 1.7e+308"),
        # Beyond float32, the trees' output type: infinite predictions otherwise.
        ("1e39", "holds values as large as 1e+39: the model stores its outputs as float32"),
    ],
)
def test_an_infinite_or_huge_regression_target_is_a_clear_error(tmp_path, cell, message):
    frame = _table(60).drop(columns="label")
    frame["price"] = (frame["size"] * 10).astype(object)
    frame.loc[3, "price"] = cell
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run(
        "train", "train.csv", "-t", "price", "--task", "regression", cwd=tmp_path, check=False
    )
    assert message in error_line(result)
    assert [p.name for p in tmp_path.iterdir()] == ["train.csv"]


# -- 7. termination signals ------------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_predict_leaves_no_temporary_file(small_model, tmp_path, signum):
    big = pd.concat([_table(120, seed=s).drop(columns="label") for s in range(400)])
    big.to_csv(tmp_path / "new.csv", index=False)
    precious = tmp_path / "out.csv"
    precious.write_text("yesterday's predictions")
    command = [sys.executable, "-m", "deepforest", "predict", str(small_model), "new.csv"]
    command += ["-o", "out.csv", "--force", "--chunk-size", "200"]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    # Wait for the hidden temporary output to appear (the hang guard is generous: a busy
    # machine may take long to start; the test's outcome never depends on the timing).
    deadline = time.monotonic() + 1500
    while not any(p.name.startswith(".out.csv") for p in tmp_path.iterdir()):
        assert process.poll() is None, "predict ended before it began writing"
        assert time.monotonic() < deadline, "predict never began writing"
        time.sleep(0.05)
    process.send_signal(signum)
    code = process.wait(timeout=1500)
    assert code == 128 + signum, process.stderr.read()
    assert "terminated; no output was written" in process.stderr.read()
    assert precious.read_text() == "yesterday's predictions"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.csv", "out.csv"]


# -- 7. headers and number formats ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("size,size,label", "names several columns 'size'"),
        ("size,,label", "has no name for column(s) 2"),
    ],
    ids=["duplicate", "empty"],
)
def test_a_header_with_duplicate_or_empty_names_is_refused(tmp_path, header, message):
    body = _table(40).to_csv(index=False, header=False)
    (tmp_path / "train.csv").write_text(header + "\n" + body)
    line = error_line(run("train", "train.csv", "-t", "label", cwd=tmp_path, check=False))
    assert message in line and "--no-header" in line


def test_a_header_with_numeric_names_is_still_a_header(tmp_path):
    frame = _table(40)
    frame.insert(1, "2019", np.arange(40))
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run("train", "train.csv", "-t", "label", "-o", "m.skops", *FAST, cwd=tmp_path)
    assert "read 40 rows" in result.stderr and "header row" in result.stderr
    names = [c["name"] for c in _description(tmp_path / "m.skops")["schema"]["columns"]]
    assert names == ["size", "2019", "colour"]


def test_thousands_separators_warn_and_read_with_the_option(tmp_path):
    frame = _table(60)
    frame["income"] = [f"{value:,}" for value in range(1000, 1000 + 60 * 1013, 1013)]
    frame.to_csv(tmp_path / "train.csv", index=False)
    result = run("train", "train.csv", "-t", "label", "-o", "a.skops", *FAST, cwd=tmp_path)
    assert "column 'income' is treated as categorical" in result.stderr
    assert "--thousands ," in result.stderr
    run("train", "train.csv", "-t", "label", "-o", "b.skops", "--thousands", ",", *FAST,
        cwd=tmp_path)  # fmt: skip
    description = _description(tmp_path / "b.skops")
    assert _column_types(tmp_path / "b.skops")["income"] == "numeric"
    assert description["schema"]["number_format"] == {"decimal": ".", "thousands": ","}
    # Prediction reads the new file's numbers the way the model's training file wrote them.
    frame.drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "b.skops", "new.csv", "-o", "out.csv", cwd=tmp_path)
    assert "not numbers" not in result.stderr


def test_decimal_commas_warn_and_read_with_the_option(tmp_path):
    frame = _table(60)
    text = frame.assign(size=frame["size"].map(lambda v: f"{v:.3f}".replace(".", ",")))
    text.to_csv(tmp_path / "train.csv", index=False, sep=";")
    result = run("train", "train.csv", "-t", "label", "-o", "a.skops", *FAST, cwd=tmp_path)
    assert "column 'size' is treated as categorical" in result.stderr
    assert "--decimal ," in result.stderr
    result = run("train", "train.csv", "-t", "label", "-o", "b.skops", "--decimal", ",", *FAST,
                 cwd=tmp_path)  # fmt: skip
    assert _column_types(tmp_path / "b.skops")["size"] == "numeric"


def test_a_comma_number_target_with_many_values_is_not_taken_for_labels(tmp_path):
    frame = _table(60).drop(columns="label")
    frame["price"] = [f"{1000 + 37 * i:,}" for i in range(60)]
    frame.to_csv(tmp_path / "train.csv", index=False)
    line = error_line(run("train", "train.csv", "-t", "price", cwd=tmp_path, check=False))
    assert "holds 60 distinct text labels" in line and "--thousands ," in line


# -- found on the fresh-eyes pass ------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
def test_a_wide_unicode_file_gets_its_encoding_named_and_reads_with_it(tmp_path, encoding):
    _table(60).to_csv(tmp_path / "train.csv", index=False, encoding=encoding)
    line = error_line(run("train", "train.csv", "-t", "label", cwd=tmp_path, check=False))
    assert f"is {encoding} text; give its encoding with --encoding {encoding}" in line
    run("train", "train.csv", "-t", "label", "--encoding", encoding, *FAST, cwd=tmp_path)
    assert (tmp_path / "train.skops").exists()


def test_nul_characters_in_wide_text_are_still_binary_data(tmp_path):
    (tmp_path / "data.csv").write_text("a,b\n1,\x00\n2,3\n", encoding="utf-16")
    result = run("train", "data.csv", "-t", "b", "--encoding", "utf-16", cwd=tmp_path, check=False)
    assert "holds binary data" in error_line(result)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("command", ["train", "predict"])
def test_a_full_disk_is_a_clear_error(small_model, tmp_path, command):
    _table(60).to_csv(tmp_path / "data.csv", index=False)
    if command == "train":
        args = ("train", "data.csv", "-t", "label", *FAST, "-o", "/dev/full")
    else:
        args = ("predict", small_model, "data.csv", "-o", "/dev/full")
    result = run(*args, cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        "deepforest: error: cannot write /dev/full: No space left on device; nothing was written"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


# -- text in numeric columns, and pipes closed early ------------------------------------------


def test_text_in_a_numeric_column_warns_with_rows_and_an_example_or_fails_with_strict(
    small_model, tmp_path
):
    frame = _table(60, seed=1)
    frame["size"] = frame["size"].astype(object)
    # Late in the file, so that several chunks are written before the first bad cell.
    frame.loc[[40, 52], "size"] = ["129.0k", "1.2.3"]
    frame.loc[45, "colour"] = "purple"
    frame.drop(columns="label").to_csv(tmp_path / "new.csv", index=False)
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    frame.drop(columns="label").assign(size=frame["size"].where(frame.index < 40, 0.5)).to_csv(
        tmp_path / "unseen.csv", index=False
    )
    precious = tmp_path / "out.csv"
    precious.write_text("yesterday's predictions")
    chunks = ["--chunk-size", "10"]
    warned = run("predict", small_model, "new.csv", "-o", "warned.csv", *chunks, cwd=tmp_path)
    assert "numeric column 'size': 2 cells are not numbers (e.g. '129.0k')" in warned.stderr
    assert "2 of 60 rows hold cells that are not numbers" in warned.stderr
    assert len(pd.read_csv(tmp_path / "warned.csv")) == 60

    strict = ["--strict", *chunks]
    results = [
        run("predict", small_model, "new.csv", "-o", "out.csv", "--force", *strict, cwd=tmp_path,
            check=False),
        run("predict", small_model, "new.csv", "-o", "fresh.csv", *strict, cwd=tmp_path,
            check=False),
        run("evaluate", small_model, "labelled.csv", *strict, cwd=tmp_path, check=False),
    ]  # fmt: skip
    for result in results:
        line = error_line(result)
        assert "2 of 60 rows hold cells that are not numbers" in line
        assert "column 'size': 2 cells, e.g. '129.0k'" in line and "--strict" in line
    # Nothing written, nothing replaced, no temporary file left.
    assert precious.read_text() == "yesterday's predictions"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "labelled.csv", "new.csv", "out.csv", "unseen.csv", "warned.csv",
    ]  # fmt: skip
    # A category unseen in training stays a warning under --strict.
    unseen = run("predict", small_model, "unseen.csv", *strict, cwd=tmp_path)
    assert "column 'colour': 1 cells hold categories unseen in training" in unseen.stderr
    assert len(unseen.stdout.splitlines()) == 61


def test_predict_into_a_pipe_closed_early_ends_quietly_with_exit_code_0(small_model, tmp_path):
    # Larger than a pipe's buffer (64 KiB), so that predict still writes after head has gone.
    big = pd.concat([_table(120, seed=s).drop(columns="label") for s in range(300)])
    big.to_csv(tmp_path / "new.csv", index=False)
    python, model = shlex.quote(sys.executable), shlex.quote(str(small_model))
    command = f"{python} -m deepforest predict {model} new.csv --proba | head -1"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "label,proba_neg,proba_pos\n"
    assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr
    assert "error" not in result.stderr and "Exception ignored" not in result.stderr


@pytest.mark.parametrize("limit", ["abc", "nan", "inf", "-5"])
def test_a_memory_limit_that_is_not_a_number_of_bytes_is_one_line(tmp_path, monkeypatch, limit):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=60), "y": rng.integers(0, 2, 60)})
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.setenv("DEEPFOREST_MEMORY_LIMIT", limit)
    result = run("train", "data.csv", "-t", "y", "--n-trees", "5", "-q", cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert "DEEPFOREST_MEMORY_LIMIT must be a positive number of bytes" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def _npy_header_only(descr: str, shape: tuple) -> bytes:
    """A .npy member that declares ``shape`` items of ``descr`` and holds no data."""
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


def test_an_array_of_zero_sized_items_is_refused_before_it_is_built(small_model, tmp_path):
    """10**12 items of '<U0' passed the size check (0 bytes of data for 0-byte items) and
    grew memory until the process was killed."""
    with zipfile.ZipFile(small_model) as archive:
        member = next(name for name in archive.namelist() if name.endswith(".npy"))
    crafted = _npy_header_only("<U0", (10**12,))
    _rewrite(small_model, tmp_path / "crafted.skops", {member: crafted})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result, peak_mb = _run_measured("predict", "crafted.skops", "new.csv", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "<U0" in error_line(result) and "Traceback" not in result.stderr
    assert peak_mb < 500


def _set_every(node, key: str, content: str):
    """Set the JSON content of every attribute ``key`` in a skops schema.

    Each gets a new node id: skops builds a node id once, so a value shared with an attribute
    read earlier (n_jobs=2 and max_layers=2) would otherwise keep that attribute's value.
    """
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, dict) and "content" in value:
                value["content"] = content
                value["__id__"] = 10**15 + id(value)
            else:
                _set_every(value, key, content)
    elif isinstance(node, list):
        for value in node:
            _set_every(value, key, content)


def test_a_thread_count_from_the_file_is_clamped_to_this_machine(small_model, tmp_path):
    """n_jobs=100000 in a file started 18,000+ threads and hung."""
    with zipfile.ZipFile(small_model) as archive:
        schema = json.loads(archive.read("schema.json"))
    _set_every(schema, "n_jobs", "100000")
    _rewrite(small_model, tmp_path / "greedy.skops", {"schema.json": json.dumps(schema).encode()})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    greedy = run("predict", "greedy.skops", "new.csv", "-q", cwd=tmp_path)
    plain = run("predict", str(small_model), "new.csv", "-q", cwd=tmp_path)
    assert greedy.stdout == plain.stdout
    from deepforest.cli.model_file import load_model

    pipeline, _, _ = load_model(tmp_path / "greedy.skops")
    assert pipeline.named_steps["model"].n_jobs <= (os.cpu_count() or 1)


@pytest.mark.parametrize(("n_jobs", "refused"), [("0", False), ("1.5", True), ('"all"', True)])
def test_a_thread_count_joblib_refuses_is_made_valid_or_refused_on_load(
    small_model, tmp_path, n_jobs, refused
):
    """n_jobs=0 in a file passed loading and failed at predict time with a traceback."""
    with zipfile.ZipFile(small_model) as archive:
        schema = json.loads(archive.read("schema.json"))
    _set_every(schema, "n_jobs", n_jobs)
    _rewrite(small_model, tmp_path / "odd.skops", {"schema.json": json.dumps(schema).encode()})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    odd = run("predict", "odd.skops", "new.csv", "-q", cwd=tmp_path, check=False)
    if refused:
        assert odd.returncode == 2 and "n_jobs" in error_line(odd), odd.stderr
        assert "Traceback" not in odd.stderr
    else:
        plain = run("predict", str(small_model), "new.csv", "-q", cwd=tmp_path)
        assert odd.returncode == 0 and odd.stdout == plain.stdout, odd.stderr


def test_a_model_whose_classes_do_not_match_its_outputs_is_one_line(small_model, tmp_path):
    """classes_ of length 3 against 2 outputs made --proba fail with a traceback."""
    from deepforest.cli.model_file import load_model, save_model

    pipeline, metadata, _ = load_model(small_model)
    model = pipeline.named_steps["model"]
    model.classes_ = np.array([*model.classes_, "phantom"], dtype=object)
    save_model(pipeline, metadata, tmp_path / "crafted.skops")
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "crafted.skops", "new.csv", "--proba", cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert "names 3 classes for 2 outputs" in error_line(result)
    assert "Traceback" not in result.stderr


def _schema_node_of(node, key: str):
    """The first schema node stored under attribute ``key``."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, dict):
                return value
            found = _schema_node_of(value, key)
            if found is not None:
                return found
    elif isinstance(node, list):
        for value in node:
            found = _schema_node_of(value, key)
            if found is not None:
                return found
    return None


def _feature_name_renamed(schema: dict) -> None:
    names = _schema_node_of(schema, "feature_names_in_")
    names["content"][0]["content"] = json.dumps("renamed")


def _object_key_retyped(schema: dict) -> None:
    """The cascade's attributes gain one whose name skops rebuilds as the number 7."""
    steps = schema["content"]["content"]["steps"]["content"]
    attributes = steps[0]["content"][1]["content"]  # the cascade's attribute dictionary
    attributes["content"]["7"] = attributes["content"]["n_trees"]
    key_type = attributes["key_types"]["content"][0]
    attributes["key_types"]["content"].append({**key_type, "__class__": "int", "__id__": 7})


def _step_name_a_number(schema: dict) -> None:
    steps = schema["content"]["content"]["steps"]["content"]
    steps[0]["content"][0]["content"] = "5"  # JSON 5: a step named by a number


@pytest.mark.parametrize(
    "craft, message",
    [
        (_feature_name_renamed, "fitted on other columns than it describes"),
        (_object_key_retyped, "an attribute name that is not text"),
        (_step_name_a_number, "does not end in a named deepforest cascade"),
    ],
    ids=["feature-name", "attribute-key", "step-name"],
)
def test_a_model_at_odds_with_its_own_names_is_one_line(small_model, tmp_path, craft, message):
    """Found by the fuzzer: both loaded, then predict failed with a traceback inside
    scikit-learn (feature names) or Python ("keywords must be strings")."""
    with zipfile.ZipFile(small_model) as archive:
        schema = json.loads(archive.read("schema.json"))
    craft(schema)
    member = {"schema.json": json.dumps(schema).encode()}
    crafted = _rewrite(small_model, tmp_path / "odd.skops", member)
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", crafted.name, "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert message in error_line(result)
    assert "Traceback" not in result.stderr


def test_info_check_refuses_a_model_whose_parts_do_not_fit(small_model, tmp_path):
    """info called every crafted file of the issue "safe to load": it reads the description
    only. --check loads the model as predict does."""
    from deepforest.cli.model_file import load_model, save_model

    pipeline, metadata, _ = load_model(small_model)
    model = pipeline.named_steps["model"]
    model.classes_ = np.array([*model.classes_, "phantom"], dtype=object)
    save_model(pipeline, metadata, tmp_path / "crafted.skops")
    plain = run("info", "crafted.skops", cwd=tmp_path)
    assert "parts         not checked" in plain.stdout
    checked = run("info", "crafted.skops", "--check", cwd=tmp_path, check=False)
    assert checked.returncode == 2 and "names 3 classes for 2 outputs" in error_line(checked)
    assert "Traceback" not in checked.stderr
    good = json.loads(run("info", str(small_model), "--check", "--json", cwd=tmp_path).stdout)
    assert good["checked"] is True and good["only_trusted_types"] is True


def test_a_description_naming_other_column_kinds_is_refused(small_model, tmp_path):
    """A description that calls the model's categorical column numeric would feed it numbers."""
    with zipfile.ZipFile(small_model) as archive:
        description = json.loads(archive.read(_model_file.METADATA_MEMBER))
    for column in description["schema"]["columns"]:
        column["type"] = "numeric"
    crafted = _rewrite(
        small_model,
        tmp_path / "kinds.skops",
        {_model_file.METADATA_MEMBER: json.dumps(description).encode()},
    )
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", crafted.name, "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert "categorical columns are not the ones it describes" in error_line(result)


def test_a_pipe_is_read_as_its_data_not_as_an_empty_file(small_model, tmp_path):
    """A FIFO or <(cat file) looked empty: the first read (the format sniff) drained it."""
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    expected = run("predict", str(small_model), "new.csv", "-q", cwd=tmp_path).stdout
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    command = f"cat new.csv > {shlex.quote(str(fifo))} & "
    command += f"{shlex.quote(sys.executable)} -m deepforest predict "
    command += f"{shlex.quote(str(small_model))} {shlex.quote(str(fifo))} -q"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=1500,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_a_header_longer_than_the_format_sample_is_read(tmp_path):
    """A header over 64 KiB (3,000 long column names) gave the wrong error."""
    rng = np.random.default_rng(0)
    names = [f"feature_with_a_long_descriptive_name_{index:05d}" for index in range(3000)]
    frame = pd.DataFrame(rng.normal(size=(40, 3000)).round(2), columns=names)
    frame["label"] = rng.integers(0, 2, 40)
    frame.to_csv(tmp_path / "wide.csv", index=False)
    assert len(",".join(frame.columns)) > 64 * 1024
    result = run(
        "train", "wide.csv", "-t", "label", "--n-trees", "3", "--max-layers", "1",
        "--test-size", "0", "-q", cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def _nested(depth: int) -> dict:
    node: dict = {"__class__": "int", "__module__": "builtins", "__loader__": "JsonNode",
                  "content": "1", "is_json": True}  # fmt: skip
    for _ in range(depth):
        node = {"__class__": "list", "__module__": "builtins", "__loader__": "ListNode",
                "content": [node]}  # fmt: skip
    return node


@pytest.mark.parametrize("damage", ["json-for-npy", "deep-schema", "short-data"])
def test_damaged_members_are_one_line_not_a_bug(small_model, tmp_path, damage):
    with zipfile.ZipFile(small_model) as archive:
        member = next(name for name in archive.namelist() if name.endswith(".npy"))
        schema = json.loads(archive.read("schema.json"))
        original = archive.read(member)
    if damage == "json-for-npy":
        replace = {member: b'{"not": "an array"}'}
    elif damage == "deep-schema":
        schema["content"]["content"]["padding"] = _nested(400)
        replace = {"schema.json": json.dumps(schema).encode()}
    else:
        header = _npy_header_only("<f8", (10**6,))
        replace = {member: header + original[-16:]}
    _rewrite(small_model, tmp_path / "damaged.skops", replace)
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "damaged.skops", "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "a bug" not in result.stderr
    assert "damaged.skops" in error_line(result)


@pytest.mark.parametrize("damage", ["child", "feature", "threshold"])
def test_a_crafted_xgboost_booster_is_refused_before_it_predicts(tmp_path, damage):
    """A child index or split feature out of range crashed XGBoost's predict (exit 139)."""
    xgboost = pytest.importorskip("xgboost")
    from deepforest.cli.model_file import load_model, save_model

    _table().to_csv(tmp_path / "train.csv", index=False)
    run("train", "train.csv", "-t", "label", "-o", "xgb.skops", *FAST, "--predictor", "xgboost",
        cwd=tmp_path)  # fmt: skip
    pipeline, metadata, _ = load_model(tmp_path / "xgb.skops")
    predictor = pipeline.named_steps["model"].predictor_
    model = json.loads(bytes(predictor.get_booster().save_raw("json")))
    tree = model["learner"]["gradient_booster"]["model"]["trees"][0]
    if damage == "child":
        tree["left_children"][0] = 10**6
    elif damage == "feature":
        tree["split_indices"][0] = 10**6
    else:
        tree["split_conditions"][0] = float("nan")
    crafted = xgboost.Booster()
    crafted.load_model(bytearray(json.dumps(model).encode()))
    predictor._Booster = crafted
    save_model(pipeline, metadata, tmp_path / "crafted.skops")
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "crafted.skops", "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert "XGBoost booster of this model is malformed" in error_line(result)


def test_a_full_disk_under_the_spill_dir_is_one_line(tmp_path, monkeypatch, capsys):
    """ENOSPC while spilling a layer was exit 1, 'a bug', with a traceback."""
    import errno

    from deepforest._core import spill
    from deepforest.cli import main

    def full_disk(path, write, **_):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(spill, "write_new_file", full_disk)
    _table().to_csv(tmp_path / "train.csv", index=False)
    monkeypatch.chdir(tmp_path)
    code = main(["train", "train.csv", "-t", "label", *FAST, "--spill-dir", "spill", "-q"])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert "No space left on device" in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "train.skops").exists()


@pytest.mark.parametrize("damage", ["child", "feature"])
def test_a_crafted_lightgbm_booster_is_refused_before_lightgbm_parses_it(tmp_path, damage):
    """LightGBM crashes as it rebuilds a booster whose tree text points out of range: the text
    in the file is checked before LightGBM sees it."""
    pytest.importorskip("lightgbm")
    _table().to_csv(tmp_path / "train.csv", index=False)
    run("train", "train.csv", "-t", "label", "-o", "lgb.skops", *FAST, "--predictor", "lightgbm",
        cwd=tmp_path)  # fmt: skip
    with zipfile.ZipFile(tmp_path / "lgb.skops") as archive:
        schema = json.loads(archive.read("schema.json"))
    field = "left_child=" if damage == "child" else "split_feature="
    boosters = []

    def crafted(node):
        if isinstance(node, dict):
            if node.get("__class__") == "Booster" and node.get("__module__") == "lightgbm.basic":
                handle = node["content"]["content"]["_handle"]
                text = json.loads(handle["content"])
                start = text.index("Tree=0")
                line = next(ln for ln in text[start:].splitlines() if ln.startswith(field))
                bad = field + " ".join(["100000"] * len(line[len(field) :].split()))
                handle["content"] = json.dumps(text[:start] + text[start:].replace(line, bad, 1))
                boosters.append(node)
            for value in node.values():
                crafted(value)
        elif isinstance(node, list):
            for value in node:
                crafted(value)

    crafted(schema)
    assert boosters, "the model holds no LightGBM booster"
    _rewrite(tmp_path / "lgb.skops", tmp_path / "crafted.skops",
             {"schema.json": json.dumps(schema).encode()})  # fmt: skip
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "crafted.skops", "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert "LightGBM booster of this model is malformed" in error_line(result)


def test_an_xgboost_booster_with_a_damaged_length_is_refused_before_xgboost_reads_it(tmp_path):
    """Found by the fuzzer: the count of a typed array in a booster's bytes set past their end
    crashed XGBoost (signal 11) as skops rebuilt the booster; the bytes are read first."""
    pytest.importorskip("xgboost")
    _table().to_csv(tmp_path / "train.csv", index=False)
    run("train", "train.csv", "-t", "label", "-o", "xgb.skops", *FAST, "--predictor", "xgboost",
        cwd=tmp_path)  # fmt: skip
    with zipfile.ZipFile(tmp_path / "xgb.skops") as archive:
        (member,) = [name for name in archive.namelist() if name.endswith(".bin")]
        raw = bytearray(archive.read(member))
    # The first tree's count of leaf weights (float32), made 100 times the bytes there are.
    start = raw.index(b"base_weights[$d#L") + len(b"base_weights[$d#L")
    raw[start : start + 8] = (len(raw) * 100).to_bytes(8, "big")
    _rewrite(tmp_path / "xgb.skops", tmp_path / "crafted.skops", {member: bytes(raw)})
    _table(10, seed=1).to_csv(tmp_path / "new.csv", index=False)
    result = run("predict", "crafted.skops", "new.csv", cwd=tmp_path, check=False)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert "XGBoost booster of this model cannot be read (a length of" in error_line(result)


def test_a_numeric_column_that_is_mostly_text_is_refused_not_predicted_as_missing(
    small_model, tmp_path
):
    frame = _table(60, seed=1).drop(columns="label")
    frame["size"] = frame["size"].astype(object)
    frame.loc[frame.index[:40], "size"] = [f"{value:.1f} cm" for value in frame["size"][:40]]
    frame.to_csv(tmp_path / "units.csv", index=False)
    precious = tmp_path / "out.csv"
    precious.write_text("yesterday's predictions")
    result = run(
        "predict", small_model, "units.csv", "-o", "out.csv", "--force", "--chunk-size", "10",
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    line = error_line(result)
    assert "numeric column 'size' holds text in 40 of its 60 filled cells" in line
    assert "cm" in line and "not the column it was trained on" in line
    assert precious.read_text() == "yesterday's predictions"
    # The last chunk alone is all text, but the file as a whole is not: a warning, as before.
    frame = _table(60, seed=1).drop(columns="label")
    frame["size"] = frame["size"].astype(object)
    frame.loc[frame.index[50:], "size"] = "n/k"
    frame.to_csv(tmp_path / "late.csv", index=False)
    late = run("predict", small_model, "late.csv", "-o", "late_out.csv", "--chunk-size", "10",
               cwd=tmp_path)  # fmt: skip
    assert "numeric column 'size': 10 cells are not numbers" in late.stderr
