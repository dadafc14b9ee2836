"""The work behind ``deepforest train | predict | evaluate | info``, as plain functions.

Each function takes paths and options, reports progress through ``log`` (one line at a time, for
stderr) and returns a JSON-ready dict; :mod:`deepforest.cli.main` only parses arguments and
prints. The saved model is a scikit-learn Pipeline (categorical encoding, then the cascade),
so prediction encodes new rows exactly as the training rows were.
"""

from __future__ import annotations

import errno
import gzip
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from .._core.id_columns import IdLikeColumnWarning
from .._core.memory import MEMORY_WARNING_START, available_memory, memory_advice
from .._core.spill import SpilledLayer, check_spill_directory
from .._private_imports import InvalidParameterError
from ..cascade import CascadeForestClassifier, CascadeForestRegressor
from . import tabular
from .atomic import atomic_write
from .defaults import DEFAULT_CHUNK_ROWS
from .errors import UserError
from .evaluation import classification_metrics, regression_metrics
from .model_file import (
    check_output_path,
    load_model,
    read_metadata,
    save_model,
)

ESTIMATORS = {"classification": CascadeForestClassifier, "regression": CascadeForestRegressor}
# The options that shrink a model, as a memory refusal names them.
MEMORY_REMEDIES = {
    "max_samples": "--max-samples",
    "min_samples_leaf": "--min-samples-leaf",
    "n_trees": "--n-trees",
    "spill_dir": "--spill-dir",
}
# What the storage, not the program, is to blame for: a full disk, a quota, a size limit, a
# read-only filesystem, a failing device.
STORAGE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO)
# Probabilities are written rounded: more digits only make large outputs larger.
PROBA_DECIMALS = 6

Log = Callable[[str], None]


def _silent(message: str) -> None:
    pass


def build_pipeline(categorical: list[str], estimator) -> Pipeline:
    """The estimator as the model file holds it: categorical columns are encoded by the
    cascade itself (``categorical_features``), as they are for DataFrames passed to ``fit``."""
    estimator.set_params(categorical_features=list(categorical))
    return Pipeline([("model", estimator)])


def categories_by_column(pipeline, categorical: list[str]) -> dict[str, list]:
    """Each categorical column's categories seen in training, without the missing value."""
    if "encode" in pipeline.named_steps:
        # Model files written before the cascade encoded categories held an OrdinalEncoder.
        encoder = pipeline.named_steps["encode"].named_transformers_.get("categorical")
        found = getattr(encoder, "categories_", [])
    else:
        found = pipeline.named_steps["model"].categories_
    return {
        name: [value for value in values if value == value]
        for name, values in zip(categorical, found, strict=False)
    }


def _jsonable(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(item) for item in value]
    return repr(value)


def _split(X, y, task, test_size, random_state, log: Log):
    from sklearn.model_selection import train_test_split  # train only: predict starts faster

    n_rows = len(y)
    n_test = math.ceil(test_size * n_rows)
    if n_rows - n_test < 2 or n_test < 1:
        raise UserError(
            f"{n_rows} rows are too few to hold out {test_size:g} of them; "
            "use --test-size 0 to train on all rows"
        )
    if task == "classification":
        try:
            return train_test_split(X, y, test_size=n_test, stratify=y, random_state=random_state)
        except ValueError:
            log("a class has too few rows to stratify the held-out split; splitting at random")
    return train_test_split(X, y, test_size=n_test, random_state=random_state)


