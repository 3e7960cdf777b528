from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial
from search_options import options

from spikefit_search.compression import run_pipeline
from spikefit_search.exceptions import RunError, SpikefitError
from spikefit_search.reporting.export import export_trial
from spikefit_search.search import count_trials, pareto_trials, run_search
from spikefit_search.search.halving import (
    Halving,
    duplicate_of,
    next_promotion,
    promotion_order,
)
from spikefit_search.search.samplers import sampler_view
from spikefit_search.search.storage import open_storage, recover_orphans


def trial(
    number: int,
    acc: float,
    cost: float,
    *,
    rung: int = 0,
    stage: str = "trained",
    state: TrialState = TrialState.COMPLETE,
    feasible: bool = True,
    **attrs: Any,
) -> FrozenTrial:
    t = create_trial(
        state=state,
        values=[acc, cost] if state == TrialState.COMPLETE else None,
        params={"x": float(number)},
        distributions={"x": FloatDistribution(0, 1000)},
        user_attrs={"rung": rung, "stage": stage, **attrs},
        system_attrs={"constraints": [-1.0 if feasible else 1.0]},
    )
    t.number = number
    return t


def test_rungs_scale_the_epochs_by_eta_and_train_at_least_one_each() -> None:
    h = Halving(eta=3, rungs=3)
    assert [h.fraction(r) for r in range(3)] == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert [h.epochs(12, 6, r) for r in range(3)] == [(1, 1), (4, 2), (12, 6)]
    assert h.epochs(4, 1, 0) == (1, 1)
    with pytest.raises(ValueError, match=r"rung must be in 0\.\.2"):
        h.fraction(3)
    with pytest.raises(ValueError, match="eta must be at least 2"):
        Halving(eta=1)


def test_promotion_order_is_nondominated_fronts_then_hypervolume_contribution() -> None:
    # front: (0.5, 1), (0.8, 2), (0.85, 8), (0.9, 10); dominated: (0.7, 5), (0.4, 9)
    pts = [
        trial(0, 0.5, 1),
        trial(1, 0.8, 2),
        trial(2, 0.85, 8),
        trial(3, 0.9, 10),
        trial(4, 0.7, 5),
        trial(5, 0.4, 9),
    ]
    order = [t.number for t in promotion_order(pts)]
    # extremes 0 and 3 first; then 1 (gain 0.3 * 6) before 2 (gain 0.05 * 2); then the next front
    assert order[:4] == [0, 3, 1, 2]
    assert order[4:] == [4, 5]


def test_the_top_third_of_a_rung_is_promoted_once_and_never_a_stopped_or_infeasible_one() -> None:
    h = Halving(eta=3, rungs=3)
    rung0 = [
        trial(0, 0.9, 5, feasible=False),  # best, but breaks a limit
        trial(1, 0.3, 1, stage="stopped", state=TrialState.PRUNED),
        trial(2, 0.6, 2),
    ]
    assert next_promotion(rung0, h).number == 2  # floor(3 / 3) = 1 slot
    promoted = [*rung0, trial(3, 0.0, 0, rung=1, state=TrialState.WAITING, promoted_from=2)]
    assert next_promotion(promoted, h) is None  # already queued
    failed = [*rung0, trial(3, 0.0, 0, rung=1, state=TrialState.FAIL, promoted_from=2)]
    assert next_promotion(failed, h).number == 2  # a failed promotion holds nothing
    two = [t for t in rung0 if t.number != 2]
    assert next_promotion(two, h) is None  # fewer than eta finished: nothing yet


def test_a_rung_holds_a_third_of_the_one_below_unless_unbounded() -> None:
    # trial 0 was promoted when it led; 3 to 5 came later and all beat it
    trials = [trial(0, 0.5, 1), trial(1, 0.2, 2), trial(2, 0.1, 3)]
    trials += [trial(3, 0.9, 0.5), trial(4, 0.95, 0.4), trial(5, 0.3, 5)]
    trials += [trial(6, 0.6, 1, rung=1, promoted_from=0, state=TrialState.RUNNING)]
    chosen = next_promotion(trials, Halving())
    assert chosen is not None and chosen.number == 4  # floor(6 / 3) = 2 slots, one free
    trials += [trial(7, 0.96, 0.4, rung=1, promoted_from=4, state=TrialState.RUNNING)]
    assert next_promotion(trials, Halving()) is None  # both slots held
    chosen = next_promotion(trials, Halving(bounded=False))
    assert chosen is not None and chosen.number == 3  # ASHA: 3 is in the top third too


def test_higher_rungs_promote_first() -> None:
    h = Halving(eta=3, rungs=3)
    trials = [trial(i, 0.5 + i / 100, 1 + i) for i in range(6)]
    trials += [trial(6 + i, 0.7, 1, rung=1, promoted_from=i) for i in range(3)]
    chosen = next_promotion(trials, h)
    assert chosen is not None and chosen.user_attrs["rung"] == 1


def test_a_second_promotion_of_the_same_candidate_is_a_duplicate() -> None:
    first = trial(7, 0, 0, rung=1, state=TrialState.RUNNING, promoted_from=2)
    attrs = {"rung": 1, "promoted_from": 2}
    assert duplicate_of([first], 9, attrs) == 7
    assert duplicate_of([first], 5, attrs) is None  # the lower number keeps it
    failed = trial(7, 0, 0, rung=1, state=TrialState.FAIL, promoted_from=2)
    assert duplicate_of([failed], 9, attrs) is None
    assert duplicate_of([first], 9, {"rung": 0}) is None


