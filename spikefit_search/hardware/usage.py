"""What a network needs from a chip, per synaptic layer: from a config or from trained weights.

The static and the measured check compute the same :class:`LayerUsage` and hand it to the same
constraint code, so they agree wherever the config tells the whole story (dense layers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    import torch

    from spikefit_search.snn.config import LayerSpec, NetworkConfig
    from spikefit_search.snn.network import SpikingNetwork, SynapticLayer

FLOAT_BITS = 32
"""Bit-width charged to a layer whose weights are plain floats."""
REL_TOL = 1e-6
"""Relative tolerance when checking that a weight equals ``scale * k``."""


@dataclass(frozen=True)
class LayerUsage:
    """Resources one synaptic layer needs.

    Args:
        spec: the layer geometry.
        synapses: non-zero connections (a conv kernel entry counts once per output position).
        fan_in: most non-zero synapses into one neuron.
        fan_out: most non-zero synapses out of one input.
        bits: weight bit-width (32 for float weights).
        inputs_used: inputs that drive at least one non-zero synapse.
        bits_note: why ``bits`` is what it is when the declared width did not hold.
        weight: the effective weight (measured check only; None for a config), for mapping
            models that need the connectivity itself (destinations, axon types).
        neuron_values: most distinct non-zero values into one neuron (a bound from a config).
        layer_values: most distinct non-zero values in the layer (a bound from a config).
        rec_synapses: non-zero recurrent synapses of a recurrent layer (also counted in
            ``synapses`` and, per neuron, in ``fan_in``).
        rec_fan_out: most recurrent synapses out of one of the layer's neurons (to its peers).
        rec_weight: the effective recurrent weight (measured check only).
    """

    spec: LayerSpec
    synapses: int
    fan_in: int
    fan_out: int
    bits: int
    inputs_used: int
    bits_note: str = ""
    weight: torch.Tensor | None = field(default=None, compare=False, repr=False)
    neuron_values: float = math.inf
    layer_values: float = math.inf
    rec_synapses: int = 0
    rec_fan_out: int = 0
    rec_weight: torch.Tensor | None = field(default=None, compare=False, repr=False)


def static_layer_usage(
    network: NetworkConfig,
    bits: int | None,
    *,
    fan_in_cap: int | None = None,
    n_values: int | None = None,
    scope: str = "layer",
    symmetric: bool = False,
) -> list[LayerUsage]:
    """Dense usage of every layer of ``network`` at ``bits`` (None = float).

    With ``fan_in_cap`` (Fisher synapse pruning keeps at most that many synapses into a
    neuron), fan-in and synapses are capped; fan-out and inputs stay dense (upper bounds).
    ``n_values`` and ``scope`` (the codebook) bound the distinct values per neuron and layer,
    as do the grid's non-zero levels (one fewer on a ``symmetric`` grid).
    """
    width = FLOAT_BITS if bits is None else int(bits)
    grid = math.inf if bits is None else nonzero_levels(int(bits), symmetric=symmetric)
    book = math.inf if n_values is None else n_values
    out = []
    for s in network.layer_specs():
        fan_in = s.fan_in if fan_in_cap is None else min(s.fan_in, int(fan_in_cap))
        synapses = s.n_synapses if fan_in == s.fan_in else s.n_neurons * fan_in
        per_layer = book * (s.out_channels if scope == "neuron" else 1)
        n_rec = s.out_channels if s.recurrent else 0
        out.append(
            LayerUsage(
                s,
                synapses,
                fan_in,
                s.fan_out,
                width,
                s.n_inputs,
                neuron_values=min(book, grid, fan_in),
                layer_values=min(per_layer, grid, s.n_weights),
                rec_synapses=n_rec * min(n_rec, fan_in),
                rec_fan_out=n_rec,
            )
        )
    return out


def _conv_fan_out(nonzero: torch.Tensor, stride: int) -> int:
    """Most kernel entries one input pixel meets: per input channel and stride phase."""
    best = 0
    for ry in range(min(stride, nonzero.shape[2])):
        for rx in range(min(stride, nonzero.shape[3])):
            phase = nonzero[:, :, ry::stride, rx::stride].sum(dim=(0, 2, 3))
            best = max(best, int(phase.max()))
    return best


def nonzero_levels(bits: int, *, symmetric: bool = False) -> int:
    """Non-zero levels of the signed ``bits``-bit grid: ``2^b - 1``, one fewer when the grid is
    symmetric (no ``-2^(b-1)``)."""
    return 2**bits - 1 - (1 if symmetric else 0)


def layer_bits(
    layer: SynapticLayer, weight: torch.Tensor, *, symmetric: bool = False
) -> tuple[int, str]:
    """Bit-width of a layer from its ``weight_transform`` contract, verified on the weights.

    A quantized layer's transform has ``bits`` and ``scale``; every effective weight must equal
    ``scale * k`` with integer ``k`` in ``[-2^(b-1), 2^(b-1) - 1]``, or in
    ``[-(2^(b-1) - 1), 2^(b-1) - 1]`` when the chip's grid is ``symmetric``. Otherwise the layer
    counts as float (32 bits) and the note says why.
    """
    import torch

    transform = layer.weight_transform
    bits = getattr(transform, "bits", None) if transform is not None else None
    if bits is None:
        return FLOAT_BITS, ""
    bits = int(bits)
    scale = float(torch.as_tensor(getattr(transform, "scale", 0.0)).detach().reshape(-1)[0])
    if scale <= 0:
        return FLOAT_BITS, f"(scale must be positive, but got {scale:g})"
    w = weight.double()
    k = torch.round(w / scale)
    hi = 2 ** (bits - 1) - 1
    lo = -hi if symmetric else -hi - 1
    if bool(((k < lo) | (k > hi)).any()):
        grid = " on a symmetric grid" if symmetric else ""
        return FLOAT_BITS, f"(codes outside [{lo}, {hi}] for {bits} bits{grid})"
    err = (w - k * scale).abs()
    if bool((err > REL_TOL * torch.clamp(w.abs(), min=scale)).any()):
        return FLOAT_BITS, f"(weights are not scale*k for {bits} bits)"
    return bits, ""


def measured_layer_usage(
    model: SpikingNetwork, *, symmetric: bool | Callable[[int], bool] = False
) -> list[LayerUsage]:
    """Usage of every layer from its effective weights (zeros are absent synapses); codes are
    verified against a ``symmetric`` grid (see :func:`layer_bits`): always, or, given a function
    of a layer's bits, where it says so (:meth:`HardwareProfile.symmetric_at`)."""
    import torch

    out: list[LayerUsage] = []
    with torch.no_grad():
        for layer in model.synaptic_layers:
            spec = layer.spec
            w = layer.effective_weight().detach().cpu()
            nz = (w != 0).to(torch.int64)
            at = symmetric
            if not isinstance(at, bool):  # the chip's rule for the layer's declared bits
                declared = getattr(layer.weight_transform, "bits", None)
                at = declared is not None and at(int(declared))
            bits, note = layer_bits(layer, w, symmetric=at)
            if spec.kind == "conv":
                per_neuron = nz.sum(dim=(1, 2, 3))
                positions = spec.out_size[0] * spec.out_size[1]
                synapses = int(per_neuron.sum()) * positions
                fan_out = _conv_fan_out(nz, spec.stride)
                used_channels = int((nz.sum(dim=(0, 2, 3)) > 0).sum())
                inputs_used = used_channels * spec.in_size[0] * spec.in_size[1]
            else:
                per_neuron = nz.sum(dim=1)
                synapses = int(per_neuron.sum())
                fan_out = int(nz.sum(dim=0).max()) if nz.numel() else 0
                inputs_used = int((nz.sum(dim=0) > 0).sum())
            rec_w = None
            rec_synapses = rec_fan_out = 0
            if layer.recurrent is not None:  # the layer's own spikes: more synapses per neuron
                rec_w = layer.recurrent.effective_weight().detach().cpu()
                rec_nz = (rec_w != 0).to(torch.int64)
                rec_bits, rec_note = layer_bits(layer.recurrent, rec_w, symmetric=at)
                if rec_bits > bits:
                    bits, note = rec_bits, f"recurrent weight {rec_note}".strip()
                per_neuron = per_neuron + rec_nz.sum(dim=1)
                rec_synapses = int(rec_nz.sum())
                rec_fan_out = int(rec_nz.sum(dim=0).max()) if rec_nz.numel() else 0
                synapses += rec_synapses
            fan_in = int(per_neuron.max()) if per_neuron.numel() else 0
            out.append(
                LayerUsage(
                    spec,
                    synapses,
                    fan_in,
                    fan_out,
                    bits,
                    inputs_used,
                    note,
                    w,
                    rec_synapses=rec_synapses,
                    rec_fan_out=rec_fan_out,
                    rec_weight=rec_w,
                )
            )
    return out
