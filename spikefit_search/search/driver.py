"""Run a search: an Optuna multi-objective study over a space, on one chip, up to a budget of
trained candidates, resumable, with several local workers or several machines on one RDB."""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing as mp
import os
import platform
import shutil
import signal
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna
import torch
from optuna.trial import TrialState

from spikefit_search import __version__
from spikefit_search._interrupt import (
    blocked_interrupts,
    collected_interrupts,
    deferred_sigint,
    interrupt_name,
    interrupt_signal,
    raise_if_interrupted,
    watch_parent,
)
from spikefit_search._io import atomic_write_csv, atomic_write_json
from spikefit_search.compression import run_pipeline
from spikefit_search.data import Binning, Dataset, load_dataset
from spikefit_search.data.binning import (
    check_binning_applies,
    check_binning_options,
)
from spikefit_search.exceptions import ConfigError, RunError
from spikefit_search.hardware import (
    HardwareProfile,
    check_objective,
    fan_in_cap,
    get_objective,
    inference_window,
    load_profile,
    static_check,
)
from spikefit_search.hardware.energy import DEFAULT_OBJECTIVE, check_window, default_objective
from spikefit_search.search.cache import CACHE_DIR, WarmupCache
from spikefit_search.search.consistency import continued_manifest
from spikefit_search.search.dashboard import write_dashboard_constraints
from spikefit_search.search.inputs import fit_to_data, refusal_hint
from spikefit_search.search.objective import PipelineFn, TrialSettings, run_trial, stop_level
from spikefit_search.search.records import pareto_frame, trials_frame
from spikefit_search.search.run_folder import (
    MANIFEST,
    check_same_run,
    existing_manifest,
    run_lock,
)
from spikefit_search.search.samplers import SAMPLERS, make_sampler
from spikefit_search.search.space import MAX_TIMESTEPS, Param, SearchSpace, load_search_space
from spikefit_search.search.stages import (
    BUDGET_STAGES,
    FAIL_REASON,
    REASON,
    RESERVED,
    RETRY_OF,
    SEED,
    STAGE,
    WORKER_ATTR,
    Stage,
    count_trials,
    most_rejecting,
    set_stage,
)
from spikefit_search.search.storage import (
    heartbeat_interval,
    mask_url,
    open_storage,
    recover_orphans,
    release_killed_writer,
    repair_journal,
)
from spikefit_search.training import resolve_device

SURPLUS_CAP = 10
"""More surplus trials in a row than this (plus the workers) stop the search: a hang guard."""
METRIC_NAMES = ["accuracy", "energy_uj"]
"""Metric names of the default objective; the second is the chosen objective's key."""


@dataclass(frozen=True)
class SearchOptions:
    """Everything ``spikefit-search --device ... --budget ...`` takes."""

    device: str = "speck"
    budget: int = 50
    dataset: str = "digits"
    data_dir: str | None = None
    space: str = "mlp"
    epochs: int | None = None
    timesteps: int | None = None
    accelerator: str = "auto"
    out: str = "runs"
    study: str | None = None
    storage: str | None = None
    workers: int = 1
    seed: int = 0
    sampler: str = "gp"
    max_rejections: int | None = None
    max_failures: int = 5
    limit_train: int | None = None
    objective: str | None = None
    """The second objective; None picks ``energy`` where the chip's energy is modelled well
    enough to rank candidates, else ``sops`` (:func:`default_objective`)."""
    window_ms: float | None = None
    bin_mode: str = "count"
    downsample: int = 1
    channel_group: int = 1
    classes: tuple[int, ...] | None = None
    """Labels kept (``--classes``, see :func:`~spikefit_search.data.parse_classes`), relabelled
    ``0..k-1`` in ascending order; None keeps every class."""

    def validate(self) -> None:
        for name in ("budget", "workers"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"--{name} must be a positive integer, but got {value!r}.")
        if self.epochs is not None and self.epochs < 2:
            raise ConfigError(f"--epochs must be at least 2, but got {self.epochs}.")
        if self.timesteps is not None and not 1 <= self.timesteps <= MAX_TIMESTEPS:
            raise ConfigError(
                f"--timesteps must be within 1..{MAX_TIMESTEPS}, but got {self.timesteps}."
            )
        check_binning_options(self.bin_mode, self.downsample, self.channel_group)
        check_seed(self.seed, "--seed", spare=self.workers)
        cores = usable_cores()
        if self.workers > cores:
            raise ConfigError(
                f"--workers must be at most the {cores} CPU cores this machine gives the "
                f"search, but got {self.workers}."
            )
        if self.max_failures < 0:
            raise ConfigError(f"max_failures must be non-negative, but got {self.max_failures}.")
        SAMPLERS.get(self.sampler)
        resolve_device(self.accelerator)
        if self.objective is not None:
            get_objective(self.objective)
        check_window(self.window_ms)

    @property
    def rejection_cap(self) -> int:
        return self.max_rejections if self.max_rejections is not None else 20 * self.budget + 100


