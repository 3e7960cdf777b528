"""SpikeFit in one call: float warm-up -> neuron pruning -> quantized fine-tune -> evaluation."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, cast

import torch

from spikefit_search.compression._base import (
    check_bits,
    check_n_values,
    check_rho,
    check_scope,
    check_zero_fraction,
    grid_levels,
)
from spikefit_search.compression.methods import attach_quantizers, check_quantization
from spikefit_search.compression.neurons import NEURON_SCORES, prune_neurons
from spikefit_search.compression.quantization import (
    CODEBOOK_INITS,
    ClusterQuantizer,
    CodebookInit,
)
from spikefit_search.compression.weight_pruning import FisherWeightPruner
from spikefit_search.data import Dataset
from spikefit_search.exceptions import ConfigError, SpikefitError
from spikefit_search.snn import Activity, NetworkConfig, SpikingNetwork
from spikefit_search.training import (
    SCHEDULES,
    EvalResult,
    evaluate,
    fit,
    lr_scheduler,
    progress,
    train_float,
)


class CandidateStopped(SpikefitError):
    """A candidate's validation accuracy after warm-up fell below the stop threshold."""

    def __init__(self, accuracy: float, threshold: float) -> None:
        self.accuracy = accuracy
        self.threshold = threshold
        super().__init__(
            f"validation accuracy after warm-up must reach stop_below={threshold:.4f}, "
            f"but got {accuracy:.4f}."
        )