def test_budget_counts_rung_zero_and_promotions_apart() -> None:
    trials = [trial(i, 0.5, 1) for i in range(4)]
    trials += [trial(4, 0.6, 1, rung=1, promoted_from=0)]
    trials += [trial(5, 0, 0, rung=1, stage="duplicate", state=TrialState.PRUNED, promoted_from=0)]
    c = count_trials(trials)
    assert (c["budget_used"], c["trained"], c["promoted"], c["duplicate"]) == (4, 4, 1, 1)


def test_the_sampler_sees_rung_zero_and_the_front_only_full_fidelity() -> None:
    low = trial(0, 0.99, 0.5, fidelity=1 / 9)
    full = trial(1, 0.8, 2.0, rung=2, fidelity=1.0, promoted_from=0)
    assert [t.number for t in sampler_view([low, full], 0.15)] == [0]
    assert [t.number for t in pareto_trials([low, full])] == [1]


class Spy:
    def __init__(self) -> None:
        self.epochs: list[tuple[int, int]] = []
        self.ranking_only: list[bool] = []

    def __call__(self, cfg: Any, data: Any, **kw: Any) -> Any:
        self.epochs.append((cfg.warmup_epochs, cfg.finetune_epochs))
        self.ranking_only.append(kw.get("ranking_only", False))
        return run_pipeline(cfg, data, **kw)


def test_a_halving_search_trains_the_budget_on_rung_zero_and_promotes_the_best(
    tmp_path: Path, write_tiny_space_fn: Any
) -> None:
    space = write_tiny_space_fn(tmp_path, warmup_epochs=9, finetune_epochs=3)
    spy = Spy()
    result = run_search(options(tmp_path, space, budget=9, fidelity="halving"), pipeline=spy)
    assert result.stop_reason == "budget"
    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, None)
    )
    by_rung: dict[int, list[FrozenTrial]] = {}
    for t in study.trials:
        by_rung.setdefault(t.user_attrs["rung"], []).append(t)
    trained = {
        r: [t for t in ts if t.user_attrs["stage"] in ("trained", "stopped")]
        for r, ts in by_rung.items()
    }
    assert len(trained[0]) == 9 and result.counts["budget_used"] == 9
    # each rung holds a third of the finished below it (every candidate here can be promoted)
    assert len(trained[1]) == 9 // 3 and len(trained[2]) == len(trained[1]) // 3
    assert set(spy.epochs) <= {(1, 1), (3, 1), (9, 3)}
    assert spy.epochs[0] == (1, 1)
    # lower rungs score validation only (with its draws); the top rung is scored in full
    assert spy.ranking_only == [e != (9, 3) for e in spy.epochs]
    for t in study.trials:
        if t.user_attrs["stage"] == "trained":
            low = t.user_attrs["rung"] < 2
            assert t.user_attrs["eval_draws"] == 8
            assert (t.user_attrs["test_accuracy"] != t.user_attrs["test_accuracy"]) == low
    for t in study.trials:
        if t.user_attrs["rung"] > 0:
            parent = study.trials[t.user_attrs["promoted_from"]]
            assert t.params == parent.params and t.user_attrs["seed"] == parent.user_attrs["seed"]
            assert parent.user_attrs["rung"] == t.user_attrs["rung"] - 1
    front = pareto_trials(study.trials)
    assert all(t.user_attrs["rung"] == 2 for t in front)
    frame = pd.read_csv(result.run_dir / "trials.csv")
    assert {"rung", "promoted_from", "fidelity", "compute"} <= set(frame.columns)
    assert (frame["compute"] > 0).all()
    # a lower rung is no answer: exporting one is refused, the front's knee is exported
    low = next(t for t in study.trials if t.user_attrs["rung"] == 0 and t.values)
    with pytest.raises(RunError, match="--trial must be trained with all its epochs"):
        export_trial(result.run_dir, trial=low.number, out=tmp_path / "low.yaml")
    assert not (tmp_path / "low.yaml").exists()
    export_trial(result.run_dir, pick="knee", out=tmp_path / "knee.yaml")
    assert "warmup_epochs: 9" in (tmp_path / "knee.yaml").read_text()
    # a continued study keeps its fidelity
    with pytest.raises(RunError, match="--fidelity"):
        run_search(options(tmp_path, space, budget=9, fidelity="full"))


def test_an_interrupted_promotion_is_queued_again_on_its_rung(tmp_path: Path) -> None:
    study = optuna.create_study(
        directions=["maximize", "minimize"], storage=open_storage(tmp_path, None)
    )
    study.enqueue_trial({"x": 1.0}, user_attrs={"rung": 1, "promoted_from": 0, "seed": 5})
    t = study.ask()
    t.suggest_float("x", 0, 10)
    assert recover_orphans(study) == [t.number]
    queued = study.get_trials(states=(TrialState.WAITING,))
    assert len(queued) == 1
    assert {k: queued[0].user_attrs[k] for k in ("rung", "promoted_from", "seed")} == {
        "rung": 1,
        "promoted_from": 0,
        "seed": 5,
    }


def test_an_unknown_fidelity_is_refused_in_one_line(tmp_path: Path, tiny_space: Path) -> None:
    with pytest.raises(SpikefitError, match="--fidelity must be one of full, halving"):
        run_search(options(tmp_path, tiny_space, fidelity="hyperband"))
    assert not (tmp_path / "runs").exists()
