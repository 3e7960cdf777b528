"""Surrogate gradients for the Heaviside spike function.

Each surrogate is a small frozen dataclass: ``derivative(x)`` is the pseudo-derivative used in
place of the Dirac delta, with ``x = v - threshold``. They are looked up by name in
:data:`SURROGATES`, which also lists the valid choices for search spaces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import torch

from spikefit_search._registry import Registry


class Surrogate(Protocol):
    @property
    def name(self) -> str: ...

    def derivative(self, x: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class FastSigmoid:
    """Fast sigmoid (SuperSpike): ``1 / (slope*|x| + 1)^2``.

    Zenke and Ganguli, "SuperSpike", Neural Computation 30(6), 2018. DOI 10.1162/neco_a_01086.
    ``slope=25`` matches snnTorch's default.
    """

    slope: float = 25.0
    name: str = "fast_sigmoid"

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 / (self.slope * x.abs() + 1.0).square()


@dataclass(frozen=True)
class ArcTan:
    """Arctangent: ``(alpha/2) / (1 + (pi/2 * alpha * x)^2)``.

    Fang et al., "Incorporating learnable membrane time constant...", ICCV 2021.
    DOI 10.1109/ICCV48922.2021.00266. ``alpha=2`` matches snnTorch and SpikingJelly.
    """

    alpha: float = 2.0
    name: str = "arctan"

    def derivative(self, x: torch.Tensor) -> torch.Tensor:
        return (self.alpha / 2.0) / (1.0 + (math.pi / 2.0 * self.alpha * x).square())


SURROGATES: Registry[Surrogate] = Registry("surrogate")
SURROGATES.add("fast_sigmoid", FastSigmoid())
SURROGATES.add("arctan", ArcTan())


class _Spike(torch.autograd.Function):
    """Heaviside forward, surrogate derivative backward (per-step path)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


def spike(x: torch.Tensor, surrogate: Surrogate) -> torch.Tensor:
    """Heaviside step of ``x`` (spike where ``x >= 0``) with the surrogate's gradient."""
    out: torch.Tensor = _Spike.apply(x, surrogate)
    return out
