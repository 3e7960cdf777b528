"""IBM TrueNorth (profile ``truenorth``): its ``crossbar`` mapping model and its family.

Limits: ``hardware_profiles/truenorth.yaml``; energy: the ``events`` model; no chip neuron (the
network stays float). The ``crossbar`` model, TrueNorth-style cores of fixed axons x neurons
with axon types, is open to any profile's ``mapping.model``:

Each core is a binary crossbar of ``axons_per_core`` inputs and ``neurons_per_core`` neurons.
Every axon has one of ``axon_types`` types and a neuron holds one signed weight per type
(Merolla et al. 2014), so synapse ``(i, j)`` weighs ``W_j[type(i)]``: a neuron sees at most
``axon_types`` distinct weights (the profile's ``unique_weights`` with scope ``neuron``), and
the type of an axon is shared by every neuron of its core. When two neurons of a core group
their inputs differently (neuron A gives inputs 0 and 1 the same weight, neuron B gives them
different ones), an input needs one axon per type its neurons ask of it: the input is
duplicated, and the copies count against the core's axons.

Axons an input ``i`` needs on a core = the distinct *slots* its non-zero synapses there use,
under the cheaper of two valid type assignments:

* value types: when the core's neurons use at most ``axon_types`` distinct values, a type per
  value (every neuron stores the same table);
* rank types: neuron ``j`` stores its own values in increasing order, slot = the rank of
  ``w_ij`` among them (valid when every neuron has at most ``axon_types`` values).

Linear layers: neurons are packed in order, a neuron joining the current core while the core
keeps within ``neurons_per_core`` neurons and ``axons_per_core`` axons (duplicates included).
From a config the same packing is bounded: a core of ``p`` neurons needs at most
``inputs * min(p, K)`` axons with ``K`` the values a neuron (or, for value types, the layer)
can hold, and the measured greedy packing never needs more cores than that bound.

Conv layers: the ``f`` channels at one output position share a ``fan_in`` receptive field;
that position needs ``sum over kernel entries of their slots`` axons (``fan_in * min(f, K)``
from a config), and a core holds ``p = max(1, min(neurons_per_core // f, axons // that))``
positions (receptive fields assumed disjoint, an upper bound), so
``ceil(f / neurons_per_core) * ceil(positions / p) * ceil(fan_in / axons)`` cores.

``core_axons`` reports, per layer, the most axons one of its cores needs; a single neuron (or
conv position) needing more than a core's axons cannot be built, since the chip does not split
a neuron's sum over cores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.chips._family import ChipFamily, register
from spikefit_search.hardware.mapping._base import (
    MAPPING_MODELS,
    positive_int,
)
from spikefit_search.hardware.profile import BaseMappingModel, ErrorFactory, HardwareProfile
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    import torch

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
        return self.layer_layout(usage)[0]

    def layer_layout(self, usage: LayerUsage) -> tuple[int, int]:
        """``(cores, most axons on one of them)`` of one layer (see the module docstring)."""
        if usage.weight is not None:
            return self._measured_layout(usage)
        spec = usage.spec
        a, n = self.axons_per_core, self.neurons_per_core
        types = min(
            usage.layer_values if usage.layer_values <= self.axon_types else math.inf,
            usage.neuron_values,
        )
        if spec.kind == "linear":
            inputs = max(usage.inputs_used, 1)
            if inputs > a:
                return spec.out_channels, inputs
            per_core = n
            while per_core > 1 and inputs * min(per_core, types) > a:
                per_core -= 1
            per_core = min(per_core, spec.out_channels)
            return math.ceil(spec.out_channels / per_core), int(inputs * min(per_core, types))
        fan_in = max(usage.fan_in, 1)
        f = min(spec.out_channels, n)
        return self._conv_layout(usage, int(fan_in * min(f, types)))

    def _conv_layout(self, usage: LayerUsage, position_axons: int) -> tuple[int, int]:
        spec = usage.spec
        a, n = self.axons_per_core, self.neurons_per_core
        f = spec.out_channels
        positions = spec.out_size[0] * spec.out_size[1]
        per_core = max(1, min(n // f, a // max(position_axons, 1)))
        cores = math.ceil(f / n) * math.ceil(positions / per_core)
        cores *= math.ceil(max(usage.fan_in, 1) / a)
        return cores, position_axons * per_core if position_axons <= a else position_axons

    def _slots(self, weight: torch.Tensor) -> list[torch.Tensor]:
        """Slot of every synapse (``-1`` where absent), ``(neurons, inputs)``, under each valid
        type assignment: value types (if the layer has few enough values) and rank types."""
        import torch

        w = weight.reshape(weight.shape[0], -1)
        nz = w != 0
        values = torch.unique(w[nz])
        out = []
        if values.numel() <= self.axon_types:
            out.append(torch.where(nz, torch.searchsorted(values, w.contiguous()), -1))
        ranks = torch.full(w.shape, -1, dtype=torch.int64)
        for j in range(w.shape[0]):
            row_values = torch.unique(w[j][nz[j]])
            ranks[j][nz[j]] = torch.searchsorted(row_values, w[j][nz[j]].contiguous())
        out.append(ranks)
        return out

    def _measured_layout(self, usage: LayerUsage) -> tuple[int, int]:
        import torch

        assert usage.weight is not None
        spec = usage.spec
        best: tuple[int, int] | None = None
        for slots in self._slots(usage.weight):
            symbols = int(slots.max()) + 1 if slots.numel() else 1
            onehot = torch.zeros(*slots.shape, max(symbols, 1), dtype=torch.bool)
            present = slots >= 0
            onehot[(*present.nonzero(as_tuple=True), slots[present])] = True
            if spec.kind == "linear":
                layout = self._pack(onehot)
            else:  # slots per kernel entry across the channels of one position
                axons = int(onehot.any(dim=0).sum())
                layout = self._conv_layout(usage, axons)
            best = layout if best is None or layout < best else best
        assert best is not None
        return best

    def _pack(self, onehot: torch.Tensor) -> tuple[int, int]:
        """Greedy in-order packing of neurons (rows of ``onehot``: inputs x slots used)."""
        a, n = self.axons_per_core, self.neurons_per_core
        cores, worst = 0, 0
        current = None
        count = 0
        for row in onehot:
            if current is not None and count < n:
                merged = current | row
                if int(merged.sum()) <= a:
                    current, count = merged, count + 1
                    continue
            if current is not None:
                worst = max(worst, int(current.sum()))
            current, count, cores = row.clone(), 1, cores + 1
        if current is not None:
            worst = max(worst, int(current.sum()))
        return cores, worst

    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        layouts = [self.layer_layout(u) for u in layers]
        per_layer = [cores for cores, _ in layouts]
        out = [ConstraintUsage("cores", sum(per_layer), self.cores, "network")]
        for u, (_, axons) in zip(layers, layouts):
            out.append(
                ConstraintUsage(
                    "core_axons",
                    axons,
                    self.axons_per_core,
                    f"layer {u.spec.index}",
                    label="axons per core",
                    note="(input copies for axon types included)",
                )
            )
        return out, {"cores_per_layer": per_layer}

    def describe(self) -> dict[str, object]:
        return {"model": self.name, **{k: getattr(self, k) for k in _PARAMS}}


TRUENORTH = register(
    ChipFamily(
        name="truenorth",
        title="IBM TrueNorth",
        mapping_models=(CrossbarMappingModel.name,),
        energy_models=("events",),
        neurons=(),
    )
)
