"""Rich rendering of a search while it runs and when it ends (reads the study, computes nothing
beyond counting)."""

from __future__ import annotations

import time

import optuna
from rich.console import Group
from rich.table import Table
from rich.text import Text

from spikefit_search.reporting.pareto import compute_pareto_front
from spikefit_search.reporting.render import pareto_table
from spikefit_search.search.driver import count_trials


def front_table(
    trials: list[optuna.trial.FrozenTrial], *, title: str = "Feasible Pareto front"
) -> Table:
    """The feasible Pareto front: accuracy, test accuracy, energy, SOPs, M, b, rho, widths."""
    return pareto_table(compute_pareto_front(trials), title=title)


def status_line(trials: list[optuna.trial.FrozenTrial], budget: int) -> Text:
    c = count_trials(trials)
    secs = [t.user_attrs["seconds"] for t in trials if "seconds" in t.user_attrs]
    per = f", {sum(secs) / len(secs):.1f} s per trained trial" if secs else ""
    return Text.from_markup(
        f"[bold]{c['budget_used']}/{budget}[/] trained · {c['rejected']} rejected before training"
        f" · {c['stopped']} stopped early · {c['failed']} failed · {c['running']} running{per}"
    )


class SearchDisplay:
    """Renderable for ``rich.live.Live``: status line plus the current front."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.trials: list[optuna.trial.FrozenTrial] = []
        self.started = time.perf_counter()

    def update(self, study: optuna.Study) -> None:
        self.trials = study.get_trials(deepcopy=False)

    def __rich__(self) -> Group:
        elapsed = time.perf_counter() - self.started
        return Group(
            status_line(self.trials, self.budget),
            Text(f"elapsed {elapsed:.0f} s", style="dim"),
            front_table(self.trials, title="Current feasible Pareto front"),
        )