MAX_STUDY_NAME = 200
"""Longest study name: it is a folder name (most file systems allow 255 bytes) and a prefix."""

WORKER_GRACE_S = 120.0
"""How long an interrupted search waits for its workers to record their trials (and how long a
worker whose parent died may take to do so), before it is killed."""

MAX_SEED = 2**31 - 1
"""Seeds run from 0 to this (Optuna's samplers take numpy seeds below 2**32; each worker adds
its index)."""


def check_seed(seed: int, name: str = "seed", *, spare: int = 1) -> None:
    """Refuse a seed the libraries do not take (``spare`` seeds after it are used too)."""
    top = MAX_SEED - spare + 1
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= top:
        raise ConfigError(f"{name} must be an integer within 0..{top}, but got {seed!r}.")


def check_bin_mode(profile: HardwareProfile, mode: str) -> None:
    """Refuse ``--bin-mode binary`` on an event-driven chip: the sensor's events reach it one by
    one, all of them, so frames of one event per cell would train and count another input
    than the chip's. A clocked chip's host sends each step's events, one per cell if it bins so.
    """
    if mode == "binary" and not profile.energy.clocked.value:
        raise ConfigError(
            f"--bin-mode binary needs a clocked chip (the host sends one event per cell and "
            f"step), but {profile.name} is event-driven and receives every event; use "
            "--bin-mode count."
        )


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class SearchResult:
    """What a search left behind."""

    run_dir: Path
    study_name: str
    counts: dict[str, int]
    stop_reason: str
    notes: list[str] = field(default_factory=list)
    pareto: Any = None


@dataclass(frozen=True)
class Prepared:
    options: SearchOptions
    profile: HardwareProfile
    space: SearchSpace
    data: Dataset
    study_name: str
    run_dir: Path


def prepare(options: SearchOptions) -> Prepared:
    """Validate every input before anything is written."""
    options.validate()
    profile = load_profile(options.device)
    if options.objective is None:
        options = replace(options, objective=default_objective(profile))
    check_objective(profile, str(options.objective))
    space = load_search_space(options.space).narrow(profile)
    if options.timesteps is not None:
        params = dict(space.params)
        params["timesteps"] = Param("timesteps", choices=(options.timesteps,))
        space = replace(space, params=params)
    binning = Binning(
        timesteps=options.timesteps or int(space.fixed("timesteps", 10)),
        mode=options.bin_mode,  # type: ignore[arg-type]  # checked by validate()
        downsample=options.downsample,
        channel_group=options.channel_group,
    )
    data = load_dataset(
        options.dataset,
        data_dir=options.data_dir,
        seed=0,
        limit_train=options.limit_train,
        binning=binning,
        classes=options.classes,
    )
    check_binning_applies(binning, data)
    check_bin_mode(profile, options.bin_mode)
    space = fit_to_data(space, profile, data)  # event frames fix T; input reduction if needed
    _check_something_fits(profile, space, data)
    dataset = Path(options.dataset)
    dataset_tag = dataset.stem if dataset.suffix or "/" in options.dataset else options.dataset
    name = options.study or f"{profile.name}-{space.name}-{dataset_tag}"
    if not name or "/" in name or name.startswith(".") or not name.isprintable():
        raise ConfigError(f"--study must be a plain folder name, but got {name!r}.")
    if len(name.encode()) > MAX_STUDY_NAME:
        raise ConfigError(
            f"--study must be at most {MAX_STUDY_NAME} bytes (a folder name), but got "
            f"{len(name.encode())}."
        )
    return Prepared(options, profile, space, data, name, Path(options.out) / name)


