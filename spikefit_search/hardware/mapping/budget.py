"""``budget``: a chip described by totals and per-neuron limits only.

Used for Xylo, DYNAP-SE2, Loihi, Loihi 2, SpiNNaker 2 and Akida. The totals themselves
(neurons, synapses, fan-in, fan-out, layers, inputs, outputs) are the profile's ``limits`` and
are checked for every model; this model adds the core count when the profile gives
``limits.cores`` and ``limits.neurons_per_core``: every layer starts on a fresh core.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.mapping._base import MAPPING_MODELS, BaseMappingModel, ErrorFactory
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    from spikefit_search.hardware.profile import HardwareProfile
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import NetworkConfig


@MAPPING_MODELS.register("budget")
class BudgetMappingModel(BaseMappingModel):
    """Totals and per-neuron limits; optional per-layer core packing."""

    name = "budget"

    @classmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> BudgetMappingModel:
        if params:
            raise error(f"mapping.{sorted(params)[0]}", "is not a budget parameter.")
        return cls()

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        has_cores = profile.limit("cores") and profile.limit("neurons_per_core")
        return ("cores",) if has_cores else ()

    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        cores, per_core = profile.limit("cores"), profile.limit("neurons_per_core")
        if not (cores and per_core):
            return [], {}
        needed = [math.ceil(u.spec.n_neurons / per_core) for u in layers]
        usage = ConstraintUsage(
            "cores", sum(needed), cores, "network", note=f"({per_core} neurons per core)"
        )
        return [usage], {"cores_per_layer": needed}

    def describe(self) -> dict[str, object]:
        return {"model": self.name}
