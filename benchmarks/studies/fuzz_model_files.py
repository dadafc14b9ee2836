"""Fuzz model files: mutate real ones and check that deepforest refuses them cleanly or predicts.

A model file comes from anyone. Whatever its bytes, ``deepforest predict`` must end in one of
two ways: a prediction (exit 0), or a one-line refusal (exit 2). Never a signal (a crash in
compiled code), a hang, memory past a bound, or a traceback ("a bug", exit 1).

The script trains a few real models of different kinds on small data (CLI pipelines for
classification and regression, with text categories, a boosting stage, a layer of
HistGradientBoosting, an XGBoost and a LightGBM final predictor; and a gcForest and a cascade
saved from Python, which are loaded with ``load_estimator`` and must then predict or raise one
of the package's named errors), then applies random mutations to copies of their files, each of one
kind:

- ``bytes``: flips, zeroes or truncates bytes of one archive member;
- ``number``: replaces a number or string in the skops schema (``schema.json``) with an
  extreme, negative, zero or mistyped value;
- ``shape``: rewrites one ``.npy`` member's header with another shape (data left as it is);
- ``dtype``: rewrites one ``.npy`` member's header with another dtype;
- ``node``: deletes, duplicates or retypes a node of the schema;
- ``array``: replaces the values of one ``.npy`` member (same shape and dtype) with extreme
  ones: huge, negative, NaN, out-of-range indices.

Mutations run in a worker process that calls the command line's ``main`` in process (the real
command, without paying for a new interpreter each time), under an address-space limit. The
parent tells a crash (the worker dies of a signal), a hang (no answer within the timeout) and a
traceback (exit 1) apart, restarts the worker after a crash or hang, and writes every failure's
mutated file to ``--out`` for replay (``deepforest predict FILE data.csv``).

Usage (from the project root)::

    python benchmarks/studies/fuzz_model_files.py --mutations 10000 --out benchmarks/results/fuzz
    python benchmarks/studies/fuzz_model_files.py --mutations 300 --seed 1   # as CI's test does
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import multiprocessing
import random
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

# The worker's address space: a model of these sizes predicts in well under 1 GiB.
MEMORY_LIMIT_BYTES = 3 * 2**30
TIMEOUT_SECONDS = 60.0
KINDS = ("bytes", "number", "shape", "dtype", "node", "array")
OUTCOMES = ("predicted", "refused", "traceback", "crash", "hang", "memory")
FAILURES = ("traceback", "crash", "hang", "memory")

# Models trained for the fuzzer: name -> (extra CLI options, task).
MODELS = {
    "classifier": (["--n-trees", "8", "--max-layers", "2"], "classification"),
    "regressor": (["--n-trees", "8", "--max-layers", "2"], "regression"),
    "layer-hist-gb": (
        ["--n-trees", "5", "--max-layers", "1", "--layer-estimator", "hist_gb"],
        "classification",
    ),
    "fixed-boosting": (
        ["--n-trees", "5", "--max-layers", "2", "--boost-rounds", "8"],
        "regression",
    ),
    "xgboost-predictor": (
        ["--n-trees", "5", "--max-layers", "1", "--predictor", "xgboost"],
        "classification",
    ),
    "lightgbm-predictor": (
        ["--n-trees", "5", "--max-layers", "1", "--predictor", "lightgbm"],
        "regression",
    ),
}
# Models saved from Python (no command line wraps them): loaded with load_estimator, then
# predicting on a saved array.
PYTHON_MODELS = ("gcforest", "cascade")
# The errors by which load_estimator refuses a file, told apart by name: the classes live in
# private modules, and a refusal is any of them (or of their subclasses).
REFUSALS = ("DamagedModelError", "MalformedModelError", "UntrustedModelError")


def training_table(n_rows: int, task: str, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_rows)
    colour = rng.choice(["red", "green", "blue"], n_rows)
    size = rng.integers(0, 10, n_rows).astype(float)
    size[rng.random(n_rows) < 0.1] = np.nan
    signal = x + (colour == "red") - 0.1 * np.nan_to_num(size)
    target = signal + rng.normal(scale=0.3, size=n_rows)
    label = target if task == "regression" else np.where(target > 0, "yes", "no")
    return pd.DataFrame({"x": x.round(3), "colour": colour, "size": size, "label": label})


def train_models(folder: Path) -> dict[str, tuple[Path, Path]]:
    """Train every model of MODELS; return name -> (model file, data to predict)."""
    from deepforest.cli import main

    made = {}
    for index, (name, (options, task)) in enumerate(MODELS.items()):
        train_csv, new_csv = folder / f"{name}-train.csv", folder / f"{name}-new.csv"
        training_table(200, task, index).to_csv(train_csv, index=False)
        training_table(12, task, 100 + index).drop(columns="label").to_csv(new_csv, index=False)
        model = folder / f"{name}.skops"
        arguments = ["train", str(train_csv), "-t", "label", "-o", str(model), "-q"]
        with contextlib.redirect_stdout(io.StringIO()):
            code = main([*arguments, "--task", task, "--n-jobs", "1", *options])
        if code != 0:
            raise RuntimeError(f"training the {name} model failed with exit {code}")
        made[name] = (model, new_csv)
    made["gcforest"] = _train_gcforest(folder)
    made["cascade"] = _train_cascade(folder)
    return made


def _train_cascade(folder: Path) -> tuple[Path, Path]:
    """A cascade saved from Python, with a HistGradientBoosting layer estimator beside its
    forests, a boosting stage and a forest final predictor."""
    from sklearn.datasets import load_breast_cancer

    from deepforest import CascadeForestClassifier, save_estimator

    X, y = load_breast_cancer(return_X_y=True)
    model = CascadeForestClassifier(
        n_trees=6,
        max_layers=2,
        layer_estimators=["hist_gb"],
        boost_rounds=5,
        n_jobs=1,
        random_state=0,
    )
    model.fit(X[:200], y[:200])
    path, data = folder / "cascade.skops", folder / "cascade-new.npy"
    save_estimator(model, path)
    np.save(data, X[200:212])
    return path, data


def _train_gcforest(folder: Path) -> tuple[Path, Path]:
    from sklearn.datasets import load_digits

    from deepforest import GCForestClassifier, save_estimator

    X, y = load_digits(return_X_y=True)
    model = GCForestClassifier(
        window_sizes=[3, 5],
        image_shape=(8, 8),
        scan_n_trees=4,
        n_trees=4,
        max_layers=2,
        n_jobs=1,
        random_state=0,
    )
    model.fit(X[:150], y[:150])
    path, data = folder / "gcforest.skops", folder / "gcforest-new.npy"
    save_estimator(model, path)
    np.save(data, X[150:162])
    return path, data


# ----------------------------------------------------------------------------- mutations
def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {item.filename: archive.read(item) for item in archive.infolist()}


def _archive(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _npy_parts(content: bytes):
    buffer = io.BytesIO(content)
    version = np.lib.format.read_magic(buffer)
    read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
    shape, fortran, dtype = read_header(buffer)
    return shape, fortran, dtype, content[buffer.tell() :]


def _npy(shape, fortran, dtype, data: bytes) -> bytes:
    buffer = io.BytesIO()
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": fortran}
    np.lib.format.write_array_header_1_0(buffer, {**header, "shape": tuple(shape)})
    return buffer.getvalue() + data


EXTREME_NUMBERS = [0, -1, 1, 2**31, -(2**31) - 1, 2**63, 10**12, 1e308, -1e308, 0.5, 255, 256]
EXTREME_STRINGS = ["nan", "inf", "-inf", "", "x" * 1000, "1e999", "-5", "100000", "None"]


def _json_nodes(node, found: list) -> None:
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            _json_nodes(value, found)
    elif isinstance(node, list):
        for value in node:
            _json_nodes(value, found)


def mutate(data: bytes, kind: str, rng: random.Random) -> bytes:
    """One mutation of ``kind`` of a model file's bytes."""
    members = _members(data)
    arrays = [name for name in members if name.endswith(".npy")]
    if kind == "bytes":
        name = rng.choice(list(members))
        content = bytearray(members[name])
        if content and rng.random() < 0.2:
            del content[rng.randrange(len(content)) :]
        for _ in range(rng.randint(1, 8)):
            if content:
                content[rng.randrange(len(content))] = rng.randrange(256)
        members[name] = bytes(content)
    elif kind in ("number", "node"):
        schema = json.loads(members["schema.json"])
        nodes: list = []
        _json_nodes(schema, nodes)
        if kind == "number":
            with_content = [n for n in nodes if isinstance(n.get("content"), (str, int, float))]
            target = rng.choice(with_content or nodes)
            choices = EXTREME_NUMBERS + EXTREME_STRINGS
            target["content"] = str(rng.choice(choices))
        else:
            target = rng.choice(nodes)
            keys = list(target)
            action = rng.choice(["delete", "duplicate", "retype", "reloader"])
            if action == "delete" and keys:
                del target[rng.choice(keys)]
            elif action == "duplicate" and keys:
                source = rng.choice(nodes)
                target[rng.choice(keys)] = json.loads(json.dumps(source))
            elif action == "retype":
                target["__class__"] = rng.choice(["int", "dict", "ndarray", "BinnedForest"])
            else:
                target["__loader__"] = rng.choice(["JsonNode", "ListNode", "NdArrayNode"])
        members["schema.json"] = json.dumps(schema).encode()
    elif arrays:
        name = rng.choice(arrays)
        try:
            shape, fortran, dtype, raw = _npy_parts(members[name])
        except Exception:
            return _archive(members)
        if kind == "shape":
            shape = [max(0, dim + rng.choice([-1, 1, 7, 10**6])) for dim in shape] or [3]
            if rng.random() < 0.3:
                shape = [*shape, rng.choice([0, 2, 5])]
        elif kind == "dtype":
            dtype = np.dtype(
                rng.choice(
                    [
                        "<i1",
                        "<u1",
                        "<i4",
                        "<i8",
                        "<f2",
                        "<f4",
                        "<f8",
                        "<U0",
                        "<U3",
                        "|b1",
                        "<c16",
                        "|V8",
                        "<M8[s]",
                    ]
                )
            )
        else:
            array = np.frombuffer(raw, dtype=dtype).copy() if dtype.itemsize else None
            if array is not None and array.size:
                index = rng.randrange(array.size)
                if dtype.kind in "iu":
                    info = np.iinfo(dtype)
                    array[index] = rng.choice([info.max, info.min, info.max // 2, info.min + 1])
                elif dtype.kind == "f":
                    array[index] = rng.choice([np.nan, np.inf, -np.inf, 1e30, -1e30])
                elif dtype.kind == "b":
                    array[index] = not array[index]
                raw = array.tobytes()
        members[name] = _npy(shape, fortran, dtype, raw)
    return _archive(members)


# ----------------------------------------------------------------------------- the worker
def _worker(connection, memory_limit: int) -> None:
    """Run ``deepforest predict`` in process for each file sent; answer with the exit code."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    from deepforest.cli import main

    while True:
        message = connection.recv()
        if message is None:
            return
        model, data, output, proba = message
        stderr = io.StringIO()
        try:
            if data.endswith(".npy"):
                code = _predict_in_python(model, data, stderr)
            else:
                with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                    arguments = ["predict", model, data, "-o", output, "--force", "-q"]
                    code = main(arguments + (["--proba"] if proba else []))
        except MemoryError:
            code = "memory"
        except SystemExit as stop:
            code = stop.code
        except BaseException as error:  # a traceback escaping main itself
            code = f"escaped {type(error).__name__}"
        text = stderr.getvalue()
        if code == 1 and "out of memory" in text:
            code = "memory"
        connection.send((code, text[-2000:]))


def _predict_in_python(model: str, data: str, stderr: io.StringIO) -> int:
    """Load with ``load_estimator`` and predict: 0, or 2 for a refusal by one of the
    package's named errors (:data:`REFUSALS`); anything else escapes as a traceback."""
    import traceback

    from deepforest import load_estimator

    try:
        loaded = load_estimator(model)
    except ValueError as error:
        if not any(kind.__name__ in REFUSALS for kind in type(error).__mro__):
            raise
        stderr.write(f"refused: {error}\n")
        return 2
    try:
        loaded.predict_proba(np.load(data))
    except Exception:
        stderr.write(traceback.format_exc())
        return 1
    return 0


@dataclass
class FuzzReport:
    """Counts per model, kind and outcome, and the failures found."""

    counts: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    seconds: float = 0.0

    def add(self, model: str, kind: str, outcome: str) -> None:
        key = f"{model}/{kind}"
        self.counts.setdefault(key, dict.fromkeys(OUTCOMES, 0))[outcome] += 1

    def totals(self) -> dict:
        totals = dict.fromkeys(OUTCOMES, 0)
        for outcomes in self.counts.values():
            for outcome, count in outcomes.items():
                totals[outcome] += count
        return totals


class _Runner:
    """A worker process, restarted after a crash or a hang."""

    def __init__(self, memory_limit: int):
        self.memory_limit = memory_limit
        self.context = multiprocessing.get_context("spawn")
        self.process = None

    def start(self) -> None:
        self.connection, child = self.context.Pipe()
        self.process = self.context.Process(
            target=_worker, args=(child, self.memory_limit), daemon=True
        )
        self.process.start()

    def run(
        self, model: Path, data: Path, output: Path, proba: bool, timeout: float
    ) -> tuple[str, str]:
        if self.process is None or not self.process.is_alive():
            self.start()
        self.connection.send((str(model), str(data), str(output), proba))
        if not self.connection.poll(timeout):
            self.process.kill()
            self.process.join()
            self.process = None
            return "hang", ""
        try:
            code, text = self.connection.recv()
        except EOFError:
            self.process.join()
            signal = -self.process.exitcode if self.process.exitcode else 0
            self.process = None
            return "crash", f"signal {signal}"
        outcome = {0: "predicted", 2: "refused", "memory": "memory"}.get(code, "traceback")
        return outcome, text

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.connection.send(None)
            self.process.join(10)


def fuzz(
    n_mutations: int,
    seed: int,
    out: Path | None = None,
    timeout: float = TIMEOUT_SECONDS,
    memory_limit: int = MEMORY_LIMIT_BYTES,
) -> FuzzReport:
    """Train the models, apply ``n_mutations`` random mutations, return what happened."""
    rng = random.Random(seed)
    report = FuzzReport()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="deepforest-fuzz-") as scratch:
        folder = Path(scratch)
        models = train_models(folder)
        originals = {name: path.read_bytes() for name, (path, _) in models.items()}
        runner = _Runner(memory_limit)
        try:
            for index in range(n_mutations):
                name = rng.choice(list(models))
                kind = KINDS[index % len(KINDS)]
                mutated = folder / "mutated.skops"
                mutated.write_bytes(mutate(originals[name], kind, rng))
                # Probabilities where there are classes: --proba on a regressor is refused.
                proba = MODELS.get(name, ("", "classification"))[1] == "classification"
                outcome, text = runner.run(
                    mutated, models[name][1], folder / "out.csv", proba, timeout
                )
                report.add(name, kind, outcome)
                if outcome in FAILURES:
                    report.failures.append(
                        {
                            "index": index,
                            "model": name,
                            "kind": kind,
                            "outcome": outcome,
                            "stderr": text,
                        }
                    )
                    if out is not None:
                        out.mkdir(parents=True, exist_ok=True)
                        shutil.copy(mutated, out / f"{index:05d}-{name}-{kind}-{outcome}.skops")
                        shutil.copy(models[name][1], out / f"{name}-new.csv")
        finally:
            runner.stop()
    report.seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutations", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=TIMEOUT_SECONDS)
    parser.add_argument("--out", type=Path, help="write each failing file here, and report.json")
    args = parser.parse_args(argv)
    report = fuzz(args.mutations, args.seed, args.out, args.timeout)
    totals = report.totals()
    print(
        f"{args.mutations} mutations in {report.seconds:.0f} s: "
        + ", ".join(f"{count} {outcome}" for outcome, count in totals.items())
    )
    for key, outcomes in sorted(report.counts.items()):
        print(f"  {key}: " + ", ".join(f"{c} {o}" for o, c in outcomes.items() if c))
    for failure in report.failures[:20]:
        last = failure["stderr"].strip().splitlines()[-1:] or [""]
        print(
            f"  FAILURE {failure['index']} {failure['model']}/{failure['kind']}: "
            f"{failure['outcome']}: {last[0][:200]}"
        )
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "report.json").write_text(
            json.dumps(
                {"counts": report.counts, "failures": report.failures, "seconds": report.seconds},
                indent=1,
            )
        )
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
