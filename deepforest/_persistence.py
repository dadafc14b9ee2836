"""Fitted estimators saved in skops' format, which cannot run code when it is loaded.

skops rebuilds each object from its saved attributes and refuses any type that neither it nor
the caller trusts, so a model file from someone else cannot call functions or build arbitrary
objects. This module lists the types a deepforest model legitimately holds; the command line's
model file (:mod:`deepforest.cli.model_file`) and the estimators' ``save``/``load`` (Deep-Forest
0.1.7's API) both load with it.

Files that hold only the node kinds and types of a deepforest model are read here, without
importing skops (whose import alone took 0.6 s, nine tenths of a small model's loading); any
other file is loaded, or refused by name, by skops itself (see :class:`_RestrictedReader`).
"""

from __future__ import annotations

import importlib
import io
import json
import math
import os
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ._core.atomic_file import write_new_file
from ._loaded_cascade import MalformedModelError, check_loaded_model
from ._loaded_trees import (
    check_boosted_trees,
    check_lightgbm_boosters,
    check_lightgbm_model_strings,
    check_xgboost_boosters,
    check_xgboost_model_bytes,
)

# Types that skops does not trust by default and that a deepforest model legitimately holds.
# Nothing here can run code when reconstructed: skops rebuilds these objects from their saved
# attributes. A new class inside the estimators must be added here (a test in
# tests/test_cli_internals.py saves and loads every estimator variant and fails until it is).
TRUSTED_TYPES = (
    "deepforest._core.binning.QuantileBinner",
    "deepforest._core.layer.Layer",
    "deepforest._core.layer_estimators.FoldModels",
    "deepforest._core.trees.BinnedForest",
    "deepforest._core.predictor.ForestPredictor",
    "deepforest._core.sklearn_engine.SklearnForest",
    "deepforest._scanning.grain.GrainForests",
    "deepforest.cascade.CascadeForestClassifier",
    "deepforest.cascade.CascadeForestRegressor",
    "deepforest.scanning.GCForestClassifier",
    "deepforest.scanning.MultiGrainScanner",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)

# The gradient boosting libraries' types that the built-in layer estimators and final
# predictors ("xgboost", "lightgbm") hold: their boosters are rebuilt from the libraries' own
# model formats (bytes or text), never by running code from the file.
BOOSTING_TYPES = (
    "collections.OrderedDict",
    "lightgbm.basic.Booster",
    "lightgbm.sklearn.LGBMClassifier",
    "lightgbm.sklearn.LGBMRegressor",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
)


def trusted_types() -> list[str]:
    """The types to trust: :data:`TRUSTED_TYPES` and :data:`BOOSTING_TYPES`."""
    return [*TRUSTED_TYPES, *BOOSTING_TYPES]


# The magic, the header's length and the longest header numpy reads (version 1's 65,535
# bytes; it refuses longer version 2 headers unless asked).
NPY_HEADER_BYTES = 12 + 2**16


class DamagedModelError(ValueError):
    """A model file whose members break the format: refused before anything is built."""


class UntrustedModelError(ValueError):
    """A saved model holds types that a deepforest model never holds.

    ``untrusted`` lists them, by the names skops gives them.
    """

    def __init__(self, message: str, untrusted: Iterable[str] = ()):
        super().__init__(message)
        self.untrusted = list(untrusted)


