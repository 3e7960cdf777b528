"""Tables of a study: every trial (trials.csv) and the feasible Pareto front (pareto.csv)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from spikefit_search.hardware.neurobench import COLUMNS as NEUROBENCH_COLUMNS
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.halving import is_full_fidelity
from spikefit_search.search.stages import (
    COMPUTE,
    FAIL_REASON,
    FIDELITY,
    PROMOTED_FROM,
    REASON,
    RUNG,
    STAGE,
    Stage,
    is_feasible,
)
from spikefit_search.training.stats import VAL_CORRECT, decode_correct, paired_se

BASE_COLUMNS = [
    "number",
    "state",
    "stage",
    "accuracy",
    "accuracy_se",
    "tied_with",
    "test_accuracy",
    "test_accuracy_se",
    "eval_draws",
    "chip_exact",
    "float_accuracy",
    "float_test_accuracy",
    "objective",
    "energy_uj",
    "energy_low_uj",
    "energy_high_uj",
    "sop_uj",
    "update_uj",
    "spike_uj",
    "static_uj",
    "dynamic_uj",
    "dynamic_low_uj",
    "dynamic_high_uj",
    "energy_estimated",
    "energy_not_modelled",
    "latency_ms",
    "sops",
    "updates",
    "spikes",
    "cycles",
    "clock_mhz",
    "neurons",
    "widths",
    "n_values",
    "fan_in_cap",
    "effective_values",
    "effective_values_min",
    "codebook_drift",
    *NEUROBENCH_COLUMNS,
    "feasible",
    "rung",
    "promoted_from",
    "fidelity",
    "compute",
    "rejected_reason",
    "seconds",
]


ENERGY_COLUMNS = (
    "energy_low_uj",
    "energy_high_uj",
    "sop_uj",
    "update_uj",
    "spike_uj",
    "static_uj",
    "dynamic_uj",
    "dynamic_low_uj",
    "dynamic_high_uj",
    "latency_ms",
)
"""Energy (µJ per inference: the low and high ends of the central ``energy_uj``, the terms)
and latency (ms) of a trial; ``energy_estimated`` names the terms that use an estimated
constant, ``energy_not_modelled`` those no figure exists for."""


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    ua = trial.user_attrs
    values = trial.values if trial.state == TrialState.COMPLETE and trial.values else None
    stage = ua.get(STAGE) or (
        Stage.FAILED.value if trial.state == TrialState.FAIL else trial.state.name.lower()
    )
    reason = ua.get(REASON, "")
    if trial.state == TrialState.FAIL and not reason:
        reason = ua.get(FAIL_REASON, "")
    row: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name,
        "stage": stage,
        "accuracy": values[0] if values else math.nan,
        "accuracy_se": ua.get("accuracy_se", math.nan),
        "tied_with": None,  # set by trials_frame, which sees every trial
        "test_accuracy": ua.get("test_accuracy", math.nan),
        "test_accuracy_se": ua.get("test_accuracy_se", math.nan),
        "eval_draws": ua.get("eval_draws", math.nan),
        "chip_exact": bool(ua.get("chip_exact", False)),
        "float_accuracy": ua.get("float_val_accuracy", math.nan),
        "float_test_accuracy": ua.get("float_test_accuracy", math.nan),
        "objective": values[1] if values else math.nan,
        # runs made before the energy terms were recorded: the objective was the energy
        "energy_uj": ua.get("energy_uj", values[1] if values else math.nan),
        **{key: ua.get(key, math.nan) for key in ENERGY_COLUMNS},
        "energy_estimated": ua.get("energy_estimated", ""),
        "energy_not_modelled": ua.get("energy_not_modelled", ""),
        "sops": ua.get("sops", math.nan),
        "updates": ua.get("updates", math.nan),
        "spikes": ua.get("spikes", math.nan),
        "cycles": ua.get("cycles", math.nan),
        "clock_mhz": ua.get("clock_mhz", math.nan),
        "neurons": ua.get("neurons", math.nan),
        "widths": "-".join(str(w) for w in ua.get("widths", [])),
        "n_values": ua.get("n_values", trial.params.get("n_values", math.nan)),
        "fan_in_cap": ua.get("fan_in_cap", math.nan),
        "effective_values": ua.get("effective_values", math.nan),
        "effective_values_min": ua.get("effective_values_min", math.nan),
        "codebook_drift": ua.get("codebook_drift", math.nan),
        **{key: ua.get(key, math.nan) for key in NEUROBENCH_COLUMNS},
        "feasible": is_feasible(trial),
        "rung": ua.get(RUNG, 0),
        "promoted_from": ua.get(PROMOTED_FROM),
        "fidelity": ua.get(FIDELITY, 1.0),
        "compute": ua.get(COMPUTE, math.nan),
        "rejected_reason": reason,
        "seconds": ua.get("seconds", math.nan),
    }
    for name, value in sorted(trial.params.items()):
        row[f"param_{name}"] = value
    for name, value in sorted(named_constraints(trial).items()):
        row[f"constraint_{name}"] = value
    return row


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, params, objectives, constraint margins, why rejected,
    and for feasible trained trials ``tied_with``: the trial costing no more whose accuracy this
    one's is within :data:`TIE_SE` standard errors of (:func:`accuracy_ties`; empty when the
    data separate it from every cheaper trial, or when it is clearly dominated)."""
    trials = study.get_trials(deepcopy=False)
    rows = [trial_row(t) for t in trials]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    placed = [t for t in trials if is_feasible(t) and is_full_fidelity(t)]
    ties = accuracy_ties([ScoredTrial.from_trial(t) for t in placed])
    frame["tied_with"] = pd.array([ties.get(n) for n in frame["number"]], dtype="Int64")
    frame["promoted_from"] = pd.array(list(frame["promoted_from"]), dtype="Int64")
    extra = sorted(c for c in frame.columns if c not in BASE_COLUMNS)
    params = [c for c in extra if c.startswith("param_")]
    constraints = [c for c in extra if c.startswith("constraint_")]
    return frame[BASE_COLUMNS[:3] + params + BASE_COLUMNS[3:] + constraints]


