"""Quantization methods by name, as a pipeline config or search space writes them."""

from __future__ import annotations

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
) -> list[BaseQuantizer]:
    """Set a fresh quantizer, initialised from the current weights, on every synaptic layer.

    ``"cat"`` attaches learnable :class:`ClusterQuantizer` codebooks, ``"kmeans"`` frozen ones,
    ``"uniform"`` a :class:`UniformQuantizer`; ``"none"`` removes any quantizer. ``init`` is
    the codebook initialisation of :class:`ClusterQuantizer`.

    Returns:
        The quantizers, input layer first (empty for ``"none"``).
    """
    check_quantization(method)
    quantizers: list[BaseQuantizer] = []
    for layer in model.synaptic_layers:
        w = layer.latent_weight
        q: BaseQuantizer | None
        if method == "none":
            q = None
        elif method == "uniform":
            q = UniformQuantizer(w, bits=bits, mask=layer.mask)
        else:
            q = ClusterQuantizer(
                w,
                n_values=n_values,
                bits=bits,
                scope=scope,
                zero_is_free=zero_is_free,
                mask=layer.mask,
                init=init,
                learnable=method == "cat",
            )
        if q is not None:
            q = q.to(w.device)
            quantizers.append(q)
        layer.weight_transform = q
    return quantizers
