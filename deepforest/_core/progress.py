"""Progress bars on stderr during long steps of a fit or a transform (tqdm).

A layer can take minutes (86 to 204 s on diamonds) with nothing printed before its summary
line. With ``verbose``, the step under way shows a bar: the trees of a layer's forests, the
leaf-size probe, the boosting stage's rounds, a scanning grain's windows. Bars are drawn only
on a terminal: piped or logged output keeps the one line per step that ``verbose`` prints, and
never fills with carriage returns.

The code doing the work does not hold the bar: it calls :func:`advance`, which moves the bar of
the innermost :func:`progress` block, if any (a context variable, so threads started by a step
report to that step's bar).
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from collections.abc import Iterator

_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("deepforest_progress", default=None)


def on_terminal(stream=None) -> bool:
    """Whether ``stream`` (default stderr) is a terminal a bar can redraw in place."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


@contextlib.contextmanager
def progress(label: str, total: int, enabled: bool, unit: str = "tree") -> Iterator[None]:
    """Show a bar of ``total`` ``unit``s on stderr while the block runs, if ``enabled`` and
    stderr is a terminal; :func:`advance` inside the block moves it."""
    bar = None
    if enabled and total > 0 and on_terminal():
        from tqdm import tqdm

        bar = tqdm(
            total=total,
            desc=f"[deepforest] {label}",
            unit=unit,
            file=sys.stderr,
            leave=False,  # the step's summary line replaces it
            dynamic_ncols=True,
            mininterval=0.5,
        )
    token = _ACTIVE.set(bar)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
        if bar is not None:
            bar.close()


def advance(n: int = 1) -> None:
    """Move the bar of the innermost :func:`progress` block by ``n`` (nothing if none shows)."""
    bar = _ACTIVE.get()
    if bar is not None:
        bar.update(n)


def restart(label: str, total: int) -> None:
    """Start the innermost bar over for a next part of its step (nothing if none shows)."""
    bar = _ACTIVE.get()
    if bar is not None:
        bar.reset(total=total)
        bar.set_description(f"[deepforest] {label}", refresh=True)
