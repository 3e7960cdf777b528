"""SynSense Speck / DYNAP-CNN (profile ``speck``): its ``speck_cores`` mapping model and its family.

Limits: ``hardware_profiles/speck.yaml``; neuron: ``speck`` in :mod:`spikefit_search.snn.chip`
(sinabs' integrate-and-fire with several spikes a step); energy: the ``events`` model; the
chip's toolchain reads NIR through sinabs (``from_nir``), so sinabs is its NIR reader. The
``speck_cores`` model, after sinabs' memory model, is open to any profile's
``mapping.model``:

Every synaptic layer takes one of the chip's cores. A layer with weight shape ``(f, c, ky, kx)``
and conv output ``fy x fx`` needs (sinabs ``DynapcnnLayer.memory_summary``)::

    kernel = c * 2 ** (ceil(log2(kx * ky)) + ceil(log2(f)))
    neuron = f * 2 ** (ceil(log2(fy)) + ceil(log2(fx)))
    bias   = f if the layer has a bias else 0

and may sit on a core whose three memories all hold it. Layers go to distinct cores by maximum
bipartite matching (sinabs ``mapping.get_valid_mapping``). Linear layers are convolutions over
their full input map. This is our re-implementation, not an import of sinabs.

Beyond memory, what sinabs (synsense/sinabs@904eb89) refuses is refused here too:

* ``kernel_shape``: a non-square kernel. ``DynapcnnLayer.__init__`` (``dynapcnn_layer.py``)
  raises "The kernel of a `nn.Conv2d` must have the same height and width" after
  ``convert_linear_to_conv`` made a Linear a conv with kernel ``(in_h, in_w)``: a Linear over a
  non-square map (e.g. 8x4) cannot be deployed.
* ``spiking_layer``: every weight layer must be followed by a spiking (``IAFSqueeze``) layer.
  ``connectivity_specs.py`` allows only weight -> neuron edges out of a weight layer, and
  ``sinabs_edges_handler.py`` raises ``InvalidGraphStructure`` ("Weight layers have to be
  followed by a spiking layer") otherwise, so a non-spiking membrane readout is refused, even
  with ``beta = 1``; Speck's readout is a spiking layer.
* ``pooling``: only sum pooling (``sl.SumPool2d``, or ``nn.AvgPool2d`` converted to it) is a
  supported node type (``connectivity_specs.SupportedNodeTypes``); ``nn.MaxPool2d`` is refused
  by ``nir_graph_extractor.verify_node_types`` (``UnsupportedLayerType``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.chips._family import ChipFamily, register
from spikefit_search.hardware.mapping._base import (
    MAPPING_MODELS,
    int_list,
    positive_int,
)
from spikefit_search.hardware.profile import BaseMappingModel, ErrorFactory, HardwareProfile
from spikefit_search.hardware.result import ConstraintUsage, format_quantity

if TYPE_CHECKING:
    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import LayerSpec, NetworkConfig


def _pow2_exp(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


@dataclass(frozen=True)
class SpeckMemory:
    """Memory entries one layer needs on a DYNAP-CNN core."""

    kernel: int
    neuron: int
    bias: int


@dataclass(frozen=True)
class SpeckCore:
    """Memory entries one DYNAP-CNN core offers."""

    kernel_memory: int
    neuron_memory: int
    bias_memory: int

    def fits(self, memory: SpeckMemory) -> bool:
        return (
            memory.kernel <= self.kernel_memory
            and memory.neuron <= self.neuron_memory
            and memory.bias <= self.bias_memory
        )


def speck_layer_memory(spec: LayerSpec, *, bias: bool = False) -> SpeckMemory:
    """Kernel, neuron and bias memory of ``spec`` on a DYNAP-CNN core (sinabs' formulas).

    Example:
        >>> from spikefit_search.snn import NetworkConfig
        >>> net = NetworkConfig(kind="conv", input_shape=(16, 64, 64), channels=(32,))
        >>> speck_layer_memory(net.layer_specs()[0])
        SpeckMemory(kernel=8192, neuron=131072, bias=0)
    """
    f, c = spec.out_channels, spec.in_channels
    ky, kx = spec.kernel
    fy, fx = spec.out_size
    kernel = c * 2 ** (_pow2_exp(kx * ky) + _pow2_exp(f))
    neuron = f * 2 ** (_pow2_exp(fy) + _pow2_exp(fx))
    return SpeckMemory(kernel, neuron, f if bias else 0)


def match_cores(candidates: Sequence[Sequence[int]]) -> dict[int, int]:
    """Maximum bipartite matching layer -> core (augmenting paths); unmatched layers absent."""
    owner: dict[int, int] = {}

    def augment(layer: int, seen: set[int]) -> bool:
        for core in candidates[layer]:
            if core in seen:
                continue
            seen.add(core)
            if core not in owner or augment(owner[core], seen):
                owner[core] = layer
                return True
        return False

    for layer in range(len(candidates)):
        augment(layer, set())
    return {layer: core for core, layer in owner.items()}


@MAPPING_MODELS.register("speck_cores")
class SpeckCoresMappingModel(BaseMappingModel):
    """One layer per DYNAP-CNN core, placed by bipartite matching on memory."""

    name = "speck_cores"

    def __init__(
        self,
        cores: tuple[SpeckCore, ...],
        *,
        max_destinations: int,
        max_channels: int,
        max_kernel: int,
        strides: tuple[int, ...],
        max_padding: int,
        pools: tuple[int, ...],
        pool_modes: tuple[str, ...],
        max_input_size: int,
        max_output_size: int,
    ) -> None:
        self.cores = cores
        self.max_destinations = max_destinations
        self.max_channels = max_channels
        self.max_kernel = max_kernel
        self.strides = strides
        self.max_padding = max_padding
        self.pools = pools
        self.pool_modes = pool_modes
        self.max_input_size = max_input_size
        self.max_output_size = max_output_size

    @classmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> SpeckCoresMappingModel:
        p = "mapping."
        raw = params.get("cores")
        if not isinstance(raw, list) or not raw:
            raise error(f"{p}cores", f"must be a non-empty list of cores, but got {raw!r}.")
        cores = []
        for i, core in enumerate(raw):
            if not isinstance(core, dict):
                raise error(f"{p}cores[{i}]", f"must be a mapping, but got {core!r}.")
            cores.append(
                SpeckCore(
                    *(
                        positive_int(core, key, error, f"{p}cores[{i}].")
                        for key in ("kernel_memory", "neuron_memory", "bias_memory")
                    )
                )
            )
        modes = params.get("pool_modes", ["sum"])
        if not isinstance(modes, list) or not all(isinstance(m, str) for m in modes):
            raise error(f"{p}pool_modes", f"must be a list of names, but got {modes!r}.")
        known = {"cores", "pool_modes", "strides", "pools"}
        ints = (
            "max_destinations",
            "max_channels",
            "max_kernel",
            "max_padding",
            "max_input_size",
            "max_output_size",
        )
        for key in params:
            if key not in known and key not in ints:
                raise error(f"{p}{key}", "is not a speck_cores parameter.")
        values = {k: positive_int(params, k, error, p) for k in ints}
        return cls(
            tuple(cores),
            strides=int_list(params, "strides", error, p),
            pools=int_list(params, "pools", error, p),
            pool_modes=tuple(modes),
            **values,
        )

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        return (
            "cores",
            "core_assignment",
            "kernel_memory",
            "neuron_memory",
            "bias_memory",
            "channels",
            "kernel_size",
            "stride",
            "padding",
            "pooling",
            "input_size",
            "output_size",
            "destinations",
            "kernel_shape",
            "spiking_layer",
        )

    def candidate_cores(self, memory: SpeckMemory) -> list[int]:
        """Indices of the cores whose memories all hold ``memory``."""
        return [i for i, core in enumerate(self.cores) if core.fits(memory)]

    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        specs = [u.spec for u in layers]
        memories = [speck_layer_memory(s, bias=network.bias) for s in specs]
        candidates = [self.candidate_cores(m) for m in memories]
        placement = match_cores(candidates)
        max_k = max(c.kernel_memory for c in self.cores)
        max_n = max(c.neuron_memory for c in self.cores)
        max_b = max(c.bias_memory for c in self.cores)
        out = [ConstraintUsage("cores", len(specs), len(self.cores), "network")]
        unplaced = [s.index for s in specs if s.index not in placement]
        why = "; ".join(
            f"layer {i} (kernel {format_quantity(memories[i].kernel, binary=True)}, neuron "
            f"{format_quantity(memories[i].neuron, binary=True)}) fits no free core"
            for i in unplaced
        )
        out.append(
            ConstraintUsage(
                "core_assignment", len(unplaced), 0, "network", label="core assignment", note=why
            )
        )
        for s, m in zip(specs, memories):
            where = f"layer {s.index}"
            every = "on every core"
            out.append(ConstraintUsage("kernel_memory", m.kernel, max_k, where, note=every))
            out.append(ConstraintUsage("neuron_memory", m.neuron, max_n, where, note=every))
            out.append(ConstraintUsage("bias_memory", m.bias, max_b, where, note=every))
            channels = max(s.in_channels, s.out_channels)
            out.append(ConstraintUsage("channels", channels, self.max_channels, where))
            out.append(ConstraintUsage("kernel_size", max(s.kernel), self.max_kernel, where))
            bad_stride = s.kind == "conv" and s.stride not in self.strides
            allowed = ", ".join(map(str, self.strides))
            out.append(
                ConstraintUsage(
                    "stride",
                    int(bad_stride),
                    0,
                    where,
                    note=f"stride {s.stride} is not one of {allowed}",
                )
            )
            out.append(ConstraintUsage("padding", s.padding, self.max_padding, where))
            bad_pool = s.pool not in self.pools or (
                s.pool > 1 and network.pool_mode not in self.pool_modes
            )
            out.append(
                ConstraintUsage(
                    "pooling",
                    int(bad_pool),
                    0,
                    where,
                    note=(
                        f"{network.pool_mode} pool {s.pool} is not one of "
                        f"{'/'.join(self.pool_modes)} pools {', '.join(map(str, self.pools))}"
                        + ("; sinabs refuses MaxPool" if network.pool_mode == "max" else "")
                    ),
                )
            )
            if s.index == 0:
                out.append(
                    ConstraintUsage("input_size", max(s.in_size), self.max_input_size, where)
                )
            if s.kind == "conv":
                out.append(
                    ConstraintUsage("output_size", max(s.out_size), self.max_output_size, where)
                )
            # a sequential network sends every layer's spikes to exactly one destination
            destinations = 1 if s.index < len(specs) - 1 else 0
            out.append(ConstraintUsage("destinations", destinations, self.max_destinations, where))
            ky, kx = s.kernel
            what = "Linear over a" if s.kind == "linear" else "conv with a"
            out.append(
                ConstraintUsage(
                    "kernel_shape",
                    int(ky != kx),
                    0,
                    where,
                    label="kernel shape",
                    note=f"{what} {ky}x{kx} kernel; sinabs' DynapcnnLayer needs a square one",
                )
            )
            out.append(
                ConstraintUsage(
                    "spiking_layer",
                    int(not s.spiking),
                    0,
                    where,
                    label="spiking layer",
                    note=(
                        "a weight layer must be followed by a spiking (IAF) layer; use "
                        "readout: spikes, not a membrane readout"
                    ),
                )
            )
        details: dict[str, object] = {
            "memory": {s.index: m for s, m in zip(specs, memories)},
            "candidates": {s.index: c for s, c in zip(specs, candidates)},
            "placement": placement,
        }
        return out, details

    def describe(self) -> dict[str, object]:
        return {
            "model": self.name,
            "cores": [
                f"{i}: kernel {format_quantity(c.kernel_memory, binary=True)}, neuron "
                f"{format_quantity(c.neuron_memory, binary=True)}, bias {c.bias_memory}"
                for i, c in enumerate(self.cores)
            ],
            "max_destinations": self.max_destinations,
            "max_channels": self.max_channels,
            "max_kernel": self.max_kernel,
            "strides": list(self.strides),
            "max_padding": self.max_padding,
            "pools": list(self.pools),
            "pool_modes": list(self.pool_modes),
            "max_input_size": self.max_input_size,
            "max_output_size": self.max_output_size,
        }


SPECK = register(
    ChipFamily(
        name="speck",
        title="SynSense Speck / DYNAP-CNN",
        mapping_models=(SpeckCoresMappingModel.name,),
        energy_models=("events",),
        neurons=("speck",),
        nir_readers=("sinabs",),
    )
)
