"""Reading CSV files for the command line: format sniffing, column types and chunked reading.

Every file is read with all cells as text and converted afterwards, in the same way at training
and at prediction time: a column is numeric when every non-missing cell of the training file
parses as a number, categorical otherwise. Reading the text first (rather than letting pandas
guess per chunk) means a chunk of a large file can never be typed differently from the training
data, and a stray non-number in a numeric column becomes a counted missing value, not a crash.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import difflib
import gzip
import lzma
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._core.id_columns import integers_look_like_ids, text_looks_like_ids
from .errors import UserError

NUMERIC = "numeric"
CATEGORICAL = "categorical"

# On top of pandas' defaults ("", "NA", "N/A", "NaN", "null", ...): UCI-style "?".
EXTRA_NA_VALUES = ("?",)
SNIFF_BYTES = 64 * 1024
# The most read to find a file's first two rows, whatever the header's length.
MAX_SNIFF_BYTES = 16 * 2**20
# Cells that mark a missing value rather than name a column (lower case).
_MISSING_MARKERS = {"?", "na", "n/a", "nan", "null", "none", "-"}
DELIMITERS = ",;\t|"
# A numeric target with at most this many distinct integer values is taken for class labels.
MAX_AUTO_CLASSES = 20
# Below this share of number-like cells a text column is categorical without a second thought.
MOSTLY_NUMERIC_FRACTION = 0.95
# An infinite cell ("inf", "-inf", "1e400") counts as beyond every number: it becomes this
# value (or its negative), larger than any real measurement, and falls in the extreme bin.
# A quarter of the largest float, so that bin edges halfway between two values never overflow.
INFINITY_STAND_IN = float(np.finfo(np.float64).max / 4)
# The trees store their outputs as float32: regression targets beyond its range would overflow.
MAX_TARGET_MAGNITUDE = float(np.finfo(np.float32).max)
# Numbers written with a comma: thousands groups ("1,234,567.8") or a decimal comma ("3,14").
_THOUSANDS_COMMA = r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
_DECIMAL_COMMA = r"^[+-]?\d*,\d+$"


@dataclass
class CsvFormat:
    """How one CSV file is laid out: its delimiter, whether it has a header, its column names."""

    delimiter: str
    header: bool
    columns: list[str]
    encoding: str = "utf-8"


@dataclass(frozen=True)
class NumberFormat:
    """How numbers are written: the decimal mark, and the thousands separator if any."""

    decimal: str = "."
    thousands: str | None = None


@dataclass
class ColumnKinds:
    """The feature columns of a training file, in file order, with their inferred types."""

    kinds: dict[str, str]
    warnings: list[str] = field(default_factory=list)

    @property
    def categorical(self) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind == CATEGORICAL]

    @property
    def numeric(self) -> list[str]:
        return [name for name, kind in self.kinds.items() if kind == NUMERIC]


def _open_binary(path: Path):
    """Open a possibly compressed file, choosing the decompressor from the suffix like pandas."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return gzip.open(path, "rb")
    if suffix == ".bz2":
        return bz2.open(path, "rb")
    if suffix == ".xz":
        return lzma.open(path, "rb")
    if suffix == ".zip":
        archive = zipfile.ZipFile(path)
        names = [name for name in archive.namelist() if not name.endswith("/")]
        if len(names) != 1:
            raise UserError(
                f"{path}: a .zip file must hold exactly one CSV file, found {len(names)}"
            )
        return archive.open(names[0])
    return open(path, "rb")


