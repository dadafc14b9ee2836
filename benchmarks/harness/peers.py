"""Peer libraries that cannot share this project's environment, each in a virtual env of its own.

Deep-Forest 0.1.7 (LAMDA) is the field's reference implementation and imports as ``deepforest``,
like this package. Its last release ships wheels for CPython 3.6 to 3.9 only (no source
distribution on PyPI), built against NumPy < 1.24 (it uses ``np.int``) and scikit-learn < 1.6.
``python -m benchmarks peers setup`` makes a virtual environment for it under
``benchmarks/.peers/`` from a Python 3.9 (or older) interpreter found on this machine; the suite
then runs it like any other model, each job in a fresh process of that environment
(``peer_child.py``), on the same split, threads, seeds and measurements. Nothing of its code
enters this repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PEERS_DIR = Path(__file__).resolve().parents[1] / ".peers"
# An interpreter to build peer environments with, when none is found on its own.
PYTHON_VARIABLE = "DEEPFOREST_PEER_PYTHON"


@dataclass(frozen=True)
class Peer:
    """A peer library and how to install it.

    Attributes
    ----------
    name : str
        The peer's directory under ``benchmarks/.peers``.
    pythons : tuple of str
        Interpreter versions it has wheels for, preferred first.
    requirements : tuple of str
        What ``pip install`` gets in its environment.
    distribution : str
        The distribution whose version identifies a working environment.
    version : str
        The version expected of it.
    """

    name: str
    pythons: tuple[str, ...]
    requirements: tuple[str, ...]
    distribution: str
    version: str

    @property
    def root(self) -> Path:
        return PEERS_DIR / self.name

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"


PEERS = {
    "deep_forest_017": Peer(
        name="deep-forest-0.1.7",
        pythons=("3.9", "3.8", "3.7"),
        requirements=("deep-forest==0.1.7", "numpy<1.24", "scikit-learn<1.6", "threadpoolctl"),
        distribution="deep-forest",
        version="0.1.7",
    )
}


def find_interpreter(peer: Peer) -> Path | None:
    """A working interpreter of a version the peer supports: the variable, PATH, then pyenv.

    Each candidate is run once, since a pyenv shim on PATH exists for every version but works
    only for the ones that are activated.
    """
    candidates = []
    explicit = os.environ.get(PYTHON_VARIABLE)
    if explicit:
        candidates.append(Path(explicit))
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in peer.pythons:
        candidates.extend(sorted(pyenv_root.glob(f"{version}.*/bin/python"), reverse=True))
        found = shutil.which(f"python{version}")
        if found:
            candidates.append(Path(found))
    for candidate in candidates:
        result = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0 and result.stdout.strip() in peer.pythons:
            return candidate
    return None


def status(peer: Peer) -> str | None:
    """None when the peer's environment works, else why it cannot be used."""
    if not peer.python.exists():
        return (
            f"its environment is not set up: run `python -m benchmarks peers setup` "
            f"(needs Python {' or '.join(peer.pythons)} on this machine)"
        )
    probe = f"import importlib.metadata as m; print(m.version({peer.distribution!r}))"
    result = subprocess.run(
        [str(peer.python), "-c", probe], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return f"its environment {peer.root} is broken: {result.stderr.strip().splitlines()[-1:]}"
    if result.stdout.strip() != peer.version:
        return f"{peer.root} holds {peer.distribution} {result.stdout.strip()}, not {peer.version}"
    return None


def setup(peer: Peer, log=print) -> str | None:
    """Create the peer's environment; return None on success, else why it could not be made."""
    if status(peer) is None:
        log(f"{peer.name}: ready in {peer.root}")
        return None
    interpreter = find_interpreter(peer)
    if interpreter is None:
        return (
            f"no Python {' or '.join(peer.pythons)} found (on PATH as python3.9, under pyenv, "
            f"or in ${PYTHON_VARIABLE}): {peer.distribution} {peer.version} has wheels for "
            "CPython 3.6 to 3.9 only"
        )
    log(f"{peer.name}: creating {peer.root} with {interpreter}")
    shutil.rmtree(peer.root, ignore_errors=True)
    steps = [
        [str(interpreter), "-m", "venv", str(peer.root)],
        [str(peer.python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"],
        [str(peer.python), "-m", "pip", "install", "--quiet", *peer.requirements],
    ]
    for command in steps:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            return f"`{' '.join(command)}` failed: {' '.join(tail)}"
    problem = status(peer)
    if problem is None:
        log(f"{peer.name}: ready in {peer.root}")
    return problem


def main(argv: list[str]) -> int:
    """``python -m benchmarks peers {setup,status}``."""
    action = argv[0] if argv else "status"
    failed = False
    for key, peer in PEERS.items():
        problem = setup(peer) if action == "setup" else status(peer)
        if problem:
            failed = True
            print(f"{key}: skipped: {problem}", file=sys.stderr)
        elif action == "status":
            print(f"{key}: ready ({peer.python})")
    return 1 if failed else 0
