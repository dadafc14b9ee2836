"""Progress bars during long fits: shown on a terminal with verbose, never in pipes or logs."""

from __future__ import annotations

import io

import numpy as np
import pytest
from sklearn.datasets import load_digits
from test_cli import FAST, run

from deepforest import CascadeForestClassifier, CascadeForestRegressor
from deepforest._core import progress as progress_module


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _RecordedBar:
    """Stands in for tqdm: records what each bar was told."""

    bars: list = []

    def __init__(self, total, desc, unit, **_):
        self.total, self.desc, self.unit, self.n, self.closed = total, desc, unit, 0, False
        self.parts = [(desc, total)]
        _RecordedBar.bars.append(self)

    def update(self, n=1):
        self.n += n

    def reset(self, total):
        self.total, self.n = total, 0

    def set_description(self, desc, refresh=True):
        self.desc = desc
        self.parts.append((desc, self.total))

    def close(self):
        self.closed = True


@pytest.fixture
def recorded(monkeypatch):
    import tqdm

    _RecordedBar.bars = []
    monkeypatch.setattr(tqdm, "tqdm", _RecordedBar)
    return _RecordedBar.bars


def _on_a_terminal(monkeypatch) -> None:
    # In the test's body: pytest puts its own capture back on sys.stderr after fixtures run.
    monkeypatch.setattr("sys.stderr", _Terminal())


def test_every_step_of_a_fit_moves_its_bar_to_the_end(recorded, monkeypatch):
    _on_a_terminal(monkeypatch)
    X, y = load_digits(return_X_y=True)
    model = CascadeForestClassifier(n_trees=12, max_layers=2, verbose=1, random_state=0)
    model.fit(X, y)
    labels = [bar.parts[0][0] for bar in recorded]
    assert labels[0] == "[deepforest] leaf-size probe"
    layers = [bar for bar in recorded if bar.desc.startswith("[deepforest] layer ")]
    assert len(layers) == len(model.history_["score"])
    for bar in layers:
        # Every tree of the layer's forests is counted once: 2 x 2 forests of 12 trees.
        assert (bar.n, bar.total, bar.unit) == (48, 48, "tree")
    probe = recorded[0]
    assert 0 < probe.n <= probe.total and probe.n % 24 == 0
    boosting = recorded[-1]
    assert boosting.parts[0][0] == "[deepforest] boosting stage: searching rounds"
    assert boosting.desc == "[deepforest] boosting stage: final rounds on all rows"
    assert boosting.n == boosting.total == model.history_["boosting"]["rounds"]
    assert all(bar.closed for bar in recorded)


@pytest.mark.parametrize("engine", ["numba", "sklearn"])
def test_a_regressor_counts_its_trees_on_either_engine(recorded, monkeypatch, engine):
    _on_a_terminal(monkeypatch)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    model = CascadeForestRegressor(
        n_trees=6, max_layers=1, engine=engine, verbose=1, min_samples_leaf=1, random_state=0
    )
    model.fit(X, X[:, 0])
    (layer,) = [bar for bar in recorded if bar.desc == "[deepforest] layer 0"]
    assert layer.n == layer.total == 24


def test_no_bar_without_verbose_or_off_a_terminal(monkeypatch, capsys):
    import tqdm

    _RecordedBar.bars = []
    monkeypatch.setattr(tqdm, "tqdm", _RecordedBar)
    X, y = load_digits(return_X_y=True)
    CascadeForestClassifier(n_trees=4, max_layers=1, verbose=1, random_state=0).fit(X, y)
    assert not _RecordedBar.bars  # stderr is captured: not a terminal
    assert "\r" not in capsys.readouterr().err
    _on_a_terminal(monkeypatch)
    CascadeForestClassifier(n_trees=4, max_layers=1, random_state=0).fit(X, y)
    assert not _RecordedBar.bars  # verbose=0
    CascadeForestClassifier(n_trees=4, max_layers=1, verbose=1, random_state=0).fit(X, y)
    assert _RecordedBar.bars  # the same fit with verbose on a terminal shows them


def test_advance_outside_a_bar_does_nothing():
    progress_module.advance(5)
    progress_module.restart("nothing", 3)
    with progress_module.progress("off", 10, enabled=False):
        progress_module.advance(1)


def test_the_command_line_draws_no_bar_into_a_pipe(tmp_path):
    X, y = load_digits(return_X_y=True)
    rows = np.column_stack([X[:300], y[:300]])
    header = ",".join([f"p{i}" for i in range(64)] + ["digit"])
    np.savetxt(tmp_path / "digits.csv", rows, delimiter=",", fmt="%d", header=header, comments="")
    result = run("train", "digits.csv", "-t", "digit", *FAST, cwd=tmp_path)
    assert "\r" not in result.stderr and "tree/s" not in result.stderr
    assert "layer 0: score=" in result.stderr
