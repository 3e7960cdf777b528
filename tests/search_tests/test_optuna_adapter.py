"""The private Optuna names the adapter relies on exist, and the installed Optuna is one that
``pyproject.toml`` allows."""

from __future__ import annotations

import inspect
from pathlib import Path

import optuna
import pytest
import tomllib
from optuna.study import _constrained_optimization
from optuna.trial import FrozenTrial, TrialState
from packaging.requirements import Requirement

from spikefit_search.search import _optuna

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _optuna_requirement() -> Requirement:
    with PYPROJECT.open("rb") as f:
        dependencies = tomllib.load(f)["project"]["dependencies"]
    (req,) = [Requirement(d) for d in dependencies if Requirement(d).name == "optuna"]
    return req


def test_installed_optuna_lies_inside_the_bound() -> None:
    req = _optuna_requirement()
    assert any(s.operator == "<" for s in req.specifier), f"no upper bound: {req}"
    assert req.specifier.contains(optuna.__version__), f"{optuna.__version__} not in {req}"


def test_private_names_exist() -> None:
    assert _constrained_optimization._CONSTRAINTS_KEY == _optuna.CONSTRAINTS_KEY == "constraints"
    params = inspect.signature(optuna.Study._get_trials).parameters
    assert list(params)[1:] == ["deepcopy", "states", "use_cache"]
    study = optuna.create_study()
    assert isinstance(study._storage, optuna.storages.BaseStorage)
    trial = study.ask()
    assert isinstance(trial._trial_id, int)
    frozen = study.get_trials(deepcopy=False)[0]
    assert frozen._trial_id == trial._trial_id
    sampler = optuna.samplers.GPSampler(seed=0)
    assert hasattr(sampler, _optuna.GP_CONSTRAINT_CACHE)


def test_adapter_writes_through_the_storage() -> None:
    study = optuna.create_study()
    trial = study.ask()
    _optuna.set_user_attr(study, trial, "u", 1)
    _optuna.set_system_attr(study, trial, "s", [2.0])
    stored = _optuna.stored_trial(study, trial)
    assert stored.user_attrs["u"] == 1 and stored.system_attrs["s"] == [2.0]
    _optuna.set_state(study, stored, TrialState.FAIL)
    assert _optuna.study_trials(study, states=(TrialState.FAIL,))[0].number == trial.number


class _NoTrials(_optuna.StudyView):
    calls = 0

    def view_trials(self, trials: object) -> list[FrozenTrial]:
        type(self).calls += 1
        return []


@pytest.mark.parametrize("name", ["tpe", "gp", "nsga2"])
def test_samplers_read_trials_through_the_view(name: str) -> None:
    """If a sampler stopped reading ``Study._get_trials``, the view would show it nothing."""
    from spikefit_search.search.samplers import SAMPLERS

    study = optuna.create_study(sampler=SAMPLERS.get(name)(0, 4))
    for x in range(5):
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": float(x)},
                distributions={"x": optuna.distributions.FloatDistribution(0, 10)},
                value=float(x),
            )
        )
    study.ask()
    _NoTrials.calls = 0
    trial = study.get_trials(deepcopy=False)[-1]
    view = _NoTrials(study)
    space = study.sampler.infer_relative_search_space(view, trial)  # type: ignore[arg-type]
    study.sampler.sample_relative(view, trial, space)  # type: ignore[arg-type]
    assert _NoTrials.calls > 0


def test_forget_constraint_models_clears_the_gp_cache() -> None:
    sampler = optuna.samplers.GPSampler(seed=0)
    setattr(sampler, _optuna.GP_CONSTRAINT_CACHE, ["model"])
    _optuna.forget_constraint_models(sampler)
    assert getattr(sampler, _optuna.GP_CONSTRAINT_CACHE) is None
    _optuna.forget_constraint_models(optuna.samplers.RandomSampler())  # nothing to forget


def test_recover_orphans_fails_a_running_trial_and_queues_it_again() -> None:
    from spikefit_search.search.storage import recover_orphans

    study = optuna.create_study()
    orphan = study.ask({"x": optuna.distributions.FloatDistribution(0, 1)})
    assert recover_orphans(study, reason="gone") == [orphan.number]
    failed, queued = study.get_trials(deepcopy=False)
    assert failed.state == TrialState.FAIL
    assert failed.user_attrs == {"fail_reason": "gone", "stage": "failed"}
    assert queued.state == TrialState.WAITING
    assert study.ask().suggest_float("x", 0, 1) == orphan.params["x"]
