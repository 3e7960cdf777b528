"""Ctrl-C that never lands in the middle of a storage write.

Inside :func:`deferred_sigint` the first SIGINT only sets a flag; training loops call
:func:`raise_if_interrupted` between batches, so the interrupt surfaces as a
``KeyboardInterrupt`` at a point where no file or journal entry is half written. A second
SIGINT interrupts at once.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C was pressed since the last check."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt


def _handler(signum: int, frame: FrameType | None) -> None:
    if _requested.is_set():  # pressed twice: stop now
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt
    _requested.set()


@contextmanager
def deferred_sigint() -> Iterator[None]:
    """Defer SIGINT to the next :func:`raise_if_interrupted` (main thread only; elsewhere a
    no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    _requested.clear()
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _requested.clear()