def check_readable(path: str | os.PathLike) -> Path:
    """Return ``path`` as a Path if it is an existing, readable, non-empty file."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such file")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a file")
    if not os.access(path, os.R_OK):
        raise UserError(f"cannot read {path}: permission denied")
    if path.stat().st_size == 0:
        raise UserError(f"{path} is empty")
    return path


def read_errors_as_user_errors(path: Path, error: BaseException) -> BaseException:
    """Translate what reading a damaged or non-text file raises into one explanatory line.

    Only the errors a file's content or its access causes are translated; anything else is a
    bug in how the file was read and is returned unchanged, to be raised with its traceback.
    """
    if isinstance(error, UserError):
        return error
    if isinstance(error, UnicodeDecodeError):
        return UserError(
            f"{path} is not valid {error.encoding} text (byte 0x{error.object[error.start]:02x}); "
            "give its encoding with --encoding, for example --encoding latin-1"
        )
    if isinstance(error, (gzip.BadGzipFile, zlib.error, EOFError, lzma.LZMAError)):
        return UserError(
            f"cannot read {path}: the compressed data is damaged or truncated ({error})"
        )
    if isinstance(error, zipfile.BadZipFile):
        return UserError(f"cannot read {path}: not a valid zip file ({error})")
    if isinstance(error, OSError):
        return UserError(f"cannot read {path}: {error.strerror or error}")
    if isinstance(error, pd.errors.EmptyDataError):
        return UserError(f"{path} is empty")
    if isinstance(error, (pd.errors.ParserError, csv.Error)):
        message = " ".join(str(error).split())
        return UserError(f"cannot parse {path} as CSV: {message}")
    if isinstance(error, ValueError) and "ZIP file" in str(error):
        # pandas reads one member of a zip archive and refuses an archive of none or several.
        return UserError(f"cannot read {path}: {error}")
    return error


def _read_sample(path: Path, encoding: str) -> str:
    try:
        with _open_binary(path) as handle:
            raw = handle.read(SNIFF_BYTES)
            # A header row longer than the sample (thousands of columns) needs more: read on
            # until two rows are complete, up to MAX_SNIFF_BYTES.
            while raw.count(b"\n") < 2 and len(raw) < MAX_SNIFF_BYTES:
                more = handle.read(SNIFF_BYTES)
                if not more:
                    break
                raw += more
    except Exception as error:
        raise read_errors_as_user_errors(path, error) from None
    try:
        wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    except LookupError:
        raise UserError(f"unknown encoding {encoding!r}") from None
    if not wide:
        bom = _wide_byte_order_mark(raw)
        if bom is not None:
            raise UserError(f"{path} is {bom} text; give its encoding with --encoding {bom}")
        if b"\x00" in raw:
            raise UserError(f"{path} does not look like a CSV text file (it holds binary data)")
    try:
        # A multi-byte character cut at the end of the sample is not an encoding error.
        text = raw.decode(encoding, errors="strict" if len(raw) % SNIFF_BYTES else "ignore")
    except UnicodeDecodeError as error:
        raise read_errors_as_user_errors(path, error) from None
    # In UTF-16 or UTF-32 a NUL byte is ordinary; a NUL character is not text.
    if "\x00" in text:
        raise UserError(f"{path} does not look like a CSV text file (it holds binary data)")
    return text.lstrip("\ufeff")


def _wide_byte_order_mark(raw: bytes) -> str | None:
    """Name the UTF-16/32 encoding whose byte order mark starts ``raw``, if any."""
    # UTF-32's marks begin with UTF-16's, so they are tried first.
    for mark, name in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if raw.startswith(mark):
            return name
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _looks_like_header(rows: list[list[str]]) -> bool:
    """Guess whether the first row names the columns.

    A first cell that is text above a column of numbers is a name: the row is a header, even if
    other names are numbers ("2019") or empty, which ``sniff_format`` then refuses. A first row
    of numbers above numeric columns, and nothing else, is data. Files without any numeric
    column are assumed to have a header (the common case; --no-header says otherwise).
    """
    first, body = rows[0], rows[1:]
    numeric_columns = 0
    for index, cell in enumerate(first):
        below = [row[index].strip() for row in body if index < len(row) and row[index].strip()]
        if not below or not all(_is_number(value) for value in below):
            continue
        numeric_columns += 1
        text = cell.strip()
        if text and not _is_number(text) and text.lower() not in _MISSING_MARKERS:
            return True
    return numeric_columns == 0


def sniff_format(
    path: str | os.PathLike,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    header: bool | None = None,
) -> CsvFormat:
    """Find a CSV file's delimiter, header and column names, unless given.

    Parameters
    ----------
    path : path-like
        A CSV file, possibly compressed (.gz, .bz2, .xz, .zip).
    encoding : str, default="utf-8"
        Text encoding of the file.
    delimiter : str or None, default=None
        The delimiter; None sniffs one of ``, ; TAB |`` from the first 64 KiB.
    header : bool or None, default=None
        Whether the first row names the columns; None guesses. Without a header the columns are
        named by their 1-based position: "1", "2", ...

    Returns
    -------
    format : CsvFormat
    """
    path = check_readable(path)
    sample = _read_sample(path, encoding)
    lines = sample.splitlines()
    if len(sample) >= SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a cut sample is incomplete
    lines = [line for line in lines if line.strip()]
    if not lines:
        raise UserError(f"{path} is empty")
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff("\n".join(lines[:200]), delimiters=DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","  # one column, or nothing to tell delimiters apart: the CSV default
    elif delimiter in ("\\t", "tab", "TAB"):
        delimiter = "\t"
    rows = list(csv.reader(lines[:200], delimiter=delimiter, skipinitialspace=True))
    if header is None:
        header = len(rows) == 1 or _looks_like_header(rows)
    if header:
        columns = [name.strip() for name in rows[0]]
        empty = [str(index + 1) for index, name in enumerate(columns) if not name]
        if empty:
            raise UserError(
                f"the header row of {path} has no name for column(s) {', '.join(empty)}: name "
                "every column, or pass --no-header if the first row is data"
            )
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if repeated:
            raise UserError(
                f"the header row of {path} names several columns "
                f"{', '.join(repr(name) for name in repeated)}: give each column its own name, "
                "or pass --no-header if the first row is data"
            )
    else:
        columns = [str(index + 1) for index in range(len(rows[0]))]
    if header and len(lines) == 1:
        raise UserError(f"{path} has a header but no data rows")
    return CsvFormat(delimiter=delimiter, header=header, columns=columns, encoding=encoding)


def _read_options(fmt: CsvFormat, na_values: list[str]) -> dict:
    # No ``usecols``: with it pandas skips its check that every row has as many cells as the
    # header, and a row with a stray delimiter would be read shifted instead of refused.
    return {
        "sep": fmt.delimiter,
        "header": 0 if fmt.header else None,
        "names": fmt.columns,
        # All cells as text: types are decided once, from the training data (see module doc).
        "dtype": object,
        "na_values": list(na_values),
        "keep_default_na": True,
        "skipinitialspace": True,
        "encoding": fmt.encoding,
        "encoding_errors": "strict",
        "compression": "infer",
        "skip_blank_lines": True,
    }


def read_frame(
    path: str | os.PathLike, fmt: CsvFormat, na_values: list[str], usecols: list[str] | None = None
) -> pd.DataFrame:
    """Read a whole CSV file as text cells (missing cells are NaN)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, **_read_options(fmt, na_values))
    except Exception as error:
        raise read_errors_as_user_errors(path, error) from None
    if frame.empty:
        raise UserError(f"{path} has no data rows")
    return frame if usecols is None else frame[usecols]


