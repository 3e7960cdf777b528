"""The one core-packing model: which neurons share a core.

Every check that reasons per core (the ``budget`` core count, unique weights with scope
``core``, destinations and per-core axons) uses :func:`core_layout`, so they all see the same
layout: neurons are numbered channel-major within a layer (as the chip would enumerate them),
every synaptic layer starts on a fresh core, and a layer spans ``ceil(neurons / capacity)``
cores. A layer's capacity is ``limits.neurons_per_core``, lowered for a dense layer until one
core's synapse memory holds its rows (``limits.core_synapse_bits``, at the chip's full weight
width), as nengo-loihi splits a block that overflows a core. The layout depends on the
config and the profile only, so the static and the measured check see the same cores.

Why a fresh core per layer: the compression gives every layer its own scale, so two layers
sharing a core would bring two unrelated sets of values into one core-wide table (DYNAP-SE2
shares its base currents per core). Packing layers densely would save cores but double the
values a core must hold; a chip with fewer cores than layers is reported by the ``cores``
constraint instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spikefit_search.hardware.mapping.synapse_memory import dense_core_bits

if TYPE_CHECKING:
    from spikefit_search.hardware.profile import HardwareProfile
    from spikefit_search.snn.config import LayerSpec


@dataclass(frozen=True)
class CoreSegment:
    """Neurons ``start:stop`` (flat, channel-major) of layer ``layer`` on core ``core``."""

    core: int
    layer: int
    start: int
    stop: int

    def channels(self, spec: LayerSpec) -> range:
        """Output channels (rows of the weight) with at least one neuron on this core."""
        positions = spec.out_size[0] * spec.out_size[1]
        return range(self.start // positions, (self.stop - 1) // positions + 1)

    @property
    def neurons(self) -> int:
        return self.stop - self.start


def layer_capacity(profile: HardwareProfile, spec: LayerSpec) -> int:
    """Neurons of ``spec`` one core takes (see the module docstring)."""
    per_core = profile.limit("neurons_per_core") or spec.n_neurons
    memory = profile.limit("core_synapse_bits")
    if memory is None or spec.kind != "linear":
        return per_core
    bits = profile.weight_bits.value
    while per_core > 1 and dense_core_bits(spec.n_inputs, per_core, bits) > memory:
        per_core = max(1, per_core // 2 if per_core > 64 else per_core - 1)
    return per_core


def core_segments(specs: Sequence[LayerSpec], capacities: Sequence[int]) -> list[CoreSegment]:
    """Every core's neurons, layer by layer, each layer starting on a fresh core and putting
    at most ``capacities[i]`` neurons on one core.

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> specs = NetworkConfig(input_shape=(1, 8, 8), hidden=(300,)).layer_specs()
        >>> [(s.core, s.layer, s.start, s.stop) for s in core_segments(specs, [256, 256])]
        [(0, 0, 0, 256), (1, 0, 256, 300), (2, 1, 0, 10)]
    """
    out: list[CoreSegment] = []
    for i, (spec, per_core) in enumerate(zip(specs, capacities)):
        for start in range(0, spec.n_neurons, per_core):
            stop = min(spec.n_neurons, start + per_core)
            out.append(CoreSegment(len(out), i, start, stop))
    return out


def core_layout(profile: HardwareProfile, specs: Sequence[LayerSpec]) -> list[CoreSegment]:
    """The cores of a network on ``profile``'s chip (needs ``limits.neurons_per_core``)."""
    return core_segments(specs, [layer_capacity(profile, s) for s in specs])
