"""Rich rendering of a search while it runs and when it ends (reads the study, computes nothing
beyond counting).

While a search runs, :class:`SearchDisplay` re-reads the study on every refresh (at most twice a
second), so the running count and each running candidate's phase (warm-up, pruning, fine-tune,
evaluation, chip check) and epoch progress are current even while the search's own process is
busy training. Everything fits an 80-column terminal.
"""

from __future__ import annotations

import time
from typing import Any

import optuna
from optuna.trial import TrialState
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from spikefit_search.reporting.pareto import compute_pareto_front
from spikefit_search.reporting.render import pareto_table
from spikefit_search.search.stages import PROGRESS, STAGE, Stage, count_trials

REFRESH_S = 0.5
"""Shortest time between two reads of the study by the display."""


def front_table(
    trials: list[optuna.trial.FrozenTrial], *, title: str = "Feasible Pareto front"
) -> Table:
    """The feasible Pareto front: accuracy, test accuracy, energy, SOPs, M, b, rho, widths."""
    return pareto_table(compute_pareto_front(trials), title=title)


def status_line(trials: list[optuna.trial.FrozenTrial], budget: int) -> Text:
    c = count_trials(trials)
    secs = [
        t.user_attrs["seconds"]
        for t in trials
        if "seconds" in t.user_attrs and t.user_attrs.get(STAGE) == Stage.TRAINED
    ]
    per = f" · {sum(secs) / len(secs):.1f} s per trained candidate" if secs else ""
    return Text.from_markup(
        f"[bold]{c['budget_used']}/{budget}[/] trained · {c['running']} running · "
        f"{c['rejected']} rejected before training · {c['stopped']} stopped early · "
        f"{c['failed']} failed" + (f" · {c['promoted']} promoted" if c["promoted"] else "") + per
    )


def _describe(trial: optuna.trial.FrozenTrial) -> str:
    p = trial.params
    built = trial.user_attrs.get("widths")  # after pruning; a shallow candidate's unused widths
    if isinstance(built, list):  # are drawn too, so the parameters alone would show them
        widths = "-".join(str(w) for w in built)
    else:
        widths = "-".join(str(p[k]) for k in sorted(p) if k.startswith("width_"))
    parts = [f"w {widths}" if widths else ""]
    if "timesteps" in p:
        parts.append(f"T {p['timesteps']}")
    if p.get("quantization") == "uniform" and "bits" in p:
        parts.append(f"uniform b {p['bits']}")
    elif "n_values" in p and "bits" in p:
        parts.append(f"M {p['n_values']} b {p['bits']}")
    return " ".join(x for x in parts if x)


def running_table(trials: list[optuna.trial.FrozenTrial]) -> Table | None:
    """One row per running candidate: number, what it does, a bar over the phase's epochs."""
    running = [t for t in trials if t.state == TrialState.RUNNING]
    if not running:
        return None
    table = Table(box=None, show_header=False, pad_edge=False, padding=(0, 1), expand=False)
    table.add_column("trial", justify="right", no_wrap=True, width=5)
    table.add_column("phase", no_wrap=True, width=11)
    table.add_column("bar", no_wrap=True, width=20)
    table.add_column("epochs", no_wrap=True, width=5, justify="right")
    table.add_column("candidate", no_wrap=True, overflow="ellipsis", max_width=30)
    for t in sorted(running, key=lambda t: t.number):
        state: Any = t.user_attrs.get(PROGRESS)
        if isinstance(state, list) and len(state) == 3:
            phase, done, total = str(state[0]), int(state[1]), int(state[2])
        else:
            phase, done, total = ("checking" if t.params else "sampling"), 0, 0
        bar: RenderableType = (
            ProgressBar(total=total, completed=done, width=20) if total else Text("")
        )
        epochs = f"{done}/{total}" if total else ""
        table.add_row(f"#{t.number}", phase, bar, epochs, _describe(t))
    return table


class SearchDisplay:
    """Renderable for ``rich.live.Live``: status line, running candidates, current front.

    Args:
        budget: trained candidates the search aims for.
        study: read again on every refresh when given (else only on :meth:`update`).
        title: first line, shown from the first frame (before the study exists).
    """

    def __init__(self, budget: int, study: optuna.Study | None = None, title: str = "") -> None:
        self.budget = budget
        self.study = study
        self.title = title
        self.trials: list[optuna.trial.FrozenTrial] = []
        self.started = time.perf_counter()
        self._read_at = 0.0

    def update(self, study: optuna.Study) -> None:
        self.study = study
        self.trials = study.get_trials(deepcopy=False)
        self._read_at = time.perf_counter()

    def _refresh(self) -> None:
        if self.study is None or time.perf_counter() - self._read_at < REFRESH_S:
            return
        try:
            self.update(self.study)
        except Exception:  # a storage busy or being repaired: show the last good read
            self._read_at = time.perf_counter()

    def __rich__(self) -> Group:
        self._refresh()
        elapsed = time.perf_counter() - self.started
        parts: list[RenderableType] = []
        if self.title:
            parts.append(Text(self.title, style="bold"))
        if self.study is None:
            parts.append(Text(f"preparing (data, storage) · {elapsed:.0f} s", style="dim"))
            return Group(*parts)
        parts += [
            status_line(self.trials, self.budget),
            Text(f"elapsed {elapsed:.0f} s", style="dim"),
        ]
        running = running_table(self.trials)
        if running is not None:
            parts.append(running)
        parts.append(front_table(self.trials, title="Current feasible Pareto front"))
        return Group(*parts)
