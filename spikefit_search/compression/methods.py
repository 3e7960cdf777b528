"""Quantization methods by name, as a pipeline config or search space writes them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spikefit_search.compression._base import BaseQuantizer
from spikefit_search.compression.quantization import (
    ClusterQuantizer,
    CodebookInit,
    UniformQuantizer,
)
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import SpikingNetwork

QUANTIZATION_METHODS: dict[str, str] = {
    "cat": "clusterization-aware training: learnable M-value codebook on a b-bit grid",
    "uniform": "uniform quantization-aware training on the b-bit grid (no codebook)",
    "kmeans": "post-training 1-D k-means to M values on the b-bit grid (no CAT fine-tune)",
    "none": "float weights",
}


def check_quantization(method: str) -> str:
    if method not in QUANTIZATION_METHODS:
        raise ConfigError(
            f"quantization must be one of {', '.join(sorted(QUANTIZATION_METHODS))}, "
            f"but got quantization={method!r}."
        )
    return method


def attach_quantizers(
    model: SpikingNetwork,
    method: str,
    *,
    n_values: int,
    bits: int,
    scope: str = "layer",
    zero_is_free: bool = False,
    init: CodebookInit = "kmeans",
    symmetric: bool = False,
    zero_fraction: float = 0.0,
) -> list[BaseQuantizer]:
    """Set a fresh quantizer, initialised from the current weights, on every synaptic layer.

    ``"cat"`` attaches learnable :class:`ClusterQuantizer` codebooks, ``"kmeans"`` frozen ones,
    ``"uniform"`` a :class:`UniformQuantizer`; ``"none"`` removes any quantizer. ``init`` is
    the codebook initialisation of :class:`ClusterQuantizer`; ``symmetric`` leaves
    ``-2^(b-1)`` out of every quantizer's grid (a chip whose weight range is symmetric);
    ``zero_fraction`` is the least share of every scope's synapses sent to the free zero
    (``cat`` and ``kmeans`` with ``zero_is_free``; see :class:`ClusterQuantizer`).

    Returns:
        The quantizers, input layer first (empty for ``"none"``).
    """
    check_quantization(method)
    quantizers: list[BaseQuantizer] = []
    kw = dict(
        n_values=n_values,
        bits=bits,
        scope=scope,
        zero_is_free=zero_is_free,
        init=init,
        symmetric=symmetric,
        zero_fraction=zero_fraction,
    )
    for layer in model.synaptic_layers:
        rec = layer.recurrent
        joint = None if rec is None else (rec.latent_weight, rec.mask)
        q = _quantizer(method, layer.latent_weight, layer.mask, joint=joint, **kw)  # type: ignore[arg-type]
        rq = None
        if rec is not None and q is not None:
            # the recurrent weight feeds the same neurons: it shares the layer's grid step, so
            # both reach the neurons in one integer unit (a chip sums them in one
            # accumulator); a codebook's step is the coarser of the two fitted ones, so
            # neither matrix is clipped
            rq = _quantizer(method, rec.latent_weight, rec.mask, joint=None, **kw)  # type: ignore[arg-type]
            assert rq is not None
            step = max(float(q.scale), float(rq.scale))
            if isinstance(q, ClusterQuantizer) and isinstance(rq, ClusterQuantizer):
                if float(q.scale) != step:
                    q = _quantizer(method, layer.latent_weight, layer.mask, scale=step, **kw)  # type: ignore[arg-type]
                if float(rq.scale) != step:
                    rq = _quantizer(method, rec.latent_weight, rec.mask, scale=step, **kw)  # type: ignore[arg-type]
                assert isinstance(q, ClusterQuantizer) and isinstance(rq, ClusterQuantizer)
                rq.log_scale = q.log_scale  # one shared parameter
            else:
                rq.scale = q.scale.clone()  # uniform: q's step was fitted to both
        layer.weight_transform = q
        if q is not None:
            quantizers.append(q)
        if rec is not None:
            rec.weight_transform = rq
            if rq is not None:
                quantizers.append(rq)
    return quantizers


def _quantizer(
    method: str,
    w: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    n_values: int,
    bits: int,
    scope: str,
    zero_is_free: bool,
    init: CodebookInit,
    symmetric: bool,
    zero_fraction: float,
    scale: float | None = None,
    joint: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> BaseQuantizer | None:
    """One quantizer for weight ``w``, on grid step ``scale`` if given; ``joint``: a recurrent
    weight the uniform quantizer's step is fitted to as well."""
    q: BaseQuantizer | None
    if method == "none":
        return None
    if method == "uniform":
        if joint is not None:
            rec_w, rec_mask = joint
            both_mask = None
            if mask is not None or rec_mask is not None:
                m1 = torch.ones_like(w) if mask is None else mask
                m2 = torch.ones_like(rec_w) if rec_mask is None else rec_mask
                both_mask = torch.cat([m1.flatten(), m2.flatten()])
            both = torch.cat([w.detach().flatten(), rec_w.detach().flatten()])
            q = UniformQuantizer(both, bits=bits, mask=both_mask, symmetric=symmetric)
        else:
            q = UniformQuantizer(w, bits=bits, mask=mask, symmetric=symmetric)
        if scale is not None:
            q.scale = torch.tensor(scale)
    else:
        q = ClusterQuantizer(
            w,
            n_values=n_values,
            bits=bits,
            scope=scope,
            zero_is_free=zero_is_free,
            mask=mask,
            init=init,
            learnable=method == "cat",
            symmetric=symmetric,
            zero_fraction=zero_fraction,
            scale=scale,
        )
    return q.to(w.device)


@dataclass(frozen=True)
class CodebookUsage:
    """How many weight values a quantized network really uses, and how far CAT moved them.

    Attributes:
        effective_values: mean over every scope (layer, or output neuron) of every quantized
            layer of the number of distinct non-zero weights in use; compare with the
            requested ``M`` (zero, when it is one of the ``M``, is not counted).
        effective_values_min: the fewest distinct non-zero weights of any scope.
        drift: mean distance of the CAT codebook values from their initial values, in grid
            steps of the final scale; NaN without CAT quantizers.
    """

    effective_values: float
    effective_values_min: int
    drift: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "effective_values": self.effective_values,
            "effective_values_min": self.effective_values_min,
            "codebook_drift": self.drift,
        }


def codebook_usage(model: SpikingNetwork) -> CodebookUsage | None:
    """Count the distinct non-zero weights per scope of a quantized network (None when no
    layer has a quantizer)."""
    counts: list[int] = []
    drifts: list[float] = []
    with torch.no_grad():
        for layer in model.weight_layers:
            q = layer.weight_transform
            if not isinstance(q, BaseQuantizer):
                continue
            w = layer.effective_weight().detach()
            rows = w.reshape(w.shape[0], -1) if q.scope == "neuron" else w.reshape(1, -1)
            srt = torch.sort(torch.where(rows == 0, torch.nan, rows), dim=1).values
            new = torch.ones_like(srt, dtype=torch.bool)
            new[:, 1:] = srt[:, 1:] != srt[:, :-1]
            counts += (new & ~srt.isnan()).sum(dim=1).tolist()
            if isinstance(q, ClusterQuantizer):
                drifts.append(q.drift())
    if not counts:
        return None
    return CodebookUsage(
        effective_values=sum(counts) / len(counts),
        effective_values_min=min(counts),
        drift=sum(drifts) / len(drifts) if drifts else math.nan,
    )