def iter_frames(
    path: str | os.PathLike,
    fmt: CsvFormat,
    na_values: list[str],
    usecols: list[str] | None,
    chunk_size: int,
) -> Iterator[pd.DataFrame]:
    """Read a CSV file as text cells, ``chunk_size`` rows at a time, with bounded memory."""
    path = Path(path)
    try:
        with pd.read_csv(path, chunksize=chunk_size, **_read_options(fmt, na_values)) as chunks:
            for chunk in chunks:
                yield chunk if usecols is None else chunk[usecols]
    except GeneratorExit:
        raise
    except Exception as error:
        raise read_errors_as_user_errors(path, error) from None


def check_columns(
    fmt: CsvFormat, path: str | os.PathLike, required: list[str], known: list[str]
) -> list[str]:
    """Fail on a missing required column; return the extra columns that will be ignored.

    ``known`` columns (the target, dropped columns) are neither required nor reported as extra.
    """
    present = set(fmt.columns)
    missing = [name for name in required if name not in present]
    if missing:
        listed = ", ".join(repr(name) for name in missing)
        plural = "s" if len(missing) > 1 else ""
        raise UserError(f"{path} lacks the column{plural} {listed} that the model needs")
    return [name for name in fmt.columns if name not in set(required) | set(known)]


def find_column(fmt: CsvFormat, path: str | os.PathLike, name: str, role: str) -> str:
    """Return ``name`` if it is a column of the file, or fail naming the columns there are."""
    if name in fmt.columns:
        return name
    same_letters = [column for column in fmt.columns if column.lower() == name.lower()]
    close = same_letters or difflib.get_close_matches(name, fmt.columns, n=1)
    if close:
        raise UserError(f"{role} column {name!r} is not in {path}; did you mean {close[0]!r}?")
    columns = ", ".join(fmt.columns[:30]) + (", ..." if len(fmt.columns) > 30 else "")
    raise UserError(f"{role} column {name!r} is not in {path}; its columns are: {columns}")


def _numeric_values(column: pd.Series, numbers: NumberFormat = NumberFormat()) -> pd.Series:
    if numbers.thousands or numbers.decimal != ".":
        text = column.astype(str)
        if numbers.thousands:
            text = text.str.replace(numbers.thousands, "", regex=False)
        if numbers.decimal != ".":
            text = text.str.replace(numbers.decimal, ".", regex=False)
        column = text.where(column.notna())
    return pd.to_numeric(column, errors="coerce").astype(np.float64)


