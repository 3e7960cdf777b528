"""Where a training run is: the phase and the epoch, told to whoever listens.

The search listens to show, for each running candidate, what it is doing (warm-up, pruning,
fine-tune, evaluation) and how many epochs of the phase are done. Training code reports through
:func:`phase` and :func:`epoch_done`; nothing happens when no one listens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

ProgressFn = Callable[[str, int, int], None]
"""``(phase, epochs done, epochs of the phase)``; epochs are 0 for phases without epochs."""

_LISTENER: ContextVar[ProgressFn | None] = ContextVar("spikefit_progress", default=None)
_PHASE: ContextVar[str] = ContextVar("spikefit_phase", default="training")


@contextlib.contextmanager
def listen(fn: ProgressFn) -> Iterator[None]:
    """Call ``fn`` on every phase change and finished epoch inside the block."""
    token = _LISTENER.set(fn)
    try:
        yield
    finally:
        _LISTENER.reset(token)


def phase(name: str, epochs: int = 0) -> None:
    """A new phase begins (``epochs`` of them, or 0)."""
    _PHASE.set(name)
    fn = _LISTENER.get()
    if fn is not None:
        fn(name, 0, epochs)


def epoch_done(done: int, total: int) -> None:
    """``done`` of ``total`` epochs of the current phase are finished."""
    fn = _LISTENER.get()
    if fn is not None:
        fn(_PHASE.get(), done, total)
