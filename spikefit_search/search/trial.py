"""One trial of the search: sample, check statically, train with SpikeFit, check what was trained.

A statically infeasible candidate is recorded with its constraint margins and never trained.
A feasible one runs the SpikeFit pipeline, then the measured check; its objectives are the
validation accuracy and the chosen second objective (energy per inference by default; dynamic
energy, SOPs or latency with ``--objective``). Every energy term is recorded with the trial.
Test accuracy is recorded for reporting only.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from spikefit_search.compression import (
    CandidateStopped,
    PipelineConfig,
    PipelineResult,
    codebook_usage,
    grid_levels,
    run_pipeline,
    save_checkpoint,
)
from spikefit_search.data import Dataset
from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware import (
    EnergyReport,
    HardwareProfile,
    estimate_energy,
    fan_in_cap,
    measured_check,
    static_check,
)
from spikefit_search.hardware.neurobench import neurobench_metrics
from spikefit_search.search.cache import WarmupCache
from spikefit_search.search.halving import Halving, duplicate_of, rung_of
from spikefit_search.search.space import Candidate, SearchSpace
from spikefit_search.search.stages import (
    ACCURACY_REACHED,
    BUDGET_STAGES,
    COMPUTE,
    FIDELITY,
    PROGRESS,
    REASON,
    REJECTED_BY,
    RESERVED,
    RUNG,
    SEED,
    STAGE,
    Stage,
    set_stage,
)
from spikefit_search.training import progress
from spikefit_search.training.stats import evaluation_attrs

PipelineFn = Callable[..., PipelineResult]


@dataclass(frozen=True)
class TrialSettings:
    """What every trial of a study shares."""

    space: SearchSpace
    profile: HardwareProfile
    data: Dataset
    budget: int
    seed: int
    device: str = "cpu"
    checkpoint_dir: Path | None = None
    warmup_epochs: int | None = None
    finetune_epochs: int | None = None
    warmup_cache: WarmupCache | None = None
    """Share float warm-ups between candidates of one architecture (seeded by ``seed``)."""
    stop_margin: float = 0.5
    """Stop a candidate whose validation accuracy after warm-up is below
    ``(1 + stop_margin) / n_classes`` (chance plus half of it)."""
    objective: str = "energy"
    """The second objective (a name of :data:`spikefit_search.hardware.OBJECTIVES`)."""
    window_ms: float | None = None
    """The user's inference window for event-driven chips (``--window-ms``)."""
    halving: Halving | None = None
    """Successive halving's rungs (``--fidelity halving``); None trains every trial fully."""


@dataclass(frozen=True)
class TrialOutcome:
    state: TrialState
    values: tuple[float, float] | None = None


def stop_level(settings: TrialSettings) -> float:
    """Validation accuracy below which a candidate is stopped: chance plus ``stop_margin``."""
    return (1.0 + settings.stop_margin) / settings.data.n_classes


def trial_seed(study_seed: int, number: int) -> int:
    return (study_seed * 1_000_003 + number * 7919) % (2**31 - 1)


def pipeline_config(candidate: Candidate, settings: TrialSettings, seed: int) -> PipelineConfig:
    """The SpikeFit configuration a candidate is trained with (also what ``export`` writes)."""
    training = settings.space.training
    unique = settings.profile.unique_weights
    codebook = candidate.quantization in ("cat", "kmeans")  # zero_fraction acts on a codebook
    return PipelineConfig(
        network=candidate.network,
        quantization=candidate.quantization,
        n_values=candidate.n_values,
        bits=candidate.bits,
        rho=candidate.rho,
        scope="neuron" if unique.scope.value == "neuron" else "layer",
        zero_is_free=bool(unique.zero_is_free.value),
        zero_fraction=candidate.zero_fraction if unique.zero_is_free.value and codebook else 0.0,
        symmetric_grid=settings.profile.symmetric_at(candidate.bits),
        fan_in_cap=fan_in_cap(settings.profile, candidate.pruned_network()),
        warmup_epochs=settings.warmup_epochs or int(training.get("warmup_epochs", 10)),
        finetune_epochs=settings.finetune_epochs or int(training.get("finetune_epochs", 5)),
        batch_size=int(training.get("batch_size", 64)),
        lr=candidate.lr,
        finetune_lr=float(training.get("finetune_lr", 3e-4)),
        codebook_lr=float(training.get("codebook_lr", PipelineConfig.codebook_lr)),
        codebook_freeze=float(training.get("codebook_freeze", PipelineConfig.codebook_freeze)),
        seed=seed,
    )


