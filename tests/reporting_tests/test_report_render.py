"""The report's tables at 80 columns, the reasons table, the plot's staircase, labels, ticks."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import optuna
from optuna.trial import TrialState
from reporting_helpers import MakeRun, rejected, trial
from rich.text import Text
from typer.testing import CliRunner

from spikefit_search._tables import render_text
from spikefit_search.cli import app
from spikefit_search.reporting.pareto import compute_pareto_front
from spikefit_search.reporting.plot import pareto_figure
from spikefit_search.reporting.render import (
    pareto_table,
    reason_rows,
    reasons_table,
    report_renderable,
)

runner = CliRunner()


def numbered(trials: list[optuna.trial.FrozenTrial]) -> list[optuna.trial.FrozenTrial]:
    """The trials as a study stores them, numbered 0, 1, ..."""
    study = optuna.create_study(directions=["maximize", "minimize"])
    for t in trials:
        study.add_trial(t)
    return study.get_trials()


def _wide_front() -> list[optuna.trial.FrozenTrial]:
    """Front points with wide numbers: 7-digit SOPs, two hidden layers, energies near 1e4."""
    return [
        trial(0.5 + i / 20, 1000.0 * (i + 1) + 0.123, sops=1_234_567.0 * (i + 1), widths=[116, 146])
        for i in range(6)
    ]


def _words(table: object) -> list[str]:
    words = []
    for column in table.columns:  # type: ignore[attr-defined]
        for cell in [column.header, *column._cells]:
            text = cell.plain if isinstance(cell, Text) else Text.from_markup(str(cell)).plain
            words += text.split()
    return words


def test_front_table_at_80_columns_cuts_no_number() -> None:
    table = pareto_table(compute_pareto_front(_wide_front()))
    output = render_text(table, 80)
    assert max(len(line.rstrip()) for line in output.splitlines()) <= 80
    tokens = set(output.split())
    for word in _words(table):
        assert word in tokens, word
    assert "7,407,402" in tokens and "116→146" in tokens  # widths never read like a range
    assert "116-146" not in output


def _mixed() -> list[optuna.trial.FrozenTrial]:
    fan_in = "fan in on layer 1: 80 > 64"
    return [
        trial(0.9, 1.0),
        *(rejected("fan_in") for _ in range(3)),
        rejected("neurons", "synapses"),
        trial(
            None,
            None,
            state=TrialState.PRUNED,
            stage="stopped",
            rejected_reason="stopped after warm-up: validation accuracy 0.1 is below 0.15",
        ),
        trial(
            None,
            None,
            state=TrialState.PRUNED,
            stage="stopped",
            rejected_reason="stopped after warm-up: validation accuracy 0.12 is below 0.15",
        ),
        trial(None, None, state=TrialState.FAIL, fail_reason="interrupted (Ctrl-C)"),
        trial(None, None, state=TrialState.FAIL, fail_reason="RuntimeError: out of memory"),
        trial(0.95, 0.5, constraints={"fan_in": 0.25}, rejected_reason=f"measured: {fan_in}"),
    ]


def test_reasons_are_grouped_most_common_first() -> None:
    front = compute_pareto_front(numbered(_mixed()))
    groups = [(g.outcome, g.reason, g.numbers) for g in front.reasons]
    assert groups[0] == ("rejected", "fan_in", (1, 2, 3))
    assert groups[1][0] == "stopped" and groups[1][2] == (5, 6)
    assert groups[1][1] == "stopped after warm-up: validation accuracy # is below #"
    assert {g[0] for g in groups[2:]} == {"rejected", "interrupted", "failed", "infeasible"}
    counts = [g.count for g in front.reasons]
    assert counts == sorted(counts, reverse=True)
    assert front.counts["interrupted"] == 1 and front.counts["failed"] == 1
    rows = reason_rows(front.reasons)
    assert rows[0][:2] == ["rejected before training", "3"] and rows[0][3] == "1, 2, 3"
    assert any(r[2] == "fan_in: measured: fan in on layer 1: 80 > 64" for r in rows)
    assert any(r[2] == "RuntimeError: out of memory" for r in rows)
    table = reasons_table(front)
    output = render_text(table, 80)
    assert max(len(line.rstrip()) for line in output.splitlines()) <= 80
    tokens = set(output.split())
    assert all(word in tokens for word in _words(table))


def test_report_lists_reasons_and_explains_every_count(make_run: MakeRun) -> None:
    run = make_run("mixed", _mixed())
    result = runner.invoke(app, ["report", str(run)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "rejected before training" in result.output and "1 interrupted" in result.output
    page = (run / "report.html").read_text()
    assert "Rejected, stopped and failed candidates, by reason" in page
    assert "not counted" in page or "surplus" not in page
    assert "never trained; free" in page and "retried on resume" in page
    data = json.loads(runner.invoke(app, ["report", str(run), "--format", "json"]).output)
    assert data[0]["reasons"][0] == {
        "outcome": "rejected",
        "reason": "fan_in",
        "example": "too big",
        "trials": [1, 2, 3],
    }
    rows = runner.invoke(app, ["report", str(run), "--format", "csv"]).output.splitlines()
    assert rows[0].startswith("run,category,knee,number,") and len(rows) == 3


def _texts(fig, suffix: str) -> list:  # type: ignore[no-untyped-def]
    return [t for t in fig.axes[0].texts if str(t.get_gid()).endswith(suffix)]


def test_front_is_a_staircase() -> None:
    front = compute_pareto_front([trial(0.5, 1.0), trial(0.7, 2.0), trial(0.9, 4.0)])
    fig = pareto_figure([front])
    (line,) = [ln for ln in fig.axes[0].lines if ln.get_gid() == "0:front-line"]
    assert line.get_drawstyle() == "steps-post"
    assert list(line.get_xdata()) == [1.0, 2.0, 4.0]


def test_crowded_points_are_labelled_without_collisions() -> None:
    # eight front points within 0.1 µJ of each other, and two runs overlaid
    crowded = [trial(0.80 + i / 200, 2.5 + i / 80) for i in range(8)]
    spread = [trial(0.6 + i / 20, 1.0 + i) for i in range(6)]
    fronts = [
        compute_pareto_front(numbered(crowded), label="a"),
        compute_pareto_front(numbered(spread), label="b"),
    ]
    fig = pareto_figure(fronts)
    renderer = fig.canvas.get_renderer()
    labels = _texts(fig, ":label")
    boxes = [t.get_window_extent(renderer) for t in labels]
    for one, other in itertools.combinations(boxes, 2):
        assert not one.overlaps(other)
    shown = " ".join(t.get_text() for t in labels)
    for f in fronts:  # every front point is named in some label
        for p in f.front:
            assert re.search(rf"#{p.number}\b", shown), p.number


def test_log_axis_ticks_are_plain_numbers() -> None:
    runs = [
        compute_pareto_front([trial(0.6, 0.05), trial(0.9, 3.0)], label="a"),
        compute_pareto_front([trial(0.7, 0.2), trial(0.95, 40.0)], label="b"),
    ]
    fig = pareto_figure(runs)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(re.fullmatch(r"\d+(\.\d+)?", t) for t in labels), labels
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
    for one, other in itertools.combinations(boxes, 2):
        assert not one.overlaps(other)


def test_report_renderable_fits_80_columns(make_run: MakeRun, tmp_path: Path) -> None:
    front = compute_pareto_front(_mixed() + _wide_front())
    output = render_text(report_renderable([front]), 80)
    assert max(len(line.rstrip()) for line in output.splitlines()) <= 80