def _read_validation(path, target_name, kinds, na_values, encoding, task, numbers, log: Log):
    fmt = tabular.sniff_format(path, encoding)
    tabular.find_column(fmt, path, target_name, "target")
    tabular.check_columns(fmt, path, list(kinds), [target_name])
    frame = tabular.read_frame(path, fmt, na_values, usecols=[*kinds, target_name])
    target = frame[target_name]
    kept = target.notna().to_numpy()
    if not kept.all():
        log(f"{path}: left out {int((~kept).sum())} rows whose target is missing")
    X, unparsable, infinite = tabular.to_model_input(frame[kept], kinds, numbers)
    for name, count in unparsable.items():
        log(f"{path}: {count} cells of numeric column {name!r} are not numbers; read as missing")
    for warning in tabular.infinity_warnings(infinite):
        log(f"{path}: warning: {warning}")
    if task == "regression":
        values = tabular.prepare_target(target[kept], target_name, task, numbers).values
        return X, values
    return X, target[kept]


@dataclass
class _TrainingTable:
    """The training file read and encoded for the estimator."""

    X: pd.DataFrame
    y: tabular.Target
    kinds: tabular.ColumnKinds
    missing: dict[str, int]


@dataclass
class _HeldOut:
    """The rows the model trains on and the rows its metrics are measured on (if any)."""

    X_train: pd.DataFrame
    y_train: np.ndarray
    X_test: pd.DataFrame | None
    y_test: np.ndarray | None
    description: str


def train(
    data: str,
    target: str,
    output: str,
    *,
    task: str = "auto",
    test_size: float = 0.2,
    validation: str | None = None,
    refit: bool = False,
    drop: list[str] = (),
    categorical: list[str] = (),
    na_values: list[str] = (),
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    decimal: str = ".",
    thousands: str | None = None,
    estimator_params: dict | None = None,
    force: bool = False,
    verbose: int = 1,
    log: Log = _silent,
) -> dict:
    """Train a cascade on a CSV file and save the whole pipeline to ``output``.

    With ``refit``, the model measured on the ``test_size`` held-out rows is trained again on
    all rows of ``data`` once measured; the metrics stay those of the model measured. A
    ``validation`` file only measures: the model is trained on all of ``data`` either way.

    Returns
    -------
    result : dict
        The saved model's path and size, the task, row counts (``train_rows``: the saved
        model's; ``metrics_train_rows``: the measured model's), whether it was refit, held-out
        metrics (or None with ``test_size=0``), a note on the rows the model was trained on (or
        None), the per-layer history and timings.
    """
    start = time.perf_counter()
    params = dict(estimator_params or {})
    na_values = [*tabular.EXTRA_NA_VALUES, *na_values]
    numbers = tabular.NumberFormat(decimal, thousands)

    # Everything that can be checked cheaply is checked before the long read and fit.
    fmt = tabular.sniff_format(data, encoding, delimiter, header)
    tabular.find_column(fmt, data, target, "target")
    for name in [*drop, *categorical]:
        tabular.find_column(fmt, data, name, "--drop/--categorical")
    if validation is not None:
        tabular.check_readable(validation)
    output = check_output_path(output, force, inputs=(data, validation))
    if params.get("spill_dir") is not None:
        _check_spill_dir(params["spill_dir"])
    features = [name for name in fmt.columns if name != target and name not in drop]
    if not features:
        raise UserError(f"no feature columns left in {data} besides the target {target!r}")

    table = _read_training_table(
        data, fmt, target, features, task, categorical, na_values, numbers, log
    )
    task = table.y.task
    if validation is not None:
        X_test, y_test = _read_validation(
            validation, target, table.kinds.kinds, na_values, encoding, task, numbers, log
        )
        rows = _HeldOut(table.X, table.y.values, X_test, y_test, f"validation file {validation}")
    else:
        rows = _hold_out(table, test_size, params.get("random_state"), log)
    if task == "classification" and len(pd.unique(np.asarray(rows.y_train))) < 2:
        raise UserError(f"the training rows hold only one class of {target!r}")
    log(f"training on {len(rows.y_train)} rows; held out: {rows.description}")

    estimator = ESTIMATORS[task](**params, verbose=verbose)
    _check_memory(estimator, table, len(table.y.values) if refit else len(rows.y_train), force, log)
    pipeline = build_pipeline(table.kinds.categorical, estimator)
    fit_seconds = _fit(pipeline, rows.X_train, rows.y_train, log)
    metrics = None
    if rows.X_test is not None:
        metrics = _evaluate_rows(pipeline, task, rows.X_test, np.asarray(rows.y_test))
    n_rows, measured_rows = len(table.y.values), len(rows.y_train)
    # The validation file only measures: with it, or with --test-size 0, the model has been
    # trained on every row of the training file already and a refit would repeat that fit.
    refitted = refit and measured_rows < n_rows
    if refitted:
        log(f"refitting on all {n_rows} rows (the held-out metrics are the model's just measured)")
        _remove_spill_files(pipeline.named_steps["model"])
        # Same parameters (random_state included), no fitted state.
        pipeline = clone(pipeline)
        fit_seconds = _fit(pipeline, table.X, table.y.values, log)
    estimator = pipeline.named_steps["model"]
    _load_spilled_layers(estimator)

    metadata = {
        "schema": _schema(pipeline, table, target, drop, na_values, decimal, thousands),
        "training": {
            "data": str(data),
            "rows": n_rows,
            # The rows the saved model was trained on, and those of the model measured.
            "train_rows": n_rows if refitted else measured_rows,
            "refit": refitted,
            "metrics_train_rows": None if metrics is None else measured_rows,
            "held_out": rows.description,
            "fit_seconds": round(fit_seconds, 2),
        },
        "metrics": metrics,
        "estimator": _estimator_description(estimator, table.kinds),
    }
    save_start = time.perf_counter()
    size = save_model(pipeline, metadata, output, force=force)
    save_seconds = time.perf_counter() - save_start
    log(f"saved the model to {output} ({size / 1e6:.1f} MB) in {save_seconds:.1f} s")
    return {
        "model": str(output),
        "model_bytes": size,
        "task": task,
        "target": target,
        **metadata["training"],
        "n_layers": int(estimator.n_layers_),
        "history": _jsonable(estimator.history_),
        "metrics": metrics,
        "note": _training_note(metadata["training"], refit, validation),
        "seconds": round(time.perf_counter() - start, 2),
    }


