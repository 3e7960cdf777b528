"""Tables of a study: every trial (trials.csv) and the feasible Pareto front (pareto.csv)."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from spikefit_search.hardware.neurobench import COLUMNS as NEUROBENCH_COLUMNS
from spikefit_search.search.dashboard import named_constraints
from spikefit_search.search.objective import REASON, STAGE

BASE_COLUMNS = [
    "number",
    "state",
    "stage",
    "accuracy",
    "test_accuracy",
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


def is_feasible(trial: FrozenTrial) -> bool:
    """Completed, and every constraint value <= 0."""
    if trial.state != TrialState.COMPLETE:
        return False
    return all(v <= 0 for v in (trial.constraints or {}).values())


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    ua = trial.user_attrs
    values = trial.values if trial.state == TrialState.COMPLETE and trial.values else None
    stage = ua.get(STAGE) or (
        "failed" if trial.state == TrialState.FAIL else trial.state.name.lower()
    )
    reason = ua.get(REASON, "")
    if trial.state == TrialState.FAIL and not reason:
        reason = ua.get("fail_reason", "")
    row: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name,
        "stage": stage,
        "accuracy": values[0] if values else math.nan,
        "test_accuracy": ua.get("test_accuracy", math.nan),
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
        "rejected_reason": reason,
        "seconds": ua.get("seconds", math.nan),
    }
    for name, value in sorted(trial.params.items()):
        row[f"param_{name}"] = value
    for name, value in sorted(named_constraints(trial).items()):
        row[f"constraint_{name}"] = value
    return row


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, params, objectives, constraint margins, why rejected."""
    rows = [trial_row(t) for t in study.get_trials(deepcopy=False)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=BASE_COLUMNS)
    extra = sorted(c for c in frame.columns if c not in BASE_COLUMNS)
    params = [c for c in extra if c.startswith("param_")]
    constraints = [c for c in extra if c.startswith("constraint_")]
    return frame[BASE_COLUMNS[:3] + params + BASE_COLUMNS[3:] + constraints]


def pareto_trials(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Feasible trials not dominated in (accuracy up, energy down), by energy then number."""
    feasible = [t for t in trials if is_feasible(t)]
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
    front = pareto_trials(study.get_trials(deepcopy=False))
    frame = trials_frame(study)
    if frame.empty:
        return frame
    numbers = [t.number for t in front]
    return frame.set_index("number").loc[numbers].reset_index()
