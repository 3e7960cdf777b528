"""Ctrl-C and SIGTERM that never land in the middle of a storage write.

Inside :func:`deferred_sigint` the first SIGINT (Ctrl-C) or SIGTERM (what Slurm, Docker and
systemd send) only sets a flag; training loops call :func:`raise_if_interrupted` between
batches, so the interrupt surfaces as a ``KeyboardInterrupt`` at a point where no file or journal
entry is half written. A second signal interrupts at once. :func:`interrupt_signal` tells which
signal it was, for the exit status (128 + the signal number: 130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()
_last = {"signal": int(signal.SIGINT)}

DEFERRED = (signal.SIGINT, signal.SIGTERM)


def interrupt_signal() -> int:
    """The number of the last interrupting signal (SIGINT unless SIGTERM came)."""
    return _last["signal"]


def interrupt_name() -> str:
    """``"Ctrl-C"`` or ``"SIGTERM"``, for messages and trial records."""
    return "SIGTERM" if interrupt_signal() == signal.SIGTERM else "Ctrl-C"


def exit_status() -> int:
    """The conventional exit status after the last interrupt: 128 + its signal number."""
    return 128 + interrupt_signal()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C or SIGTERM came since the last check."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt


def _handler(signum: int, frame: FrameType | None) -> None:
    _last["signal"] = signum
    if _requested.is_set():  # the second one: stop now
        for sig in DEFERRED:
            signal.signal(sig, raise_interrupt)
        raise KeyboardInterrupt
    _requested.set()


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """A handler that raises ``KeyboardInterrupt`` at once and remembers the signal (installed
    for SIGTERM by the CLI, so that it ends a command as Ctrl-C does)."""
    _last["signal"] = signum
    raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """Ignore further SIGINT and SIGTERM (while a command finishes after an interrupt)."""
    if threading.current_thread() is threading.main_thread():
        for sig in DEFERRED:
            signal.signal(sig, signal.SIG_IGN)


@contextmanager
def deferred_sigint() -> Iterator[None]:
    """Defer SIGINT and SIGTERM to the next :func:`raise_if_interrupted` (main thread only;
    elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _handler) for sig in DEFERRED}
    _requested.clear()
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()
