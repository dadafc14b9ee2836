"""The documentation site: it builds with warnings as errors, and every example on it runs.

Each page of docs/ has its ```python and ```bash blocks run in order, in one fresh Python
process whose working directory is a new temporary directory (README.md is covered by
tests/test_readme.py). Python blocks share one namespace; bash blocks run with ``bash -e -o
pipefail`` in the same directory, so a Python block can write the CSV file that the next bash
block trains on. A block that cannot run here (``pip install``, a cluster address, hours of
benchmarks) is marked with ``<!-- skip-test -->`` on the line before it, or written as
```console or ```text; any other fence language fails the test, so no example is skipped
without saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SKIP_MARKER = "<!-- skip-test -->"
RUN_LANGUAGES = {"python", "bash"}
# Fences that show commands or output the reader runs elsewhere, never run here.
SHOWN_LANGUAGES = {"console", "text"}
# Pages whose code is not run, with the reason (none: every page's blocks run or are marked).
UNCHECKED_PAGES: dict[str, str] = {}
# Seconds a page's examples may take (all pages together: well under 90 s of CPU).
PAGE_TIMEOUT = 1500

_FENCE = re.compile(r"^(?P<prefix>[ \t]*(?:>[ \t]?)*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


@dataclass
class Block:
    """One fenced code block of a page."""

    page: str
    line: int
    language: str
    code: str
    marked_skip: bool

    @property
    def runs(self) -> bool:
        return self.language in RUN_LANGUAGES and not self.marked_skip


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with its language and skip marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        prefix, fence = match.group("prefix"), match.group("fence")
        language = match.group("info").strip().split(" ")[0].split("{")[0].lower()
        previous = index - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        marked = previous >= 0 and lines[previous].strip() == SKIP_MARKER
        opening_line = index + 1
        body: list[str] = []
        index += 1
        while index < len(lines):
            line = lines[index]
            stripped = line[len(prefix) :] if line.startswith(prefix) else line.lstrip(" \t>")
            if stripped.startswith(fence[0] * len(fence)) and not stripped.strip(fence[0]):
                break
            body.append(stripped)
            index += 1
        else:
            raise AssertionError(f"{path.name}: the fence at line {opening_line} never closes")
        blocks.append(Block(path.name, opening_line, language, "\n".join(body) + "\n", marked))
        index += 1
    return blocks


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _page_ids() -> list[str]:
    return [page.name for page in _pages()]


# Runs inside the fresh process: executes the blocks given as JSON on stdin, in order.
_RUNNER = r"""
import json, os, subprocess, sys, traceback
blocks = json.load(sys.stdin)
namespace = {"__name__": "__main__"}
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
for block in blocks:
    where = f"{block['page']}, block at line {block['line']} ({block['language']})"
    print(f"--- {where}", flush=True)
    if block["language"] == "python":
        try:
            exec(compile(block["code"], where, "exec"), namespace)
        except BaseException:
            traceback.print_exc()
            sys.exit(f"FAILED: {where}")
    else:
        result = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block["code"]])
        if result.returncode != 0:
            sys.exit(f"FAILED: {where} (exit status {result.returncode})")
    sys.stdout.flush()
    sys.stderr.flush()