def fit_to_grid(candidate: Candidate, profile: HardwareProfile) -> tuple[Candidate, str]:
    """The candidate with the ``n_values`` its ``b``-bit grid can hold on ``profile``'s chip,
    and a note when its codebook was clipped.

    A uniform grid uses every level (its ``n_values`` is the grid's). A codebook larger than
    the grid (``M = 16`` at 2 bits) is clipped to the grid's levels: clipping keeps every
    sampler, also those that ignore pruned trials (GP, NSGA-II), away from candidates that
    could never be built.
    """
    zero_free = bool(profile.unique_weights.zero_is_free.value)
    symmetric = profile.symmetric_at(candidate.bits)
    levels = grid_levels(candidate.bits, symmetric=symmetric, zero_is_free=zero_free)
    if candidate.quantization == "uniform":
        return replace(candidate, n_values=levels), ""
    if candidate.n_values <= levels:
        return candidate, ""
    grid = f"{'symmetric ' if symmetric else ''}{candidate.bits}-bit grid"
    note = f"n_values {candidate.n_values} clipped to {levels}, the levels of a {grid}"
    return replace(candidate, n_values=levels), note


def _reserved_numbers(study: optuna.Study) -> list[int]:
    """Trials holding a budget slot: trained or training, in trial-number order."""
    holders = []
    for t in study.get_trials(deepcopy=False):
        if not t.user_attrs.get(RESERVED):
            continue
        if t.state == TrialState.RUNNING or (
            t.state != TrialState.FAIL and t.user_attrs.get(STAGE) in BUDGET_STAGES
        ):  # as count_trials counts: a failed trial holds no slot, whatever its stage said
            holders.append(t.number)
    return sorted(holders)


def _give_back_slot(trial: optuna.Trial) -> TrialOutcome:
    """Record ``trial`` as over budget, its slot given back, and prune it."""
    trial.set_user_attr(RESERVED, False)
    set_stage(trial, Stage.OVER_BUDGET)
    trial.set_user_attr(REASON, "budget reached by other workers")
    return TrialOutcome(TrialState.PRUNED)


def _over_budget(study: optuna.Study, trial: optuna.Trial, budget: int) -> bool:
    holders = _reserved_numbers(study)
    return trial.number in holders and holders.index(trial.number) >= budget


