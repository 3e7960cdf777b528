"""optuna-dashboard shows each trial's constraints (it reads the list under "constraints")."""

from __future__ import annotations

import optuna
import pytest

from spikefit_search.search.dashboard import (
    DASHBOARD_KEY,
    NAMES_KEY,
    named_constraints,
    write_dashboard_constraints,
)
from spikefit_search.search.records import is_feasible, trials_frame


def _study_with(constraints: dict[str, float]) -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    trial = study.ask()
    for name, value in constraints.items():
        trial.set_constraint(name, value)
    write_dashboard_constraints(study, trial)
    study.tell(trial, (0.9, 1.0))
    return study


def test_the_dashboard_list_holds_every_constraint_in_named_order() -> None:
    study = _study_with({"neurons": -0.5, "fan_in": 0.25, "synapses": -0.1})
    (t,) = study.get_trials()
    stored = study._storage.get_trial_system_attrs(t._trial_id)
    assert t.user_attrs[NAMES_KEY] == ["fan_in", "neurons", "synapses"]
    assert stored[DASHBOARD_KEY] == [0.25, -0.5, -0.1]
    # Optuna reads the list back as "0", "1", ...; names are what the tool shows and writes
    assert named_constraints(t) == {"neurons": -0.5, "fan_in": 0.25, "synapses": -0.1}
    assert not is_feasible(t)
    columns = [c for c in trials_frame(study).columns if c.startswith("constraint_")]
    assert columns == ["constraint_fan_in", "constraint_neurons", "constraint_synapses"]


def test_a_feasible_trial_stays_feasible() -> None:
    study = _study_with({"neurons": -0.5, "synapses": 0.0})
    (t,) = study.get_trials()
    assert is_feasible(t) and all(v <= 0 for v in t.constraints.values())


def test_optuna_dashboard_serialises_the_constraints() -> None:
    """Runs where optuna-dashboard is installed (it is not a dependency): the trial as the
    dashboard's API sends it to the browser."""
    serializer = pytest.importorskip("optuna_dashboard._serializer")
    study = _study_with({"neurons": -0.5, "fan_in": 0.25})
    (t,) = study.get_trials()
    system = study._storage.get_study_system_attrs(study._study_id)
    shown = serializer.serialize_frozen_trial(study._study_id, t, system)
    assert shown["constraints"] == [0.25, -0.5]
