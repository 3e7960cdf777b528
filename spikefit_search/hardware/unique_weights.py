"""Distinct weight values per the profile's scope (``unique_weights``): a bound from a config,
or counted on trained weights."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.mapping.packing import core_layout
from spikefit_search.hardware.profile import HardwareProfile
from spikefit_search.hardware.result import ConstraintUsage
from spikefit_search.hardware.usage import nonzero_levels

if TYPE_CHECKING:
    from spikefit_search.snn.config import NetworkConfig
    from spikefit_search.snn.network import SpikingNetwork


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

    Every layer has its own scale, so a layer holds at most ``min(weights, M per codebook,
    2^b - 1)`` non-zero values (``2^b - 2`` on a symmetric grid) and values of different layers
    are counted apart: a ``core`` or ``chip`` scope adds up the bounds of the layers it holds
    (cores as packed by :func:`~spikefit_search.hardware.mapping.packing.core_layout`).

    Args:
        n_values: codebook size ``M`` (non-zero learnable values), None = unconstrained.
        bits: weight bits, None = float.
        scope: the compression's codebook scope (``"layer"`` or ``"neuron"``).
        zero_code: the network holds exact zeros (a zero code or pruned synapses).
    """
    specs = network.layer_specs()
    nonzero_cap = (
        math.inf
        if bits is None
        else nonzero_levels(int(bits), symmetric=profile.symmetric_at(bits))
    )
    zero = 1 if zero_code and not profile.unique_weights.zero_is_free.value else 0

    def nonzero(weights: int, neurons: int, books: int = 1) -> float:
        """Most distinct non-zero values among ``weights`` weights of ``neurons`` neurons
        of one layer (one scale, so at most the grid's non-zero levels); ``books``: codebooks
        per scope (2 in a recurrent layer: the input and the recurrent weight's, one grid)."""
        per_book = (
            math.inf
            if n_values is None
            else n_values * books * (neurons if scope == "neuron" else 1)
        )
        return min(weights, per_book, nonzero_cap)

    def total(values: float, weights: int) -> int:
        return int(min(values + zero, weights))

    limit = profile.unique_weights.max.value
    target = profile.unique_weights.scope.value
    out: list[ConstraintUsage] = []
    if target == "layer":
        for s in specs:
            books = 2 if s.recurrent else 1
            usage = total(nonzero(s.n_weights, s.out_channels, books), s.n_weights)
            out.append(ConstraintUsage("unique_weights", usage, limit, f"layer {s.index}"))
    elif target == "neuron":
        for s in specs:
            usage = total(nonzero(s.fan_in, 1, 2 if s.recurrent else 1), s.fan_in)
            where = f"layer {s.index} (every neuron)"
            out.append(ConstraintUsage("unique_weights", usage, limit, where))
    elif target == "core":
        for seg in core_layout(profile, specs):
            s = specs[seg.layer]
            channels = len(seg.channels(s))
            weights = channels * s.fan_in
            usage = total(nonzero(weights, channels, 2 if s.recurrent else 1), weights)
            where = f"core {seg.core} (layer {s.index})"
            out.append(ConstraintUsage("unique_weights", usage, limit, where))
    else:
        values = sum(nonzero(s.n_weights, s.out_channels, 2 if s.recurrent else 1) for s in specs)
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
        # a recurrent weight is the layer's too: its values count in the layer's scope (a
        # neuron's: its input and recurrent rows together)
        weights = [
            (
                layer.effective_weight().detach().cpu()
                if layer.recurrent is None
                else torch.cat(
                    [
                        layer.effective_weight().detach().cpu(),
                        layer.recurrent.effective_weight().detach().cpu(),
                    ],
                    dim=1,
                )
            )
            for layer in layers
        ]
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
        specs = [layer.spec for layer in layers]
        for seg in core_layout(profile, specs):
            held = seg.channels(specs[seg.layer])
            usage = _distinct(weights[seg.layer][held.start : held.stop], zero_counts)
            where = f"core {seg.core} (layer {seg.layer})"
            out.append(ConstraintUsage("unique_weights", usage, limit, where))
    else:
        usage = _distinct(torch.cat([w.flatten() for w in weights]), zero_counts)
        out.append(ConstraintUsage("unique_weights", usage, limit, "chip"))
    return out