def _check_memory(estimator, table: _TrainingTable, n_rows: int, force: bool, log: Log) -> None:
    """Refuse, unless ``force``, a fit whose estimated memory exceeds what is available.

    The estimate takes leaves of one row when the leaf size is "auto" (the probe's choice is
    not known yet): the largest trees the settings allow.
    """
    n_outputs = len(pd.unique(table.y.values)) if table.y.task == "classification" else 1
    estimate = estimator.estimate_memory(n_rows, len(table.kinds.kinds), n_outputs=n_outputs)
    try:
        available = available_memory()
    except ValueError as error:  # DEEPFOREST_MEMORY_LIMIT that is not a number of bytes
        raise UserError(str(error)) from None
    advice = memory_advice(estimate, available, MEMORY_REMEDIES)
    if advice is None:
        return
    if not force:
        raise UserError(f"{advice}; or pass --force to train anyway")
    log(f"warning: {advice} (--force: training anyway)")


def _fit(pipeline, X, y, log: Log) -> float:
    """Fit ``pipeline`` on ``X`` and ``y``; return the seconds it took."""
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # _check_memory has spoken on the memory estimate, in the CLI's terms.
            warnings.filterwarnings("ignore", MEMORY_WARNING_START, UserWarning)
            # infer_kinds has named identifier-like columns, with --drop as the remedy.
            warnings.filterwarnings("ignore", category=IdLikeColumnWarning)
            pipeline.fit(X, y)
    except InvalidParameterError as error:
        raise UserError(f"invalid estimator option: {error}") from None
    except OSError as error:
        # The storage, not the program, failed: a full disk or a quota under --spill-dir.
        if error.errno not in STORAGE_ERRNOS:
            raise
        where = f" {error.filename}" if error.filename else ""
        raise UserError(
            f"cannot write{where} while training: {error.strerror or error}; nothing was saved"
        ) from None
    seconds = time.perf_counter() - start
    estimator = pipeline.named_steps["model"]
    stage = estimator.history_.get("boosting")
    boosting = "" if stage is None else f", then {stage['rounds']} boosting rounds"
    log(
        f"trained in {seconds:.1f} s: kept {estimator.n_layers_} of "
        f"{len(estimator.history_['score'])} layers grown{boosting}"
    )
    return seconds


