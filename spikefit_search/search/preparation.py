"""Prepare a search before anything is written: the options checked against the chip, the space
narrowed to it and fitted to the data (:class:`PreparedRun`), the manifest the run folder records
and the settings every trial shares."""

from __future__ import annotations

import hashlib
import platform
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import optuna
import torch

from spikefit_search import __version__
from spikefit_search.data import Binning, Dataset, load_dataset
from spikefit_search.data.binning import check_binning_applies
from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware import (
    HardwareProfile,
    check_objective,
    get_objective,
    inference_window,
    load_profile,
)
from spikefit_search.hardware.energy import default_objective
from spikefit_search.search.cache import CACHE_DIR, WarmupCache
from spikefit_search.search.halving import Halving
from spikefit_search.search.inputs import fit_to_data, refusal_hint, smallest_check
from spikefit_search.search.options import SearchOptions
from spikefit_search.search.space import Param, SearchSpace, load_search_space
from spikefit_search.search.storage import mask_url
from spikefit_search.search.trial import TrialSettings

MAX_STUDY_NAME = 200
"""Longest study name: it is a folder name (most file systems allow 255 bytes) and a prefix."""


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


@dataclass(frozen=True)
class PreparedRun:
    """A search's inputs, all checked: the options (with the objective chosen), the chip, the
    space narrowed to it and fitted to the data, the data, the study's name and its run folder."""

    options: SearchOptions
    profile: HardwareProfile
    space: SearchSpace
    data: Dataset
    study_name: str
    run_dir: Path


def prepare(options: SearchOptions) -> PreparedRun:
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
    return PreparedRun(options, profile, space, data, name, Path(options.out) / name)


def _check_something_fits(profile: HardwareProfile, space: SearchSpace, data: Dataset) -> None:
    """Refuse at once when even the smallest candidate of the space breaks the chip's limits."""
    try:
        cfg_check = smallest_check(space, profile, data, cap_fan_in=True)
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


def trial_settings(prep: PreparedRun, device: str) -> TrialSettings:
    """What every trial of the run shares, training on ``device``."""
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
        halving=Halving() if o.fidelity == "halving" else None,
    )


def run_manifest(prep: PreparedRun) -> dict[str, Any]:
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
        "objective": objective_manifest(prep),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "optuna": optuna.__version__,
        },
    }


def objective_manifest(prep: PreparedRun) -> dict[str, Any]:
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
