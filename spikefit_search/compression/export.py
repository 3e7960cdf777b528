"""Integer export of a quantized layer: codes, an integer codebook and one scale."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spikefit_search._modes import eval_mode
from spikefit_search.compression._base import BaseQuantizer
from spikefit_search.exceptions import ConfigError
from spikefit_search.snn import SynapticLayer


@dataclass(frozen=True)
class IntegerWeights:
    """A layer's weights as a chip stores them.

    ``weight = scale * codebook[group, codes]``, and 0 where ``codes == -1`` (pruned synapse).

    Attributes:
        codes: int64, shaped like the weight; index into the scope's row of ``codebook``, or -1.
        codebook: int64 ``(groups, n_levels)``; integer levels ``k`` in ``[-2^(b-1), 2^(b-1)-1]``.
            Row ``g`` belongs to output neuron ``g`` when ``scope == "neuron"``, else one row.
        scale: the layer's fixed-point step (float32 0-dim tensor).
        bits: signed bit-width.
        scope: ``"layer"`` or ``"neuron"``.
        zero_is_free: column 0 of ``codebook`` is the fixed zero code.
    """

    codes: torch.Tensor
    codebook: torch.Tensor
    scale: torch.Tensor
    bits: int
    scope: str
    zero_is_free: bool

    def integer_weights(self) -> torch.Tensor:
        """``k`` of every synapse (0 where pruned), int64, shaped like the weight."""
        g = self.codebook.shape[0]
        flat = self.codes.reshape(g, -1)
        k = torch.gather(self.codebook, 1, flat.clamp_min(0))
        k = torch.where(flat < 0, torch.zeros_like(k), k)
        return k.reshape(self.codes.shape)

    def weights(self) -> torch.Tensor:
        """The float weights the network evaluates with, exactly."""
        g = self.codebook.shape[0]
        flat = self.codes.reshape(g, -1)
        values = self.codebook.to(self.scale.dtype) * self.scale
        w = torch.gather(values, 1, flat.clamp_min(0))
        w = torch.where(flat < 0, torch.zeros_like(w), w)
        return w.reshape(self.codes.shape)


def integer_export(layer: SynapticLayer) -> IntegerWeights:
    """Export a quantized layer as integers.

    Raises:
        ConfigError: the layer has no quantizer as its ``weight_transform``.
    """
    quantizer = layer.weight_transform
    if not isinstance(quantizer, BaseQuantizer):
        raise ConfigError(
            "integer_export needs a layer quantized by a BaseQuantizer, but got "
            f"weight_transform={type(quantizer).__name__}."
        )
    with eval_mode(quantizer), torch.no_grad():  # the codes the network evaluates with
        w = layer.latent_weight.detach()
        if layer.mask is not None:
            w = w * layer.mask
        codes = quantizer.codes(w)
        if layer.mask is not None:
            codes = torch.where(layer.mask == 0, torch.full_like(codes, -1), codes)
        return IntegerWeights(
            codes=codes,
            codebook=quantizer.levels().clone(),
            scale=quantizer.scale.detach().clone(),
            bits=quantizer.bits,
            scope=quantizer.scope,
            zero_is_free=quantizer.zero_is_free,
        )