def _check_spill_dir(directory: str) -> None:
    """Create ``--spill-dir`` now, or find why it cannot be used, before the long fit."""
    try:
        check_spill_directory(directory)
    except OSError as error:
        raise UserError(f"cannot use --spill-dir {directory}: {error.strerror or error}") from None


def _remove_spill_files(estimator) -> None:
    """Delete the files of the layers a fitted cascade spilled (--spill-dir), if any."""
    for layer in getattr(estimator, "layers_", []):
        if isinstance(layer, SpilledLayer):
            layer.remove()


def _load_spilled_layers(estimator) -> None:
    """Load the layers kept in --spill-dir back into the model, then delete their files.

    A model file holds every forest: it cannot refer to other files safely, and would break
    when they moved. Spilling bounds the memory of fitting, layer after layer, only.
    """
    for index, layer in enumerate(estimator.layers_):
        if isinstance(layer, SpilledLayer):
            estimator.layers_[index] = layer.materialize()
            layer.remove()


def _training_note(training: dict, refit: bool, validation: str | None) -> str | None:
    """What the user should know about the rows the saved model was trained on, if anything."""
    rows, train_rows = training["rows"], training["train_rows"]
    if training["refit"]:
        return (
            f"the held-out metrics are those of the model trained on "
            f"{training['metrics_train_rows']} rows; --refit then trained the saved model on all "
            f"{rows} rows, held-out rows included"
        )
    if train_rows < rows:
        return (
            f"the saved model was trained on {train_rows} of the {rows} rows: the "
            f"{rows - train_rows} held-out rows are not in it; --refit trains it on all {rows} "
            "rows once they have been measured"
        )
    if refit:
        measures = "; the validation file only measures it" if validation is not None else ""
        return (
            f"--refit changed nothing: the model was trained on all {rows} rows of the training "
            f"file already{measures}"
        )
    return None


def _read_training_table(
    data, fmt, target, features, task, categorical, na_values, numbers, log: Log
) -> _TrainingTable:
    """Read the training file, infer the column kinds and the task, encode the cells."""
    log(f"reading {data}")
    frame = tabular.read_frame(data, fmt, na_values)
    layout = f"delimiter {fmt.delimiter!r}, {'header row' if fmt.header else 'no header row'}"
    log(f"read {len(frame)} rows, {len(fmt.columns)} columns ({layout})")

    kinds = tabular.infer_kinds(frame[features], list(categorical), numbers)
    for warning in kinds.warnings:
        log(f"warning: {warning}")
    y = tabular.prepare_target(frame[target], target, task, numbers)
    if not y.kept_rows.all():
        log(f"left out {int((~y.kept_rows).sum())} rows whose target {target!r} is missing")
    X, _, infinite = tabular.to_model_input(frame[y.kept_rows], kinds.kinds, numbers)
    for warning in tabular.infinity_warnings(infinite):
        log(f"warning: {warning}")
    missing = {name: int(frame[name].isna().sum()) for name in features}
    log(
        f"{len(features)} features ({len(kinds.numeric)} numeric, {len(kinds.categorical)} "
        f"categorical); task: {y.task} ({y.note}; --task overrides)"
    )
    return _TrainingTable(X, y, kinds, missing)