def pareto_trials(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Feasible full-fidelity trials not dominated in (accuracy up, energy down), by energy then
    number (a lower rung of successive halving trained briefly: its accuracy is no answer)."""
    feasible = [t for t in trials if is_feasible(t) and is_full_fidelity(t)]
    front = []
    for t in feasible:
        acc, energy = t.values
        dominated = any(
            (o.values[0] >= acc and o.values[1] <= energy)
            and (o.values[0] > acc or o.values[1] < energy)
            for o in feasible
        )
        if not dominated:
            front.append(t)
    return sorted(front, key=lambda t: (t.values[1], -t.values[0], t.number))


def pareto_frame(study: optuna.Study) -> pd.DataFrame:
    """The rows of :func:`trials_frame` on the feasible front."""
    front = pareto_trials(study.get_trials(deepcopy=False))
    frame = trials_frame(study)
    if frame.empty:
        return frame
    numbers = [t.number for t in front]
    return frame.set_index("number").loc[numbers].reset_index()


TIE_SE = 1.0
"""Accuracies closer than this many standard errors of their difference are treated as tied
(``docs/reporting.md``, "How sure the front is")."""


class Scored(Protocol):
    """What the noise rules read of a point: its trial number, validation accuracy with its
    standard error and per-sample results, and the second objective (minimised)."""

    @property
    def number(self) -> int: ...
    @property
    def accuracy(self) -> float: ...
    @property
    def accuracy_se(self) -> float: ...
    @property
    def correct(self) -> np.ndarray | None: ...
    @property
    def objective(self) -> float: ...


@dataclass(frozen=True)
class ScoredTrial:
    """A trained trial as the noise rules read it (:class:`Scored`)."""

    number: int
    accuracy: float
    objective: float
    accuracy_se: float = math.nan
    correct: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> ScoredTrial:
        assert trial.values is not None
        return cls(
            trial.number,
            float(trial.values[0]),
            float(trial.values[1]),
            float(trial.user_attrs.get("accuracy_se", math.nan)),
            stored_correct(trial),
        )


def stored_correct(trial: FrozenTrial) -> np.ndarray | None:
    """The per-sample validation results a trial recorded (share of draws right), or None."""
    text = trial.user_attrs.get(VAL_CORRECT)
    if not isinstance(text, str):
        return None
    return decode_correct(text, int(trial.user_attrs.get("eval_draws", 1)))


def difference_se(a: Scored, b: Scored) -> float:
    """Standard error of ``a.accuracy - b.accuracy``: paired over the validation samples where
    both recorded them (same split), else ``sqrt(se_a^2 + se_b^2)``; an unknown standard
    error counts as 0 (the accuracies are then taken as exact)."""
    ca, cb = a.correct, b.correct
    if ca is not None and cb is not None and ca.size == cb.size and ca.size > 1:
        return paired_se(ca, cb)
    se = [0.0 if math.isnan(v) else v for v in (a.accuracy_se, b.accuracy_se)]
    return math.hypot(*se)


def cost_order(points: Sequence[Scored]) -> list[Scored]:
    """Cheapest first (second objective), then the more accurate, then the lower number."""
    return sorted(points, key=lambda p: (p.objective, -p.accuracy, p.number))


def accuracy_ties(points: Sequence[Scored], *, z: float = TIE_SE) -> dict[int, int]:
    """For each point whose place the accuracies do not resolve, the trial it is tied with.

    Each point is compared with every point before it in :func:`cost_order` (costing no more).
    When one of them is more accurate by over ``z`` standard errors of the difference
    (:func:`difference_se`), the point is clearly dominated and not listed. Otherwise, when
    one of them is within ``z`` standard errors, the point is listed with the most accurate
    such point (ties: the cheaper): for a front point its gain over that cheaper point is
    within the noise, for a dominated point its loss to that dominating point is. Points
    clearly more accurate than every cheaper point are not listed.
    """
    ordered = cost_order(points)
    known = {p.number: 0.0 if math.isnan(p.accuracy_se) else p.accuracy_se for p in ordered}
    ties: dict[int, int] = {}
    for i, p in enumerate(ordered):
        tied: Scored | None = None
        for q in ordered[:i]:
            gap = q.accuracy - p.accuracy
            # sd(a - b) <= sd(a) + sd(b): beyond that bound no paired error is needed
            bound = z * (known[p.number] + known[q.number])
            if gap < -bound:
                continue
            se = difference_se(p, q) if gap <= bound else 0.0
            if gap > z * se:
                tied = None
                break
            if abs(gap) <= z * se and (tied is None or q.accuracy > tied.accuracy):
                tied = q
        if tied is not None:
            ties[p.number] = tied.number
    return ties
