"""The README's promises, run for real: its Python examples and its first command."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# Slow: the README's commands, run as a user would.
pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_opens_with_the_two_setup_commands():
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.DOTALL).group(1)
    commands = [line for line in first_block.splitlines() if line.strip()]
    assert commands == [
        "pip install . && deepforest demo",
        'pip install ".[test]" && python -m pytest',
    ]


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_readme_python_examples_run(index, tmp_path):
    code = _python_blocks()[index]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr


def test_demo_command_prints_progress_and_both_accuracies():
    # The README's first command after installation: `deepforest demo`.
    result = subprocess.run(
        [sys.executable, "-m", "deepforest", "demo"],
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"tree engine ready in \d+\.\d s \(compiled by numba", result.stdout)
    assert re.search(r"layer 0: score=0\.9\d+", result.stderr)
    cascade = re.search(r"CascadeForest \(\d+ layers?\)\s+(0\.\d+)", result.stdout)
    forest = re.search(r"RandomForest \(\d+ trees\)\s+(0\.\d+)", result.stdout)
    assert cascade and forest, result.stdout
    assert float(cascade.group(1)) > 0.95
    assert float(forest.group(1)) > 0.95