def _hold_out(table: _TrainingTable, test_size: float, random_state, log: Log) -> _HeldOut:
    """Split off ``test_size`` of the rows for the held-out metrics (none with 0)."""
    if test_size == 0:
        return _HeldOut(table.X, table.y.values, None, None, "no rows (--test-size 0)")
    X_train, X_test, y_train, y_test = _split(
        table.X, table.y.values, table.y.task, test_size, random_state, log
    )
    description = f"{len(y_test)} random rows (--test-size {test_size:g})"
    return _HeldOut(X_train, y_train, X_test, y_test, description)


def _schema(pipeline, table: _TrainingTable, target, drop, na_values, decimal, thousands) -> dict:
    """What a file to predict must look like: its columns, their kinds, the number format."""
    columns = []
    kinds = table.kinds
    categories = categories_by_column(pipeline, kinds.categorical)
    for name, kind in kinds.kinds.items():
        entry = {"name": name, "type": kind, "missing_in_training": table.missing[name]}
        if kind == tabular.CATEGORICAL:
            entry["categories"] = len(categories[name])
        columns.append(entry)
    target_schema = {"name": target, "task": table.y.task, "inferred_because": table.y.note}
    if table.y.task == "classification":
        target_schema["classes"] = _jsonable(pipeline.named_steps["model"].classes_)
    return {
        "columns": columns,
        "target": target_schema,
        "ignored_columns": list(drop),
        "na_values": na_values,
        "number_format": {"decimal": decimal, "thousands": thousands},
    }


def _estimator_description(estimator, kinds) -> dict:
    """The fitted cascade's class, parameters, depth, history and feature importances."""
    importances = {}
    if any(layer.forests for layer in estimator.layers_):
        # Impurity importances come from the forests (none with --n-estimators 0).
        importances = dict(zip(kinds.kinds, estimator.feature_importances_, strict=True))
    importances = dict(sorted(importances.items(), key=lambda item: -item[1]))
    return {
        "class": type(estimator).__name__,
        "params": _jsonable(estimator.get_params()),
        "n_layers": int(estimator.n_layers_),
        "history": _jsonable(estimator.history_),
        "feature_importances": _jsonable(importances),
    }


def _evaluate_rows(pipeline, task, X, y_true) -> dict:
    if task == "classification":
        classes = pipeline.named_steps["model"].classes_
        y_true, classes = _align_labels(y_true, classes)
        return classification_metrics(y_true, pipeline.predict_proba(X), classes)
    return regression_metrics(y_true.astype(np.float64), pipeline.predict(X))


def _align_labels(y_true: np.ndarray, classes: np.ndarray, numbers=None):
    return tabular.labels_like(pd.Series(y_true), classes, numbers or tabular.NumberFormat())


def number_format(metadata: dict) -> tabular.NumberFormat:
    """How the model's training file wrote numbers (files of release 0.1 wrote them plainly)."""
    stored = metadata["schema"].get("number_format") or {}
    return tabular.NumberFormat(stored.get("decimal", "."), stored.get("thousands"))


# Share of a numeric column's filled cells that, as text, mark it as another column: refused.
TEXT_COLUMN_SHARE = 0.5


