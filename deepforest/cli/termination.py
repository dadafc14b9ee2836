"""SIGTERM and SIGHUP as an exception, so that a terminated command leaves no files behind.

Python ends on those signals without unwinding, which would leave half-written temporary files.
The handler raises ``Terminated`` instead, so every ``finally`` runs as for Ctrl-C. An exception
raised by a signal handler can land where it is swallowed (a ctypes callback of the compiler, a
finalizer), so the signal is also remembered: ``raise_if_terminated`` raises it again before an
output file is put in place, and the command line checks it once more at the end.
"""

from __future__ import annotations

import signal
import threading

_received: int | None = None


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP received; ``signum`` says which."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _handle(signum: int, _frame) -> None:
    global _received
    _received = signum
    raise Terminated(signum)


def raise_if_terminated() -> None:
    """Raise ``Terminated`` if a termination signal arrived, even if its first raise was lost."""
    if _received is not None:
        raise Terminated(_received)


def install() -> dict:
    """Handle SIGTERM and SIGHUP; returns the handlers replaced, for ``restore``."""
    global _received
    _received = None
    previous = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # only the main thread may set handlers; an embedding program's choice
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            number = getattr(signal, name)
            previous[number] = signal.signal(number, _handle)
    return previous


def restore(previous: dict) -> None:
    """Put back the handlers ``install`` replaced."""
    for number, handler in previous.items():
        signal.signal(number, handler)