def run_trial(
    study: optuna.Study,
    trial: optuna.Trial,
    settings: TrialSettings,
    *,
    pipeline: PipelineFn = run_pipeline,
) -> TrialOutcome:
    """Evaluate one asked trial; the caller tells the study the outcome.

    Constraint margins and user attributes are written to the trial as it goes, so the storage
    holds the why of every outcome.
    """
    data = settings.data
    halving = settings.halving
    rung = rung_of(trial)
    if halving is not None:
        trial.set_user_attr(RUNG, rung)
        trial.set_user_attr(FIDELITY, halving.fraction(rung))
        first = duplicate_of(study.get_trials(deepcopy=False), trial.number, trial.user_attrs)
        if first is not None:  # another worker promoted the same candidate first
            set_stage(trial, Stage.DUPLICATE)
            trial.set_user_attr(REASON, f"trial {first} trains this promotion")
            return TrialOutcome(TrialState.PRUNED)
    candidate = settings.space.sample(trial, input_shape=data.input_shape, n_classes=data.n_classes)
    seed = int(trial.user_attrs.get(SEED, trial_seed(settings.seed, trial.number)))
    trial.set_user_attr(SEED, seed)
    pruned = candidate.pruned_network()
    trial.set_user_attr("widths", list(pruned.hidden_sizes))
    candidate, note = fit_to_grid(candidate, settings.profile)
    if note:
        trial.set_user_attr("note", note)
    trial.set_user_attr("n_values", candidate.n_values)
    try:
        cfg = pipeline_config(candidate, settings, seed)
        if settings.warmup_cache is not None:
            cfg = replace(cfg, warmup_seed=settings.seed)
        if halving is not None:
            warmup, finetune = halving.epochs(cfg.warmup_epochs, cfg.finetune_epochs, rung)
            cfg = replace(cfg, warmup_epochs=warmup, finetune_epochs=finetune)
    except ConfigError as exc:  # any other combination the method cannot build
        set_stage(trial, Stage.REJECTED)
        trial.set_user_attr(REASON, str(exc))
        trial.set_user_attr(REJECTED_BY, ["invalid_config"])
        return TrialOutcome(TrialState.PRUNED)
    trial.set_user_attr("pipeline", cfg.to_dict())
    if cfg.fan_in_cap is not None:  # wider than the chip's fan-in: Fisher synapse pruning
        trial.set_user_attr("fan_in_cap", cfg.fan_in_cap)
    static = static_check(
        settings.profile,
        pruned,
        n_values=candidate.n_values,
        bits=candidate.bits,
        scope=cfg.scope,
        zero_code=cfg.zero_is_free or cfg.quantization == "uniform",  # a uniform grid holds 0
        fan_in_cap=cfg.fan_in_cap,
    )
    if not static.fits:
        for name, margin in static.margins().items():
            trial.set_constraint(name, margin)
        set_stage(trial, Stage.REJECTED)
        trial.set_user_attr(REASON, "; ".join(static.messages()))
        trial.set_user_attr(REJECTED_BY, sorted({u.name for u in static.violations}))
        return TrialOutcome(TrialState.PRUNED)

    # the budget counts rung 0: a promotion retrains a candidate already counted
    if rung == 0:
        trial.set_user_attr(RESERVED, True)
    if rung == 0 and _over_budget(study, trial, settings.budget):
        return _give_back_slot(trial)

    start = time.perf_counter()
    # a lower rung trains a few epochs: near chance there is expected, and ranking leaves such
    # a candidate where it is; only full training stops a candidate at chance
    full = halving is None or rung == halving.top
    stop_below = stop_level(settings) if full else 0.0
    extra: dict[str, Any] = {}
    if not full:
        extra["ranking_only"] = True
    cache = settings.warmup_cache
    if cache is not None:
        extra["warmup_store"] = cache
        hits = cache.stats.hits

    def report(phase: str, done: int, total: int) -> None:
        trial.set_user_attr(PROGRESS, [phase, done, total])

    def record_training(finetuned: bool) -> None:
        """Whether the warm-up came from the cache, and the epochs x samples trained."""
        reused = cache is not None and cache.stats.hits > hits
        if cache is not None:
            trial.set_user_attr("warmup_reused", reused)
        epochs = (0 if reused else cfg.warmup_epochs) + (cfg.finetune_epochs if finetuned else 0)
        trial.set_user_attr(COMPUTE, epochs * len(data.y_train))

    try:
        with progress.listen(report):
            result = pipeline(cfg, data, device=settings.device, stop_below=stop_below, **extra)
    except CandidateStopped as exc:
        record_training(finetuned=False)
        for name, margin in static.margins().items():
            trial.set_constraint(name, margin)
        set_stage(trial, Stage.STOPPED)
        trial.set_user_attr(ACCURACY_REACHED, exc.accuracy)
        trial.set_user_attr(REASON, f"stopped after warm-up: {exc}")
        trial.set_user_attr("seconds", time.perf_counter() - start)
        return TrialOutcome(TrialState.PRUNED)

    record_training(finetuned=True)
    report("chip check", 0, 0)
    measured = measured_check(settings.profile, result.model)
    margins = measured.margins()
    for name, margin in margins.items():
        trial.set_constraint(name, margin)
    if result.val_accuracy < stop_below:
        # compression broke it (e.g. nothing fires any more): a point at chance is no answer,
        # however little energy it spends; it used its training, so it counts as stopped
        set_stage(trial, Stage.STOPPED)
        trial.set_user_attr(ACCURACY_REACHED, result.val_accuracy)
        trial.set_user_attr(
            REASON,
            f"validation accuracy after fine-tune {result.val_accuracy:.4f} is below "
            f"{stop_below:.4f} (chance plus half)",
        )
        trial.set_user_attr("seconds", result.seconds)
        return TrialOutcome(TrialState.PRUNED)
    energy = estimate_energy(
        settings.profile,
        result.val_activity,
        window_ms=settings.window_ms,
        data_window_ms=data.window_ms,
    )
    attrs: dict[str, Any] = {
        "test_accuracy": result.test_accuracy,
        "warmup_accuracy": result.warmup_val_accuracy,
        "chip_exact": result.model.chip_exact,
        "float_val_accuracy": result.float_val_accuracy,
        "float_test_accuracy": result.float_test_accuracy,
        **evaluation_attrs(result.val, result.test),
        **energy_attrs(energy),
        "neurons": result.val_activity.total_neurons,
        "seconds": result.seconds,
        "feasible": measured.fits,
    }
    attrs.update(neurobench_metrics(result.model, result.val_activity).to_dict())
    usage = codebook_usage(result.model)
    if usage is not None:  # what the network really uses, next to the requested n_values
        # (no drift without a learnable codebook: left out, NaN in trials.csv)
        attrs.update({k: v for k, v in usage.to_dict().items() if math.isfinite(v)})
    if not measured.fits:
        attrs[REASON] = "measured: " + "; ".join(measured.messages())
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    if settings.checkpoint_dir is not None:
        settings.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        save_checkpoint(settings.checkpoint_dir / f"trial_{trial.number}.pt", result, cfg)
    if rung == 0 and _over_budget(study, trial, settings.budget):
        return _give_back_slot(trial)
    set_stage(trial, Stage.TRAINED)
    return TrialOutcome(
        TrialState.COMPLETE,
        (result.val_accuracy, energy.objective_value(settings.objective)),
    )


ENERGY_ATTRS = (
    "energy_uj",
    "energy_low_uj",
    "energy_high_uj",
    "dynamic_low_uj",
    "dynamic_high_uj",
    "dynamic_uj",
    "sop_uj",
    "update_uj",
    "spike_uj",
    "static_uj",
    "latency_ms",
    "sops",
    "updates",
    "spikes",
    "cycles",
    "clock_mhz",
)
"""Trial attributes written from a trial's :class:`EnergyReport` (also columns of trials.csv):
the central energy with its low and high ends, the terms, counts and latency; ``cycles`` and
``clock_mhz`` on a Xylo (NaN elsewhere)."""


def energy_attrs(energy: EnergyReport) -> dict[str, Any]:
    """The energy terms, counts and latency of a trial, which terms use estimated constants
    (``energy_estimated``) and which are not modelled (``energy_not_modelled``: no figure
    exists, they add nothing), each as term names joined by ``,``."""
    report = energy.to_dict()
    attrs: dict[str, Any] = {key: report[key] for key in ENERGY_ATTRS}
    attrs["energy_estimated"] = ",".join(energy.estimated_terms)
    attrs["energy_not_modelled"] = ",".join(energy.not_modelled)
    return attrs
