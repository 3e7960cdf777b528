"""The loop each worker runs: ask a trial, evaluate it, tell it, until the budget of trained
candidates is reached or a cap stops the search."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.trial import TrialState

from spikefit_search._interrupt import interrupt_name, raise_if_interrupted
from spikefit_search.compression import run_pipeline
from spikefit_search.search._optuna import set_system_attr, stored_trial
from spikefit_search.search.dashboard import write_dashboard_constraints
from spikefit_search.search.halving import carried_attrs, next_promotion, promote, rung_of
from spikefit_search.search.options import SearchOptions
from spikefit_search.search.stages import (
    BUDGET_STAGES,
    FAIL_REASON,
    REASON,
    RESERVED,
    RETRY_OF,
    SEED,
    STAGE,
    WORKER_ATTR,
    Stage,
    count_trials,
    set_stage,
)
from spikefit_search.search.storage import heartbeat_interval
from spikefit_search.search.trial import PipelineFn, TrialSettings, run_trial

OVER_BUDGET_CAP = 10
"""More over-budget trials (:attr:`Stage.OVER_BUDGET`) in a row than this, plus the workers,
stop the search: each trains nothing, so a run of them means the budget count is stuck."""


def _wait_for_others(study: optuna.Study, options: SearchOptions) -> None:
    """Sleep while other workers train; with shared storage, fail the trials of dead ones
    (their stale heartbeat), whose parameters are queued again."""
    if options.storage is None:
        time.sleep(0.5)
        return
    time.sleep(min(5.0, heartbeat_interval()))
    optuna.storages.fail_stale_trials(study)


def worker_id(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (this one by default), as its trials record it."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def worker_loop(
    study: optuna.Study,
    settings: TrialSettings,
    options: SearchOptions,
    *,
    pipeline: PipelineFn = run_pipeline,
    on_trial: Callable[[], None] | None = None,
) -> str:
    """Ask, evaluate and tell trials until the budget of trained candidates is reached.

    With successive halving (``settings.halving``) it promotes before it samples: a promotion
    is queued and trained first, and the loop ends once the budget is used, nothing is left to
    promote and no trial runs that could still be promoted.

    Returns why it stopped: ``"budget"``, ``"rejections"``, ``"failures"`` or ``"stalled"``.
    Raises KeyboardInterrupt after recording the interrupted trial as failed and queueing its
    parameters again.
    """
    failures = surplus = 0
    halving = settings.halving
    while True:
        raise_if_interrupted()
        trials = study.get_trials(deepcopy=False)
        chosen = next_promotion(trials, halving) if halving is not None else None
        if chosen is not None:
            promote(study, chosen)  # queued: the optimize below trains it (or another worker)
        counts = count_trials(trials)
        promotion_queued = chosen is not None or (
            halving is not None
            and any(t.state == TrialState.WAITING and rung_of(t) > 0 for t in trials)
        )
        if not promotion_queued:
            if counts["budget_used"] >= options.budget:
                if halving is None or not counts["running"]:
                    return "budget"
                _wait_for_others(study, options)  # what they finish may be promoted
                continue
            active = sum(
                1 for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get(RESERVED)
            )
            if counts["budget_used"] + active >= options.budget:
                if options.storage is None and halving is None:
                    return "budget"  # the run's own workers finish the rest
                # Several machines: wait for the others; trials of dead workers are failed by
                # their stale heartbeat and queued again, so the budget is still reached.
                _wait_for_others(study, options)
                continue
            if counts["rejected"] >= options.rejection_cap:
                return "rejections"
        last: dict[str, Any] = {}

        def evaluate(trial: optuna.Trial, last: dict[str, Any] = last) -> tuple[float, float]:
            last["trial"] = trial
            set_system_attr(study, trial, WORKER_ATTR, worker_id())
            try:
                outcome = run_trial(study, trial, settings, pipeline=pipeline)
                write_dashboard_constraints(study, trial)
            except KeyboardInterrupt:
                trial.set_user_attr(FAIL_REASON, f"interrupted ({interrupt_name()})")
                raise
            except Exception as exc:
                set_stage(trial, Stage.FAILED)
                trial.set_user_attr(FAIL_REASON, f"{type(exc).__name__}: {exc}"[:500])
                raise
            if outcome.state == TrialState.PRUNED:
                raise optuna.TrialPruned(trial.user_attrs.get(REASON, ""))
            assert outcome.values is not None
            return outcome.values

        try:
            study.optimize(evaluate, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except KeyboardInterrupt:
            trial = last.get("trial")
            if trial is not None and trial.params:
                study.enqueue_trial(
                    trial.params,
                    user_attrs={
                        RETRY_OF: trial.number,
                        SEED: trial.user_attrs.get(SEED),
                        **carried_attrs(trial.user_attrs),
                    },
                )
            raise
        trial = last.get("trial")
        if trial is not None:
            frozen = stored_trial(study, trial)
            if frozen.state == TrialState.FAIL:
                failures += 1
                if failures > options.max_failures:
                    return "failures"
            elif frozen.user_attrs.get(STAGE) in BUDGET_STAGES:
                failures = 0
            # a surplus trial trains nothing; a run of them means the budget count is stuck
            surplus = surplus + 1 if frozen.user_attrs.get(STAGE) == Stage.OVER_BUDGET else 0
            if surplus > OVER_BUDGET_CAP + options.workers:
                return "stalled"
        if on_trial is not None:
            on_trial()