class _ChunkScorer:
    """Score a CSV file chunk by chunk through a loaded pipeline, counting what was odd."""

    def __init__(self, pipeline, metadata: dict, log: Log):
        self.pipeline = pipeline
        self.kinds = {column["name"]: column["type"] for column in metadata["schema"]["columns"]}
        self.na_values = metadata["schema"]["na_values"]
        self.task = metadata["schema"]["target"]["task"]
        self.numbers = number_format(metadata)
        categorical = [name for name, kind in self.kinds.items() if kind == tabular.CATEGORICAL]
        self.known = {
            name: pd.Index(values)
            for name, values in categories_by_column(pipeline, categorical).items()
        }
        self.unseen = dict.fromkeys(categorical, 0)
        self.unparsable = dict.fromkeys(self.kinds, 0)
        # Rows holding a cell that is not a number, and one such cell per column, for the
        # warning (or the --strict error).
        self.not_number_rows = 0
        self.not_number_examples = {}
        # Filled cells per column, against which the cells that are not numbers are weighed.
        self.filled = dict.fromkeys(self.kinds, 0)
        self.infinite = dict.fromkeys(self.kinds, 0)
        self.rows = 0
        self.log = log

    def chunks(
        self, path, fmt, usecols, chunk_size, strict: bool = False
    ) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Yield each chunk's text cells and the model's output for it.

        With ``strict``, a numeric column's cell that is not a number stops the scoring before
        its chunk is yielded: the rest of the file is only read, to count such cells, and a
        UserError then describes them.
        """
        refused = False
        start = time.perf_counter()
        for chunk in tabular.iter_frames(path, fmt, self.na_values, usecols, chunk_size):
            X, unparsable, infinite = tabular.to_model_input(chunk, self.kinds, self.numbers)
            for name, count in chunk[list(self.filled)].notna().sum().items():
                self.filled[name] += int(count)
            if unparsable:
                self._count_not_numbers(chunk, X, unparsable)
                if strict and not refused:
                    self.log("--strict: cells that are not numbers found; counting the rest")
                refused = refused or strict
            if refused:
                self.rows += len(chunk)
                continue
            for name, count in infinite.items():
                self.infinite[name] += count
            for name, known in self.known.items():
                cells = chunk[name]
                self.unseen[name] += int((cells.notna() & ~cells.isin(known)).sum())
            if self.task == "classification":
                output = self.pipeline.predict_proba(X)
            else:
                output = self.pipeline.predict(X)
            self.rows += len(chunk)
            elapsed = time.perf_counter() - start
            self.log(f"scored {self.rows} rows ({self.rows / max(elapsed, 1e-9):.0f} rows/s)")
            yield chunk, output
        self._refuse_text_columns(path)
        if refused:
            columns = "; ".join(
                f"column {name!r}: {count} cells, e.g. {self.not_number_examples[name]!r}"
                for name, count in self.unparsable.items()
                if count
            )
            raise UserError(
                f"{path}: {self.not_number_rows} of {self.rows} rows hold cells that are not "
                f"numbers in numeric columns ({columns}); --strict refuses them: correct the "
                "file, or leave out --strict to treat them as missing"
            )

    def _refuse_text_columns(self, path) -> None:
        """Stop when most filled cells of a numeric column are not numbers.

        A few stray cells are typos, treated as missing with a warning; a column that is mostly
        text is another column than the one the model learned (a shifted or renamed column, or
        values written with units), and its predictions would come from a missing feature.
        Counted over the whole file, so one odd chunk does not decide it.
        """
        for name, count in self.unparsable.items():
            filled = self.filled[name]
            if count and count > TEXT_COLUMN_SHARE * filled:
                raise UserError(
                    f"{path}: numeric column {name!r} holds text in {count} of its {filled} "
                    f"filled cells (e.g. {self.not_number_examples[name]!r}); the model "
                    "learned it as numbers, so this is not the column it was trained on: "
                    "correct the file (a shifted column, or numbers written with units?)"
                )

    def _count_not_numbers(self, chunk: pd.DataFrame, X: pd.DataFrame, unparsable: dict) -> None:
        """Count the cells of ``chunk`` that are not numbers, their rows, and keep an example."""
        cells = tabular.not_number_cells(chunk, X, list(unparsable))
        self.not_number_rows += int(cells.any(axis=1).sum())
        for name, count in unparsable.items():
            self.unparsable[name] += count
            if name not in self.not_number_examples:
                self.not_number_examples[name] = tabular.shortened(chunk[name][cells[name]].iloc[0])

    def warnings(self) -> list[str]:
        found = []
        for name, count in self.unseen.items():
            if count:
                found.append(
                    f"column {name!r}: {count} cells hold categories unseen in training; "
                    "they were treated as missing"
                )
        for name, count in self.unparsable.items():
            if count:
                found.append(
                    f"numeric column {name!r}: {count} cells are not numbers (e.g. "
                    f"{self.not_number_examples[name]!r}); they were treated as missing"
                )
        if self.not_number_rows:
            found.append(
                f"{self.not_number_rows} of {self.rows} rows hold cells that are not numbers "
                "in numeric columns; those cells were treated as missing (--strict makes this "
                "an error)"
            )
        found.extend(tabular.infinity_warnings({k: v for k, v in self.infinite.items() if v}))
        return found


def _open_model_and_data(
    model, data, delimiter, header, encoding, log: Log, id_column=None, metadata=None
):
    """Check the model file and the data's columns before loading anything heavy."""
    if metadata is None:
        metadata = read_metadata(model)
    fmt = tabular.sniff_format(data, encoding, delimiter, header)
    if id_column is not None:
        tabular.find_column(fmt, data, id_column, "--id-column")
    schema = metadata["schema"]
    features = [column["name"] for column in schema["columns"]]
    known = [schema["target"]["name"], *schema["ignored_columns"]]
    extra = tabular.check_columns(fmt, data, features, known)
    if extra:
        names = ", ".join(repr(name) for name in extra[:10]) + (", ..." if len(extra) > 10 else "")
        log(f"warning: ignoring {len(extra)} columns unknown to the model: {names}")
    pipeline, metadata, warnings = load_model(model, metadata)
    for warning in warnings:
        log(f"warning: {warning}")
    return pipeline, metadata, fmt, features, extra


