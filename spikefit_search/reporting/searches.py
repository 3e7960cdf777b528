"""Searches on one chip after another, as ``spikefit-search --device a,b`` runs them: the options
of each chip, every input checked before the first study starts, what each search left (with the
command lines that resume or extend it) and the confirmation of its front.

Nothing here prints: :func:`search_devices` yields what happened and the command line renders it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spikefit_search.exceptions import ConfigError

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from spikefit_search.reporting.confirm import ConfirmResult
    from spikefit_search.search import SearchOptions, SearchResult

StudyCallback = Callable[["optuna.Study"], None]
Watch = Callable[["SearchOptions"], AbstractContextManager[tuple[StudyCallback, StudyCallback]]]
"""Shows one search while it runs: a context around it that gives the callbacks for its start
and for each finished trial."""


@dataclass(frozen=True)
class Confirmation:
    """``--confirm``: retrain the top ``count`` front points in full after the budget."""

    count: int = 0
    epochs: int | None = None
    seeds: int = 1

    def validate(self) -> None:
        if self.count < 0 or (self.epochs is not None and self.epochs < 2):
            raise ConfigError(
                "--confirm must be >= 0 and --confirm-epochs >= 2, but got "
                f"{self.count} and {self.epochs}."
            )
        if self.seeds < 1:
            raise ConfigError(f"--confirm-seeds must be at least 1, but got {self.seeds}.")


@dataclass(frozen=True)
class SearchOutcome:
    """What one chip's search left, for the command line to show."""

    options: SearchOptions
    result: SearchResult
    trials: list[FrozenTrial]
    summary: str
    """:func:`summary_line`: the trials by outcome, adding up to the budget used."""
    already_trained: int | None
    """Trained candidates the study had before this run when they already met the budget
    (nothing was trained); None otherwise."""
    extend_command: str
    """This command line with twice the budget."""
    journal: Path | None
    """The journal optuna-dashboard reads (None with ``--storage``)."""

    @property
    def finished(self) -> bool:
        """Whether the search reached its budget (else it stopped early: exit code 2)."""
        return self.result.stop_reason == "budget"


@dataclass(frozen=True)
class ConfirmedFront:
    """The confirmation of one chip's front (``--confirm``)."""

    options: SearchOptions
    confirmed: ConfirmResult


class SearchInterrupted(KeyboardInterrupt):
    """A search was interrupted (Ctrl-C, SIGTERM, SIGHUP); every finished trial is kept.

    Args:
        resume: the command line that resumes it.
    """

    def __init__(self, resume: str) -> None:
        super().__init__(resume)
        self.resume = resume


def device_names(device: str) -> list[str]:
    """The chips of a comma-separated ``--device``, at least one."""
    devices = [d.strip() for d in device.split(",") if d.strip()]
    if not devices:
        raise ConfigError(f"--device must name at least one chip, but got {device!r}.")
    return devices


def options_per_device(options: SearchOptions) -> list[SearchOptions]:
    """One copy of ``options`` per chip of its comma-separated ``device``; with several chips, a
    given study name gets the chip's name appended."""
    devices = device_names(options.device)
    study = options.study
    return [
        replace(options, device=d, study=f"{study}-{d}" if study and len(devices) > 1 else study)
        for d in devices
    ]


def search_devices(
    options: SearchOptions,
    confirmation: Confirmation,
    *,
    argv: Sequence[str],
    watch: Watch,
) -> Iterator[SearchOutcome | ConfirmedFront]:
    """Search each chip of ``options.device`` in turn, after checking every input of every one,
    and confirm its front when ``confirmation.count`` and the search reached its budget.

    A search that stops early ends the sequence after its outcome. ``argv`` is the command line
    (without the program) that the resume and extend commands are made from.

    Raises:
        SpikefitError: a bad option, device, space or data of any chip (nothing started).
        SearchInterrupted: a search was interrupted, with the command that resumes it.
    """
    from spikefit_search._interrupt import ignore_interrupts
    from spikefit_search.search import count_trials, prepare, run_search

    all_options = options_per_device(options)
    confirmation.validate()
    for one in all_options:
        prepare(one)  # every input is checked before any study starts
    for one in all_options:
        started: dict[str, int] | None = None
        try:
            with watch(one) as (show_start, show_update):

                def on_start(_: Any, study: optuna.Study) -> None:
                    nonlocal started
                    show_start(study)
                    started = count_trials(study.get_trials(deepcopy=False))

                result = run_search(one, on_update=show_update, on_start=on_start)
        except KeyboardInterrupt:
            ignore_interrupts()  # a further Ctrl-C must not break the way out
            raise SearchInterrupted(command_line(argv)) from None
        outcome = _outcome(one, result, started, argv)
        yield outcome
        if not outcome.finished:
            return
        if confirmation.count:
            from spikefit_search.reporting.confirm import confirm_front

            confirmed = confirm_front(
                result.run_dir,
                confirmation.count,
                epochs=confirmation.epochs,
                accelerator=one.accelerator,
                storage=one.storage,
                seeds=confirmation.seeds,
            )
            yield ConfirmedFront(one, confirmed)


def _outcome(
    options: SearchOptions,
    result: SearchResult,
    started: dict[str, int] | None,
    argv: Sequence[str],
) -> SearchOutcome:
    import optuna

    from spikefit_search.search.storage import open_storage

    study = optuna.load_study(
        study_name=result.study_name, storage=open_storage(result.run_dir, options.storage)
    )
    before = started["budget_used"] if started is not None else None
    return SearchOutcome(
        options=options,
        result=result,
        trials=study.get_trials(deepcopy=False),
        summary=summary_line(options.device, options.budget, result.counts),
        already_trained=before if before is not None and before >= options.budget else None,
        extend_command=command_line(argv, budget=2 * options.budget),
        journal=result.run_dir / "study.journal" if options.storage is None else None,
    )


def summary_line(device: str, budget: int, c: dict[str, int]) -> str:
    """``speck: 45 trained + 5 stopped early = 50 of --budget 50; ...``: the numbers add up."""
    used = f"{c['trained']} trained + {c['stopped']} stopped early = {c['budget_used']} of "
    parts = [
        f"{device}: {used}--budget {budget}",
        f"{c['rejected']} rejected before training (free)",
        f"{c['failed']} failed",
    ]
    if c.get("interrupted"):
        parts.append(f"{c['interrupted']} interrupted (retried on resume)")
    if c.get("surplus"):
        parts.append(f"{c['surplus']} surplus")
    return "; ".join(parts)


def command_line(argv: Sequence[str], *, budget: int | None = None) -> str:
    """``spikefit-search`` with ``argv``, quoted for a shell; with ``budget``, ``--budget`` set to
    it (added when ``argv`` has none)."""
    args = list(argv)
    if budget is not None:
        for i, arg in enumerate(args):
            if arg == "--budget" and i + 1 < len(args):
                args[i + 1] = str(budget)
                break
            if arg.startswith("--budget="):
                args[i] = f"--budget={budget}"
                break
        else:
            args += ["--budget", str(budget)]
    return "spikefit-search " + " ".join(shlex.quote(a) for a in args)
