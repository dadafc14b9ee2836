"""A smaller run of the model-file fuzzer (benchmarks/studies/fuzz_model_files.py): 300
mutations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.studies.fuzz_model_files import FAILURES, KINDS, MODELS, PYTHON_MODELS, fuzz


@pytest.mark.slow
def test_mutated_model_files_are_refused_in_one_line_or_predict(tmp_path):
    # A generous hang guard: a busy CI machine must not turn a slow mutation into a "hang".
    report = fuzz(300, seed=2026, out=tmp_path / "failures", timeout=1200)
    totals = report.totals()
    assert sum(totals.values()) == 300
    # Every kind of mutation reached every kind of model at least once.
    assert {key.split("/")[1] for key in report.counts} == set(KINDS)
    assert {key.split("/")[0] for key in report.counts} == {*MODELS, *PYTHON_MODELS}
    failures = [(f["model"], f["kind"], f["outcome"], f["stderr"][-300:]) for f in report.failures]
    assert not any(totals[outcome] for outcome in FAILURES), failures
    # Mutations are not all refused by one early check: some of every model still predict
    # (the regression models were once all refused, for being asked for probabilities).
    predicted = {key.split("/")[0] for key, counts in report.counts.items() if counts["predicted"]}
    assert predicted == {*MODELS, *PYTHON_MODELS}
    assert totals["refused"] > 0
