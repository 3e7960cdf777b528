"""What a network needs from a chip, per synaptic layer: from a config or from trained weights.

The static and the measured check compute the same :class:`LayerUsage` and hand it to the same
constraint code, so they agree wherever the config tells the whole story (dense layers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    import torch

    from spikefit_search.hardware.profile import HardwareProfile
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
    """

    spec: LayerSpec
    synapses: int
    fan_in: int
    fan_out: int
    bits: int
    inputs_used: int
    bits_note: str = ""


def static_layer_usage(network: NetworkConfig, bits: int | None) -> list[LayerUsage]:
    """Dense usage of every layer of ``network`` at ``bits`` (None = float)."""
    width = FLOAT_BITS if bits is None else int(bits)
    return [
        LayerUsage(s, s.n_synapses, s.fan_in, s.fan_out, width, s.n_inputs)
        for s in network.layer_specs()
    ]


def _conv_fan_out(nonzero: torch.Tensor, stride: int) -> int:
    """Most kernel entries one input pixel meets: per input channel and stride phase."""
    best = 0
    for ry in range(min(stride, nonzero.shape[2])):
        for rx in range(min(stride, nonzero.shape[3])):
            phase = nonzero[:, :, ry::stride, rx::stride].sum(dim=(0, 2, 3))
            best = max(best, int(phase.max()))
    return best