def _check_something_fits(profile: HardwareProfile, space: SearchSpace, data: Dataset) -> None:
    """Refuse at once when even the smallest candidate of the space breaks the chip's limits."""
    smallest = space.smallest(input_shape=data.input_shape, n_classes=data.n_classes)
    try:
        cfg_check = static_check(
            profile,
            smallest.pruned_network(),
            n_values=smallest.n_values,
            bits=smallest.bits,
            scope="neuron" if profile.unique_weights.scope.value == "neuron" else "layer",
            zero_code=bool(profile.unique_weights.zero_is_free.value),
            fan_in_cap=fan_in_cap(profile, smallest.pruned_network()),
        )
    except ConfigError:
        return
    if not cfg_check.fits:
        outputs = profile.limit("outputs")
        hint = (  # too many classes: no space helps, fewer classes do
            f"choose at most {outputs} classes with --classes (e.g. --classes 0-{outputs - 1})"
            if outputs is not None and data.n_classes > outputs
            else refusal_hint(profile, data, space)
        )
        raise ConfigError(
            f"a candidate must fit {profile.name}, but even the smallest in space {space.name} "
            f"on {data.name} does not: {'; '.join(cfg_check.messages())}; {hint}."
        )


def _manifest(prep: Prepared) -> dict[str, Any]:
    o = prep.options
    profile_path = Path(prep.profile.path)
    return {
        "spikefit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "study": prep.study_name,
        "options": {**asdict(o), "storage": mask_url(o.storage) if o.storage else None},
        "storage": mask_url(o.storage) if o.storage else "study.journal",
        "device": {
            "name": prep.profile.name,
            "path": str(profile_path),
            "sha256": hashlib.sha256(profile_path.read_bytes()).hexdigest(),
        },
        "space": prep.space.to_dict(),
        "dataset": {"name": o.dataset, "data_dir": o.data_dir, "sizes": prep.data.sizes()},
        "seed": o.seed,
        "objective": _objective_manifest(prep),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "optuna": optuna.__version__,
        },
    }


def _objective_manifest(prep: Prepared) -> dict[str, Any]:
    """The second objective and the time the chip is on per inference (``docs/energy.md``)."""
    o, energy = prep.options, prep.profile.energy
    objective = get_objective(str(o.objective))
    entry: dict[str, Any] = {
        "name": objective.name,
        "key": objective.key,
        "label": objective.label,
        "clocked": bool(energy.clocked.value),
    }
    if energy.clocked.value:
        assert energy.dt_ms is not None
        entry["time_on"] = "T * dt"
        entry["dt_ms"] = energy.dt_ms.value
    else:
        window, source = inference_window(
            prep.profile, option_ms=o.window_ms, data_ms=prep.data.window_ms
        )
        entry["time_on"] = "inference window"
        entry["window_ms"] = window
        entry["window_source"] = source
    return entry


def open_run(prep: Prepared) -> tuple[optuna.Study, bool]:
    """Create or reopen the run folder and its study. Returns the study and whether it is new."""
    run_dir = prep.run_dir
    manifest = _manifest(prep)
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


def _settings(prep: Prepared, device: str) -> TrialSettings:
    o = prep.options
    warmup = finetune = None
    if o.epochs is not None:
        warmup = max(1, round(o.epochs * 2 / 3))
        finetune = max(1, o.epochs - warmup)
    return TrialSettings(
        space=prep.space,
        profile=prep.profile,
        data=prep.data,
        budget=o.budget,
        seed=o.seed,
        device=device,
        checkpoint_dir=prep.run_dir / "checkpoints",
        warmup_epochs=warmup,
        finetune_epochs=finetune,
        objective=str(o.objective),
        window_ms=o.window_ms,
        warmup_cache=WarmupCache(prep.run_dir / CACHE_DIR, prep.data, device),
    )


class _Interrupted(Exception):
    pass


