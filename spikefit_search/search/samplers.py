"""Samplers by name, chosen for small budgets."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from spikefit_search._registry import Registry

SamplerFactory = Callable[[int, int], optuna.samplers.BaseSampler]
SAMPLERS: Registry[SamplerFactory] = Registry("sampler")


@SAMPLERS.register("tpe")
def _tpe(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    """Multi-objective TPE; learns from constraint margins of pruned (rejected) trials too."""
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(4, min(10, budget // 4)))


@SAMPLERS.register("gp")
def _gp(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.GPSampler(seed=seed, n_startup_trials=max(4, min(10, budget // 4)))


@SAMPLERS.register("nsga2")
def _nsga2(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(4, min(16, budget // 3)))


@SAMPLERS.register("random")
def _random(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=seed)


def make_sampler(name: str, *, seed: int, budget: int) -> optuna.samplers.BaseSampler:
    return SAMPLERS.get(name)(seed, budget)
