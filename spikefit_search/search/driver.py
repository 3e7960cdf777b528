"""Run a search: an Optuna multi-objective study over a space, on one chip, up to a budget of
trained candidates, resumable, with several local workers or several machines on one RDB.

:func:`run_search` prepares the run (:mod:`.preparation`), opens its folder and study
(:func:`open_run`), and runs :func:`~spikefit_search.search._optimize.worker_loop` in this
process or in worker processes (:mod:`.workers`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import torch

from spikefit_search._interrupt import deferred_sigint
from spikefit_search._io import atomic_write_csv, atomic_write_json
from spikefit_search.compression import run_pipeline
from spikefit_search.exceptions import RunError
from spikefit_search.hardware import get_objective
from spikefit_search.hardware.energy import DEFAULT_OBJECTIVE
from spikefit_search.search._optimize import OVER_BUDGET_CAP, worker_loop
from spikefit_search.search.consistency import continued_manifest
from spikefit_search.search.options import SearchOptions
from spikefit_search.search.preparation import PreparedRun, prepare, run_manifest, trial_settings
from spikefit_search.search.records import pareto_frame, trials_frame
from spikefit_search.search.run_folder import MANIFEST, check_same_run, existing_manifest, run_lock
from spikefit_search.search.samplers import make_sampler
from spikefit_search.search.stages import count_trials, most_rejecting
from spikefit_search.search.storage import open_storage, recover_orphans, repair_journal
from spikefit_search.search.trial import PipelineFn, stop_level
from spikefit_search.search.workers import run_workers, torch_threads
from spikefit_search.training import resolve_device


@dataclass
class SearchResult:
    """What a search left behind."""

    run_dir: Path
    study_name: str
    counts: dict[str, int]
    stop_reason: str
    notes: list[str] = field(default_factory=list)
    pareto: Any = None


def open_run(prep: PreparedRun) -> tuple[optuna.Study, bool]:
    """Create or reopen the run folder and its study. Returns the study and whether it is new."""
    run_dir = prep.run_dir
    manifest = run_manifest(prep)
    existed = (run_dir / MANIFEST).is_file()
    continued = None
    if existed:
        continued = continued_manifest(
            check_same_run(run_dir, manifest, prep.options.storage), manifest
        )
    else:
        if run_dir.exists() and any(run_dir.iterdir()):
            raise RunError(
                f"{run_dir} exists but is not a spikefit-search run (no {MANIFEST}); "
                "choose another --out or --study."
            )
        if prep.options.storage is not None:
            open_storage(run_dir, prep.options.storage)  # refused before any folder is made
        created = run_dir
        while not created.parent.exists() and created.parent != created.parent.parent:
            created = created.parent  # the topmost folder this run makes, removed on failure
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RunError(
                f"the output folder must be writable, but {run_dir.parent} is not ({exc.strerror})."
            ) from None
        if not os.access(run_dir, os.W_OK):
            raise RunError(f"the output folder must be writable, but {run_dir} is not.")
    try:
        storage = open_storage(run_dir, prep.options.storage)
        study = optuna.create_study(
            study_name=prep.study_name,
            storage=storage,
            directions=["maximize", "minimize"],
            load_if_exists=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(["accuracy", get_objective(str(prep.options.objective)).key])
        if not existed:
            atomic_write_json(run_dir / MANIFEST, manifest)
        elif continued is not None:  # the manifest records every accepted change
            atomic_write_json(run_dir / MANIFEST, continued)
    except BaseException:
        if not existed:
            shutil.rmtree(created, ignore_errors=True)
        raise
    return study, not existed


def write_tables(study: optuna.Study, run_dir: Path) -> None:
    atomic_write_csv(run_dir / "trials.csv", trials_frame(study))
    atomic_write_csv(run_dir / "pareto.csv", pareto_frame(study))


def stop_message(reason: str, study: optuna.Study, options: SearchOptions) -> str:
    trials = study.get_trials(deepcopy=False)
    counts = count_trials(trials)
    if reason == "rejections":
        top = most_rejecting(trials)
        worst = f"; most rejected by {top[0][0]} ({top[0][1]})" if top else ""
        return (
            f"stopped: {counts['rejected']} candidates did not fit {options.device} "
            f"(cap {options.rejection_cap}){worst}. Narrow the search space."
        )
    if reason == "failures":
        return f"stopped: more than {options.max_failures} trials failed in a row; see trials.csv."
    if reason == "stalled":
        return (
            f"stopped: {OVER_BUDGET_CAP + options.workers} trials in a row found the budget taken "
            "by trials that never finish; this is a bug, please report it with trials.csv."
        )
    if counts["budget_used"] < options.budget:
        return (
            f"{counts['budget_used']} of {options.budget} trained; the rest is running or was "
            "interrupted elsewhere: run the same command again to finish."
        )
    promoted = (
        f"; {counts['promoted']} promising candidates retrained longer (successive halving)"
        if counts["promoted"]
        else ""
    )
    return f"budget of {options.budget} reached{promoted}"


def run_search(
    options: SearchOptions,
    *,
    pipeline: PipelineFn = run_pipeline,
    on_update: Callable[[optuna.Study], None] | None = None,
    on_start: Callable[[PreparedRun, optuna.Study], None] | None = None,
) -> SearchResult:
    """Run (or continue) the study up to ``options.budget`` trained candidates.

    Raises:
        SpikefitError: bad options, device, space or data (nothing written), or an unusable
            run folder or storage.
        KeyboardInterrupt: after keeping every finished trial and the tables.
    """
    prep = prepare(options)
    repaired = None
    if options.storage is None and (prep.run_dir / MANIFEST).is_file():
        existing_manifest(prep.run_dir)  # a damaged manifest is refused before any repair
        repaired = repair_journal(prep.run_dir)  # before anything is appended to it
    study, _ = open_run(prep)
    device = str(resolve_device(options.accelerator))
    lock = run_lock(prep.run_dir) if options.storage is None else contextlib.nullcontext()
    with lock, deferred_sigint():
        notes = list(prep.space.notes) + ([repaired] if repaired else [])
        if options.objective is None and prep.options.objective != DEFAULT_OBJECTIVE:
            unknown = ", ".join(prep.profile.energy.unknown) or "per-event energy"
            notes.append(
                f"objective {prep.options.objective}: no published figure makes one "
                f"candidate's energy differ from another's on {prep.profile.name} "
                f"({unknown} not modelled)"
            )
        if options.window_ms is not None and prep.profile.energy.clocked.value:
            notes.append(
                f"--window-ms applies to event-driven chips; {prep.profile.name} is clocked "
                "and on for T x dt"
            )
        if options.storage is None:
            recovered = recover_orphans(study)
            if recovered:
                notes.append(f"re-queued interrupted trials {recovered}")
        if on_start is not None:
            on_start(prep, study)
        reason = "budget"
        try:
            if options.workers == 1:
                torch.set_num_threads(torch_threads(1))
                settings = trial_settings(prep, device)
                study.sampler = make_sampler(
                    options.sampler,
                    seed=options.seed,
                    budget=options.budget,
                    threshold=stop_level(settings),
                )

                def refresh() -> None:
                    write_tables(study, prep.run_dir)
                    if on_update is not None:
                        on_update(study)

                reason = worker_loop(study, settings, options, pipeline=pipeline, on_trial=refresh)
            else:
                reason = run_workers(options, study, on_update, prep.run_dir)
        finally:
            write_tables(study, prep.run_dir)
        counts = count_trials(study.get_trials(deepcopy=False))
        notes.append(stop_message(reason, study, options))
        return SearchResult(prep.run_dir, prep.study_name, counts, reason, notes)
