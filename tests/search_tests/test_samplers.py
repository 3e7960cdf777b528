from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
from search_options import options

from spikefit_search.compression import CandidateStopped, PipelineResult
from spikefit_search.search import run_search
from spikefit_search.search.samplers import (
    ACCURACY_CONSTRAINT,
    CHIP_CONSTRAINT,
    ConstraintAwareSampler,
    make_sampler,
    sampler_view,
)
from spikefit_search.search.storage import open_storage
from spikefit_search.snn import build_network
from spikefit_search.training import evaluate

THRESHOLD = 0.15  # chance plus half, 10 classes


def _trial(number: int, state: TrialState, **kw: Any) -> optuna.trial.FrozenTrial:
    t = optuna.trial.create_trial(
        state=state,
        params={"width": number + 8},
        distributions={"width": IntDistribution(8, 400)},
        **kw,
    )
    t.number = number
    return t


def test_view_shows_rejected_and_stopped_as_infeasible_complete_trials() -> None:
    trials = [
        _trial(
            0,
            TrialState.COMPLETE,
            values=[0.8, 2.0],
            user_attrs={"stage": "trained"},
            constraints={"fan_in": -0.5, "neurons": -0.9},
        ),
        _trial(
            1,
            TrialState.PRUNED,
            user_attrs={"stage": "rejected"},
            constraints={"fan_in": 0.2, "neurons": -0.8},
        ),
        _trial(
            2,
            TrialState.PRUNED,
            user_attrs={"stage": "stopped", "accuracy_reached": 0.1},
            constraints={"fan_in": -0.4, "neurons": -0.9},
        ),
        _trial(3, TrialState.PRUNED, user_attrs={"stage": "surplus"}),
        _trial(4, TrialState.PRUNED, user_attrs={"stage": "rejected"}),  # invalid config
        _trial(
            5,
            TrialState.COMPLETE,
            values=[0.6, 4.0],
            user_attrs={"stage": "trained"},
            constraints={"fan_in": -0.1, "neurons": -0.5},
        ),
    ]
    view = {t.number: t for t in sampler_view(trials, THRESHOLD)}
    assert 3 not in view  # never evaluated: nothing to learn
    assert all(t.state == TrialState.COMPLETE for t in view.values())
    # a limit some candidate broke is its own constraint; the others are one, their largest
    names = {"fan_in", CHIP_CONSTRAINT, ACCURACY_CONSTRAINT}
    assert all(set(t.constraints) == names for t in view.values())  # GP needs the same keys
    assert [view[n].constraints[CHIP_CONSTRAINT] for n in (0, 1, 2, 5)] == [-0.9, -0.8, -0.9, -0.5]

    def feasible(t: optuna.trial.FrozenTrial) -> bool:
        return all(v <= 0 for v in t.constraints.values())

    assert feasible(view[0]) and feasible(view[5])
    assert not feasible(view[1]) and view[1].constraints["fan_in"] == 0.2
    assert not feasible(view[2]) and view[2].constraints[ACCURACY_CONSTRAINT] > 0
    assert view[2].values[0] == 0.1  # the accuracy it reached, not an invented one
    assert not feasible(view[4])
    # objectives a trial lacks are the trained mean: no false information for the models
    assert view[1].values == [0.7, 3.0] and view[2].values[1] == 3.0
    # nothing was written to the stored trials
    assert trials[1].state == TrialState.PRUNED and trials[2].constraints["fan_in"] == -0.4


def _loop(sampler: optuna.samplers.BaseSampler, n: int) -> list[str]:
    """A synthetic study: widths above 256 break the chip (a third of 8..392); accuracy and
    energy rise with width, so the front runs into the chip's limit and the region beyond it
    looks attractive to a sampler that never sees the rejections."""
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    stages = []
    for _ in range(n):
        trial = study.ask()
        width = trial.suggest_int("width", 8, 392)
        layers = trial.suggest_int("layers", 1, 2)
        margin = (width - 256) / 256
        trial.set_constraint("fan_in", margin)
        if margin > 0:
            trial.set_user_attr("stage", "rejected")
            study.tell(trial, state=TrialState.PRUNED)
            stages.append("rejected")
            continue
        accuracy = 0.5 + 0.45 * width / 392 - 0.05 * (layers - 1)
        if width < 24:
            trial.set_user_attr("stage", "stopped")
            trial.set_user_attr("accuracy_reached", 0.1)
            study.tell(trial, state=TrialState.PRUNED)
            stages.append("stopped")
            continue
        trial.set_user_attr("stage", "trained")
        study.tell(trial, [accuracy, width * layers / 100])
        stages.append("trained")
    return stages


SLOW_GP = pytest.param("gp", marks=pytest.mark.slow)  # GP fits take ~1 s a trial on 2 cores


@pytest.mark.parametrize("name", [SLOW_GP, "nsga2", "tpe"])
def test_samplers_learn_from_rejections_and_do_not_loop(name: str) -> None:
    sampler = make_sampler(name, seed=3, budget=12, threshold=THRESHOLD)
    stages = _loop(sampler, 30 if name != "gp" else 20)
    startup = stages[:10]
    learned = stages[10:]
    # random proposals break the chip about a third of the time; a sampler that learns from
    # rejections proposes fewer infeasible candidates once it has a model
    assert learned.count("rejected") < len(learned) / 3
    longest = max(len(run) for run in "".join(s[0] for s in stages).split("t") if run)
    assert longest < 6  # no loop on infeasible (or stopped) points
    assert startup  # (startup itself is random)


