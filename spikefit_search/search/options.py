"""What a search takes (:class:`SearchOptions`) and the checks of each option that need no data."""

from __future__ import annotations

import os
from dataclasses import dataclass

from spikefit_search.data.binning import check_binning_options
from spikefit_search.exceptions import ConfigError
from spikefit_search.hardware import get_objective
from spikefit_search.hardware.energy import check_window
from spikefit_search.search.halving import FIDELITIES
from spikefit_search.search.samplers import SAMPLERS
from spikefit_search.search.space import MAX_TIMESTEPS
from spikefit_search.training import resolve_device


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
    fidelity: str = "full"
    """``full`` trains every candidate with all its epochs; ``halving`` runs multi-objective
    successive halving (:mod:`spikefit_search.search.halving`)."""

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
        if self.fidelity not in FIDELITIES:
            raise ConfigError(
                f"--fidelity must be one of {', '.join(FIDELITIES)}, but got {self.fidelity!r}."
            )

    @property
    def rejection_cap(self) -> int:
        return self.max_rejections if self.max_rejections is not None else 20 * self.budget + 100


MAX_SEED = 2**31 - 1
"""Seeds run from 0 to this (Optuna's samplers take numpy seeds below 2**32; each worker adds
its index)."""


def check_seed(seed: int, name: str = "seed", *, spare: int = 1) -> None:
    """Refuse a seed the libraries do not take (``spare`` seeds after it are used too)."""
    top = MAX_SEED - spare + 1
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= top:
        raise ConfigError(f"{name} must be an integer within 0..{top}, but got {seed!r}.")


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
