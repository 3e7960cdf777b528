"""Adam training with cross-entropy, and evaluation with activity recording."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from spikefit_search._interrupt import raise_if_interrupted
from spikefit_search._modes import eval_mode
from spikefit_search.data import Dataset
from spikefit_search.exceptions import ConfigError, TrialFailedError
from spikefit_search.snn import (
    Activity,
    LayerActivity,
    NetworkConfig,
    SpikingNetwork,
    SynapticLayer,
)
from spikefit_search.training import progress
from spikefit_search.training.stats import MAX_DRAWS, accuracy_se, draw_se

EVAL_DRAWS = 8
"""Encoding draws of each evaluated sample where the input coding is random (rate coding):
the accuracy is their mean, and its standard error counts both the finite split and the
draw-to-draw spread (:mod:`spikefit_search.training.stats`). Deterministic input gets one."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train.

    Args:
        epochs: passes over the training split.
        batch_size: samples per step.
        lr: Adam learning rate.
        seed: seeds weight initialisation, shuffling and rate coding.
        eval_batch_size: samples per step when evaluating.
        schedule: ``"cosine"`` (learning rate annealed to zero over the epochs) or
            ``"constant"``.
    """

    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    seed: int = 0
    eval_batch_size: int = 1024
    schedule: str = "cosine"

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"schedule must be one of {', '.join(SCHEDULES)}, but got {self.schedule!r}."
            )
        if self.epochs < 0:
            raise ConfigError(f"epochs must be non-negative, but got epochs={self.epochs}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, but got {self.batch_size}.")
        if not self.lr > 0 or not math.isfinite(self.lr):
            raise ConfigError(f"lr must be a positive number, but got lr={self.lr}.")


@dataclass
class EvalResult:
    """What :func:`evaluate` measured.

    Attributes:
        accuracy: share of samples classified right, averaged over the encoding draws.
        loss: mean cross-entropy over samples and draws.
        activity: events per sample, averaged over the draws.
        draws: encoding draws of each sample.
        counts: per sample, how many of the draws were classified right (uint8).
    """

    accuracy: float
    loss: float
    activity: Activity
    draws: int = 1
    counts: np.ndarray | None = field(default=None, repr=False)

    @property
    def correct(self) -> np.ndarray:
        """Per sample, the share of draws classified right (empty when not recorded)."""
        if self.counts is None:
            return np.zeros(0)
        return self.counts.astype(np.float64) / self.draws

    @property
    def se(self) -> float:
        """Standard error of ``accuracy`` (finite split and draws together; NaN when the
        per-sample results were not recorded)."""
        return accuracy_se(self.correct)

    @property
    def draw_se(self) -> float:
        """The draw-to-draw part of ``se`` alone (NaN for one draw)."""
        return draw_se(self.correct, self.draws)


@dataclass
class TrainResult:
    """What a training run produced."""

    model: SpikingNetwork
    losses: list[float] = field(default_factory=list)
    """Mean training loss of each epoch."""
    val: EvalResult | None = None
    test: EvalResult | None = None
    seconds: float = 0.0

    @property
    def val_accuracy(self) -> float:
        return self.val.accuracy if self.val else float("nan")

    @property
    def test_accuracy(self) -> float:
        return self.test.accuracy if self.test else float("nan")


def _batches(n: int, batch_size: int, generator: torch.Generator | None) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def fit(
    model: SpikingNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    optimizer: torch.optim.Optimizer,
    seed: int,
    after_step: Callable[[], None] | None = None,
    stop: Callable[[int, float], bool] | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> list[float]:
    """Train ``model`` in place; returns the mean loss of each epoch.

    ``after_step`` runs after every optimizer step (compression uses it to keep pruned weights
    at zero). ``stop(epoch, loss)`` may end training early.

    Raises:
        TrialFailedError: the loss became NaN or infinite.
    """
    gen = torch.Generator().manual_seed(seed)
    device = x.device
    losses: list[float] = []
    model.train()
    for epoch in range(epochs):
        total = torch.zeros((), device=device)
        for idx in _batches(len(y), batch_size, gen):
            idx = idx.to(device)
            logits = model(x[idx])
            loss = F.cross_entropy(logits, y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if after_step is not None:
                after_step()
            raise_if_interrupted()
            total += loss.detach() * len(idx)
        mean = float(total) / len(y)
        if not math.isfinite(mean):
            raise TrialFailedError(
                f"training loss must stay finite, but got {mean} in epoch {epoch + 1}."
            )
        losses.append(mean)
        progress.epoch_done(epoch + 1, epochs)
        if scheduler is not None:
            scheduler.step()
        if stop is not None and stop(epoch, mean):
            break
    return losses


@torch.no_grad()
def evaluate(
    model: SpikingNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 1024,
    seed: int = 1234,
    exact: bool | None = None,
    draws: int | None = None,
) -> EvalResult:
    """Accuracy with its standard error, loss and per-layer activity (events per sample) on
    ``x, y``.

    Rate coding is drawn from a generator seeded with ``seed``, so the same model gives the
    same figures every time; each sample is encoded ``draws`` times (default
    :data:`EVAL_DRAWS` for rate coding, 1 for deterministic input), the first draw being the
    one a single-draw evaluation makes. ``exact``: as :meth:`SpikingNetwork.run` (None:
    chip-exact where the network is; False: the float network). The model runs in evaluation
    mode and keeps the mode it had.
    """
    if draws is None:
        draws = EVAL_DRAWS if model.config.encoder == "rate" and x.dim() == 4 else 1
    if not 1 <= draws <= MAX_DRAWS:
        raise ConfigError(f"draws must be within 1..{MAX_DRAWS}, but got {draws}.")
    with eval_mode(model):
        return _evaluate(model, x, y, batch_size=batch_size, seed=seed, exact=exact, draws=draws)


def _evaluate(
    model: SpikingNetwork,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int,
    seed: int,
    exact: bool | None,
    draws: int,
) -> EvalResult:
    gen = torch.Generator(device=x.device).manual_seed(seed)
    n_layers = len(model.synaptic_layers)
    sums = torch.zeros(n_layers, 7, dtype=torch.float64)
    workload = torch.zeros(n_layers, 6, dtype=torch.float64)
    counts = torch.zeros(len(y), dtype=torch.int64, device=y.device)
    loss_total = 0.0
    for _ in range(draws):
        for start in range(0, len(y), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            out = model.run(xb, record=True, generator=gen, exact=exact)
            counts[start : start + len(yb)] += out.logits.argmax(dim=1) == yb
            loss_total += float(F.cross_entropy(out.logits, yb, reduction="sum"))
            assert out.sums is not None
            sums += torch.tensor(out.sums, dtype=torch.float64)
            if out.workload is not None:
                workload += torch.tensor(out.workload, dtype=torch.float64)
    n = max(len(y), 1) * draws
    per = (sums / n).tolist()
    per_workload = (workload / n).tolist()  # LayerActivity's nb_ fields, in their order
    activity = Activity(
        timesteps=model.config.timesteps,
        samples=len(y),
        layers=[
            LayerActivity._make(
                [spec.n_neurons, *counts, *layer.weight_counts(), *nb, _rec_nonzero(layer)]
            )
            for spec, counts, layer, nb in zip(
                model.specs, per, model.synaptic_layers, per_workload
            )
        ],
    )
    return EvalResult(
        int(counts.sum()) / n,
        loss_total / n,
        activity,
        draws=draws,
        counts=counts.cpu().numpy().astype(np.uint8),
    )


def _rec_nonzero(layer: SynapticLayer) -> float:
    if layer.recurrent is None:
        return 0.0
    with torch.no_grad():
        return float(torch.count_nonzero(layer.recurrent.effective_weight()))


SCHEDULES = ("cosine", "constant")
"""Learning-rate schedules: annealed to zero over the epochs (cosine), or flat."""


def lr_scheduler(
    optimizer: torch.optim.Optimizer, epochs: int, schedule: str
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The scheduler for ``schedule`` over ``epochs`` (None for a constant rate)."""
    if schedule not in SCHEDULES:
        raise ConfigError(f"schedule must be one of {', '.join(SCHEDULES)}, but got {schedule!r}.")
    if schedule == "constant" or epochs < 1:
        return None
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)