def test_wrapped_sampler_reads_rejections_as_complete_trials() -> None:
    """Why the wrapper exists: Optuna's GP and NSGA-II read only COMPLETE trials."""
    sampler = make_sampler("gp", seed=3, budget=12, threshold=THRESHOLD)
    assert isinstance(sampler, ConstraintAwareSampler)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    trial = study.ask()
    trial.suggest_int("width", 8, 392)
    trial.set_constraint("fan_in", 0.3)
    trial.set_user_attr("stage", "rejected")
    study.tell(trial, state=TrialState.PRUNED)
    assert study.get_trials(states=(TrialState.COMPLETE,)) == []
    seen = sampler._view(study)._get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    assert [t.number for t in seen] == [0] and seen[0].constraints["fan_in"] == 0.3


def _fake_pipeline(cfg: Any, data: Any, *, stop_below: float | None = None, **kw: Any) -> Any:
    """An untrained network with an accuracy that rises with width: real activity and checks,
    no training, so a search over many candidates takes seconds."""
    width = cfg.network.hidden[0]
    accuracy = 1 - math.exp(-width / 80)
    if stop_below is not None and width < 24:
        raise CandidateStopped(0.1, stop_below)
    model = build_network(cfg.network)
    val = evaluate(model, data.x_val[:64], data.y_val[:64])
    return PipelineResult(
        model=model,
        network=cfg.network,
        val_accuracy=accuracy,
        test_accuracy=accuracy,
        warmup_val_accuracy=accuracy,
        activity=val.activity,
        val_activity=val.activity,
    )


@pytest.mark.parametrize("name", [SLOW_GP, "nsga2"])
def test_search_with_a_third_infeasible_reaches_its_budget(tmp_path: Path, name: str) -> None:
    space = tmp_path / "third.yaml"
    space.write_text(
        "name: third\nnetwork: {kind: mlp, timesteps: 2}\n"
        "params:\n  n_values: {choices: [4]}\n  bits: {choices: [4]}\n"
        "  rho: {choices: [0.0]}\n  width: {low: 8, high: 392}\n"
        "training: {warmup_epochs: 1, finetune_epochs: 1}\n"
    )
    opts = options(
        tmp_path, space, device="truenorth", budget=14, sampler=name, seed=0, max_rejections=12
    )
    result = run_search(opts, pipeline=_fake_pipeline)
    assert result.stop_reason == "budget", result.notes
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    stored = {t.user_attrs.get("stage") for t in study.trials}
    assert "rejected" in stored
    # the storage still tells rejected and stopped apart from trained candidates
    for t in study.trials:
        if t.user_attrs.get("stage") in ("rejected", "stopped"):
            assert t.state == TrialState.PRUNED
        if t.user_attrs.get("stage") == "rejected":
            # fan-in is capped by the Fisher synapse pruner, so another limit rejects it
            assert max(t.constraints.values()) > 0, t.constraints


def test_view_models_every_limit_once_without_the_dashboards_positional_copies() -> None:
    # optuna-dashboard's list comes back from storage as constraints "0", "1", ...
    copies = {"fan_in": 0.3, "neurons": -0.8, "0": 0.3, "1": -0.8}
    names = {"constraint_names": ["fan_in", "neurons"]}
    trials = [
        _trial(
            0,
            TrialState.COMPLETE,
            values=[0.8, 2.0],
            constraints=dict(copies),
            user_attrs={"stage": "trained", **names},
        ),
        _trial(
            1,
            TrialState.PRUNED,
            constraints=dict(copies),
            user_attrs={"stage": "rejected", **names},
        ),
    ]
    for t in sampler_view(trials, THRESHOLD):
        assert set(t.constraints) == {"fan_in", CHIP_CONSTRAINT, ACCURACY_CONSTRAINT}


def test_gp_keeps_proposing_when_a_newly_broken_limit_joins_the_view() -> None:
    """A limit first broken mid-search adds a constraint to the view; Optuna's GPSampler
    warm-starts each constraint model from the one at the same index of its last proposal, so
    the view's constraints keep one order and the cache is dropped when they change."""
    sampler = make_sampler("gp", seed=0, budget=8, threshold=THRESHOLD)
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)

    def tell(limits: dict[str, float], accuracy: float) -> None:
        trial = study.ask()
        width = trial.suggest_int("width", 8, 392)
        for name, margin in limits.items():
            trial.set_constraint(name, margin)
        if any(m > 0 for m in limits.values()):
            trial.set_user_attr("stage", "rejected")
            study.tell(trial, state=TrialState.PRUNED)
        else:
            trial.set_user_attr("stage", "trained")
            study.tell(trial, [accuracy, float(width)])

    ok = {"fan_in": -0.5, "neurons": -0.5, "synapses": -0.5}
    for i in range(6):  # past GP's startup, nothing broken yet: one chip constraint
        tell(ok, 0.5 + 0.05 * i)
    tell({**ok, "neurons": 0.4}, 0.0)  # GP has a model per constraint: now one more
    tell(ok, 0.7)
    tell({**ok, "fan_in": 0.2}, 0.0)  # and another, sorted before the last
    tell(ok, 0.75)
    view = sampler._view(study)._get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    names = [list(t.constraints) for t in view]
    assert all(n == names[-1] for n in names)  # one order in every trial of the view
    assert names[-1].index("fan_in") < names[-1].index("neurons")  # broken limits sorted
    assert {t.state for t in study.trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
