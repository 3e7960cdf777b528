"""``crossbar``: TrueNorth-style cores of fixed axons x neurons.

Each core is a binary crossbar of ``axons_per_core`` inputs and ``neurons_per_core`` neurons;
every axon has one of ``axon_types`` types and a neuron holds one signed weight per type, so a
neuron sees at most ``axon_types`` distinct weights (the profile's ``unique_weights`` with scope
``neuron`` checks that). This model counts the cores a layer needs:

* linear layer: its neurons share their inputs, so
  ``ceil(inputs_used / axons) * ceil(neurons / neurons_per_core)``;
* conv layer: the ``f`` channels at one output position share a ``fan_in`` receptive field;
  a core holds ``p = max(1, min(neurons_per_core // f, axons // fan_in))`` positions
  (receptive fields assumed disjoint, an upper bound), so
  ``ceil(f / neurons_per_core) * ceil(positions / p) * ceil(fan_in / axons)``.

A neuron whose fan-in exceeds one core's axons (``core_axons``) cannot be built without
splitting its sum over several cores, which the chip does not do; that is a violation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.mapping._base import (
    MAPPING_MODELS,
    BaseMappingModel,
    ErrorFactory,
    positive_int,
)
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    from spikefit_search.hardware.profile import HardwareProfile
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import NetworkConfig

_PARAMS = ("axons_per_core", "neurons_per_core", "axon_types", "cores")


@MAPPING_MODELS.register("crossbar")
class CrossbarMappingModel(BaseMappingModel):
    """Fixed-size crossbar cores; counts the cores a network needs."""

    name = "crossbar"

    def __init__(
        self, *, axons_per_core: int, neurons_per_core: int, axon_types: int, cores: int
    ) -> None:
        self.axons_per_core = axons_per_core
        self.neurons_per_core = neurons_per_core
        self.axon_types = axon_types
        self.cores = cores

    @classmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> CrossbarMappingModel:
        for key in params:
            if key not in _PARAMS:
                raise error(f"mapping.{key}", "is not a crossbar parameter.")
        return cls(**{k: positive_int(params, k, error, "mapping.") for k in _PARAMS})

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        return ("cores", "core_axons")

    def layer_cores(self, usage: LayerUsage) -> int:
        """Cores one layer needs (see the module docstring)."""
        spec = usage.spec
        a, n = self.axons_per_core, self.neurons_per_core
        fan_in = max(usage.fan_in, 1)
        if spec.kind == "linear":
            return math.ceil(max(usage.inputs_used, 1) / a) * math.ceil(spec.out_channels / n)
        f = spec.out_channels
        positions = spec.out_size[0] * spec.out_size[1]
        per_core = max(1, min(n // f, a // fan_in))
        return math.ceil(f / n) * math.ceil(positions / per_core) * math.ceil(fan_in / a)

    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        per_layer = [self.layer_cores(u) for u in layers]
        out = [ConstraintUsage("cores", sum(per_layer), self.cores, "network")]
        for u in layers:
            out.append(
                ConstraintUsage(
                    "core_axons",
                    u.fan_in,
                    self.axons_per_core,
                    f"layer {u.spec.index}",
                    label="axons per neuron",
                )
            )
        return out, {"cores_per_layer": per_layer}

    def describe(self) -> dict[str, object]:
        return {"model": self.name, **{k: getattr(self, k) for k in _PARAMS}}
