"""Fronts that know their noise: standard errors carried, ties marked, the knee not moved by
a difference inside the error, error bars drawn, confirm on several seeds."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from reporting_helpers import MakeRun, trial
from typer.testing import CliRunner

from spikefit_search._tables import render_text
from spikefit_search.cli import app
from spikefit_search.reporting.confirm import confirm_front, confirmed_table
from spikefit_search.reporting.pareto import compute_pareto_front, knee_point
from spikefit_search.reporting.plot import pareto_figure
from spikefit_search.reporting.report import build_report
from spikefit_search.search.records import (
    ScoredTrial,
    accuracy_ties,
    difference_se,
    pareto_frame,
    trials_frame,
)
from spikefit_search.training.stats import encode_correct


def _front(c_acc: float, se: float = 0.01) -> list:  # type: ignore[type-arg]
    # A, B, C, D by energy; B is the knee of the chord, C a hair above or below it
    trials = [
        trial(acc, e, accuracy_se=se, test_accuracy_se=se)
        for acc, e in ((0.80, 1.0), (0.90, 2.0), (c_acc, 3.0), (0.92, 10.0))
    ]
    for number, t in enumerate(trials):
        t.number = number
    return trials


def test_the_knee_does_not_move_for_a_difference_inside_the_error() -> None:
    before = compute_pareto_front(_front(0.910))
    after = compute_pareto_front(_front(0.915))  # +0.5 points, inside 1 SE (1 point each)
    assert before.knee is not None and after.knee is not None
    assert before.knee.number == after.knee.number == 1  # B
    # the same move with the noise ignored (or far below it) does move the knee to C
    assert knee_point(after.front, z=0.0) == after.front[2]
    precise = compute_pareto_front(_front(0.915, se=0.0005)).knee
    assert precise is not None and precise.number == 2


def test_points_within_the_error_of_a_cheaper_one_are_marked_tied() -> None:
    trials = [
        *_front(0.910),
        trial(0.905, 4.0, accuracy_se=0.01),  # dominated by C, within its error
        trial(0.850, 5.0, accuracy_se=0.01),  # clearly dominated
    ]
    trials[4].number, trials[5].number = 4, 5
    front = compute_pareto_front(trials)
    tied = {p.number: p.tied_with for p in (*front.front, *front.dominated)}
    # B is clearly above A; C within 1 SE of B; D within 1 SE of C (the most accurate such)
    assert tied == {0: None, 1: None, 2: 1, 3: 2, 4: 2, 5: None}
    frame = front.to_frame().set_index("number")
    assert frame.loc[2, "tied_with"] == 1 and pd.isna(frame.loc[1, "tied_with"])
    assert frame.loc[2, "accuracy_se"] == 0.01


def test_a_paired_difference_is_resolved_where_unpaired_errors_would_tie() -> None:
    a = np.array([1] * 90 + [0] * 10, dtype=np.uint8)
    b = a.copy()
    b[90:93] = 1  # three more right, on the same samples
    cheap = trial(0.90, 1.0, accuracy_se=0.03, eval_draws=1, val_correct=encode_correct(a))
    dear = trial(0.93, 2.0, accuracy_se=0.0255, eval_draws=1, val_correct=encode_correct(b))
    cheap.number, dear.number = 0, 1
    scored = [ScoredTrial.from_trial(t) for t in (cheap, dear)]
    assert difference_se(*scored) == pytest.approx(0.01714, abs=1e-4)
    assert accuracy_ties(scored) == {}  # 3 points apart, 1.7 points of paired error
    unpaired = [ScoredTrial(t.number, t.accuracy, t.objective, t.accuracy_se) for t in scored]
    assert accuracy_ties(unpaired) == {1: 0}  # hypot(3, 2.55) = 3.9 points would tie them


def test_trials_and_pareto_csv_carry_the_errors() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trials(_front(0.910))
    trials = trials_frame(study)
    assert list(trials["accuracy_se"]) == [0.01] * 4
    assert trials["tied_with"].tolist()[2:] == [1, 2]
    assert list(trials["test_accuracy_se"]) == [0.01] * 4
    front = pareto_frame(study)
    assert list(front["number"]) == [0, 1, 2, 3] and list(front.columns) == list(trials.columns)
    assert front["tied_with"].tolist()[2:] == [1, 2] and front["tied_with"].isna().sum() == 2


def test_error_bars_and_tie_rings_are_drawn() -> None:
    front = compute_pareto_front(_front(0.910))
    fig = pareto_figure([front])
    ax = fig.axes[0]
    (bars,) = [c for c in ax.collections if c.get_gid() == "0:error"]
    # vertical: one SE (1 point) below and above each accuracy
    ends = sorted(float(y) for seg in bars.get_segments() for y in (seg[0][1], seg[1][1]))
    assert ends == pytest.approx([79, 81, 89, 90, 91, 91, 92, 93])
    (rings,) = [c for c in ax.collections if c.get_gid() == "0:tied"]
    assert len(rings.get_offsets()) == 2  # C and D


def test_a_front_without_errors_draws_no_bars() -> None:
    front = compute_pareto_front([trial(0.8, 1.0), trial(0.9, 2.0)])
    assert all(math.isnan(p.accuracy_se) for p in front.front)
    fig = pareto_figure([front])
    assert not [c for c in fig.axes[0].collections if c.get_gid() in ("0:error", "0:tied")]


def test_the_report_page_shows_each_error(make_run: MakeRun) -> None:
    run = make_run("noisy", _front(0.910))
    page = build_report([run]).html.read_text()
    assert "<th>± SE</th>" in page and "<th>within 1 SE of</th>" in page
    assert "<td>1.00</td>" in page  # 0.01 as points
    assert "± 1.00 points validation accuracy" in page  # the knee line


def test_confirm_on_two_seeds_reports_mean_and_error(run_copy: Path) -> None:
    done = confirm_front(run_copy, 1, epochs=2, accelerator="cpu", seeds=2)
    row = done.frame.iloc[0]
    assert done.seeds == 2 and row["seeds"] == 2
    folders = sorted((run_copy / row["folder"]).glob("seed_*/metrics.json"))
    assert len(folders) == 2  # one retrained network per seed
    each = [float(v) for v in row["confirmed_accuracies"].split(";")]
    assert row["confirmed_accuracy"] == pytest.approx(sum(each) / 2, abs=1e-4)
    assert row["confirmed_accuracy_se"] > 0 and row["confirmed_test_accuracy_se"] > 0
    assert not math.isnan(row["confirmed_energy_se"])
    table = confirmed_table(done)
    assert table.title is not None and "mean of 2 seeds" in table.title
    shown = render_text(table, 80)
    assert max(len(line.rstrip()) for line in shown.splitlines()) <= 80
    assert f"±{100 * row['confirmed_accuracy_se']:.2f}" in shown.split()  # whole at 80 columns


def test_search_refuses_no_confirm_seeds() -> None:
    result = CliRunner().invoke(app, ["search", "--device", "loihi", "--confirm-seeds", "0"])
    assert result.exit_code == 1
    assert "--confirm-seeds must be at least 1, but got 0" in result.output
