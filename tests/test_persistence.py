"""Loading skops files without skops: the same objects, the same refusals, the same safety.

``deepforest._persistence`` reads the few skops node kinds a deepforest model is made of itself
(importing skops took 0.6 s, nine tenths of a small model's loading) and hands any other file to
skops. These tests hold it to what skops builds and refuses, and check the structure it relies
on: a forest is a fixed number of arrays, whatever its number of trees.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_diabetes, load_digits, load_iris

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._persistence import (
    SKLEARN_PIPELINE_TYPES,
    DamagedModelError,
    UntrustedModelError,
    _value_types,
    load_estimator,
    load_trusted,
    readable_without_skops,
    save_estimator,
    trusted_types,
)

FIXTURES = Path(__file__).parent / "fixtures" / "saved_models"
CLI_FIXTURE = FIXTURES / "cli-iris-0.2.0.dev1.skops"


def _same(a, b, where="model"):
    """Assert that two object graphs are equal: types, attributes, arrays (dtype, layout)."""
    assert type(a) is type(b), where
    if isinstance(a, np.ndarray):
        assert (a.dtype, a.shape, a.flags.c_contiguous, a.flags.writeable) == (
            b.dtype,
            b.shape,
            b.flags.c_contiguous,
            b.flags.writeable,
        ), where
        if a.dtype == object:
            for index, (x, y) in enumerate(zip(a.ravel(), b.ravel(), strict=True)):
                _same(x, y, f"{where}[{index}]")
        else:
            np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{index}]")
    elif hasattr(a, "__dict__") and not isinstance(a, type):
        _same(vars(a), vars(b), f"{where}.__dict__")
    elif isinstance(a, float) and a != a:
        assert b != b, where
    else:
        assert a == b, where


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A classifier and a regressor saved with save_estimator."""
    folder = tmp_path_factory.mktemp("saved")
    X, y = load_iris(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    classifier = CascadeForestClassifier(n_trees=4, max_layers=2, random_state=0).fit(X, y)
    regressor = CascadeForestRegressor(n_trees=4, max_layers=2, random_state=0).fit(Xr, yr)
    save_estimator(classifier, folder / "classifier.skops")
    save_estimator(regressor, folder / "regressor.skops")
    return folder


@pytest.mark.parametrize("name", ["cli", "classifier", "regressor"])
def test_the_reader_builds_what_skops_builds(saved, name):
    path = CLI_FIXTURE if name == "cli" else saved / f"{name}.skops"
    assert readable_without_skops(path)
    _same(load_trusted(path), skops.io.load(path, trusted=trusted_types()))


def _schema_nodes(path: Path) -> list[dict]:
    with zipfile.ZipFile(path) as archive:
        schema = json.loads(archive.read("schema.json"))
    nodes = []

    def walk(value):
        if isinstance(value, dict):
            if "__loader__" in value:
                nodes.append(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(schema)
    return nodes


def test_a_forest_saves_as_the_same_few_nodes_whatever_its_number_of_trees(tmp_path):
    # What makes a model file quick to read: each forest is a handful of arrays, never one
    # object per tree or per node.
    X, y = load_iris(return_X_y=True)
    counts = {}
    for n_trees in (4, 40):
        # A fixed leaf size: the probe's scores (saved with the model) would differ in number.
        model = CascadeForestClassifier(
            n_trees=n_trees, max_layers=1, min_samples_leaf=1, boost_rounds=5, random_state=0
        ).fit(X, y)
        path = save_estimator(model, tmp_path / f"{n_trees}.skops")
        nodes = _schema_nodes(path)
        counts[n_trees] = (len(nodes), sum(node["__loader__"] == "NdArrayNode" for node in nodes))
        forests = sum(node.get("__class__") == "BinnedForest" for node in nodes)
        # The layer's forests, and the boosting stage's trees (one forest for all rounds).
        assert forests == 2 * model.n_estimators + 1
    assert counts[4] == counts[40]


def _run(code: str) -> str:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_model_files_and_saved_estimators_load_without_importing_skops(saved):
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from deepforest.cli.model_file import load_model, untrusted_types\n"
        "from deepforest import CascadeForestClassifier\n"
        "from deepforest._persistence import load_estimator\n"
        f"pipeline, _, _ = load_model({str(CLI_FIXTURE)!r})\n"
        f"assert untrusted_types({str(CLI_FIXTURE)!r}) == []\n"
        f"model = load_estimator({str(saved / 'classifier.skops')!r})\n"
        "assert isinstance(model, CascadeForestClassifier)\n"
        "print(sorted(m for m in ('skops', 'skops.io') if m in sys.modules))\n"
    )
    assert _run(code) == "[]"


def _rewrite(source: Path, target: Path, schema=None, members=None) -> Path:
    """A copy of ``source`` with another schema.json or other members."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "schema.json" and schema is not None:
                data = json.dumps(schema).encode()
            if members and item.filename in members:
                data = members[item.filename]
            new.writestr(item, data)
    return target


def _schema(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("schema.json"))


def _first(state, predicate):
    if isinstance(state, dict):
        if predicate(state):
            return state
        values = state.values()
    elif isinstance(state, list):
        values = state
    else:
        return None
    for value in values:
        found = _first(value, predicate)
        if found is not None:
            return found
    return None


class _RecordImports:
    """A meta path finder that records which modules were asked for, and finds none."""

    def __init__(self):
        self.asked = []

    def find_spec(self, name, path=None, target=None):
        self.asked.append(name)
        return None


def test_an_untrusted_type_is_refused_by_name_before_anything_is_imported(saved, tmp_path):
    schema = _schema(saved / "classifier.skops")
    binner = _first(schema, lambda s: s.get("__class__") == "QuantileBinner")
    binner["__module__"] = "not_a_module_to_import"
    path = _rewrite(saved / "classifier.skops", tmp_path / "untrusted.skops", schema)
    recorder = _RecordImports()
    sys.meta_path.insert(0, recorder)
    try:
        assert not readable_without_skops(path)
        with pytest.raises(UntrustedModelError) as error:
            load_estimator(path)
    finally:
        sys.meta_path.remove(recorder)
    assert error.value.untrusted == ["not_a_module_to_import.QuantileBinner"]
    assert "not_a_module_to_import.QuantileBinner" in str(error.value)
    assert not any(name.startswith("not_a_module_to_import") for name in recorder.asked)
    # The caller may trust it (the name is then imported, and is no module: the error says so).
    with pytest.raises(DamagedModelError, match="ModuleNotFoundError: No module named 'not_a_"):
        load_estimator(path, trusted=["not_a_module_to_import.QuantileBinner"])


@pytest.mark.parametrize(
    "change",
    ["unknown loader", "older protocol", "type node of a function", "named tuple"],
)
def test_files_beyond_the_reader_are_left_to_skops(saved, tmp_path, change):
    schema = _schema(saved / "classifier.skops")
    if change == "unknown loader":
        _first(schema, lambda s: s.get("__loader__") == "ListNode")["__loader__"] = "NoSuchNode"
    elif change == "older protocol":
        schema["protocol"] = 1
    elif change == "type node of a function":
        node = _first(schema, lambda s: s.get("__loader__") == "TypeNode")
        # A new id: skops (and the reader) give a node of an id seen before the earlier node.
        node.update({"__module__": "os", "__class__": "system", "__id__": 1})
    else:
        node = _first(schema, lambda s: s.get("__loader__") == "TupleNode")
        node.update({"__module__": "collections", "__class__": "namedtuple", "__id__": 1})
    path = _rewrite(saved / "classifier.skops", tmp_path / "other.skops", schema)
    assert not readable_without_skops(path)
    if change == "older protocol":
        # skops reads protocol 1 with its own (as strict) nodes: the model loads.
        X, _ = load_iris(return_X_y=True)
        expected = load_estimator(saved / "classifier.skops").predict_proba(X)
        np.testing.assert_array_equal(load_estimator(path).predict_proba(X), expected)
    elif change == "unknown loader":
        with pytest.raises(DamagedModelError, match="Can't find loader NoSuchNode"):
            load_estimator(path)
    else:
        with pytest.raises(UntrustedModelError):
            load_estimator(path)


class _Tripwire:
    """Unpickling it would record that pickle ran."""

    unpickled = False

    def __reduce__(self):
        return (_set_tripwire, ())


def _set_tripwire():
    _Tripwire.unpickled = True


def test_arrays_are_never_unpickled_and_must_fill_their_member(saved, tmp_path):
    schema = _schema(saved / "classifier.skops")
    member = _first(schema, lambda s: s.get("__loader__") == "NdArrayNode" and "file" in s)["file"]
    pickled = io.BytesIO()
    np.save(pickled, np.array([_Tripwire()], dtype=object), allow_pickle=True)
    assert b"_set_tripwire" in pickled.getvalue()
    path = _rewrite(
        saved / "classifier.skops", tmp_path / "pickled.skops", members={member: pickled.getvalue()}
    )
    with pytest.raises(ValueError):
        load_estimator(path)
    assert not _Tripwire.unpickled

    with zipfile.ZipFile(saved / "classifier.skops") as archive:
        genuine = archive.read(member)
    short = _rewrite(
        saved / "classifier.skops", tmp_path / "short.skops", members={member: genuine[:-1]}
    )
    with pytest.raises(ValueError, match="wrong size"):
        load_estimator(short)


def test_an_array_declaring_more_than_its_member_holds_is_refused_before_skops_reads_it(
    saved, tmp_path
):
    """skops allocates what a .npy header declares: a few bytes of header asked for 3.6 TiB."""
    schema = _schema(saved / "classifier.skops")
    schema["protocol"] = 1  # a file the reader leaves to skops
    member = _first(schema, lambda s: s.get("__loader__") == "NdArrayNode" and "file" in s)["file"]
    with zipfile.ZipFile(saved / "classifier.skops") as archive:
        genuine = np.load(io.BytesIO(archive.read(member)))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": genuine.dtype.str, "fortran_order": False, "shape": (10**12,)}
    )
    path = _rewrite(
        saved / "classifier.skops",
        tmp_path / "huge.skops",
        schema,
        members={member: header.getvalue() + genuine.tobytes()},
    )
    assert not readable_without_skops(path)
    with pytest.raises(DamagedModelError, match="wrong size"):
        load_estimator(path)


def test_what_the_reader_trusts_skops_trusts_by_default():
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OrdinalEncoder

    encoders = ColumnTransformer([("categorical", OrdinalEncoder(), [0])])
    instances = [
        Pipeline([("encode", encoders)]),
        encoders,
        OrdinalEncoder(),
        FunctionTransformer(),
    ]
    names = {f"{type(item).__module__}.{type(item).__name__}" for item in instances}
    assert names == set(SKLEARN_PIPELINE_TYPES)
    data = skops.io.dumps([*instances, *_value_types().values()])
    assert skops.io.get_untrusted_types(data=data) == []


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda forest: forest.left.__setitem__(5, 2), "child nodes out of order or out of range"),
        (lambda forest: forest.right.__setitem__(3, 10**6), "child nodes out of order"),
        (lambda forest: forest.roots.__setitem__(0, 10**6), "child nodes out of order"),
        (
            lambda forest: forest.left.__setitem__(np.flatnonzero(forest.left < 0)[0], -(10**6)),
            "leaves beyond the leaf table",
        ),
        (lambda forest: forest.feature.__setitem__(0, 99), "split features out of range"),
        (lambda forest: forest.fold_bounds.__setitem__(-1, 10**3), "fold bounds out of range"),
    ],
    ids=["cycle", "child range", "root range", "leaf range", "feature", "fold bounds"],
)
def test_a_crafted_forest_is_refused_before_the_compiled_traversal(tmp_path, damage, problem):
    # The compiled kernels do not check indices: a saved forest is checked as it loads.
    X, y = load_digits(return_X_y=True)
    model = CascadeForestClassifier(n_trees=10, max_layers=1, random_state=0).fit(X, y)
    path = save_estimator(model, tmp_path / "model.skops")
    assert load_estimator(path).score(X, y) == model.score(X, y)
    crafted = copy.deepcopy(model)
    forest = crafted.layers_[0].forests[0]
    forest.__dict__.pop("_nodes", None)  # the node table fitting left, which is never saved
    damage(forest)
    path = save_estimator(crafted, tmp_path / "crafted.skops")
    with pytest.raises(ValueError, match=f"malformed \\({problem}"):
        load_estimator(path)


def _first_boosted_tree(model):
    """The first HistGradientBoosting tree of a cascade's first layer."""
    booster = model.layers_[0].estimators[0].models[0]
    return booster._predictors[0][0]


def _cut_a_cycle(tree):
    tree.nodes["left"][np.flatnonzero(tree.nodes["is_leaf"] == 0)[-1]] = 0


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_cut_a_cycle, "child nodes out of order or out of range"),
        (lambda tree: tree.nodes["right"].__setitem__(0, 10**6), "child nodes out of order"),
        (lambda tree: tree.nodes["feature_idx"].__setitem__(0, 10**3), "split features"),
        (
            lambda tree: tree.nodes["is_categorical"].__setitem__(0, 1),
            "categorical splits the model does not have",
        ),
    ],
    ids=["cycle", "child range", "feature", "categorical"],
)
def test_a_crafted_boosted_tree_is_refused_as_the_file_loads(tmp_path, damage, problem):
    # skops distrusts HistGradientBoosting's trees (their compiled traversal does not check
    # node indices); deepforest trusts them in its files and checks each one as it loads.
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = load_digits(return_X_y=True)
    booster = HistGradientBoostingClassifier(max_iter=3, random_state=0)
    model = CascadeForestClassifier(
        n_trees=5, max_layers=1, layer_estimators=[booster], random_state=0
    ).fit(X, y)
    path = save_estimator(model, tmp_path / "model.skops")
    loaded = load_estimator(path)
    assert loaded.score(X, y) == model.score(X, y)
    damage(_first_boosted_tree(loaded))
    crafted = save_estimator(loaded, tmp_path / "crafted.skops")
    with pytest.raises(ValueError, match=f"gradient-boosted tree .* malformed \\({problem}"):
        load_estimator(crafted)


def test_a_model_file_naming_the_scikit_learn_forest_by_its_old_path_is_refused(
    tmp_path, monkeypatch
):
    """Only files of model format 2 name it ``deepforest._core.forests.SklearnForest``: the
    path is no longer trusted, so they are refused by name before anything is built."""
    from deepforest._core.sklearn_engine import SklearnForest

    X, y = load_iris(return_X_y=True)
    model = CascadeForestClassifier(n_trees=4, max_layers=1, engine="sklearn", random_state=0)
    model.fit(X, y)
    path = tmp_path / "old.skops"
    # skops names a class by its __module__.
    monkeypatch.setattr(SklearnForest, "__module__", "deepforest._core.forests")
    save_estimator(model, path)
    monkeypatch.undo()
    with pytest.raises(UntrustedModelError, match=r"deepforest\._core\.forests\.SklearnForest"):
        load_estimator(path)
