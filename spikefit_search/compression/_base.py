"""Abstract bases of the compression plug-ins: quantizers and weight pruners."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

import torch
from torch import nn

from spikefit_search.exceptions import ConfigError

if TYPE_CHECKING:
    from spikefit_search.snn import SpikingNetwork

SCOPES = ("layer", "neuron")


class BaseQuantizer(nn.Module, abc.ABC):
    """Maps a layer's latent weight to the weight the layer computes with.

    Set as ``SynapticLayer.weight_transform``. Every output weight is ``scale * k`` with an
    integer ``k`` in ``[k_min, k_max]``: ``[-2^(bits-1), 2^(bits-1) - 1]``, or
    ``[-(2^(bits-1) - 1), 2^(bits-1) - 1]`` on a ``symmetric`` grid; within one scope (the
    whole layer, or one output neuron) at most ``n_values`` distinct values are used, not
    counting zero when ``zero_is_free``. The hardware checker reads these attributes.

    Attributes:
        bits: signed fixed-point bit-width ``b``.
        n_values: distinct values ``M`` allowed per scope.
        scope: ``"layer"`` or ``"neuron"`` (per output neuron / output channel).
        zero_is_free: zero is a fixed extra level that does not count toward ``n_values``.
        symmetric: the grid leaves out ``-2^(bits-1)`` (a chip whose range is symmetric around
            zero, e.g. SpiNNaker 2's [-15, 15] at 5 bits).
        scale: one fixed-point step per layer, a 0-dim tensor buffer.
    """

    bits: int
    n_values: int
    scope: str
    zero_is_free: bool
    scale: torch.Tensor
    symmetric: bool = False

    @property
    def k_min(self) -> int:
        return grid_range(self.bits, symmetric=self.symmetric)[0]

    @property
    def k_max(self) -> int:
        return grid_range(self.bits, symmetric=self.symmetric)[1]

    @abc.abstractmethod
    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        """Quantized weight, same shape as ``weight``, straight-through gradients."""

    @abc.abstractmethod
    def levels(self) -> torch.Tensor:
        """Integer levels ``k`` of every scope: ``(groups, n_levels)`` int64."""

    @abc.abstractmethod
    def codes(self, weight: torch.Tensor) -> torch.Tensor:
        """Index into :meth:`levels` of every weight (row = scope group), int64, weight-shaped."""

    def groups(self, weight: torch.Tensor) -> int:
        """Number of scopes: 1 per layer, or one per output neuron."""
        return int(weight.shape[0]) if self.scope == "neuron" else 1


class BaseWeightPruner(abc.ABC):
    """Removes individual synapses by setting ``SynapticLayer.mask`` (weights stay in place)."""

    @abc.abstractmethod
    def apply(self, model: SpikingNetwork, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        """Mask synapses of ``model`` in place, scored on ``(x, y)``; returns the masks."""


def grid_range(bits: int, *, symmetric: bool = False) -> tuple[int, int]:
    """Smallest and largest integer code ``k`` of the signed ``bits``-bit grid: two's complement
    ``(-2^(b-1), 2^(b-1) - 1)``, or ``(-(2^(b-1) - 1), 2^(b-1) - 1)`` when ``symmetric``.

    Example:
        >>> grid_range(5), grid_range(5, symmetric=True)
        ((-16, 15), (-15, 15))
    """
    top = 2 ** (bits - 1) - 1
    return (-top if symmetric else -top - 1), top


def grid_levels(bits: int, *, symmetric: bool = False, zero_is_free: bool = False) -> int:
    """Values a codebook can take on the ``bits``-bit grid: every level, less the one a
    symmetric grid leaves out, less zero when zero is a free extra code beside them.

    Example:
        >>> grid_levels(5), grid_levels(5, symmetric=True), grid_levels(5, zero_is_free=True)
        (32, 31, 31)
    """
    return 2**bits - (1 if symmetric else 0) - (1 if zero_is_free else 0)


def check_bits(bits: int) -> int:
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits must be an int, but got bits={bits!r}.")
    if not 2 <= bits <= 8:
        raise ConfigError(f"bits must be in 2..8, but got bits={bits}.")
    return bits


def check_n_values(n_values: int) -> int:
    if isinstance(n_values, bool) or not isinstance(n_values, int):
        raise TypeError(f"n_values must be an int, but got n_values={n_values!r}.")
    if n_values < 2:
        raise ConfigError(f"n_values must be at least 2, but got n_values={n_values}.")
    return n_values


def check_scope(scope: str) -> str:
    if scope not in SCOPES:
        raise ConfigError(f"scope must be one of {', '.join(SCOPES)}, but got scope={scope!r}.")
    return scope


def _check_fraction(name: str, value: float) -> float:
    """``value`` as a float in [0, 1) (NaN fails too), refused in one line naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, but got {name}={value!r}.")
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1), but got {name}={value}.")
    return float(value)


def check_zero_fraction(zero_fraction: float, *, zero_is_free: bool) -> float:
    zero_fraction = _check_fraction("zero_fraction", zero_fraction)
    if zero_fraction > 0 and not zero_is_free:
        raise ConfigError(
            "zero_fraction needs the free zero code (zero_is_free), "
            f"but got zero_fraction={zero_fraction} without it."
        )
    return zero_fraction


def check_rho(rho: float) -> float:
    return _check_fraction("rho", rho)
