"""Local worker processes of a search: each runs :func:`worker_loop` on the run's study; the parent
forwards interrupts, waits for them and records the trials of those it had to kill."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from spikefit_search._interrupt import (
    blocked_interrupts,
    collected_interrupts,
    deferred_sigint,
    interrupt_name,
    interrupt_signal,
    raise_if_interrupted,
    watch_parent,
)
from spikefit_search.search._optimize import worker_id, worker_loop
from spikefit_search.search.options import SearchOptions
from spikefit_search.search.preparation import prepare, trial_settings
from spikefit_search.search.samplers import make_sampler
from spikefit_search.search.stages import WORKER_ATTR, count_trials
from spikefit_search.search.storage import open_storage, recover_orphans, release_killed_writer
from spikefit_search.search.trial import stop_level
from spikefit_search.training import resolve_device

WORKER_GRACE_S = 120.0
"""How long an interrupted search waits for its workers to record their trials (and how long a
worker whose parent died may take to do so), before it is killed."""


def torch_threads(workers: int) -> int:
    """Torch threads per worker: the cores split between the workers, and no more than the
    cores other processes leave idle (oversubscribed OpenMP threads spin and can make a small
    network ten times slower), nor than ``OMP_NUM_THREADS`` where the user set it. The load
    average lags: two searches started together both see an idle machine, so a user who runs
    several side by side sets ``OMP_NUM_THREADS``."""
    cores = os.cpu_count() or 1
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    threads = min(cores // workers, cores - busy)
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        threads = min(threads, int(omp))
    return max(1, threads)


def _worker_main(options: SearchOptions, index: int, parent: int) -> None:
    # Started with SIGINT, SIGTERM and SIGHUP blocked; from here on each only asks the worker
    # to stop (a Ctrl-C from the terminal and the same signal forwarded by the parent are one
    # request); the parent kills a worker that takes longer than its grace period.
    with contextlib.suppress(KeyboardInterrupt), deferred_sigint(escalate=False):
        watch_parent(parent, WORKER_GRACE_S)
        torch.set_num_threads(torch_threads(options.workers))
        prep = prepare(options)
        device = str(resolve_device(options.accelerator))
        storage = open_storage(prep.run_dir, options.storage)
        settings = trial_settings(prep, device)
        study = optuna.load_study(
            study_name=prep.study_name,
            storage=storage,
            sampler=make_sampler(
                options.sampler,
                seed=options.seed + index,
                budget=options.budget,
                threshold=stop_level(settings),
            ),
        )
        worker_loop(study, settings, options)


def run_workers(
    options: SearchOptions,
    study: optuna.Study,
    on_update: Callable[[optuna.Study], None] | None,
    run_dir: Path,
) -> str:
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_worker_main, args=(options, i, os.getpid()), daemon=False)
        for i in range(options.workers)
    ]
    try:
        with blocked_interrupts():  # a worker cannot be killed half way through starting
            for p in procs:
                p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            raise_if_interrupted()
            if on_update is not None:
                on_update(study)
        for p in procs:
            p.join()
    except BaseException as exc:
        # the parent never leaves before its workers: an orphan would train on without the
        # run lock and write to the journal after the exit code was reported
        interrupted = isinstance(exc, KeyboardInterrupt)
        sig = interrupt_signal() if interrupted else int(signal.SIGTERM)
        reason = f"interrupted ({interrupt_name() if interrupted else 'search process ended'})"
        stop_workers(procs, sig, study, options, run_dir, reason=reason)
        raise
    finally:
        _stop_resource_tracker()
    trials = study.get_trials(deepcopy=False)
    counts = count_trials(trials)
    if counts["rejected"] >= options.rejection_cap and counts["budget_used"] < options.budget:
        return "rejections"
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if counts["budget_used"] < options.budget and len(failed) > options.max_failures:
        return "failures"
    return "budget"


def stop_workers(
    procs: list[Any],
    sig: int,
    study: optuna.Study,
    options: SearchOptions,
    run_dir: Path,
    *,
    reason: str,
    grace_s: float = WORKER_GRACE_S,
) -> list[int]:
    """Forward ``sig`` to every live worker, wait for each (at most ``grace_s`` seconds; a
    further signal cuts the wait short), kill those still running, and record the trials the
    killed ones left running as interrupted (queued again). Returns those trials' numbers.

    Each worker that stops in time records its own trial; nothing of the search runs after
    this returns.
    """
    with collected_interrupts() as again:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, sig)
        deadline = time.monotonic() + grace_s
        while any(p.is_alive() for p in procs) and not again.is_set():
            if time.monotonic() >= deadline:
                break
            for p in procs:
                p.join(timeout=0.05)
        killed = [p for p in procs if p.is_alive()]
        for p in killed:  # stuck past the grace period, or the user insisted
            p.kill()
        for p in procs:
            if p.pid is not None:  # never started: nothing to wait for
                p.join()
        if not killed:
            return []
        pids = {worker_id(p.pid) for p in killed}
        if options.storage is None:  # the run lock: every running trial was one of ours
            release_killed_writer(run_dir)
            return recover_orphans(study, reason=reason)
        return recover_orphans(
            study, reason=reason, only=lambda t: t.system_attrs.get(WORKER_ATTR) in pids
        )


def _stop_resource_tracker() -> None:
    """End multiprocessing's resource tracker once the workers are gone; it would otherwise
    outlive the search by a moment (it ignores SIGINT and SIGTERM and ends when its last
    user has)."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()
