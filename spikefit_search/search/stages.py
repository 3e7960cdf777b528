"""What became of each trial: its stage, the user attributes that record it, and the counts.

Optuna's :class:`~optuna.trial.TrialState` says whether a trial runs, finished or failed; the
stage says what the search did with it (trained, stopped early, rejected before training, ...),
stored as the trial's ``stage`` user attribute. This module imports nothing of the search, so
samplers, storage, reporting and the driver all read the same names.
"""

from __future__ import annotations

from collections import Counter
from enum import Enum

import optuna
from optuna.trial import TrialState


class Stage(str, Enum):
    """A trial's stage, stored as the plain string value of the ``stage`` user attribute."""

    TRAINED = "trained"
    """Trained to the end; counts towards the budget."""
    STOPPED = "stopped"
    """Stopped after warm-up (accuracy near chance); counts towards the budget."""
    REJECTED = "rejected"
    """Broke a chip limit in the static check (or could not be built); never trained."""
    OVER_BUDGET = "surplus"
    """Sampled when running trials of other workers had already taken the rest of the budget:
    it trains nothing (or is dropped after training) and does not count."""
    FAILED = "failed"
    """Raised an error, or was interrupted (its ``fail_reason`` then starts ``interrupted``)."""
    DUPLICATE = "duplicate"
    """A promotion of successive halving that another worker had already taken: it trains
    nothing and does not count."""

    def __str__(self) -> str:
        return self.value


# Trial user attributes
STAGE = "stage"
"""The :class:`Stage` value of a trial that got one."""
RESERVED = "reserved"
"""True once a trial has passed the static check and claims a budget slot."""
REASON = "rejected_reason"
"""Why a trial was rejected, stopped or found over budget (one line)."""
FAIL_REASON = "fail_reason"
"""The error of a failed trial, or ``interrupted (...)``."""
REJECTED_BY = "rejected_by"
"""Names of the limits a rejected trial broke."""
RETRY_OF = "retry_of"
"""Number of the interrupted trial whose parameters a queued trial retries."""
SEED = "seed"
"""The trial's training seed (kept by a retry)."""
PROGRESS = "progress"
"""``[phase, epochs done, epochs of the phase]`` while the trial trains."""
ACCURACY_REACHED = "accuracy_reached"
"""Validation accuracy after warm-up of a stopped trial."""
RUNG = "rung"
"""The rung of successive halving a trial trains on (absent: a full-fidelity search)."""
PROMOTED_FROM = "promoted_from"
"""The number of the trial on the rung below whose candidate a promotion retrains."""
FIDELITY = "fidelity"
"""The share of the full epochs a trial trains (1.0 on the top rung and without halving)."""
COMPUTE = "compute"
"""Training compute a trial spent, in epochs x training samples (a warm-up taken from the cache
costs nothing)."""

WORKER_ATTR = "spikefit:worker"
"""Trial system attribute naming the process that runs it (``host:pid``)."""

BUDGET_STAGES = (Stage.TRAINED, Stage.STOPPED)
"""The stages that use a slot of the budget."""


def set_stage(trial: optuna.Trial, stage: Stage) -> None:
    """Record ``stage`` on ``trial`` (as its plain string value)."""
    trial.set_user_attr(STAGE, stage.value)


def is_feasible(trial: optuna.trial.FrozenTrial) -> bool:
    """Completed, and every constraint value <= 0."""
    if trial.state != TrialState.COMPLETE:
        return False
    return all(v <= 0 for v in (trial.constraints or {}).values())


COUNTS = (
    "budget_used",
    "trained",
    "stopped",
    "rejected",
    "failed",
    "interrupted",
    "surplus",
    "running",
    "queued",
    "promoted",
    "duplicate",
)
"""The keys of :func:`count_trials`, in the order reports list them."""


def count_trials(trials: list[optuna.trial.FrozenTrial]) -> dict[str, int]:
    """trained (the budget), rejected, stopped early, failed, interrupted, surplus, running;
    ``promoted``: promotions of successive halving that trained (rungs above 0, not counted in
    the budget) and ``duplicate``: promotions another worker had already taken."""
    c: Counter[str] = Counter()
    for t in trials:
        stage = t.user_attrs.get(STAGE)
        promotion = int(t.user_attrs.get(RUNG, 0)) > 0
        finished = t.state in (TrialState.COMPLETE, TrialState.PRUNED)
        if promotion and finished and stage in (*BUDGET_STAGES, Stage.DUPLICATE):
            c["duplicate" if stage == Stage.DUPLICATE else "promoted"] += 1
            continue
        if t.state == TrialState.RUNNING:
            c["running"] += 1
        elif t.state == TrialState.FAIL:
            # an interruption (Ctrl-C, a worker that ended) is no failure: it is retried
            reason = str(t.user_attrs.get(FAIL_REASON, ""))
            c["interrupted" if reason.startswith("interrupted") else "failed"] += 1
        elif t.state == TrialState.WAITING:
            c["queued"] += 1
        elif stage in (Stage.TRAINED, Stage.STOPPED, Stage.REJECTED, Stage.OVER_BUDGET):
            c[stage] += 1
    c["budget_used"] = c["trained"] + c["stopped"]
    return {k: c[k] for k in COUNTS}


def most_rejecting(trials: list[optuna.trial.FrozenTrial]) -> list[tuple[str, int]]:
    """The limits that rejected most trials, with how many each rejected, most first."""
    c: Counter[str] = Counter()
    for t in trials:
        if t.user_attrs.get(STAGE) == Stage.REJECTED:
            c.update(t.user_attrs.get(REJECTED_BY, []))
    return c.most_common()


__all__ = [
    "ACCURACY_REACHED",
    "BUDGET_STAGES",
    "COMPUTE",
    "COUNTS",
    "FAIL_REASON",
    "FIDELITY",
    "PROGRESS",
    "PROMOTED_FROM",
    "REASON",
    "REJECTED_BY",
    "RESERVED",
    "RETRY_OF",
    "RUNG",
    "SEED",
    "STAGE",
    "WORKER_ATTR",
    "Stage",
    "count_trials",
    "is_feasible",
    "most_rejecting",
    "set_stage",
]
