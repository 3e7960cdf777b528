"""Constraints where optuna-dashboard reads them.

Optuna 5 stores each constraint under its own name (trial system attribute
``"constraints:<name>"``), but optuna-dashboard (0.21) still reads the older form, one list under
``"constraints"`` (``optuna_dashboard/_serializer.py``: ``trial_system_attrs.get("constraints",
[])``), and shows an empty list for every trial otherwise, so feasibility is invisible there.
Every trial therefore also gets that list, in the order of its ``constraint_names`` user
attribute (which the dashboard shows beside it). Optuna reads the list back as extra constraints
named ``"0"``, ``"1"``, ...: the same values, so feasibility is unchanged; :func:`named_constraints`
leaves those copies out wherever names matter (``trials.csv``, the report).
"""

from __future__ import annotations

import optuna
from optuna.trial import FrozenTrial

from spikefit_search.search._optuna import set_system_attr, set_user_attr, stored_trial

DASHBOARD_KEY = "constraints"
"""The trial system attribute optuna-dashboard reads constraint values from."""
NAMES_KEY = "constraint_names"
"""User attribute: the constraint name of each position of the dashboard's list."""


def named_constraints(trial: FrozenTrial) -> dict[str, float]:
    """The trial's constraints by name, without the dashboard's positional copies."""
    constraints = trial.constraints or {}
    names = trial.user_attrs.get(NAMES_KEY)
    if not isinstance(names, list):
        return dict(constraints)
    return {k: v for k, v in constraints.items() if k in names}


def write_dashboard_constraints(study: optuna.Study, trial: optuna.Trial) -> None:
    """Copy a running trial's named constraints into the list optuna-dashboard shows."""
    named = named_constraints(stored_trial(study, trial))
    if not named:
        return
    names = sorted(named)
    set_user_attr(study, trial, NAMES_KEY, names)
    set_system_attr(study, trial, DASHBOARD_KEY, [named[n] for n in names])