def save_estimator(estimator, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write ``estimator`` to ``path`` with skops, atomically (a complete file or none).

    Without ``overwrite``, an existing ``path`` is never replaced, even one another writer
    creates while this one saves (``_core.atomic_file``).
    """
    import skops.io

    path = Path(path)
    if (path.exists() or path.is_symlink()) and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True to replace it")
    try:
        write_new_file(path, lambda handle: skops.io.dump(estimator, handle), overwrite=overwrite)
    except FileExistsError:
        raise FileExistsError(
            f"{path} was created by another writer while this one saved; pass overwrite=True "
            "to replace it"
        ) from None
    return path


def load_trusted(path: str | os.PathLike, trusted: Iterable = ()):
    """Load a skops file whose types are all trusted: deepforest's, skops' defaults, ``trusted``.

    Read without skops when :class:`_RestrictedReader` reads it, by skops otherwise.

    Raises
    ------
    UntrustedModelError
        If the file holds other types (listed in its ``untrusted``); nothing was built.
    ValueError
        If a HistGradientBoosting tree in it is malformed (:func:`check_boosted_trees`), or a
        cascade's parts do not fit its structure (:class:`MalformedModelError`).
    """
    allowed = [*trusted_types(), *(_type_name(kind) for kind in trusted)]
    try:
        loaded = _read_restricted(path, allowed)
        if loaded is _OUTSIDE:
            _check_before_skops(path)
            loaded = _load_with_skops(path, allowed)
    except RecursionError:
        # A model's schema nests a few levels per layer; hundreds mean a crafted file.
        raise DamagedModelError("the model file's schema is nested too deeply") from None
    check_boosted_trees(loaded)
    check_xgboost_boosters(loaded)
    check_lightgbm_boosters(loaded)
    check_loaded_model(loaded)
    return loaded


def _check_before_skops(path) -> None:
    """Check what a third-party library would parse unchecked as skops rebuilds it."""
    with zipfile.ZipFile(path) as archive:
        try:
            schema = json.loads(archive.read("schema.json"))
        except (KeyError, ValueError):
            return  # skops names the problem
        # skops reads an array's header and allocates what it declares before reading data.
        for member in archive.infolist():
            if member.filename.endswith(".npy"):
                with archive.open(member) as stream:
                    # A .npy header is at most a few KB; the check reads no further.
                    _check_npy_header(io.BytesIO(stream.read(NPY_HEADER_BYTES)), member.file_size)
        check_xgboost_model_bytes(schema, archive.read)
    check_lightgbm_model_strings(schema)


def _load_with_skops(path, allowed: list[str]):
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        # skops audits every type before it builds anything (unless refused, its one parse).
        return skops.io.load(path, trusted=allowed)
    except UntrustedTypesFoundException:
        untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(allowed))
        raise UntrustedModelError(
            f"refusing to load {path}: it holds types that deepforest does not trust "
            f"({', '.join(untrusted)}); if you wrote the file, pass them as "
            "load(dirname, trusted=[...])",
            untrusted,
        ) from None


def load_estimator(path: str | os.PathLike, *, trusted: list[str] | None = None):
    """Load an estimator saved by :func:`save_estimator`, trusting only known types.

    ``trusted`` adds types the caller trusts (the classes of their own layer estimators);
    anything else untrusted is refused (:class:`UntrustedModelError`) with the list of what was
    found. A file that is not a model this package wrote, or was damaged, raises
    :class:`DamagedModelError` (or :class:`MalformedModelError`) naming what is wrong.
    """
    try:
        return load_trusted(Path(path), trusted or ())
    except (DamagedModelError, UntrustedModelError, MalformedModelError, OSError, MemoryError):
        raise  # named already, or the file could not be read (missing, no permission)
    except Exception as error:
        raise _damaged(path, error) from error


def _damaged(path, error: Exception) -> DamagedModelError:
    reason = " ".join(str(error).split())[:300]
    return DamagedModelError(
        f"{path} is damaged or was not written by deepforest ({type(error).__name__}: {reason})"
    )


def readable_without_skops(path: str | os.PathLike, trusted: Iterable = ()) -> bool:
    """Whether :func:`load_trusted` reads ``path`` without skops: then every type in it is
    trusted. Nothing is built; the arrays are not read."""
    allowed = [*trusted_types(), *(_type_name(kind) for kind in trusted)]
    try:
        with zipfile.ZipFile(path) as archive:
            return _check_restricted(archive, allowed) is not None
    except Exception:
        return False


# -- reading skops' format without importing skops -----------------------------------------------
#
# ``import skops.io`` takes 0.6 s, most of it scikit-learn's ``all_estimators()`` (run when skops
# is imported, it imports every scikit-learn module to list the estimators skops trusts by
# default): for a small model that was 0.6 of the 0.65 s its loading took, the file itself
# reading in 15 ms. A deepforest model is made of a few kinds of skops nodes (objects, dicts,
# lists, tuples, JSON values, types, numpy arrays, slices), and a restricted reader of those,
# below, loads it without skops. It reads the skops format of protocol 2 the way skops reads it,
# and trusts a subset of what skops trusts with the same list: anything else in the file (another
# node kind or type, or another protocol, or a malformed schema) makes it hand the whole file to
# skops, which loads it or refuses it by name as before. Like skops, it checks every type before
# it imports any module or builds any object, never unpickles (arrays are read with
# ``allow_pickle=False``) and calls nothing but ``cls.__new__`` and ``__setstate__`` of trusted
# classes.

# What skops calls the format it writes; a file of another protocol is read by skops.
SKOPS_PROTOCOL = 2

# The scikit-learn classes of the command line's pipelines (with the cascade encoding
# categories, a Pipeline; before it, a ColumnTransformer of encoders). skops trusts them by
# default, as it does every scikit-learn estimator (a test checks that it still does).
SKLEARN_PIPELINE_TYPES = (
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._encoders.OrdinalEncoder",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
)


def _type_name(kind) -> str:
    return kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__name__}"


def _value_types() -> dict:
    """Types that a ``TypeNode`` may name (dict key types, encoders' dtypes): builtins and numpy
    scalar types, which skops trusts by default too."""
    builtins = {f"builtins.{kind.__name__}": kind for kind in (bool, float, int, list, str, tuple)}
    numpy_types = {
        _type_name(kind): kind
        for kind in set(np.sctypeDict.values())
        if kind.__module__ == "numpy" and issubclass(kind, (np.bool_, np.number))
    }
    return {**builtins, **numpy_types}


_OUTSIDE = object()


def _read_restricted(path, trusted: list[str]):
    """The object saved in ``path`` if the restricted reader reads the file, else _OUTSIDE."""
    try:
        archive = zipfile.ZipFile(path)
    except Exception:
        return _OUTSIDE  # skops says what is wrong
    with archive:
        checked = _check_restricted(archive, trusted)
        if checked is None:
            return _OUTSIDE
        reader, root = checked
        return reader.build(root)


def _check_restricted(archive: zipfile.ZipFile, trusted: list[str]):
    """``(reader, root node)`` if every node of the file is one the reader reads, else None.

    Nothing is imported or built: only ``schema.json`` is read.
    """
    reader = _RestrictedReader(archive, {*trusted, *SKLEARN_PIPELINE_TYPES})
    try:
        schema = json.loads(archive.read("schema.json"))
        if not isinstance(schema, dict) or type(schema.get("protocol")) is not int:
            return None
        if schema["protocol"] != SKOPS_PROTOCOL:
            return None
        return reader, reader.check(schema)
    except Exception:
        # _Outside, or a damaged or odd schema (skops loads it or says what is wrong).
        return None


class _Outside(Exception):
    """The file holds something the restricted reader does not read: skops reads it."""


_UNBUILT = object()


class _Node:
    """One checked node of the schema; ``build`` makes its object once."""

    __slots__ = ("building", "loader", "module", "name", "parts", "value")

    def __init__(self, loader: str, module: str, name: str):
        self.loader, self.module, self.name = loader, module, name
        self.parts = None
        self.value = _UNBUILT
        self.building = False


class _RestrictedReader:
    """Checks a skops schema against the node kinds and types it reads, then builds it."""

    def __init__(self, archive: zipfile.ZipFile, trusted: set[str]):
        self.archive = archive
        self.members = {info.filename for info in archive.infolist()}
        self.trusted = trusted
        self.value_types = _value_types()
        # Nodes by their saved id: skops gives a later node of a known id the earlier node.
        self.memo: dict = {}

    # -- checking, before any module is imported or any object is made --------------------

    def check(self, state) -> _Node:
        if not isinstance(state, dict):
            raise _Outside
        saved_id = state.get("__id__")
        if not isinstance(saved_id, (int, str, type(None))):
            raise _Outside
        if saved_id in self.memo:
            return self.memo[saved_id]
        loader, module, name = (state.get(key) for key in ("__loader__", "__module__", "__class__"))
        if not (isinstance(loader, str) and isinstance(module, str) and isinstance(name, str)):
            raise _Outside
        node = _Node(loader, module, name)
        if saved_id:
            self.memo[saved_id] = node
        node.parts = self._check_parts(node, f"{module}.{name}", state)
        return node

    def _check_parts(self, node: _Node, type_name: str, state: dict):
        loader = node.loader
        content = state.get("content")
        if loader == "JsonNode" and isinstance(content, str):
            return content
        if loader == "ObjectNode" and type_name in self.trusted:
            return None if content is None else self.check(content)
        if loader in ("ListNode", "TupleNode") and isinstance(content, list):
            if type_name == {"ListNode": "builtins.list", "TupleNode": "builtins.tuple"}[loader]:
                return [self.check(item) for item in content]
        if loader == "DictNode" and type_name == "builtins.dict" and isinstance(content, dict):
            key_types = self.check(state.get("key_types"))
            if (
                key_types.loader == "ListNode"
                and isinstance(key_types.parts, list)
                and len(key_types.parts) == len(content)
                and all(item.loader == "TypeNode" for item in key_types.parts)
            ):
                return key_types, {key: self.check(value) for key, value in content.items()}
        if loader == "TypeNode" and type_name in self.value_types:
            return self.value_types[type_name]
        if loader == "SliceNode" and type_name == "builtins.slice" and isinstance(content, dict):
            bounds = [content.get(key) for key in ("start", "stop", "step")]
            if all(bound is None or type(bound) is int for bound in bounds):
                return slice(*bounds)
        if loader == "NdArrayNode":
            return self._check_array(type_name, state)
        raise _Outside

    def _check_array(self, type_name: str, state: dict):
        scalar = None
        if type_name != "numpy.ndarray":
            scalar = self.value_types.get(type_name)
            if scalar is None or not type_name.startswith("numpy."):
                raise _Outside
        member = state.get("file")
        if state.get("type") == "numpy" and isinstance(member, str) and member in self.members:
            return "numpy", member, scalar
        if (
            state.get("type") == "json"
            and scalar is None
            and isinstance(state.get("content"), list)
        ):
            items = [self.check(item) for item in state["content"]]
            return "json", items, self.check(state.get("shape"))
        raise _Outside

    # -- building, as skops builds ------------------------------------------------------------

    def build(self, node: _Node):
        if node.value is not _UNBUILT:
            return node.value
        if node.building:
            raise ValueError("the model file's schema holds an object inside itself")
        node.building = True
        node.value = getattr(self, f"_build_{node.loader}")(node)
        node.building = False
        return node.value

    def _build_JsonNode(self, node):
        return json.loads(node.parts)

    def _build_ObjectNode(self, node):
        cls = getattr(importlib.import_module(node.module), node.name)
        if not isinstance(cls, type):
            raise TypeError(f"{node.module}.{node.name} is not a class")
        instance = cls.__new__(cls)
        if node.parts is not None:
            attributes = self.build(node.parts)
            if isinstance(attributes, dict) and not all(isinstance(k, str) for k in attributes):
                # Attribute names are text; another key would fail later, at predict time.
                raise DamagedModelError(
                    f"the model file's {node.name} has an attribute name that is not text"
                )
            if attributes is not None:
                if hasattr(instance, "__setstate__"):
                    instance.__setstate__(attributes)
                else:
                    instance.__dict__.update(attributes)
        return instance

    def _build_ListNode(self, node):
        return [self.build(item) for item in node.parts]

    def _build_TupleNode(self, node):
        return tuple(self.build(item) for item in node.parts)

    def _build_DictNode(self, node):
        key_types, content = node.parts
        result = {}
        for key_type, (key, value) in zip(self.build(key_types), content.items(), strict=True):
            result[key_type(key)] = self.build(value)
        return result

    def _build_TypeNode(self, node):
        return node.parts

    def _build_SliceNode(self, node):
        return node.parts

    def _build_NdArrayNode(self, node):
        kind, content, extra = node.parts
        if kind == "numpy":
            array = _read_npy(self.archive.read(content))
            return array if extra is None else extra(array)  # extra: a numpy scalar type
        shape = self.build(extra)  # extra: the shape of an array of objects
        items = [self.build(item) for item in content]
        if len(shape) == 1:
            array = np.ndarray(shape=len(items), dtype="O")
            for index, item in enumerate(items):
                array[index] = item
            return array
        return np.array(items, dtype="O")


def _read_npy(data: bytes) -> np.ndarray:
    """An array of a ``.npy`` member, never unpickled, whose data must fill the member."""
    buffer = io.BytesIO(data)
    _check_npy_header(buffer, len(data))
    buffer.seek(0)
    return np.lib.format.read_array(buffer, allow_pickle=False)


def _check_npy_header(buffer, member_size: int) -> None:
    """Read a ``.npy`` member's header from ``buffer`` and check it against the member's size.

    The data must fill the member exactly: a header that declares more items than the member
    holds would make numpy allocate them all (terabytes, from a few bytes of header).
    """
    try:
        version = np.lib.format.read_magic(buffer)
    except ValueError:
        raise DamagedModelError("an array member of the model file is not a .npy array") from None
    if version not in ((1, 0), (2, 0)):
        raise DamagedModelError(f"an array of the model file has an unknown .npy version {version}")
    read_header = getattr(np.lib.format, f"read_array_header_{version[0]}_0")
    try:
        shape, _, dtype = read_header(buffer)
    except (ValueError, TypeError, SyntaxError) as error:
        raise DamagedModelError(
            f"an array member of the model file has a damaged header ({error})"
        ) from None
    # An item of size 0 would make any shape pass the size check below: a 50 KB file could
    # then declare 10**12 items, and building them exhausts memory. Objects need pickle.
    if dtype.itemsize == 0 or dtype.hasobject:
        raise DamagedModelError(
            f"an array of the model file has the dtype {dtype.str}, which a deepforest "
            "model never holds"
        )
    if member_size - buffer.tell() != math.prod(shape) * dtype.itemsize:
        raise DamagedModelError(
            "an array of the model file is damaged: its data has the wrong size"
        )
