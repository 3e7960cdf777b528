"""The one core-packing model: which neurons share a core.

Every check that reasons per core (the ``budget`` core count, unique weights with scope
``core``, destinations and per-core axons) uses :func:`core_segments`, so they all see the same
layout: neurons are numbered channel-major within a layer (as the chip would enumerate them),
every synaptic layer starts on a fresh core, and a layer wider than a core spans
``ceil(neurons / per_core)`` cores.

Why a fresh core per layer: the compression gives every layer its own scale, so two layers
sharing a core would bring two unrelated sets of values into one core-wide table (DYNAP-SE2
shares its base currents per core). Packing layers densely would save cores but double the
values a core must hold; a chip with fewer cores than layers is reported by the ``cores``
constraint instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


def layer_core_count(spec: LayerSpec, per_core: int) -> int:
    """Cores one layer takes: ``ceil(neurons / per_core)``."""
    return math.ceil(spec.n_neurons / per_core)


def core_segments(specs: Sequence[LayerSpec], per_core: int) -> list[CoreSegment]:
    """Every core's neurons, layer by layer, each layer starting on a fresh core.

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> specs = NetworkConfig(input_shape=(1, 8, 8), hidden=(300,)).layer_specs()
        >>> [(s.core, s.layer, s.start, s.stop) for s in core_segments(specs, 256)]
        [(0, 0, 0, 256), (1, 0, 256, 300), (2, 1, 0, 10)]
    """
    out: list[CoreSegment] = []
    for i, spec in enumerate(specs):
        for start in range(0, spec.n_neurons, per_core):
            stop = min(spec.n_neurons, start + per_core)
            out.append(CoreSegment(len(out), i, start, stop))
    return out
