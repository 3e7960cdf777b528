from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState
from rich.console import Console

from spikefit_search.reporting.live import SearchDisplay
from spikefit_search.search.stages import PROGRESS


def _study() -> optuna.Study:
    study = optuna.create_study(directions=["maximize", "minimize"])
    dists = {"width_0": IntDistribution(32, 256), "n_values": CategoricalDistribution([2, 4])}
    for number, (state, stage) in enumerate(
        [(TrialState.COMPLETE, "trained"), (TrialState.PRUNED, "rejected")]
    ):
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                values=[0.9, 1.5] if state == TrialState.COMPLETE else None,
                params={"width_0": 64 + number, "n_values": 4},
                distributions=dists,
                user_attrs={"stage": stage, "seconds": 2.0},
            )
        )
    return study


def _render(display: SearchDisplay) -> list[str]:
    console = Console(width=80, record=True, color_system=None)
    console.print(display)
    return console.export_text().splitlines()


def test_running_candidates_show_phase_and_epochs_within_80_columns() -> None:
    study = _study()
    display = SearchDisplay(10, study=study, title="loihi · fashion-mnist · tpe")
    running = study.ask({"width_0": IntDistribution(32, 256)})
    study._storage.set_trial_user_attr(running._trial_id, PROGRESS, ["warm-up", 3, 12])
    lines = _render(display)
    text = "\n".join(lines)
    assert "1 running" in text and "1/10 trained" in text
    assert "warm-up" in text and "3/12" in text and f"#{running.number}" in text
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)


def test_display_reads_the_study_again_while_the_search_process_is_busy() -> None:
    study = _study()
    display = SearchDisplay(10, study=study)
    assert "0 running" in "\n".join(_render(display))
    trial = study.ask()
    study._storage.set_trial_user_attr(trial._trial_id, PROGRESS, ["fine-tune", 1, 6])
    display._read_at = 0.0  # as if REFRESH_S had passed; nobody called update()
    text = "\n".join(_render(display))
    assert "1 running" in text and "fine-tune" in text and "1/6" in text


def test_first_frame_before_the_study_exists() -> None:
    lines = _render(SearchDisplay(50, title="speck · digits · tpe"))
    assert lines[0].startswith("speck") and "preparing" in lines[1]


def test_a_running_candidate_shows_its_built_widths_not_its_unused_ones() -> None:
    study = _study()
    display = SearchDisplay(10, study=study)
    running = study.ask({"width_0": IntDistribution(32, 256), "width_1": IntDistribution(32, 256)})
    study._storage.set_trial_user_attr(running._trial_id, "widths", [77])  # one hidden layer
    study._storage.set_trial_user_attr(running._trial_id, PROGRESS, ["warm-up", 1, 12])
    line = next(x for x in _render(display) if f"#{running.number}" in x)
    assert line.rstrip().endswith("w 77"), line