def float32_precision(values: np.ndarray) -> np.ndarray:
    """Round regression outputs to the shortest decimals that keep their float32 value.

    The forests store their leaf means as float32, so digits beyond float32's (about 7
    significant ones) are noise of that storage and of averaging in float64, not information:
    a leaf of 81.94 predicts 81.94000244140625. Written as the shortest decimal that reads back
    as the same float32, it is 81.94 again. Values beyond float32's range keep their float64.
    """
    values = np.asarray(values, dtype=np.float64)
    rounded = values.copy()
    within = np.abs(values) <= np.finfo(np.float32).max
    # numpy prints a float32 as its shortest round-trip decimal; read back as float64, that
    # decimal is what pandas writes.
    rounded[within] = values[within].astype(np.float32).astype(str).astype(np.float64)
    return rounded


def _write_predictions(chunks, handle, target, classes, proba, id_column) -> None:
    """Write CSV lines: the id column if asked, the prediction, then class probabilities."""
    first = True
    for chunk, outputs in chunks:
        columns = {}
        if id_column is not None:
            columns[id_column] = chunk[id_column].to_numpy()
        if classes is not None:
            columns[target] = classes[np.argmax(outputs, axis=1)]
            if proba:
                rounded = np.round(outputs, PROBA_DECIMALS)
                for index, label in enumerate(classes):
                    columns[f"proba_{label}"] = rounded[:, index]
        else:
            columns[target] = float32_precision(outputs)
        pd.DataFrame(columns).to_csv(handle, header=first, index=False)
        first = False
    handle.flush()