def train_float(
    network: NetworkConfig,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
    schedule: str = "cosine",
    device: torch.device | str = "cpu",
) -> tuple[SpikingNetwork, list[float]]:
    """Build a fresh network (weights seeded by ``seed``) and train it in float with Adam."""
    torch.manual_seed(seed)
    model = SpikingNetwork(network).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = fit(
        model,
        x,
        y,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=opt,
        seed=seed,
        scheduler=lr_scheduler(opt, epochs, schedule),
    )
    return model, losses


def train_network(
    config: NetworkConfig,
    data: Dataset,
    train: TrainConfig,
    *,
    device: torch.device | str = "cpu",
) -> TrainResult:
    """Build a network from ``config`` and train it from scratch on ``data``.

    Same config, data and seed on CPU give the same result.
    """
    start = time.perf_counter()
    data = data.to(device)
    model, losses = train_float(
        config,
        data.x_train,
        data.y_train,
        epochs=train.epochs,
        batch_size=train.batch_size,
        lr=train.lr,
        seed=train.seed,
        schedule=train.schedule,
        device=device,
    )
    result = TrainResult(model=model, losses=losses)
    result.val = evaluate(model, data.x_val, data.y_val, batch_size=train.eval_batch_size)
    result.test = evaluate(model, data.x_test, data.y_test, batch_size=train.eval_batch_size)
    result.seconds = time.perf_counter() - start
    return result