"""


def _require_mkdocs() -> None:
    # A test dependency (the "docs" extra is part of "test"): missing means a broken setup.
    missing = [
        name
        for name in ("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
        if importlib.util.find_spec(name.split(".")[0]) is None
        or importlib.util.find_spec(name) is None
    ]
    assert not missing, (
        f"{', '.join(missing)} not installed: the documentation tests need the docs extra, "
        'pip install ".[docs]" (included in ".[test]")'
    )


def test_mkdocs_is_installed() -> None:
    _require_mkdocs()


@pytest.mark.slow  # builds the whole site
def test_site_builds_without_warnings(tmp_path: Path) -> None:
    _require_mkdocs()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        env={**_environment(), "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "api" / "index.html").exists()


def test_every_page_is_in_the_navigation() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    in_nav = set(re.findall(r":\s*([\w./-]+\.md)\s*$", config, flags=re.MULTILINE))
    assert in_nav == set(_page_ids())


def test_only_marked_blocks_are_skipped() -> None:
    unexplained = []
    for page in _pages():
        for block in parse_blocks(page):
            if block.language in RUN_LANGUAGES or block.language in SHOWN_LANGUAGES:
                continue
            unexplained.append(f"{block.page}:{block.line} ```{block.language or '(none)'}")
    assert not unexplained, (
        "Fences must be python or bash (run by this test, or marked with "
        f"{SKIP_MARKER}) or console/text (shown only): {unexplained}"
    )


def test_every_skip_marker_marks_a_runnable_block() -> None:
    # A marker that no longer sits before a python or bash block marks nothing: remove it.
    for page in _pages():
        markers = page.read_text(encoding="utf-8").count(SKIP_MARKER)
        marked = [b for b in parse_blocks(page) if b.marked_skip]
        assert len(marked) == markers, f"{page.name}: a {SKIP_MARKER} is not before a block"
        shown = [f"line {b.line}" for b in marked if b.language not in RUN_LANGUAGES]
        assert not shown, f"{page.name}: {SKIP_MARKER} before a console/text block: {shown}"


def test_the_block_parser_sees_markers_and_languages(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "Text\n\n```python\nx = 1\n```\n\n<!-- skip-test -->\n\n```bash\npip install x\n```\n\n"
        "- item\n\n    ```text\n    shown\n    ```\n"
    )
    blocks = parse_blocks(page)
    assert [(b.language, b.marked_skip, b.runs) for b in blocks] == [
        ("python", False, True),
        ("bash", True, False),
        ("text", False, False),
    ]
    assert blocks[0].code == "x = 1\n"
    assert blocks[2].code == "shown\n"


@pytest.mark.slow  # each page's examples in a fresh process
@pytest.mark.parametrize("page", _page_ids())
def test_page_examples_run(page: str, tmp_path: Path) -> None:
    blocks = parse_blocks(DOCS / page)
    if page in UNCHECKED_PAGES:
        pytest.skip(f"{page}: {UNCHECKED_PAGES[page]}")
    to_run = [block for block in blocks if block.runs]
    if not to_run:
        return
    payload = json.dumps([block.__dict__ for block in to_run])
    result = subprocess.run(
        [sys.executable, "-c", _RUNNER],
        input=payload,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=PAGE_TIMEOUT,
        env=_environment(),
    )
    assert result.returncode == 0, f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"


def test_shared_parameters_read_the_same_in_classifier_and_regressor() -> None:
    # The two cascades' docstrings are written out in full (so that static tools such as the
    # API reference read them); their shared parameters must not drift apart.
    from deepforest import CascadeForestClassifier, CascadeForestRegressor

    def parameters(doc: str) -> str:
        section = doc.split("Parameters\n    ----------\n")[1].split("\n    criterion :")[0]
        section = section.replace("None for accuracy", "None for {score}").replace(
            "None for R²", "None for {score}"
        )
        # max_features has its own default in each (auto: classification, all: regression).
        entries = re.split(r"\n(?=    \w+ : )", section)
        return "\n".join(e for e in entries if not e.lstrip().startswith("max_features"))

    assert parameters(CascadeForestClassifier.__doc__) == parameters(CascadeForestRegressor.__doc__)

    def attributes(doc: str) -> str:
        section = doc.split("Attributes\n    ----------\n")[1].split("\n\n    Examples")[0]
        section = section.split("    layers_ :", 1)[1]
        # Confidence screening is the classifier's alone (a regressor has no confidence), and
        # only the regressor's history records a mean absolute error.
        entries = re.split(r"\n(?=    \w+ : )", section)
        return "\n".join(e for e in entries if not e.lstrip().startswith(("screen", "history_")))

    assert attributes(CascadeForestClassifier.__doc__) == attributes(CascadeForestRegressor.__doc__)
    assert '``"mae"``' in CascadeForestRegressor.__doc__
    assert '``"mae"``' not in CascadeForestClassifier.__doc__


def _environment() -> dict[str, str]:
    # Examples are small: one OpenMP thread each (XGBoost) keeps them from crowding the cores.
    return {**os.environ, "OMP_NUM_THREADS": "1"}