def worker_loop(
    study: optuna.Study,
    settings: TrialSettings,
    options: SearchOptions,
    *,
    pipeline: PipelineFn = run_pipeline,
    on_trial: Callable[[], None] | None = None,
) -> str:
    """Ask, evaluate and tell trials until the budget of trained candidates is reached.

    Returns why it stopped: ``"budget"``, ``"rejections"``, ``"failures"`` or ``"stalled"``.
    Raises KeyboardInterrupt after recording the interrupted trial as failed and queueing its
    parameters again.
    """
    failures = surplus = 0
    while True:
        raise_if_interrupted()
        trials = study.get_trials(deepcopy=False)
        counts = count_trials(trials)
        if counts["budget_used"] >= options.budget:
            return "budget"
        active = sum(
            1 for t in trials if t.state == TrialState.RUNNING and t.user_attrs.get(RESERVED)
        )
        if counts["budget_used"] + active >= options.budget:
            if options.storage is None:
                return "budget"  # the run's own workers finish the rest
            # Several machines: wait for the others; trials of dead workers are failed by
            # their stale heartbeat and queued again, so the budget is still reached.
            time.sleep(min(5.0, heartbeat_interval()))
            optuna.storages.fail_stale_trials(study)
            continue
        if counts["rejected"] >= options.rejection_cap:
            return "rejections"
        last: dict[str, Any] = {}

        def objective(trial: optuna.Trial, last: dict[str, Any] = last) -> tuple[float, float]:
            last["trial"] = trial
            study._storage.set_trial_system_attr(trial._trial_id, WORKER_ATTR, worker_id())
            try:
                outcome = run_trial(study, trial, settings, pipeline=pipeline)
                write_dashboard_constraints(study, trial)
            except KeyboardInterrupt:
                trial.set_user_attr(FAIL_REASON, f"interrupted ({interrupt_name()})")
                raise
            except Exception as exc:
                set_stage(trial, Stage.FAILED)
                trial.set_user_attr(FAIL_REASON, f"{type(exc).__name__}: {exc}"[:500])
                raise
            if outcome.state == TrialState.PRUNED:
                raise optuna.TrialPruned(trial.user_attrs.get(REASON, ""))
            assert outcome.values is not None
            return outcome.values

        try:
            study.optimize(objective, n_trials=1, catch=(Exception,), gc_after_trial=False)
        except KeyboardInterrupt:
            trial = last.get("trial")
            if trial is not None and trial.params:
                study.enqueue_trial(
                    trial.params,
                    user_attrs={RETRY_OF: trial.number, SEED: trial.user_attrs.get(SEED)},
                )
            raise
        trial = last.get("trial")
        if trial is not None:
            frozen = study._storage.get_trial(trial._trial_id)
            if frozen.state == TrialState.FAIL:
                failures += 1
                if failures > options.max_failures:
                    return "failures"
            elif frozen.user_attrs.get(STAGE) in BUDGET_STAGES:
                failures = 0
            # a surplus trial trains nothing; a run of them means the budget count is stuck
            surplus = surplus + 1 if frozen.user_attrs.get(STAGE) == Stage.OVER_BUDGET else 0
            if surplus > SURPLUS_CAP + options.workers:
                return "stalled"
        if on_trial is not None:
            on_trial()


def write_tables(study: optuna.Study, run_dir: Path) -> None:
    atomic_write_csv(run_dir / "trials.csv", trials_frame(study))
    atomic_write_csv(run_dir / "pareto.csv", pareto_frame(study))