def comma_number_hint(cells: pd.Series) -> str | None:
    """A hint when text cells are mostly numbers written with a comma; None otherwise."""
    text = cells.dropna().astype(str).str.strip()
    if len(text) == 0:
        return None
    thousands = text.str.match(_THOUSANDS_COMMA)
    decimal = text.str.match(_DECIMAL_COMMA)
    if (thousands | decimal).mean() < MOSTLY_NUMERIC_FRACTION:
        return None
    example = shortened(text[thousands | decimal].iloc[0])
    if thousands.all() and not (decimal & ~thousands).any():
        return (
            f"its cells are numbers written with a comma (e.g. {example!r}): if the comma "
            "groups thousands, pass --thousands , (if it is the decimal mark, --decimal ,)"
        )
    return (
        f"its cells are numbers written with a decimal comma (e.g. {example!r}): pass "
        "--decimal , (with --delimiter if the comma also separates columns)"
    )


def infer_kinds(
    frame: pd.DataFrame, force_categorical: list[str] = (), numbers: NumberFormat = NumberFormat()
) -> ColumnKinds:
    """Decide for each column of ``frame`` whether it is numeric or categorical.

    Parameters
    ----------
    frame : DataFrame
        Feature columns as text cells, as read by :func:`read_frame`.
    force_categorical : list of str
        Columns to treat as categorical even if every cell is a number (codes, zip codes).
    numbers : NumberFormat
        How numbers are written.

    Returns
    -------
    kinds : ColumnKinds
    """
    kinds, warnings = {}, []
    for name in frame.columns:
        cells = frame[name].dropna()
        values = _numeric_values(cells, numbers)
        parsed = int(values.notna().sum())
        if name in force_categorical:
            kinds[name] = CATEGORICAL
        elif len(cells) == 0:
            kinds[name] = NUMERIC
            warnings.append(f"column {name!r} is empty in the training data")
        elif parsed == len(cells):
            kinds[name] = NUMERIC
            if len(cells) == len(frame) and integers_look_like_ids(values.to_numpy(np.float64)):
                warnings.append(
                    f"column {name!r} holds a different whole number in every row, like a row "
                    "identifier: if it is one, leave it out with --drop"
                )
        else:
            kinds[name] = CATEGORICAL
            hint = comma_number_hint(cells)
            if hint:
                warnings.append(f"column {name!r} is treated as categorical: {hint}")
            elif parsed >= MOSTLY_NUMERIC_FRACTION * len(cells):
                example = shortened(cells[values.isna()].iloc[0])
                warnings.append(
                    f"column {name!r} is treated as categorical although {parsed / len(cells):.0%} "
                    f"of its cells are numbers (e.g. {example!r} is not); if that marks a missing "
                    "value, pass it with --na-values"
                )
        if kinds[name] == CATEGORICAL:
            distinct = cells.nunique()
            if text_looks_like_ids(distinct, len(cells)):
                warnings.append(
                    f"column {name!r} has {distinct} distinct values in {len(cells)} rows: "
                    "if it is an identifier, leave it out with --drop"
                )
    return ColumnKinds(kinds=kinds, warnings=warnings)


def to_model_input(
    frame: pd.DataFrame, kinds: dict[str, str], numbers: NumberFormat = NumberFormat()
) -> tuple[pd.DataFrame, dict, dict]:
    """Convert text cells to model input: floats for numeric columns, strings for categorical.

    Returns the converted frame, columns in ``kinds`` order; for each numeric column the number
    of cells that were not numbers and became missing; and the number of infinite cells
    ("inf", "-inf", "1e400"), which count as beyond every number (``INFINITY_STAND_IN``).
    """
    columns, unparsable, infinite = {}, {}, {}
    for name, kind in kinds.items():
        cells = frame[name]
        if kind == NUMERIC:
            values = _numeric_values(cells, numbers)
            bad = int((values.isna() & cells.notna()).sum())
            if bad:
                unparsable[name] = bad
            endless = np.isinf(values.to_numpy())
            if endless.any():
                infinite[name] = int(endless.sum())
                values = values.clip(-INFINITY_STAND_IN, INFINITY_STAND_IN)
            columns[name] = values
        else:
            columns[name] = cells.astype(object)
    return pd.DataFrame(columns, index=frame.index), unparsable, infinite


def not_number_cells(
    frame: pd.DataFrame, converted: pd.DataFrame, names: list[str]
) -> pd.DataFrame:
    """Mark the cells of the numeric columns ``names`` that hold text but are not numbers.

    ``converted`` is :func:`to_model_input`'s output for ``frame``: a cell that was not missing
    as text but is missing as a number did not parse.
    """
    return converted[names].isna() & frame[names].notna()


