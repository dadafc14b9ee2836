"""A dependency-free progress bar on stderr for long transforms.

On a terminal the bar redraws in place; in a log file (not a terminal) it writes a line at
every tenth of the work instead, so logs stay short.
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Report ``done`` out of ``total`` items with elapsed time and an estimate of what is left."""

    def __init__(self, label: str, total: int, enabled: bool, stream=None):
        self.label = label
        self.total = max(1, total)
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr
        self.start = time.perf_counter()
        self.done = 0
        self._last_tenth = -1
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        fraction = min(1.0, self.done / self.total)
        elapsed = time.perf_counter() - self.start
        left = elapsed * (1 - fraction) / fraction if fraction > 0 else 0.0
        width = 24
        bar = "#" * int(width * fraction) + "-" * (width - int(width * fraction))
        line = (
            f"[deepforest] {self.label} |{bar}| {self.done}/{self.total} "
            f"{elapsed:.0f}s elapsed, ~{left:.0f}s left"
        )
        if self._tty:
            end = "\n" if self.done >= self.total else ""
            print("\r" + line, end=end, file=self.stream, flush=True)
            return
        tenth = int(10 * fraction)
        if tenth > self._last_tenth:
            self._last_tenth = tenth
            print(line, file=self.stream, flush=True)
