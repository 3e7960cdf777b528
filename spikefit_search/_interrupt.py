"""Ctrl-C, SIGTERM and SIGHUP that never land in the middle of a storage write.

Inside :func:`deferred_sigint` the first SIGINT (Ctrl-C), SIGTERM (what Slurm, Docker and
systemd send) or SIGHUP (the terminal went away) only sets a flag; training loops call
:func:`raise_if_interrupted` between batches, so the interrupt surfaces as a
``KeyboardInterrupt`` at a point where no file or journal entry is half written. A second signal
interrupts at once. :func:`interrupt_signal` tells which signal it was, for the exit status
(128 + the signal number: 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).

Worker processes of a search defer every signal (:func:`deferred_sigint` with
``escalate=False``: the parent enforces the grace period) and :func:`watch_parent` stops them
the same way when their parent dies.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

_requested = threading.Event()
_last = {"signal": int(signal.SIGINT)}
_parent: dict[str, int | None] = {"pid": None}

DEFERRED: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM) + (
    (signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ()
)
NAMES = {int(signal.SIGINT): "Ctrl-C", int(signal.SIGTERM): "SIGTERM"}
if hasattr(signal, "SIGHUP"):
    NAMES[int(signal.SIGHUP)] = "SIGHUP"

PARENT_ENDED = "search process ended"
"""How a worker names the interrupt when its parent died (in its trial's ``fail_reason``)."""

PARENT_POLL_S = 1.0
"""How often a worker looks whether its parent is still alive."""


def interrupt_signal() -> int:
    """The number of the last interrupting signal (SIGINT unless another came)."""
    return _last["signal"]


def interrupt_name() -> str:
    """``"Ctrl-C"``, ``"SIGTERM"`` or ``"SIGHUP"`` (in a worker whose parent died: ``"search
    process ended"``), for messages and trial records."""
    if parent_ended():
        return PARENT_ENDED
    return NAMES.get(interrupt_signal(), f"signal {interrupt_signal()}")


def exit_status() -> int:
    """The conventional exit status after the last interrupt: 128 + its signal number."""
    return 128 + interrupt_signal()


def raise_if_interrupted() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C, SIGTERM or SIGHUP came since the last check."""
    if _requested.is_set():
        _requested.clear()
        raise KeyboardInterrupt


def interrupt_requested() -> bool:
    """Whether an interrupt came that no :func:`raise_if_interrupted` has taken yet."""
    return _requested.is_set()


def _handler(signum: int, frame: FrameType | None) -> None:
    _last["signal"] = signum
    if _requested.is_set():  # the second one: stop now
        for sig in DEFERRED:
            signal.signal(sig, raise_interrupt)
        raise KeyboardInterrupt
    _requested.set()


def _flag_only(signum: int, frame: FrameType | None) -> None:
    if not _requested.is_set():
        _last["signal"] = signum
    _requested.set()


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """A handler that raises ``KeyboardInterrupt`` at once and remembers the signal (installed
    for SIGTERM by the CLI, so that it ends a command as Ctrl-C does)."""
    _last["signal"] = signum
    raise KeyboardInterrupt


def ignore_interrupts() -> None:
    """Ignore further SIGINT, SIGTERM and SIGHUP (while a command finishes after an
    interrupt)."""
    if threading.current_thread() is threading.main_thread():
        for sig in DEFERRED:
            signal.signal(sig, signal.SIG_IGN)


@contextmanager
def deferred_sigint(*, escalate: bool = True) -> Iterator[None]:
    """Defer SIGINT, SIGTERM and SIGHUP to the next :func:`raise_if_interrupted` (main thread
    only; elsewhere a no-op).

    Args:
        escalate: whether a second signal interrupts at once. A worker of a search passes
            ``False``: it gets Ctrl-C from the terminal and the same signal again from its
            parent, and its parent kills it if it takes too long.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _handler if escalate else _flag_only) for sig in DEFERRED}
    _requested.clear()
    unblock_interrupts()  # a worker starts with them blocked (see blocked_interrupts)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()


@contextmanager
def collected_interrupts() -> Iterator[threading.Event]:
    """While the body runs, further signals only set the event it yields (a search that is
    stopping its workers uses it to cut their grace period short, never to leave before them)."""
    again = threading.Event()

    def collect(signum: int, frame: FrameType | None) -> None:
        again.set()

    if threading.current_thread() is not threading.main_thread():
        yield again
        return
    previous = {sig: signal.signal(sig, collect) for sig in DEFERRED}
    try:
        yield again
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def blocked_interrupts() -> Iterator[None]:
    """Block SIGINT, SIGTERM and SIGHUP while the body runs; a signal that comes meanwhile is
    delivered after it. A process started inside inherits the block, so it cannot be killed
    half way through starting: its signals wait until its :func:`deferred_sigint` is in place."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def unblock_interrupts() -> None:
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)


def parent_ended() -> bool:
    """Whether :func:`watch_parent` was called and the parent it watches has died."""
    pid = _parent["pid"]
    return pid is not None and os.getppid() != pid


PR_SET_PDEATHSIG = 1


def _parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent dies (``prctl``)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def watch_parent(pid: int, grace_s: float) -> None:
    """Stop this worker when its parent ``pid`` dies (say, killed with SIGKILL).

    On Linux the kernel sends SIGTERM at the parent's death (``PR_SET_PDEATHSIG``); everywhere
    a thread also polls the parent's pid every second. Either way the interrupt is deferred as
    a signal is: the running trial is recorded as interrupted and queued again, and the worker
    ends. A worker still alive ``grace_s`` seconds after that (a stage that does not look at
    the flag) leaves at once, as its parent would have killed it.
    """
    _parent["pid"] = pid
    _parent_death_signal(int(signal.SIGTERM))

    def poll() -> None:  # also catches a parent that died before prctl was called
        while not parent_ended():
            time.sleep(PARENT_POLL_S)
        _requested.set()
        time.sleep(grace_s)
        os._exit(128 + int(signal.SIGTERM))

    threading.Thread(target=poll, name="watch-parent", daemon=True).start()
