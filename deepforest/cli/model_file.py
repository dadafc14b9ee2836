"""The model file of the command line: a skops archive with a JSON description beside it.

A model file is what ``skops.io.dump`` writes (a zip archive that cannot run code when loaded,
unlike pickle) with one more member, ``deepforest-model.json``: the format version, the column
schema, the training metrics and the library versions. Reading that member alone is enough for
``deepforest info`` and for refusing a wrong or incompatible file before any array is loaded.
The pipeline itself loads only if every type in the archive is on
:data:`deepforest._persistence.TRUSTED_TYPES` or is
one that skops trusts by default (numpy, builtins and scikit-learn's own estimators), so a file
from someone else cannot instantiate arbitrary classes or call functions.
"""

from __future__ import annotations

import json
import os
import platform
import zipfile
import zlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._loaded_cascade import MalformedModelError
from .._model_format import MODEL_FORMAT
from .._persistence import (
    DamagedModelError,
    UntrustedModelError,
    load_trusted,
    readable_without_skops,
    trusted_types,
)
from .atomic import atomic_write, is_special_file
from .errors import UserError

FORMAT_NAME = "deepforest-model"
FORMAT_VERSION = MODEL_FORMAT
METADATA_MEMBER = "deepforest-model.json"
# What a model file's members may expand to: its arrays deflate a few times at most.
MAX_EXPANSION = 50
EXPANSION_ALLOWANCE = 16 * 2**20
MAX_METADATA_BYTES = 4 * 2**20
ZIP_MAGIC = b"PK\x03\x04"


def _skops_io():
    # Imported when needed: skops.io imports much of scikit-learn (0.6 s), which loading a model
    # file does not need (see deepforest._persistence), and which a command that fails on its
    # CSV file should not wait for.
    import skops.io

    return skops.io


def library_versions() -> dict[str, str]:
    """Versions of the libraries that a saved pipeline depends on."""
    from importlib.metadata import version

    import pandas as pd
    import sklearn

    from .. import __version__

    return {
        "deepforest": __version__,
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "skops": version("skops"),
        "python": platform.python_version(),
    }


def check_output_path(path: str | os.PathLike, force: bool, inputs: tuple = ()) -> Path:
    """Refuse an output path that exists (unless ``force``), is an input, or cannot be written."""
    path = Path(path)
    for source in inputs:
        if source is not None and path.exists() and path.resolve() == Path(source).resolve():
            raise UserError(f"the output {path} would overwrite an input file; choose another path")
    if path.is_dir():
        raise UserError(f"{path} is a directory; give a file name for the output")
    if is_special_file(path):
        return path  # a device or pipe: written into, never replaced
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to overwrite it")
    parent = path.parent
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: the directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise UserError(f"cannot write {path}: the directory {parent} is not writable")
    return path


def save_model(pipeline, metadata: dict, path: str | os.PathLike, force: bool = False) -> int:
    """Write ``pipeline`` and ``metadata`` to ``path`` atomically; return the file size in bytes.

    The file is written beside the destination and renamed over it only once complete, so an
    interrupted save never leaves a half-written model nor destroys an existing one.
    """
    path = check_output_path(path, force)
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        **metadata,
    }
    sio = _skops_io()
    # The description is appended to the archive skops wrote, which needs a seekable file.
    with atomic_write(path, stream_special=False, exclusive=not force) as temporary:
        # Level 1 deflate: a fifth of the raw size of the tree arrays, and faster to load back.
        sio.dump(pipeline, temporary, compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        with zipfile.ZipFile(temporary, "a", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata, indent=1, default=_json_default))
        size = temporary.stat().st_size
    return size


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _not_a_model(path: Path, why: str = "") -> UserError:
    return UserError(f"{path} is not a deepforest model file{why}")


def _check_archive(path: Path, archive: zipfile.ZipFile) -> None:
    """Refuse archives whose members would expand beyond what a model file can hold.

    A few megabytes of deflated zeros expand to gigabytes (a zip bomb); skops would read its
    ``schema.json`` whole. The limits follow from the archive's own size: model files hold
    arrays that deflate a few times at most, so members may expand to ``MAX_EXPANSION`` times
    the archive (plus ``EXPANSION_ALLOWANCE`` for small files), and the description member to
    ``MAX_METADATA_BYTES``. zipfile stops reading a member at its declared size, so declared
    sizes bound what is read.
    """
    archive_bytes = path.stat().st_size
    allowed = MAX_EXPANSION * archive_bytes + EXPANSION_ALLOWANCE
    total = 0
    for member in archive.infolist():
        total += member.file_size
        if member.filename == METADATA_MEMBER and member.file_size > MAX_METADATA_BYTES:
            raise _not_a_model(
                path,
                f" (its {METADATA_MEMBER} declares {member.file_size} bytes; a model's "
                f"description takes under {MAX_METADATA_BYTES // 2**20} MB)",
            )
    if total > allowed:
        raise _not_a_model(
            path,
            f" (its {archive_bytes}-byte archive declares {total} bytes of content, more than "
            f"model files expand to: {MAX_EXPANSION} times their size; it may be a zip bomb)",
        )


