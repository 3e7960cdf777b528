"""Quantizers: the learnable codebook of CAT and uniform fixed-point QAT."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from spikefit_search.compression._base import (
    BaseQuantizer,
    check_bits,
    check_n_values,
    check_scope,
)
from spikefit_search.compression.kmeans import kmeans_1d, nearest_index
from spikefit_search.exceptions import ConfigError

CodebookInit = Literal["kmeans", "quantile", "kmeans_zero"]
CODEBOOK_INITS = ("kmeans", "kmeans_zero", "quantile")


def _max_abs(weight: torch.Tensor, mask: torch.Tensor | None) -> float:
    w = weight.detach()
    if mask is not None:
        w = w * mask
    return float(w.abs().max()) if w.numel() else 0.0


class ClusterQuantizer(BaseQuantizer):
    """Clusterization-aware training (CAT): a learnable codebook of ``M`` fixed-point values.

    Every weight is replaced by its nearest codebook value (re-assigned on every call). The
    codebook values are snapped to the signed ``b``-bit grid ``scale * k``; the scale is fixed at
    construction as ``min(max|w|, 2 max|c|) / (2^(b-1) - 1)`` with ``c`` the initial codebook.
    Gradients reach the latent weights straight through, and each codebook value receives the
    sum of its members' gradients, so the optimizer moves the values themselves (give
    :attr:`codebook` its own parameter group).

    Args:
        weight: the layer's latent weight, ``(out, ...)``; initialises scale and codebook.
        n_values: learnable values ``M`` per scope, at least 2.
        bits: fixed-point bits ``b`` in 2..8.
        scope: ``"layer"`` (one codebook) or ``"neuron"`` (one per output neuron/channel).
        zero_is_free: keep a fixed zero code beside the ``M`` learnable values, so clustering
            also removes synapses; when False, zero is one of the ``M`` values if used at all.
        mask: 0/1 tensor of live synapses; pruned ones are left out of the initialisation.
        init: ``"kmeans"`` (1-D k-means started at quantiles), ``"quantile"``, or
            ``"kmeans_zero"``: one of the ``M`` values starts at exactly 0 and the other ``M-1``
            come from k-means around it (without ``zero_is_free``, zero then counts toward
            ``M`` but is available from the start).
        learnable: False freezes the codebook (post-training k-means).

    Shape:
        weight: any ``(out, ...)``; output: the same.

    Example:
        >>> w = torch.randn(8, 16)
        >>> q = ClusterQuantizer(w, n_values=3, bits=4)
        >>> len(torch.unique(q(w))) <= 3
        True
    """

    def __init__(
        self,
        weight: torch.Tensor,
        *,
        n_values: int,
        bits: int,
        scope: str = "layer",
        zero_is_free: bool = False,
        mask: torch.Tensor | None = None,
        init: CodebookInit = "kmeans",
        learnable: bool = True,
    ) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.n_values = check_n_values(n_values)
        self.scope = check_scope(scope)
        self.zero_is_free = bool(zero_is_free)
        grid = 2**bits - (1 if zero_is_free else 0)
        if n_values > grid:
            raise ConfigError(
                f"n_values must be at most the {grid} levels of a {bits}-bit grid"
                f"{' besides the free zero' if zero_is_free else ''}, but got n_values={n_values}."
            )
        if init not in CODEBOOK_INITS:
            raise ConfigError(
                f"init must be one of {', '.join(CODEBOOK_INITS)}, but got init={init!r}."
            )
        g = self.groups(weight)
        valid = None if mask is None else mask.detach().reshape(g, -1).bool()
        with_zero = init == "kmeans_zero" and not self.zero_is_free
        centers = kmeans_1d(
            weight.detach().reshape(g, -1),
            n_values - 1 if with_zero else n_values,
            valid=valid,
            fixed_zero=self.zero_is_free or with_zero,
            iterations=0 if init == "quantile" else 25,
        )
        if with_zero:
            centers = torch.cat([centers.new_zeros(g, 1), centers], dim=1)
        # the grid spans the weights, but at most twice the largest initial codebook value: with
        # heavy-tailed weights, max|w| alone makes the step so coarse that small codebooks
        # (M = 2) snap to zero
        top = min(_max_abs(weight, mask), 2.0 * float(centers.abs().max()))
        scale = top / self.k_max if top > 0 else 1.0
        self.register_buffer("scale", torch.tensor(scale, dtype=weight.dtype))
        self.codebook = nn.Parameter(centers.to(weight.dtype), requires_grad=learnable)

    def integer_values(self) -> torch.Tensor:
        """The learnable values as integers ``k``: ``(groups, M)`` int64."""
        k = torch.round(self.codebook.detach() / self.scale).clamp_(self.k_min, self.k_max)
        return k.long()

    def values(self) -> torch.Tensor:
        """Snapped codebook ``scale * k``, ``(groups, M)``, straight-through to the codebook."""
        k = torch.round(self.codebook.detach() / self.scale).clamp_(self.k_min, self.k_max)
        snapped = k * self.scale
        return snapped + (self.codebook - self.codebook.detach())

    def _table(self) -> torch.Tensor:
        q = self.values()
        if self.zero_is_free:
            q = torch.cat([q.new_zeros(q.shape[0], 1), q], dim=1)
        return q

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        table = self._table()
        flat = weight.reshape(table.shape[0], -1)
        idx = nearest_index(flat.detach(), table.detach())
        out = torch.gather(table, 1, idx) + (flat - flat.detach())
        return out.reshape(weight.shape)

    def levels(self) -> torch.Tensor:
        k = self.integer_values()
        if self.zero_is_free:
            k = torch.cat([k.new_zeros(k.shape[0], 1), k], dim=1)
        return k

    def codes(self, weight: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            table = self._table()
            idx = nearest_index(weight.reshape(table.shape[0], -1), table)
        return idx.reshape(weight.shape)

    def extra_repr(self) -> str:
        return (
            f"n_values={self.n_values}, bits={self.bits}, scope={self.scope!r}, "
            f"zero_is_free={self.zero_is_free}"
        )


class UniformQuantizer(BaseQuantizer):
    """Uniform quantization-aware training: round to the signed ``b``-bit grid ``scale * k``.

    The baseline without a codebook: all ``2^b`` levels (zero included) are available, the
    per-layer scale is fixed at construction to the one that minimises the squared rounding
    error of the initial weights, and gradients pass straight through the rounding.

    Args:
        weight: the latent weight, sets the scale.
        bits: bit-width in 2..8.
        mask: 0/1 tensor of live synapses, left out of the scale fit.

    Example:
        >>> w = torch.randn(8, 16)
        >>> len(torch.unique(UniformQuantizer(w, bits=2)(w))) <= 4
        True
    """

    def __init__(
        self, weight: torch.Tensor, *, bits: int, mask: torch.Tensor | None = None
    ) -> None:
        super().__init__()
        self.bits = check_bits(bits)
        self.n_values = 2**bits
        self.scope = "layer"
        self.zero_is_free = False
        self.register_buffer("scale", torch.tensor(self._fit_scale(weight, mask)))

    def _fit_scale(self, weight: torch.Tensor, mask: torch.Tensor | None) -> float:
        w = weight.detach().flatten()
        if mask is not None:
            w = w[mask.detach().flatten() != 0]
        top = float(w.abs().max()) if w.numel() else 0.0
        if top == 0.0:
            return 1.0
        candidates = top * torch.linspace(0.02, 1.0, 50, dtype=w.dtype) / self.k_max
        errors = [
            float(((torch.round(w / s).clamp(self.k_min, self.k_max) * s - w) ** 2).sum())
            for s in candidates
        ]
        return float(candidates[int(torch.tensor(errors).argmin())])

    def _k(self, weight: torch.Tensor) -> torch.Tensor:
        return torch.round(weight.detach() / self.scale).clamp_(self.k_min, self.k_max)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return self._k(weight) * self.scale + (weight - weight.detach())

    def levels(self) -> torch.Tensor:
        return torch.arange(self.k_min, self.k_max + 1, device=self.scale.device)[None]

    def codes(self, weight: torch.Tensor) -> torch.Tensor:
        return (self._k(weight) - self.k_min).long()

    def extra_repr(self) -> str:
        return f"bits={self.bits}"
