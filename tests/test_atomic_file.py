"""The one writer that puts files into place (``_core.atomic_file``)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from deepforest import CascadeForestClassifier
from deepforest._core.atomic_file import write_new_file


def _write(data: bytes):
    return lambda handle: handle.write(data)


def test_a_link_at_the_target_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "model").symlink_to(victim)
    with pytest.raises(FileExistsError):
        write_new_file(tmp_path / "model", _write(b"new"))
    assert victim.read_bytes() == b"precious"
    # Overwriting replaces the link itself, never the file it points to.
    write_new_file(tmp_path / "model", _write(b"new"), overwrite=True)
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "model").is_symlink()
    assert (tmp_path / "model").read_bytes() == b"new"


def test_of_writers_racing_for_a_free_name_exactly_one_wins(tmp_path):
    target = tmp_path / "out"
    barrier = threading.Barrier(8)
    outcomes: dict[int, str] = {}

    def writer(index: int) -> None:
        def write(handle):
            barrier.wait()  # every writer has passed the existence check and holds its file
            handle.write(f"writer {index}".encode())

        try:
            write_new_file(target, write)
            outcomes[index] = "saved"
        except FileExistsError:
            outcomes[index] = "refused"

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [index for index, outcome in outcomes.items() if outcome == "saved"]
    assert len(winners) == 1 and len(outcomes) == 8
    assert target.read_bytes() == f"writer {winners[0]}".encode()
    assert sorted(os.listdir(tmp_path)) == ["out"]  # no temporary file left behind


def test_a_failed_write_leaves_nothing(tmp_path):
    def failing(handle):
        handle.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        write_new_file(tmp_path / "out", failing)
    assert os.listdir(tmp_path) == []


def test_concurrent_saves_of_a_model_keep_one_and_refuse_the_other(tmp_path):
    X = np.random.default_rng(0).normal(size=(60, 3))
    y = (X[:, 0] > 0).astype(int)
    models = [
        CascadeForestClassifier(n_trees=5, max_layers=1, random_state=seed).fit(X, y)
        for seed in (0, 1)
    ]
    errors: list[Exception] = []

    def save(model) -> None:
        try:
            model.save(tmp_path / "model")
        except FileExistsError as error:
            errors.append(error)

    threads = [threading.Thread(target=save, args=(model,)) for model in models]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    loaded = CascadeForestClassifier().load(tmp_path / "model")
    matches = [np.array_equal(loaded.predict_proba(X), m.predict_proba(X)) for m in models]
    assert sum(matches) >= 1