def predict(
    model: str,
    data: str,
    output: str | None = None,
    *,
    proba: bool = False,
    id_column: str | None = None,
    force: bool = False,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    stdout=None,
    log: Log = _silent,
) -> dict:
    """Write the model's predictions for every row of ``data`` to ``output`` (None: stdout).

    The file is read and scored ``chunk_size`` rows at a time, so memory does not grow with its
    length. Output goes to a temporary file renamed to ``output`` only once complete. A cell
    that is not a number in a numeric column is treated as missing, with a warning, or with
    ``strict`` is a UserError (on stdout, the chunks before the first such cell are written).
    """
    start = time.perf_counter()
    if output is not None:
        output = check_output_path(output, force, inputs=(data, model))
    metadata = read_metadata(model)
    task = metadata["schema"]["target"]["task"]
    if proba and task != "classification":
        raise UserError("--proba is only for classification models; this one does regression")
    pipeline, metadata, fmt, features, extra = _open_model_and_data(
        model, data, delimiter, header, encoding, log, id_column, metadata
    )
    load_seconds = time.perf_counter() - start
    target = metadata["schema"]["target"]["name"]
    usecols = list(dict.fromkeys([*([id_column] if id_column else []), *features]))
    scorer = _ChunkScorer(pipeline, metadata, log)
    classes = pipeline.named_steps["model"].classes_ if task == "classification" else None
    outputs = [target, *(f"proba_{label}" for label in classes)] if proba else [target]
    if id_column is not None and id_column in outputs:
        raise UserError(
            f"--id-column {id_column!r} is also the name of a column of predictions, which "
            "would overwrite the ids; rename that column of the data file"
        )

    chunks = scorer.chunks(data, fmt, usecols, chunk_size, strict)
    if output is None:
        _write_predictions(chunks, stdout or sys.stdout, target, classes, proba, id_column)
    else:
        with atomic_write(output, exclusive=not force) as destination:
            if output.suffix.lower() == ".gz":
                handle = gzip.open(destination, "wt", newline="", encoding="utf-8")
            else:
                handle = open(destination, "w", newline="", encoding="utf-8")
            with handle:
                _write_predictions(chunks, handle, target, classes, proba, id_column)
    seconds = time.perf_counter() - start
    warnings = scorer.warnings()
    for warning in warnings:
        log(f"warning: {warning}")
    return {
        "model": str(model),
        "data": str(data),
        "output": None if output is None else str(output),
        "rows": scorer.rows,
        "seconds": round(seconds, 2),
        "load_seconds": round(load_seconds, 2),
        # Scoring speed, model loading left out: what matters for large files.
        "rows_per_second": round(scorer.rows / max(seconds - load_seconds, 1e-9), 1),
        "ignored_columns": extra,
        "warnings": warnings,
    }


def evaluate(
    model: str,
    data: str,
    *,
    strict: bool = False,
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    log: Log = _silent,
) -> dict:
    """Metrics of the model on a labelled CSV file (which must hold the target column).

    With ``strict``, a cell that is not a number in a numeric column is a UserError rather than
    a missing value and a warning.
    """
    metadata = read_metadata(model)
    target = metadata["schema"]["target"]["name"]
    task = metadata["schema"]["target"]["task"]
    fmt = tabular.sniff_format(data, encoding, delimiter, header)
    tabular.find_column(fmt, data, target, "target")
    pipeline, metadata, fmt, features, extra = _open_model_and_data(
        model, data, delimiter, header, encoding, log, metadata=metadata
    )
    scorer = _ChunkScorer(pipeline, metadata, log)
    truths, outputs = [], []
    for chunk, output in scorer.chunks(data, fmt, [*features, target], chunk_size, strict):
        truths.append(chunk[target].to_numpy(dtype=object))
        outputs.append(output)
    y_true = np.concatenate(truths)
    output = np.concatenate(outputs)
    labelled = pd.notna(y_true)
    if not labelled.any():
        raise UserError(f"target column {target!r} of {data} has no values")
    if not labelled.all():
        log(f"left out {int((~labelled).sum())} rows whose target {target!r} is missing")
    y_true, output = y_true[labelled], output[labelled]
    if task == "classification":
        classes = pipeline.named_steps["model"].classes_
        y_true, classes = _align_labels(y_true, classes, scorer.numbers)
        metrics = classification_metrics(y_true, output, classes)
    else:
        try:
            values = tabular.prepare_target(pd.Series(y_true), target, task, scorer.numbers)
        except UserError as error:
            raise UserError(f"{data}: {error}") from None
        metrics = regression_metrics(values.values, output)
    warnings = scorer.warnings()
    for warning in warnings:
        log(f"warning: {warning}")
    return {
        "model": str(model),
        "data": str(data),
        "task": task,
        "target": target,
        "metrics": metrics,
        "ignored_columns": extra,
        "warnings": warnings,
    }
