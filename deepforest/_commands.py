"""The work behind ``deepforest train | predict | evaluate | info``, as plain functions.

Each function takes paths and options, reports progress through ``log`` (one line at a time, for
stderr) and returns a JSON-ready dict; ``cli.py`` only parses arguments and prints. The saved
model is a scikit-learn Pipeline (categorical encoding, then the cascade), so prediction encodes
new rows exactly as the training rows were.
"""

from __future__ import annotations

import gzip
import math
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils._param_validation import InvalidParameterError

from . import _tabular as tabular
from ._atomic import atomic_write
from ._errors import UserError
from ._evaluation import classification_metrics, regression_metrics
from ._model_file import (
    check_output_path,
    load_model,
    read_metadata,
    save_model,
    untrusted_types,
)
from .cascade import CascadeForestClassifier, CascadeForestRegressor

DEFAULT_CHUNK_ROWS = 50_000
ESTIMATORS = {"classification": CascadeForestClassifier, "regression": CascadeForestRegressor}
# Probabilities are written rounded: more digits only make large outputs larger.
PROBA_DECIMALS = 6

Log = Callable[[str], None]


def _silent(message: str) -> None:
    pass


def build_pipeline(categorical: list[str], estimator) -> Pipeline:
    """Ordinal-encode the categorical columns (unseen and missing values become NaN, which the
    cascade bins as missing), pass numeric columns through, then fit ``estimator``."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan
    )
    columns = ColumnTransformer(
        [("categorical", encoder, categorical)],
        remainder="passthrough",
        verbose_feature_names_out=False,
    )
    return Pipeline([("encode", columns), ("model", estimator)])


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


def train(
    data: str,
    target: str,
    output: str,
    *,
    task: str = "auto",
    test_size: float = 0.2,
    validation: str | None = None,
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

    Returns
    -------
    result : dict
        The saved model's path and size, the task, row counts, held-out metrics (or None with
        ``test_size=0``), the per-layer history and timings.
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
    features = [name for name in fmt.columns if name != target and name not in drop]
    if not features:
        raise UserError(f"no feature columns left in {data} besides the target {target!r}")
    log(f"reading {data}")
    frame = tabular.read_frame(data, fmt, na_values)
    layout = f"delimiter {fmt.delimiter!r}, {'header row' if fmt.header else 'no header row'}"
    log(f"read {len(frame)} rows, {len(fmt.columns)} columns ({layout})")

    kinds = tabular.infer_kinds(frame[features], list(categorical), numbers)
    for warning in kinds.warnings:
        log(f"warning: {warning}")
    y = tabular.prepare_target(frame[target], target, task, numbers)
    task = y.task
    if not y.kept_rows.all():
        log(f"left out {int((~y.kept_rows).sum())} rows whose target {target!r} is missing")
    X, _, infinite = tabular.to_model_input(frame[y.kept_rows], kinds.kinds, numbers)
    for warning in tabular.infinity_warnings(infinite):
        log(f"warning: {warning}")
    missing = {name: int(frame[name].isna().sum()) for name in features}
    del frame
    log(
        f"{len(features)} features ({len(kinds.numeric)} numeric, {len(kinds.categorical)} "
        f"categorical); task: {task} ({y.note}; --task overrides)"
    )

    random_state = params.get("random_state")
    if validation is not None:
        X_train, y_train = X, y.values
        X_test, y_test = _read_validation(
            validation, target, kinds.kinds, na_values, encoding, task, numbers, log
        )
        held_out = f"validation file {validation}"
    elif test_size > 0:
        X_train, X_test, y_train, y_test = _split(X, y.values, task, test_size, random_state, log)
        held_out = f"{len(y_test)} random rows (--test-size {test_size:g})"
    else:
        X_train, y_train, X_test, y_test = X, y.values, None, None
        held_out = "no rows (--test-size 0)"
    if task == "classification" and len(pd.unique(np.asarray(y_train))) < 2:
        raise UserError(f"the training rows hold only one class of {target!r}")
    log(f"training on {len(y_train)} rows; held out: {held_out}")

    estimator = ESTIMATORS[task](**params, verbose=verbose)
    pipeline = build_pipeline(kinds.categorical, estimator)
    fit_start = time.perf_counter()
    try:
        pipeline.fit(X_train, y_train)
    except InvalidParameterError as error:
        raise UserError(f"invalid estimator option: {error}") from None
    fit_seconds = time.perf_counter() - fit_start
    history = estimator.history_
    log(
        f"trained in {fit_seconds:.1f} s: kept {estimator.n_layers_} of "
        f"{len(history['score'])} layers grown"
    )

    metrics = None
    if X_test is not None:
        metrics = _evaluate_rows(pipeline, task, X_test, np.asarray(y_test))

    schema_columns = []
    encoder = pipeline.named_steps["encode"].named_transformers_.get("categorical")
    categories = dict(zip(kinds.categorical, getattr(encoder, "categories_", []), strict=False))
    for name, kind in kinds.kinds.items():
        entry = {"name": name, "type": kind, "missing_in_training": missing[name]}
        if kind == tabular.CATEGORICAL:
            entry["categories"] = int(sum(1 for value in categories[name] if value == value))
        schema_columns.append(entry)
    target_schema = {"name": target, "task": task, "inferred_because": y.note}
    if task == "classification":
        target_schema["classes"] = _jsonable(estimator.classes_)
    importances = dict(
        zip(kinds.categorical + kinds.numeric, estimator.feature_importances_, strict=True)
    )
    importances = dict(sorted(importances.items(), key=lambda item: -item[1]))
    metadata = {
        "schema": {
            "columns": schema_columns,
            "target": target_schema,
            "ignored_columns": list(drop),
            "na_values": na_values,
            "number_format": {"decimal": decimal, "thousands": thousands},
        },
        "training": {
            "data": str(data),
            "rows": len(y.values),
            "train_rows": len(y_train),
            "held_out": held_out,
            "fit_seconds": round(fit_seconds, 2),
        },
        "metrics": metrics,
        "estimator": {
            "class": type(estimator).__name__,
            "params": _jsonable(estimator.get_params()),
            "n_layers": int(estimator.n_layers_),
            "history": _jsonable(history),
            "feature_importances": _jsonable(importances),
        },
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
        "history": _jsonable(history),
        "metrics": metrics,
        "seconds": round(time.perf_counter() - start, 2),
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


class _ChunkScorer:
    """Score a CSV file chunk by chunk through a loaded pipeline, counting what was odd."""

    def __init__(self, pipeline, metadata: dict, log: Log):
        self.pipeline = pipeline
        self.kinds = {column["name"]: column["type"] for column in metadata["schema"]["columns"]}
        self.na_values = metadata["schema"]["na_values"]
        self.task = metadata["schema"]["target"]["task"]
        self.numbers = number_format(metadata)
        categorical = [name for name, kind in self.kinds.items() if kind == tabular.CATEGORICAL]
        encoder = pipeline.named_steps["encode"].named_transformers_.get("categorical")
        self.known = {
            name: pd.Index([value for value in values if value == value])
            for name, values in zip(categorical, getattr(encoder, "categories_", []), strict=False)
        }
        self.unseen = dict.fromkeys(categorical, 0)
        self.unparsable = dict.fromkeys(self.kinds, 0)
        self.infinite = dict.fromkeys(self.kinds, 0)
        self.rows = 0
        self.log = log

    def chunks(self, path, fmt, usecols, chunk_size) -> Iterator[tuple[pd.DataFrame, np.ndarray]]:
        """Yield each chunk's text cells and the model's output for it."""
        start = time.perf_counter()
        for chunk in tabular.iter_frames(path, fmt, self.na_values, usecols, chunk_size):
            X, unparsable, infinite = tabular.to_model_input(chunk, self.kinds, self.numbers)
            for name, count in unparsable.items():
                self.unparsable[name] += count
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
                    f"numeric column {name!r}: {count} cells are not numbers; "
                    "they were treated as missing"
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
            columns[target] = outputs
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
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    stdout=None,
    log: Log = _silent,
) -> dict:
    """Write the model's predictions for every row of ``data`` to ``output`` (None: stdout).

    The file is read and scored ``chunk_size`` rows at a time, so memory does not grow with its
    length. Output goes to a temporary file renamed to ``output`` only once complete.
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

    chunks = scorer.chunks(data, fmt, usecols, chunk_size)
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
    chunk_size: int = DEFAULT_CHUNK_ROWS,
    delimiter: str | None = None,
    header: bool | None = None,
    encoding: str = "utf-8",
    log: Log = _silent,
) -> dict:
    """Metrics of the model on a labelled CSV file (which must hold the target column)."""
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
    for chunk, output in scorer.chunks(data, fmt, [*features, target], chunk_size):
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


def info(model: str) -> dict:
    """The model file's description: schema, layers, training metrics, versions, safety."""
    metadata = read_metadata(model)
    unexpected = untrusted_types(model)
    return {
        "model": str(model),
        "model_bytes": Path(model).stat().st_size,
        "safe_to_load": not unexpected,
        "untrusted_types": unexpected,
        **metadata,
    }