def _threads(workers: int) -> int:
    """Torch threads per worker: the cores split between the workers, and no more than the
    cores other processes leave idle (oversubscribed OpenMP threads spin and can make a small
    network ten times slower), nor than ``OMP_NUM_THREADS`` where the user set it. The load
    average lags: two searches started together both see an idle machine, so a user who runs
    several side by side sets ``OMP_NUM_THREADS``."""
    cores = os.cpu_count() or 1
    busy = round(os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0
    threads = min(cores // workers, cores - busy)
    omp = os.environ.get("OMP_NUM_THREADS", "").strip()
    if omp.isdigit() and int(omp) > 0:
        threads = min(threads, int(omp))
    return max(1, threads)


def worker_id(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (this one by default), as its trials record it."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def _worker_main(options: SearchOptions, index: int, parent: int) -> None:
    # Started with SIGINT, SIGTERM and SIGHUP blocked; from here on each only asks the worker
    # to stop (a Ctrl-C from the terminal and the same signal forwarded by the parent are one
    # request); the parent kills a worker that takes longer than its grace period.
    with contextlib.suppress(KeyboardInterrupt), deferred_sigint(escalate=False):
        watch_parent(parent, WORKER_GRACE_S)
        torch.set_num_threads(_threads(options.workers))
        prep = prepare(options)
        device = str(resolve_device(options.accelerator))
        storage = open_storage(prep.run_dir, options.storage)
        settings = _settings(prep, device)
        study = optuna.load_study(
            study_name=prep.study_name,
            storage=storage,
            sampler=make_sampler(
                options.sampler,
                seed=options.seed + index,
                budget=options.budget,
                threshold=stop_level(settings),
            ),
        )
        worker_loop(study, settings, options)


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
            f"stopped: {SURPLUS_CAP + options.workers} trials in a row found the budget taken "
            "by trials that never finish; this is a bug, please report it with trials.csv."
        )
    if counts["budget_used"] < options.budget:
        return (
            f"{counts['budget_used']} of {options.budget} trained; the rest is running or was "
            "interrupted elsewhere: run the same command again to finish."
        )
    return f"budget of {options.budget} reached"


def run_search(
    options: SearchOptions,
    *,
    pipeline: PipelineFn = run_pipeline,
    on_update: Callable[[optuna.Study], None] | None = None,
    on_start: Callable[[Prepared, optuna.Study], None] | None = None,
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
                torch.set_num_threads(_threads(1))
                settings = _settings(prep, device)
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
                reason = _run_workers(options, study, on_update, prep.run_dir)
        finally:
            write_tables(study, prep.run_dir)
        counts = count_trials(study.get_trials(deepcopy=False))
        notes.append(stop_message(reason, study, options))
        return SearchResult(prep.run_dir, prep.study_name, counts, reason, notes)


def _run_workers(
    options: SearchOptions,
    study: optuna.Study,
    on_update: Callable[[optuna.Study], None] | None,
    run_dir: Path,
) -> str:
    ctx = mp.get_context("spawn")
    procs = [
        ctx.Process(target=_worker_main, args=(options, i, os.getpid()), daemon=False)
        for i in range(options.workers)
    ]
    try:
        with blocked_interrupts():  # a worker cannot be killed half way through starting
            for p in procs:
                p.start()
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            raise_if_interrupted()
            if on_update is not None:
                on_update(study)
        for p in procs:
            p.join()
    except BaseException as exc:
        # the parent never leaves before its workers: an orphan would train on without the
        # run lock and write to the journal after the exit code was reported
        interrupted = isinstance(exc, KeyboardInterrupt)
        sig = interrupt_signal() if interrupted else int(signal.SIGTERM)
        reason = f"interrupted ({interrupt_name() if interrupted else 'search process ended'})"
        stop_workers(procs, sig, study, options, run_dir, reason=reason)
        raise
    finally:
        _stop_resource_tracker()
    trials = study.get_trials(deepcopy=False)
    counts = count_trials(trials)
    if counts["rejected"] >= options.rejection_cap and counts["budget_used"] < options.budget:
        return "rejections"
    failed = [t for t in trials if t.state == TrialState.FAIL]
    if counts["budget_used"] < options.budget and len(failed) > options.max_failures:
        return "failures"
    return "budget"


def stop_workers(
    procs: list[Any],
    sig: int,
    study: optuna.Study,
    options: SearchOptions,
    run_dir: Path,
    *,
    reason: str,
    grace_s: float = WORKER_GRACE_S,
) -> list[int]:
    """Forward ``sig`` to every live worker, wait for each (at most ``grace_s`` seconds; a
    further signal cuts the wait short), kill those still running, and record the trials the
    killed ones left running as interrupted (queued again). Returns those trials' numbers.

    Each worker that stops in time records its own trial; nothing of the search runs after
    this returns.
    """
    with collected_interrupts() as again:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, sig)
        deadline = time.monotonic() + grace_s
        while any(p.is_alive() for p in procs) and not again.is_set():
            if time.monotonic() >= deadline:
                break
            for p in procs:
                p.join(timeout=0.05)
        killed = [p for p in procs if p.is_alive()]
        for p in killed:  # stuck past the grace period, or the user insisted
            p.kill()
        for p in procs:
            if p.pid is not None:  # never started: nothing to wait for
                p.join()
        if not killed:
            return []
        pids = {worker_id(p.pid) for p in killed}
        if options.storage is None:  # the run lock: every running trial was one of ours
            release_killed_writer(run_dir)
            return recover_orphans(study, reason=reason)
        return recover_orphans(
            study, reason=reason, only=lambda t: t.system_attrs.get(WORKER_ATTR) in pids
        )


def _stop_resource_tracker() -> None:
    """End multiprocessing's resource tracker once the workers are gone; it would otherwise
    outlive the search by a moment (it ignores SIGINT and SIGTERM and ends when its last
    user has)."""
    from multiprocessing import resource_tracker

    stop = getattr(resource_tracker._resource_tracker, "_stop", None)
    if stop is not None:
        with contextlib.suppress(Exception):
            stop()
