from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState
from reporting_helpers import rejected, trial

from spikefit_search.reporting import ParetoPoint, compute_pareto_front, knee_point
from spikefit_search.search import pareto_trials


def numbers(points: tuple[ParetoPoint, ...]) -> list[int]:
    return [p.number for p in points]


def numbered(*trials: optuna.trial.FrozenTrial) -> list[optuna.trial.FrozenTrial]:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for t in trials:
        study.add_trial(t)
    return study.get_trials(deepcopy=False)


def test_front_dominated_and_infeasible_are_split() -> None:
    trials = numbered(
        trial(0.60, 1.0),  # 0 front (cheapest)
        trial(0.80, 2.0),  # 1 front
        trial(0.70, 3.0),  # 2 dominated by 1
        trial(0.90, 5.0),  # 3 front (most accurate)
        trial(0.95, 0.5, constraints={"neurons": 0.2}),  # 4 infeasible, would dominate all
        rejected("synapses"),  # 5 no objectives: counted only
    )
    front = compute_pareto_front(trials)
    assert numbers(front.front) == [0, 1, 3]
    assert numbers(front.dominated) == [2]
    assert numbers(front.infeasible) == [4]
    assert front.infeasible[0].violated == ("neurons",)
    assert front.metric_names == ("accuracy", "energy_uj")
    assert front.directions == ("maximize", "minimize")
    assert front.counts["trained"] == 5 and front.counts["rejected"] == 1
    assert front.rejections == {"neurons": 1, "synapses": 1}
    # the search's own front (records.pareto_trials) agrees
    assert [t.number for t in pareto_trials(trials)] == numbers(front.front)


def test_to_frame_has_one_row_per_point_and_marks_the_knee() -> None:
    front = compute_pareto_front(
        numbered(trial(0.6, 1.0), trial(0.9, 1.2), trial(0.95, 9.0), trial(0.5, 5.0))
    )
    frame = front.to_frame()
    assert frame["category"].tolist().count("front") == 3
    assert frame["category"].tolist().count("dominated") == 1
    assert frame.loc[frame["knee"], "number"].tolist() == [1]
    assert {"accuracy", "energy_uj", "test_accuracy", "n_values", "bits", "rho"} <= set(
        frame.columns
    )
    assert frame["zero_fraction"].tolist() == [0.0] * 4  # not searched: none sent to zero


def test_points_carry_the_zero_fraction_they_trained_with() -> None:
    t = trial(0.9, 1.0, pipeline={"n_values": 3, "bits": 4, "rho": 0.0, "zero_fraction": 0.5})
    front = compute_pareto_front(numbered(t))
    assert front.to_frame()["zero_fraction"].tolist() == [0.5]


def test_knee_is_the_point_furthest_above_the_chord() -> None:
    # normalised: (0,0), (0.1,0.8), (0.5,0.9), (1,1): 0.8-0.1 = 0.7 is the largest
    trials = numbered(trial(0.50, 1.0), trial(0.90, 1.9), trial(0.95, 5.5), trial(1.0, 10.0))
    assert compute_pareto_front(trials).knee.number == 1  # type: ignore[union-attr]


def test_knee_with_every_interior_point_below_the_chord_is_an_extreme() -> None:
    trials = numbered(trial(0.5, 1.0), trial(0.55, 8.0), trial(1.0, 10.0))
    assert compute_pareto_front(trials).knee.number == 0  # type: ignore[union-attr]


def test_knee_ties_are_deterministic() -> None:
    # two points: both on the chord -> lower energy wins
    two = numbered(trial(0.9, 2.0), trial(0.5, 1.0))
    assert compute_pareto_front(two).knee.number == 1  # type: ignore[union-attr]
    # symmetric interior points at equal height above the chord -> lower energy wins
    sym = numbered(trial(0.0, 0.0), trial(0.6, 0.4), trial(0.8, 0.6), trial(1.0, 1.0))
    assert compute_pareto_front(sym).knee.number == 1  # type: ignore[union-attr]
    # identical objectives: both are on the front, the lower trial number is the knee
    same = numbered(trial(0.7, 3.0), trial(0.7, 3.0))
    f = compute_pareto_front(same)
    assert numbers(f.front) == [0, 1] and f.knee.number == 0  # type: ignore[union-attr]
    # and the order of the input does not matter
    assert knee_point(tuple(reversed(f.front))).number == 0  # type: ignore[union-attr]


def test_single_point_front_is_its_own_knee() -> None:
    f = compute_pareto_front(numbered(trial(0.8, 2.0)))
    assert numbers(f.front) == [0] and f.knee is not None and f.knee.number == 0


def test_all_infeasible_study_has_no_front_and_no_knee() -> None:
    trials = numbered(
        trial(0.9, 1.0, constraints={"neurons": 0.1}),
        trial(0.8, 0.5, constraints={"cores": 2.0, "neurons": 0.3}),
        rejected("cores"),
    )
    f = compute_pareto_front(trials)
    assert f.front == () and f.dominated == () and f.knee is None and not f.has_feasible
    assert numbers(f.infeasible) == [0, 1]
    assert f.rejections == {"cores": 2, "neurons": 2}
    assert len(f.to_frame()) == 2


def test_empty_study() -> None:
    f = compute_pareto_front(optuna.create_study(directions=["maximize", "minimize"]))
    assert f.front == f.dominated == f.infeasible == ()
    assert f.knee is None and f.counts["total"] == 0 and f.rejections == {}
    assert f.to_frame().empty and "category" in f.to_frame().columns


def test_running_failed_and_stopped_trials_are_counted_not_placed() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trial(trial(0.8, 1.0))
    study.add_trial(trial(None, None, state=TrialState.FAIL, stage="failed"))
    study.add_trial(
        trial(None, None, state=TrialState.PRUNED, stage="stopped", constraints={"cores": -0.5})
    )
    running = study.ask()  # a trial still running
    assert running.number == 3
    f = compute_pareto_front(study)
    assert numbers(f.front) == [0]
    assert (f.counts["failed"], f.counts["stopped"], f.counts["running"]) == (1, 1, 1)
    assert f.rejections == {}


def test_point_carries_what_the_table_shows() -> None:
    t = trial(0.8, 1.5, test_accuracy=0.75, sops=1234.0, widths=[12, 8], seed=7)
    p = compute_pareto_front([t]).front[0]
    assert (p.accuracy, p.energy_uj, p.test_accuracy, p.sops) == (0.8, 1.5, 0.75, 1234.0)
    assert (p.n_values, p.bits, p.rho, p.widths, p.seed) == (3, 4, 0.0, (12, 8), 7)
    missing = compute_pareto_front([trial(0.8, 1.5, widths=[])]).front[0]
    assert math.isnan(missing.test_accuracy)


@pytest.mark.parametrize("bad", ["nope"])
def test_category_rejects_unknown_names(bad: str) -> None:
    with pytest.raises(KeyError):
        compute_pareto_front([]).category(bad)