def _check_description(path: Path, metadata) -> None:
    """Refuse a description that lacks what the commands read, or holds the wrong types."""

    def require(condition: bool, what: str) -> None:
        if not condition:
            raise _not_a_model(path, f" ({METADATA_MEMBER} is malformed: {what})")

    require(isinstance(metadata, dict), "not a JSON object")
    schema = metadata.get("schema")
    require(isinstance(schema, dict), "no schema")
    columns = schema.get("columns")
    require(
        isinstance(columns, list)
        and all(
            isinstance(c, dict)
            and isinstance(c.get("name"), str)
            and c.get("type") in ("numeric", "categorical")
            for c in columns
        ),
        "the schema's columns are not a list of named numeric or categorical columns",
    )
    target = schema.get("target")
    require(
        isinstance(target, dict)
        and isinstance(target.get("name"), str)
        and target.get("task") in ("classification", "regression"),
        "the schema's target lacks a name or a task",
    )
    require(
        isinstance(schema.get("na_values"), list)
        and all(isinstance(v, str) for v in schema["na_values"]),
        "the schema's na_values are not a list of strings",
    )
    require(
        isinstance(schema.get("ignored_columns", []), list),
        "the schema's ignored_columns are not a list",
    )
    numbers = schema.get("number_format", {})
    require(
        isinstance(numbers, dict)
        and isinstance(numbers.get("decimal", "."), str)
        and isinstance(numbers.get("thousands") or "", str),
        "the schema's number_format is not a decimal mark and a thousands separator",
    )
    for key in ("versions", "training", "estimator"):
        require(isinstance(metadata.get(key, {}), dict), f"{key} is not an object")
    # A model trained with --test-size 0 has no held-out metrics.
    require(isinstance(metadata.get("metrics"), (dict, type(None))), "metrics is not an object")


