"""CLI manners: help, completion, the final summary, re-running a finished search."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from typer.testing import CliRunner

from spikefit_search.cli import app
from spikefit_search.reporting.searches import summary_line
from spikefit_search.search.stages import count_trials

runner = CliRunner()
COMMANDS = ("search", "train", "devices", "check", "report", "export", "retrain")


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spikefit_search", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd(), **env},
        timeout=300,
    )


def test_short_help_works_and_says_search_is_the_default() -> None:
    proc = _cli("-h")
    assert proc.returncode == 0, proc.stderr
    assert "Usage: spikefit-search" in proc.stdout and "error" not in proc.stderr
    assert "Without a command, runs search" in " ".join(proc.stdout.split())


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_no_bool_metavar_and_whole_sentences(command: str) -> None:
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "write\n" not in result.output  # no sentence broken by a docstring line break


def test_shell_completion_completes_commands() -> None:
    proc = _cli(
        _SPIKEFIT_SEARCH_COMPLETE="complete_bash", COMP_WORDS="spikefit-search dev", COMP_CWORD="1"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["devices"]
    assert "--install-completion" in runner.invoke(app, ["--help"]).output


def test_interruptions_are_counted_as_interruptions() -> None:
    study = optuna.create_study(directions=["maximize", "minimize"])
    for reason in ("interrupted (Ctrl-C)", "interrupted (process ended)", "RuntimeError: boom"):
        study.add_trial(
            optuna.trial.create_trial(state=TrialState.FAIL, user_attrs={"fail_reason": reason})
        )
    counts = count_trials(study.get_trials())
    assert (counts["interrupted"], counts["failed"]) == (2, 1)
    line = summary_line("speck", 50, {**counts, "trained": 45, "stopped": 5, "budget_used": 50})
    assert "45 trained + 5 stopped early = 50 of --budget 50" in line
    assert "2 interrupted" in line and "1 failed" in line


def test_search_summary_adds_up_and_a_rerun_says_how_to_extend(
    tmp_path: Path, tiny_space: Path
) -> None:
    args = [
        "search",
        "--device",
        "loihi",
        "--space",
        str(tiny_space),
        "--budget",
        "2",
        "--limit-train",
        "200",
        "--out",
        str(tmp_path / "runs"),
        "--accelerator",
        "cpu",
    ]
    first = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    found = re.search(
        r"(\d+) trained \+ (\d+) stopped early = (\d+) of --budget (\d+)", first.output
    )
    assert found is not None, first.output
    trained, stopped, used, budget = map(int, found.groups())
    assert trained + stopped == used == budget == 2
    assert "nothing to train" not in first.output
    again = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert again.exit_code == 0, again.output
    assert "nothing to train" in again.output and "--budget 4" in again.output
