"""Training and evaluation loops."""

from __future__ import annotations

from spikefit_search.training.device import resolve_device
from spikefit_search.training.loop import (
    EVAL_DRAWS,
    SCHEDULES,
    EvalResult,
    TrainConfig,
    TrainResult,
    evaluate,
    fit,
    lr_scheduler,
    train_float,
    train_network,
)

__all__ = [
    "EVAL_DRAWS",
    "SCHEDULES",
    "EvalResult",
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "fit",
    "lr_scheduler",
    "resolve_device",
    "train_float",
    "train_network",
]