@dataclass(frozen=True)
class PipelineConfig:
    """Everything :func:`run_pipeline` needs; ``to_dict`` is YAML-friendly.

    Args:
        network: the architecture before pruning.
        quantization: ``"cat"`` (default), ``"uniform"``, ``"kmeans"`` or ``"none"``.
        neuron_pruning: neuron score used for pruning: ``"fsc"`` (default), ``"magnitude"``,
            ``"random"``.
        n_values: distinct weight values ``M`` per scope (``cat``, ``kmeans``), at least 2.
        bits: signed weight bits ``b`` in 2..8.
        rho: fraction of every hidden layer's neurons to remove, in [0, 1).
        scope: ``"layer"`` or ``"neuron"`` codebooks.
        zero_is_free: zero is a fixed extra code not counted in ``n_values``.
        zero_fraction: with ``zero_is_free`` (``cat``, ``kmeans``), at least this fraction of
            every scope's remaining synapses, the smallest, take the free zero (in [0, 1)).
        symmetric_grid: the chip's signed grid is symmetric, ``[-(2^(b-1)-1), 2^(b-1)-1]``
            (no ``-2^(b-1)``; set from the profile's ``weights.symmetric``).
        codebook_init: ``"kmeans"`` (default), ``"quantile"`` or ``"kmeans_zero"`` (one of the
            ``M`` values starts at 0); see :class:`ClusterQuantizer`.
        fan_in_cap: synapses allowed into one neuron (Fisher synapse pruning), or None.
        warmup_epochs: float training epochs before pruning.
        finetune_epochs: epochs after pruning (quantization-aware for cat/uniform, float for
            none/kmeans; kmeans clusters afterwards).
        batch_size: training samples per step.
        lr: Adam learning rate of the float warm-up.
        finetune_lr: Adam learning rate of the latent weights during fine-tuning.
        codebook_lr: Adam learning rate of the CAT codebook values, in grid steps per
            optimizer step at 4 bits and more (the scales learn at ``SCALE_LR_FACTOR`` times
            this); below 4 bits both are scaled by :func:`coarse_grid_factor`. With the cosine
            schedule a value can travel up to about ``codebook_lr * steps / 2`` steps.
        codebook_freeze: fraction of the fine-tune steps after which the CAT codebooks and
            grid steps stop learning (:func:`freeze_codebooks`), so that the latent weights
            settle on values that no longer move; 1.0 never freezes. A value the loss wants
            between two grid levels otherwise flips between them to the last step (Nagel et
            al., 2022, on oscillations in quantization-aware training).
        seed: seeds initialisation, shuffling, rate coding and random pruning.
        warmup_seed: seeds the float warm-up instead of ``seed`` when given, so that
            candidates of one architecture can share one warm-up (the search's cache).
        schedule: learning rate of each phase, ``"cosine"`` (annealed to zero over the phase,
            default) or ``"constant"``.
    """

    network: NetworkConfig = field(default_factory=NetworkConfig)
    quantization: str = "cat"
    neuron_pruning: str = "fsc"
    n_values: int = 4
    bits: int = 4
    rho: float = 0.0
    scope: str = "layer"
    zero_is_free: bool = False
    zero_fraction: float = 0.0
    symmetric_grid: bool = False
    codebook_init: str = "kmeans"
    fan_in_cap: int | None = None
    warmup_epochs: int = 10
    finetune_epochs: int = 5
    batch_size: int = 128
    lr: float = 3e-3
    finetune_lr: float = 3e-4
    codebook_lr: float = 0.02
    codebook_freeze: float = 0.75
    seed: int = 0
    schedule: str = "cosine"
    warmup_seed: int | None = None

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"schedule must be one of {', '.join(SCHEDULES)}, but got {self.schedule!r}."
            )
        if not isinstance(self.network, NetworkConfig):
            raise TypeError(f"network must be a NetworkConfig, but got {type(self.network)}.")
        check_quantization(self.quantization)
        NEURON_SCORES.get(self.neuron_pruning)
        check_n_values(self.n_values)
        check_bits(self.bits)
        check_rho(self.rho)
        check_scope(self.scope)
        check_zero_fraction(self.zero_fraction, zero_is_free=self.zero_is_free)
        if self.zero_fraction > 0 and self.quantization not in ("cat", "kmeans"):
            raise ConfigError(
                "zero_fraction applies to a codebook (quantization cat or kmeans), "
                f"but got quantization={self.quantization!r}."
            )
        if self.codebook_init not in CODEBOOK_INITS:
            raise ConfigError(
                f"codebook_init must be one of {', '.join(CODEBOOK_INITS)}, "
                f"but got codebook_init={self.codebook_init!r}."
            )
        if self.quantization in ("cat", "kmeans"):
            grid = grid_levels(
                self.bits, symmetric=self.symmetric_grid, zero_is_free=self.zero_is_free
            )
            if self.n_values > grid:
                kind = "symmetric " if self.symmetric_grid else ""
                raise ConfigError(
                    f"n_values must be at most the {grid} levels of a {kind}{self.bits}-bit "
                    f"grid, but got n_values={self.n_values}."
                )
        if self.fan_in_cap is not None and (
            isinstance(self.fan_in_cap, bool) or int(self.fan_in_cap) < 1
        ):
            raise ConfigError(
                f"fan_in_cap must be None or at least 1, but got fan_in_cap={self.fan_in_cap}."
            )
        if not 0.0 <= float(self.codebook_freeze) <= 1.0:
            raise ConfigError(
                "codebook_freeze must be a fraction in [0, 1], "
                f"but got codebook_freeze={self.codebook_freeze}."
            )
        for name in ("warmup_epochs", "finetune_epochs"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be non-negative, but got {getattr(self, name)}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, but got {self.batch_size}.")
        for name in ("lr", "finetune_lr", "codebook_lr"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ConfigError(f"{name} must be a positive number, but got {name}={value}.")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["network"] = self.network.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PipelineConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"pipeline keys must be among {', '.join(sorted(known))}, but got {unknown}."
            )
        values = dict(data)
        if "network" in values and not isinstance(values["network"], NetworkConfig):
            values["network"] = NetworkConfig.from_dict(dict(values["network"]))
        try:
            return cls(**values)
        except TypeError as exc:
            raise ConfigError(f"pipeline config is malformed: {exc}") from None


@dataclass
class PipelineResult:
    """What :func:`run_pipeline` produced.

    ``losses`` are the mean training losses per epoch, warm-up first (none when a warm start
    was given), then fine-tune. ``network`` is the architecture after pruning.
    """

    model: SpikingNetwork
    network: NetworkConfig
    val_accuracy: float
    test_accuracy: float
    warmup_val_accuracy: float
    activity: Activity
    val_activity: Activity
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0
    float_val_accuracy: float = math.nan
    """Validation accuracy of the same weights run as a float network (NaN when the network is
    float anyway); ``val_accuracy`` is the chip-exact one where the network has a chip neuron."""
    float_test_accuracy: float = math.nan
    val: EvalResult | None = None
    """The validation evaluation in full (standard error, per-sample results); ``test`` too."""
    test: EvalResult | None = None


def _check_data(cfg: PipelineConfig, data: Dataset) -> None:
    net = cfg.network
    if tuple(net.input_shape) != data.input_shape or net.n_classes != data.n_classes:
        raise ConfigError(
            f"network must match the data ({data.input_shape}, {data.n_classes} classes), "
            f"but got input_shape={net.input_shape}, n_classes={net.n_classes}."
        )


SCALE_LR_FACTOR = 0.1
"""The CAT grid steps learn ``log(scale)`` at this fraction of ``codebook_lr`` (0.1 x 0.02 = 0.2 %
relative change per step at most)."""


def coarse_grid_factor(bits: int) -> float:
    """Factor on the codebook and scale learning rates of a ``bits``-bit CAT quantizer:
    ``min(1, 2^(b-1) / 8)``, so 0.25 at 2 bits, 0.5 at 3, 1 from 4 bits up.

    Below 4 bits one grid step is half (b = 2) or a quarter (b = 3) of the grid's half-range: a
    value that crosses a rounding boundary doubles or halves its weights, and a change of the
    step moves the zero threshold of most weights at once. At the 4-bit rates the ternary
    fine-tune's loss rose between epochs and one seed in three ended 2 points lower; at these
    rates it falls every epoch (``docs/decisions.md``).
    """
    return min(1.0, 2.0 ** (bits - 1) / 8.0)


def finetune_optimizer(model: SpikingNetwork, cfg: PipelineConfig) -> torch.optim.Optimizer:
    """Adam with the latent weights/biases at ``finetune_lr`` and, per bit-width, CAT codebooks
    (in grid steps) at ``codebook_lr`` and their log grid steps at ``SCALE_LR_FACTOR *
    codebook_lr``, both times :func:`coarse_grid_factor` (frozen codebooks left out). After
    every step each CAT quantizer's :meth:`~ClusterQuantizer.clamp_and_reseed` clamps its
    codebook to the grid and re-seeds dead values."""
    quantizers = [
        layer.weight_transform
        for layer in model.weight_layers
        if isinstance(layer.weight_transform, ClusterQuantizer)
        and layer.weight_transform.codebook.requires_grad
    ]
    ids = {  # every quantizer's own parameters (codebooks, steps): never latent weights
        id(p)
        for layer in model.weight_layers
        if layer.weight_transform is not None
        for p in layer.weight_transform.parameters()
    }
    latent = [p for p in model.parameters() if id(p) not in ids and p.requires_grad]
    groups: list[dict[str, Any]] = [{"params": latent, "lr": cfg.finetune_lr}]
    for bits in sorted({q.bits for q in quantizers}):
        same = [q for q in quantizers if q.bits == bits]
        lr = cfg.codebook_lr * coarse_grid_factor(bits)
        groups.append({"params": [q.codebook for q in same], "lr": lr})
        # a recurrent weight shares its layer's step: each step once
        scales = list(
            {id(q.log_scale): q.log_scale for q in same if q.log_scale.requires_grad}.values()
        )
        if scales:
            groups.append({"params": scales, "lr": lr * SCALE_LR_FACTOR})
    opt = torch.optim.Adam(groups)
    if quantizers:

        def clamp_and_reseed_all(*_: Any) -> None:
            for q in quantizers:
                q.clamp_and_reseed()

        opt.register_step_post_hook(clamp_and_reseed_all)
    return opt


def attach_configured_quantizers(
    model: SpikingNetwork, cfg: PipelineConfig, method: str | None = None
) -> None:
    """Attach ``cfg``'s quantizers (``method``, default ``cfg.quantization``) to ``model``'s
    synaptic layers, with every codebook setting ``cfg`` carries."""
    attach_quantizers(
        model,
        cfg.quantization if method is None else method,
        n_values=cfg.n_values,
        bits=cfg.bits,
        scope=cfg.scope,
        zero_is_free=cfg.zero_is_free,
        init=cast(CodebookInit, cfg.codebook_init),
        symmetric=cfg.symmetric_grid,
        zero_fraction=cfg.zero_fraction,  # > 0 only with cat or kmeans (__post_init__)
    )


def warm_up(
    cfg: PipelineConfig, data: Dataset, *, device: torch.device | str = "cpu"
) -> tuple[SpikingNetwork, list[float]]:
    """Build the network from ``cfg.network`` and train it in float for ``warmup_epochs``."""
    _check_data(cfg, data)
    data = data.to(device)
    progress.phase("warm-up", cfg.warmup_epochs)
    return train_float(
        cfg.network,
        data.x_train,
        data.y_train,
        epochs=cfg.warmup_epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed if cfg.warmup_seed is None else cfg.warmup_seed,
        schedule=cfg.schedule,
        device=device,
    )


class WarmupStore(Protocol):
    """Where warm-ups can be shared (the search's run-folder cache)."""

    def get_or_train(
        self, cfg: PipelineConfig, train: Callable[[], SpikingNetwork]
    ) -> SpikingNetwork: ...


def run_pipeline(
    cfg: PipelineConfig,
    data: Dataset,
    *,
    device: torch.device | str = "cpu",
    stop_below: float | None = None,
    warm_start: SpikingNetwork | None = None,
    warmup_store: WarmupStore | None = None,
    ranking_only: bool = False,
) -> PipelineResult:
    """Float warm-up -> prune ``rho`` of the hidden neurons (scored on ``data.x_calib``) ->
    optional fan-in cap -> quantized fine-tune -> validation and test evaluation.

    Deterministic on CPU for a given ``cfg.seed``.

    Args:
        cfg: the pipeline settings.
        data: train/val/calib/test splits.
        device: where to train.
        stop_below: stop a hopeless candidate whose validation accuracy after warm-up is
            below this.
        warm_start: a float network already warmed up from ``cfg.network`` (e.g. by
            :func:`warm_up`, shared between methods); it is copied, not changed.
        warmup_store: when no ``warm_start`` is given, the warm-up comes from this store,
            which trains it (with :func:`warm_up`) only if no candidate before did; ``losses``
            then hold the fine-tune only.
        ranking_only: score validation only (test and float accuracies NaN, activity the
            validation one): what a lower rung of successive halving needs to rank
            candidates. Validation keeps its encoding draws: on digits, ranking on one draw
            lowered the halving search's hypervolume by 1.8 % (docs/benchmarks.md).

    Raises:
        CandidateStopped: the warm-up validation accuracy is below ``stop_below``.
        TrialFailedError: training diverged.
        ConfigError: the network does not match the data.
    """
    start = time.perf_counter()
    _check_data(cfg, data)
    data = data.to(device)
    if warm_start is None and warmup_store is not None:
        warm_start = warmup_store.get_or_train(cfg, lambda: warm_up(cfg, data, device=device)[0])
    if warm_start is None:
        model, losses = warm_up(cfg, data, device=device)
    else:
        if warm_start.config != cfg.network:
            raise ConfigError(
                "warm_start must be built from cfg.network, but got a network with "
                f"hidden_sizes={warm_start.config.hidden_sizes}."
            )
        model, losses = copy.deepcopy(warm_start).to(device), []
    progress.phase("evaluation")
    warm_val = evaluate(model, data.x_val, data.y_val, draws=1).accuracy  # a coarse check
    if stop_below is not None and warm_val < stop_below:
        raise CandidateStopped(warm_val, stop_below)
    progress.phase("pruning")
    if cfg.rho > 0:
        model = prune_neurons(
            model, cfg.rho, method=cfg.neuron_pruning, x=data.x_calib, y=data.y_calib, seed=cfg.seed
        )
    if cfg.fan_in_cap is not None:
        FisherWeightPruner(int(cfg.fan_in_cap), seed=cfg.seed).apply(
            model, data.x_calib, data.y_calib
        )
    if cfg.quantization in ("cat", "uniform"):
        attach_configured_quantizers(model, cfg)
    torch.manual_seed(cfg.seed + 1)
    progress.phase("fine-tune", cfg.finetune_epochs)
    opt = finetune_optimizer(model, cfg)
    steps = cfg.finetune_epochs * math.ceil(len(data.y_train) / cfg.batch_size)
    freeze_at = int(cfg.codebook_freeze * steps)
    done = [0]

    def count_and_freeze() -> None:
        done[0] += 1
        if done[0] == freeze_at:
            freeze_codebooks(model)

    if freeze_at == 0:  # the callback only runs after a step
        freeze_codebooks(model)
    losses += fit(
        model,
        data.x_train,
        data.y_train,
        epochs=cfg.finetune_epochs,
        batch_size=cfg.batch_size,
        optimizer=opt,
        seed=cfg.seed + 1,
        after_step=count_and_freeze,
        scheduler=lr_scheduler(opt, cfg.finetune_epochs, cfg.schedule),
    )
    freeze_codebooks(model, frozen=False)
    if cfg.quantization == "kmeans":
        attach_configured_quantizers(model, cfg, "kmeans")
    progress.phase("evaluation")
    # the score the search selects on gets several encoding draws; the reported-only scores
    # one (their standard error is then the binomial one, which counts the draw too)
    val = evaluate(model, data.x_val, data.y_val)
    # a lower rung of successive halving ranks on validation; nothing else is reported
    test = None if ranking_only else evaluate(model, data.x_test, data.y_test, draws=1)
    float_val = float_test = math.nan
    if model.chip_exact and not ranking_only:
        float_val = evaluate(model, data.x_val, data.y_val, exact=False, draws=1).accuracy
        float_test = evaluate(model, data.x_test, data.y_test, exact=False, draws=1).accuracy
    return PipelineResult(
        model=model.eval(),  # the network as evaluated (a quantizer's exact zero floor)
        network=model.config,
        val_accuracy=val.accuracy,
        test_accuracy=math.nan if test is None else test.accuracy,
        warmup_val_accuracy=warm_val,
        activity=val.activity if test is None else test.activity,
        val_activity=val.activity,
        losses=losses,
        seconds=time.perf_counter() - start,
        float_val_accuracy=float_val,
        float_test_accuracy=float_test,
        val=val,
        test=test,
    )


def freeze_codebooks(model: SpikingNetwork, *, frozen: bool = True) -> int:
    """Stop (or, with ``frozen=False``, restart) the learning of every CAT codebook and grid
    step of ``model``; the latent weights keep learning, straight through the now fixed
    values. Post-training k-means codebooks, which never learn, are left alone. Returns the
    number of codebooks changed."""
    changed = 0
    for layer in model.weight_layers:
        q = layer.weight_transform
        if isinstance(q, ClusterQuantizer) and q.learnable and q.codebook.requires_grad == frozen:
            q.codebook.requires_grad_(not frozen)
            q.log_scale.requires_grad_(not frozen)
            changed += 1
    return changed


def codebook_parameters(model: SpikingNetwork) -> list[torch.nn.Parameter]:
    """The learnable codebooks of a CAT-quantized network, input layer first."""
    return [
        layer.weight_transform.codebook
        for layer in model.weight_layers
        if isinstance(layer.weight_transform, ClusterQuantizer)
    ]
