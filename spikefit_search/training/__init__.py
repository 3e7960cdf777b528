"""Training and evaluation loops."""

from __future__ import annotations

from spikefit_search.training.device import resolve_device
from spikefit_search.training.loop import (
    EvalResult,
    TrainConfig,
    TrainResult,
    evaluate,
    fit,
    train_network,
)

__all__ = [
    "EvalResult",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "fit",
    "resolve_device",
    "train_network",
]