# Longest example cell quoted in a message; a stray paragraph would drown the message.
MAX_EXAMPLE_CHARS = 40


def shortened(cell) -> str:
    """A cell's text for a message, cut to ``MAX_EXAMPLE_CHARS`` characters."""
    text = str(cell)
    return text if len(text) <= MAX_EXAMPLE_CHARS else text[: MAX_EXAMPLE_CHARS - 3] + "..."


def infinity_warnings(infinite: dict[str, int]) -> list[str]:
    return [
        f"numeric column {name!r}: {count} cells are infinite; they count as beyond every "
        "number (in the lowest or highest bin)"
        for name, count in infinite.items()
    ]


@dataclass
class Target:
    """A training target ready for fitting, and how it was read."""

    values: np.ndarray
    task: str
    note: str
    kept_rows: np.ndarray


def prepare_target(
    column: pd.Series, name: str, task: str, number_format: NumberFormat = NumberFormat()
) -> Target:
    """Turn the target column's text cells into labels or numbers, deciding the task if "auto".

    Rows whose target is missing are left out (``kept_rows`` marks the others).
    """
    kept = column.notna().to_numpy()
    cells = column[kept]
    if len(cells) == 0:
        raise UserError(f"target column {name!r} has no values")
    numbers = _numeric_values(cells, number_format)
    numeric = bool(numbers.notna().all())
    finite = numbers.to_numpy()[np.isfinite(numbers.to_numpy())]
    integral = numeric and len(finite) == len(numbers) and bool(np.all(np.mod(finite, 1) == 0))
    distinct = cells.nunique()
    if task == "auto":
        hint = None if numeric else comma_number_hint(cells)
        if hint and distinct > MAX_AUTO_CLASSES:
            raise UserError(
                f"target column {name!r} holds {distinct} distinct text labels, but {hint}; "
                "for classes after all, pass --task classification"
            )
        if not numeric:
            task, note = "classification", f"target {name!r} holds text labels"
        elif integral and distinct <= MAX_AUTO_CLASSES:
            task = "classification"
            note = f"target {name!r} holds {distinct} distinct whole numbers"
        else:
            task, note = "regression", f"target {name!r} holds numbers"
    else:
        note = "chosen with --task"
    if task == "regression":
        if not numeric:
            example = shortened(cells[numbers.isna()].iloc[0])
            raise UserError(
                f"target column {name!r} is not numeric (e.g. {example!r}): regression needs a "
                "number in every row; use --task classification for labels"
            )
        values = numbers.to_numpy()
        largest = float(np.max(np.abs(values)))
        if not np.isfinite(largest):
            raise UserError(
                f"target column {name!r} holds infinite values ({int(np.isinf(values).sum())} "
                "rows): regression needs a finite number in every row"
            )
        if largest > MAX_TARGET_MAGNITUDE:
            raise UserError(
                f"target column {name!r} holds values as large as {largest:.3g}: the model "
                f"stores its outputs as float32, at most {MAX_TARGET_MAGNITUDE:.3g}; rescale the "
                "target"
            )
        return Target(values, task, note, kept)
    if numeric:
        # Whole-number labels stay integers in predictions ("1", not "1.0").
        values = numbers.to_numpy().astype(np.int64) if integral else numbers.to_numpy()
    else:
        values = cells.astype(str).to_numpy(dtype=object)
    classes = pd.unique(values)
    if len(classes) < 2:
        raise UserError(
            f"target column {name!r} has only one class ({classes[0]!r}): classification needs "
            "at least two"
        )
    return Target(values, task, note, kept)


def labels_like(
    column: pd.Series, classes: np.ndarray, number_format: NumberFormat = NumberFormat()
) -> tuple[np.ndarray, np.ndarray]:
    """Read evaluation labels in the type of the model's classes.

    Returns the labels and the classes to compare them with: when the model's classes are
    numbers but some labels are not, both become text, so an unexpected label is counted as an
    error rather than failing the comparison.
    """
    if classes.dtype.kind in "iuf":
        numbers = _numeric_values(column, number_format)
        if numbers.notna().all():
            values = numbers.to_numpy()
            whole = np.isfinite(values).all() and np.all(np.mod(values, 1) == 0)
            if classes.dtype.kind in "iu" and whole:
                values = values.astype(np.int64)
            return values, classes
        return column.astype(str).to_numpy(dtype=object), classes.astype(str).astype(object)
    return column.astype(str).to_numpy(dtype=object), classes
