"""Hand-made trials for the reporting tests (a module with a unique name, not conftest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState


def trial(
    acc: float | None,
    energy: float | None,
    *,
    constraints: dict[str, float] | None = None,
    state: TrialState = TrialState.COMPLETE,
    **user_attrs: Any,
) -> FrozenTrial:
    """A hand-made trial; feasible by default (every constraint value <= 0)."""
    values = None if acc is None or energy is None else [acc, energy]
    attrs = {"stage": "trained", "widths": [16], **user_attrs}
    return optuna.trial.create_trial(
        state=state,
        values=values,
        params={"n_values": 3, "bits": 4, "rho": 0.0},
        distributions={
            "n_values": optuna.distributions.CategoricalDistribution([2, 3]),
            "bits": optuna.distributions.CategoricalDistribution([4, 8]),
            "rho": optuna.distributions.CategoricalDistribution([0.0, 0.5]),
        },
        user_attrs=attrs,
        constraints={"neurons": -0.5, "synapses": -0.1} if constraints is None else constraints,
    )


def rejected(*violated: str) -> FrozenTrial:
    cons = {"neurons": -0.5, "synapses": -0.1}
    cons.update(dict.fromkeys(violated, 0.4))
    return trial(
        None,
        None,
        state=TrialState.PRUNED,
        constraints=cons,
        stage="rejected",
        rejected_by=list(violated),
        rejected_reason="too big",
    )


MakeRun = Callable[[str, Sequence[FrozenTrial]], Path]