def read_metadata(path: str | os.PathLike) -> dict:
    """Read and check a model file's description without loading the pipeline.

    Raises
    ------
    UserError
        If the file is missing, is not a deepforest model, is truncated, damaged or malformed,
        would expand beyond what a model file holds, or was written in a format this version
        cannot read.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such model file")
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a model file")
    try:
        with open(path, "rb") as handle:
            magic = handle.read(len(ZIP_MAGIC))
    except OSError as error:
        raise UserError(f"cannot read {path}: {error.strerror}") from None
    if not magic:
        raise UserError(f"{path} is empty, not a model file")
    if magic != ZIP_MAGIC:
        raise _not_a_model(path, " (it is not a zip archive as written by `deepforest train`)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if METADATA_MEMBER not in names:
                kind = " but a plain skops file" if "schema.json" in names else ""
                raise _not_a_model(path, f"{kind} (it has no {METADATA_MEMBER})")
            _check_archive(path, archive)
            with archive.open(METADATA_MEMBER) as member:
                text = member.read(MAX_METADATA_BYTES + 1)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError):
        raise UserError(
            f"{path} is truncated or damaged: it is not a complete model file (train again or "
            "copy it again)"
        ) from None
    try:
        metadata = json.loads(text)
    except ValueError:
        raise _not_a_model(path, f" ({METADATA_MEMBER} is not JSON)") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT_NAME:
        raise _not_a_model(path, f" ({METADATA_MEMBER} does not describe a deepforest model)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        versions = metadata.get("versions")
        saved_by = versions.get("deepforest") if isinstance(versions, dict) else None
        advice = (
            "upgrade deepforest to read it"
            if isinstance(version, int) and version > FORMAT_VERSION
            else "train the model again with this version"
        )
        from .. import __version__

        raise UserError(
            f"{path} uses model format {version} (saved by deepforest "
            f"{saved_by or 'an unknown version'}), which this deepforest {__version__} cannot "
            f"read (format {FORMAT_VERSION}): {advice}"
        )
    _check_description(path, metadata)
    return metadata


def untrusted_types(path: str | os.PathLike) -> list[str]:
    """Types in the model file that neither skops nor deepforest trusts.

    Call after :func:`read_metadata`, which bounds what the archive may expand to.
    """
    if readable_without_skops(path):
        return []  # only types that deepforest reads itself, all trusted
    sio = _skops_io()
    try:
        found = sio.get_untrusted_types(file=path)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, OSError):
        raise UserError(
            f"{path} is truncated or damaged: it is not a complete model file"
        ) from None
    except TypeError as error:
        # skops's audit met a node it has no loader for: a tampered schema.json.
        raise _not_a_model(path, f" (its skops schema is not one skops reads: {error})") from None
    return sorted(set(found) - set(trusted_types()))


def load_model(
    path: str | os.PathLike, metadata: dict | None = None
) -> tuple[object, dict, list[str]]:
    """Load a model file safely (``metadata``: its description, if already read).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The fitted encoding and estimator.
    metadata : dict
        The description written at training time.
    warnings : list of str
        Version differences the user should know about.
    """
    path = Path(path)
    if metadata is None:
        metadata = read_metadata(path)
    saved = metadata.get("versions", {})
    installed = library_versions()
    try:
        # Every type is checked before anything is constructed; the others are refused.
        pipeline = load_trusted(path)
    except UntrustedModelError as error:
        unexpected = ", ".join(error.untrusted)
        raise UserError(
            f"refusing to load {path}: it holds types that a deepforest model never holds "
            f"({unexpected}); it may be unsafe"
        ) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, DamagedModelError) as error:
        raise UserError(f"{path} is truncated or damaged ({error})") from None
    except MalformedModelError as error:
        raise UserError(f"refusing to load {path}: {error}") from None
    except Exception as error:
        reason = " ".join(str(error).split())
        if isinstance(error, TypeError) and "find loader" in reason:
            # skops's audit met a node it has no loader for: a tampered or foreign schema.json.
            why = f" (its skops schema is not one skops reads: {reason})"
            raise _not_a_model(path, why) from None
        # Loading arrays into classes of another library version is where incompatibility
        # shows. With the versions that saved the file, the file itself is at fault: a model
        # file comes from anyone, so its damage is reported in one line (DEEPFOREST_DEBUG=1
        # shows the traceback).
        if os.environ.get("DEEPFOREST_DEBUG"):
            raise
        differences = _version_differences(saved, installed)
        if differences:
            raise UserError(
                f"cannot load {path}: {type(error).__name__}: {reason} (saved with {differences})"
            ) from None
        raise UserError(
            f"cannot load {path}: it is damaged or was not written by deepforest "
            f"({type(error).__name__}: {reason[:300]})"
        ) from None
    from sklearn.pipeline import Pipeline

    if not isinstance(pipeline, Pipeline):
        raise _not_a_model(path, " (it does not hold a pipeline)")
    _check_pipeline_columns(path, pipeline, metadata)
    warnings = []
    differences = _version_differences(saved, installed, ("deepforest", "scikit-learn"))
    if differences:
        warnings.append(f"{path} was saved with {differences}; predictions may differ slightly")
    return pipeline, metadata, warnings


def _check_pipeline_columns(path: Path, pipeline, metadata: dict) -> None:
    """Refuse a pipeline fitted on other columns, or column kinds, than the description names.

    The commands build the model's input from the description's columns; a pipeline that
    expects others would fail inside scikit-learn at predict time, or read a column of text as
    numbers.
    """
    from ..cascade import _BaseCascadeForest

    steps = pipeline.steps
    if not (
        isinstance(steps, list)
        and steps
        and all(isinstance(step, tuple) and len(step) == 2 for step in steps)
        and all(isinstance(name, str) for name, _ in steps)
        and isinstance(steps[-1][1], _BaseCascadeForest)
    ):
        raise _not_a_model(path, " (its pipeline does not end in a named deepforest cascade)")
    columns = metadata["schema"]["columns"]
    names = getattr(pipeline, "feature_names_in_", None)
    if names is None or [str(name) for name in names] != [c["name"] for c in columns]:
        raise _not_a_model(path, " (its model was fitted on other columns than it describes)")
    mask = getattr(pipeline[-1], "is_categorical_", None)
    if mask is not None:
        described = [column["type"] == "categorical" for column in columns]
        if np.shape(mask) != (len(columns),) or list(map(bool, mask)) != described:
            raise _not_a_model(
                path, " (its model's categorical columns are not the ones it describes)"
            )


def _version_differences(
    saved: dict, installed: dict, names=("deepforest", "scikit-learn", "numpy")
):
    return ", ".join(
        f"{name} {saved[name]} (installed: {installed[name]})"
        for name in names
        if name in saved and saved[name] != installed.get(name)
    )


def info(model: str, check: bool = False) -> dict:
    """The model file's description: schema, layers, training metrics, versions, types.

    Only the description and the list of types are read. With ``check``, the model is loaded
    as ``predict`` loads it, which checks every part against the model's structure (a
    UserError names the first that does not fit).
    """
    metadata = read_metadata(model)
    unexpected = untrusted_types(model)
    if check and not unexpected:
        load_model(model, metadata)
    return {
        "model": str(model),
        "model_bytes": Path(model).stat().st_size,
        "only_trusted_types": not unexpected,
        "untrusted_types": unexpected,
        "checked": bool(check and not unexpected),
        **metadata,
    }