def layer_bits(layer: SynapticLayer, weight: torch.Tensor) -> tuple[int, str]:
    """Bit-width of a layer from its ``weight_transform`` contract, verified on the weights.

    A quantized layer's transform has ``bits`` and ``scale``; every effective weight must equal
    ``scale * k`` with integer ``k`` in ``[-2^(b-1), 2^(b-1) - 1]``. Otherwise the layer counts
    as float (32 bits) and the note says why.
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
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if bool(((k < lo) | (k > hi)).any()):
        return FLOAT_BITS, f"(codes outside [{lo}, {hi}] for {bits} bits)"
    err = (w - k * scale).abs()
    if bool((err > REL_TOL * torch.clamp(w.abs(), min=scale)).any()):
        return FLOAT_BITS, f"(weights are not scale*k for {bits} bits)"
    return bits, ""


def measured_layer_usage(model: SpikingNetwork) -> list[LayerUsage]:
    """Usage of every layer from its effective weights (zeros are absent synapses)."""
    import torch

    out: list[LayerUsage] = []
    with torch.no_grad():
        for layer in model.synaptic_layers:
            spec = layer.spec
            w = layer.effective_weight().detach().cpu()
            nz = (w != 0).to(torch.int64)
            bits, note = layer_bits(layer, w)
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
            fan_in = int(per_neuron.max()) if per_neuron.numel() else 0
            out.append(LayerUsage(spec, synapses, fan_in, fan_out, bits, inputs_used, note))
    return out


# --- distinct weight values per scope -------------------------------------------------------


def _core_segments(specs: Sequence[LayerSpec], per_core: int) -> list[list[tuple[int, int, int]]]:
    """Pack neurons layer by layer, ``per_core`` at a time: per core, ``(layer, start, stop)``
    ranges of flat neuron indices (channel-major, as the chip would enumerate them)."""
    cores: list[list[tuple[int, int, int]]] = [[]]
    free = per_core
    for i, spec in enumerate(specs):
        start = 0
        while start < spec.n_neurons:
            if free == 0:
                cores.append([])
                free = per_core
            stop = min(spec.n_neurons, start + free)
            cores[-1].append((i, start, stop))
            free -= stop - start
            start = stop
    return [c for c in cores if c]


def static_unique_usage(
    profile: HardwareProfile,
    network: NetworkConfig,
    *,
    n_values: int | None,
    bits: int | None,
    scope: str = "layer",
    zero_code: bool = False,
) -> list[ConstraintUsage]:
    """Upper bound of distinct weight values per profile scope from the config alone.

    Args:
        n_values: codebook size ``M`` (non-zero learnable values), None = unconstrained.
        bits: weight bits, None = float.
        scope: the compression's codebook scope (``"layer"`` or ``"neuron"``).
        zero_code: the codebook also holds an exact zero (pruned synapses).
    """
    specs = network.layer_specs()
    nonzero_cap = math.inf if bits is None else 2 ** int(bits) - 1
    zero = 1 if zero_code and not profile.unique_weights.zero_is_free.value else 0

    def nonzero(weights: int, neurons: int) -> float:
        """Most distinct non-zero values among ``weights`` weights of ``neurons`` neurons."""
        per_book = (
            math.inf if n_values is None else n_values * (neurons if scope == "neuron" else 1)
        )
        return min(weights, per_book, nonzero_cap)

    def total(values: float, weights: int) -> int:
        return int(min(values + zero, weights))

    limit = profile.unique_weights.max.value
    target = profile.unique_weights.scope.value
    out: list[ConstraintUsage] = []
    if target == "layer":
        for s in specs:
            usage = total(nonzero(s.n_weights, s.out_channels), s.n_weights)
            out.append(ConstraintUsage("unique_weights", usage, limit, f"layer {s.index}"))
    elif target == "neuron":
        for s in specs:
            usage = total(nonzero(s.fan_in, 1), s.fan_in)
            where = f"layer {s.index} (every neuron)"
            out.append(ConstraintUsage("unique_weights", usage, limit, where))
    elif target == "core":
        per_core = profile.limit("neurons_per_core") or 1
        for c, segments in enumerate(_core_segments(specs, per_core)):
            values, weights = 0.0, 0
            for i, start, stop in segments:
                s = specs[i]
                positions = s.out_size[0] * s.out_size[1]
                channels = (stop - 1) // positions - start // positions + 1
                values += nonzero(channels * s.fan_in, channels)
                weights += channels * s.fan_in
            usage = total(min(values, nonzero_cap), weights)
            out.append(ConstraintUsage("unique_weights", usage, limit, f"core {c}"))
    else:
        values = min(sum(nonzero(s.n_weights, s.out_channels) for s in specs), nonzero_cap)
        usage = total(values, sum(s.n_weights for s in specs))
        out.append(ConstraintUsage("unique_weights", usage, limit, "chip"))
    return out


def _distinct(values: Any, zero_counts: bool) -> int:
    import torch

    uniq = torch.unique(values)
    if zero_counts:
        return int(uniq.numel())
    return int((uniq != 0).sum())


def measured_unique_usage(profile: HardwareProfile, model: SpikingNetwork) -> list[ConstraintUsage]:
    """Real distinct weight values per profile scope (zero counted unless ``zero_is_free``)."""
    import torch

    zero_counts = not profile.unique_weights.zero_is_free.value
    limit = profile.unique_weights.max.value
    target = profile.unique_weights.scope.value
    layers = model.synaptic_layers
    with torch.no_grad():
        weights = [layer.effective_weight().detach().cpu() for layer in layers]
    out: list[ConstraintUsage] = []
    if target == "layer":
        for layer, w in zip(layers, weights):
            usage = _distinct(w, zero_counts)
            out.append(ConstraintUsage("unique_weights", usage, limit, f"layer {layer.spec.index}"))
    elif target == "neuron":
        for layer, w in zip(layers, weights):
            rows = w.reshape(w.shape[0], -1).sort(dim=1).values
            distinct = 1 + (rows[:, 1:] != rows[:, :-1]).sum(dim=1)
            if not zero_counts:
                distinct = distinct - (rows == 0).any(dim=1).to(distinct.dtype)
            worst = int(distinct.max()) if distinct.numel() else 0
            where = f"layer {layer.spec.index} (neuron {int(distinct.argmax())})"
            out.append(ConstraintUsage("unique_weights", worst, limit, where))
    elif target == "core":
        per_core = profile.limit("neurons_per_core") or 1
        specs = [layer.spec for layer in layers]
        for c, segments in enumerate(_core_segments(specs, per_core)):
            parts = []
            for i, start, stop in segments:
                s = specs[i]
                positions = s.out_size[0] * s.out_size[1]
                parts.append(weights[i][start // positions : (stop - 1) // positions + 1].flatten())
            usage = _distinct(torch.cat(parts), zero_counts)
            out.append(ConstraintUsage("unique_weights", usage, limit, f"core {c}"))
    else:
        usage = _distinct(torch.cat([w.flatten() for w in weights]), zero_counts)
        out.append(ConstraintUsage("unique_weights", usage, limit, "chip"))
    return out
