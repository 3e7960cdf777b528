"""The per-core limits of a chip (``mapping.model: budget``): cores, destinations, axons and
synapse memory per core, on the layer-per-core packing.

Used for Xylo, DYNAP-SE2, Loihi, Loihi 2, SpiNNaker 2 and Akida. The totals themselves
(neurons, synapses, fan-in, fan-out, layers, inputs, outputs) are the profile's ``limits`` and
are checked for every model. When the profile gives ``limits.neurons_per_core``, neurons are
laid out by the one packing model (:func:`~.packing.core_segments`: every layer starts on a
fresh core) and this model adds, for each of these limits the profile sets:

* ``cores``: cores the layout takes;
* ``destinations``: cores one neuron's spikes must reach (DYNAP-SE2: 4 SRAM destination
  entries per neuron; a destination is a core, which then delivers to every neuron there with
  a matching tag);
* ``core_input_axons``: distinct inputs with a synapse into one core (Loihi ``MAX_IN_AXONS``);
* ``core_output_axons``: per core, the sum over its neurons of the cores each one targets
  (Loihi ``MAX_OUT_AXONS``: one output axon per neuron and destination core);
* ``core_synapse_bits``: synapse memory of one core, with nengo-loihi's encoding (see
  :mod:`.synapse_memory`); a dense layer puts fewer neurons on a core when its rows would
  not fit otherwise (see :func:`~.packing.layer_capacity`).

The per-core axon and memory limits are modelled for linear layers; conv layers use shared
(population) synapses on Loihi, which this model does not describe, so they are not counted.
A recurrent layer's own neurons are inputs of its cores (axons and synapse memory) and its
neurons' spikes also reach its own cores (destinations, output axons).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from spikefit_search.hardware.mapping._base import MAPPING_MODELS
from spikefit_search.hardware.mapping.packing import CoreSegment, core_layout
from spikefit_search.hardware.mapping.synapse_memory import (
    BLOCK_HEADER_BITS,
    SYNAPSES_PER_BLOCK,
    WORD_BITS,
    dense_core_bits,
    index_bits,
    loihi_axon_bits,
    stored_weight_bits,
)
from spikefit_search.hardware.profile import BaseMappingModel, ErrorFactory, HardwareProfile
from spikefit_search.hardware.result import ConstraintUsage

if TYPE_CHECKING:
    import torch

    from spikefit_search.hardware.usage import LayerUsage
    from spikefit_search.snn.config import NetworkConfig

CORE_LIMITS = ("cores", "destinations", "core_input_axons", "core_output_axons")
"""Per-core limits this model evaluates (besides ``core_synapse_bits``)."""


def _targets_per_input(nxt: LayerUsage, segments: Sequence[CoreSegment]) -> torch.Tensor | None:
    """Cores of layer ``nxt`` each of its inputs reaches through a non-zero synapse, per input
    (flat, channel-major); None for a config (dense: every core of the layer)."""
    import torch

    if nxt.weight is None:
        return None
    spec = nxt.spec
    rows = nxt.weight.shape[0]
    row_core = torch.zeros(rows, len(segments), dtype=torch.bool)
    for k, seg in enumerate(segments):
        channels = seg.channels(spec)
        row_core[channels.start : channels.stop, k] = True
    nz = nxt.weight.reshape(rows, spec.in_channels, -1) != 0
    if spec.kind == "conv":  # an input channel meets every output channel it has a kernel for
        per_channel = (nz.any(dim=2).T.float() @ row_core.float()) > 0  # (in_channels, cores)
        counts = per_channel.sum(dim=1)
        return counts.repeat_interleave(spec.in_size[0] * spec.in_size[1])
    flat = nz.reshape(rows, -1)
    return ((flat.T.float() @ row_core.float()) > 0).sum(dim=1)


def _per_neuron(sender: LayerUsage, counts: torch.Tensor) -> torch.Tensor:
    """Per-input counts of the next layer as per-neuron counts of ``sender`` (pooled neurons
    share their pooled input; neurons cropped by the pooling reach nothing)."""
    import torch.nn.functional as F

    spec = sender.spec
    p = spec.pool
    if spec.kind != "conv" or p == 1:
        return counts
    oh, ow = spec.out_size
    grid = counts.reshape(spec.out_channels, oh // p, ow // p)
    grid = grid.repeat_interleave(p, dim=1).repeat_interleave(p, dim=2)
    grid = F.pad(grid, (0, ow - grid.shape[2], 0, oh - grid.shape[1]))
    return grid.reshape(-1)


def _recurrent_usage(u: LayerUsage) -> LayerUsage:
    """A recurrent layer's recurrent weight as the usage of a layer fed by the layer itself."""
    n = u.spec.out_channels
    spec = replace(u.spec, in_channels=n, in_size=(1, 1), kernel=(1, 1), recurrent=False)
    return replace(u, spec=spec, weight=u.rec_weight)


def _input_rows(u: LayerUsage) -> torch.Tensor | None:
    """Per neuron, whether each input (a recurrent layer's own neurons after the network's)
    has a non-zero synapse: ``(neurons, inputs)``; None for a config."""
    import torch

    if u.weight is None:
        return None
    rows = u.weight.reshape(u.weight.shape[0], -1) != 0
    if u.rec_weight is not None:
        rows = torch.cat([rows, u.rec_weight != 0], dim=1)
    return rows


def _synapse_bits(u: LayerUsage, seg: CoreSegment, axons: int, bits: int) -> int:
    """Synapse memory of one core of a linear layer: the cheaper of nengo-loihi's dense and
    sparse (indexed) encodings. From a config, the sparse figure is an upper bound."""
    dense = dense_core_bits(axons, seg.neurons, bits)
    per = stored_weight_bits(bits) + index_bits(seg.neurons)
    rows = _input_rows(u)
    if rows is None:
        synapses = min(seg.neurons * u.fan_in, axons * seg.neurons)
        blocks = axons + math.ceil(synapses / SYNAPSES_PER_BLOCK)
        sparse = synapses * per + blocks * (BLOCK_HEADER_BITS + WORD_BITS - 1)
    else:
        block = rows[seg.start : seg.stop]
        sparse = sum(loihi_axon_bits(int(n), per) for n in block.sum(dim=0).tolist() if n)
    return min(dense, sparse)


@MAPPING_MODELS.register("budget")
class CoreLimitsMappingModel(BaseMappingModel):
    """Per-core limits on a layer-per-core packing, registered as ``budget``; a profile
    without ``limits.neurons_per_core`` gets no constraint from it (its totals only)."""

    name = "budget"

    @classmethod
    def from_params(cls, params: Mapping[str, Any], error: ErrorFactory) -> CoreLimitsMappingModel:
        if params:
            raise error(f"mapping.{sorted(params)[0]}", "is not a budget parameter.")
        return cls()

    def constraint_names(self, profile: HardwareProfile) -> tuple[str, ...]:
        if not profile.limit("neurons_per_core"):
            return ()
        names = [n for n in (*CORE_LIMITS, "core_synapse_bits") if profile.limit(n)]
        return tuple(names)

    def evaluate(
        self,
        profile: HardwareProfile,
        layers: Sequence[LayerUsage],
        network: NetworkConfig,
    ) -> tuple[list[ConstraintUsage], dict[str, object]]:
        per_core = profile.limit("neurons_per_core")
        if not per_core:
            return [], {}
        limit = profile.limit
        specs = [u.spec for u in layers]
        segments = core_layout(profile, specs)
        by_layer = [[s for s in segments if s.layer == i] for i in range(len(layers))]
        needed = [len(segs) for segs in by_layer]
        out: list[ConstraintUsage] = []
        if (n := limit("cores")) is not None:
            note = "(each layer on its own cores)"
            out.append(ConstraintUsage("cores", sum(needed), n, "network", note=note))
        # spikes of layer i's neurons go to the cores of layer i + 1 (the last layer's leave)
        # and of a recurrent layer to its own cores too
        sends = []
        reach = []  # cores one neuron of layer i reaches, from a config (dense)
        for i in range(len(layers) - 1):
            counts = _targets_per_input(layers[i + 1], by_layer[i + 1])
            if counts is not None:
                counts = _per_neuron(layers[i], counts)
            reach.append(needed[i + 1])
            if layers[i].spec.recurrent:
                reach[-1] += needed[i]
                own = _targets_per_input(_recurrent_usage(layers[i]), by_layer[i])
                if counts is not None and own is not None:
                    counts = counts + own
            sends.append(counts)
        if (n := limit("destinations")) is not None:
            for i, counts in enumerate(sends):
                usage = reach[i] if counts is None else (int(counts.max()) if counts.numel() else 0)
                out.append(
                    ConstraintUsage("destinations", usage, n, f"layer {i}", note="cores per neuron")
                )
        if (n := limit("core_output_axons")) is not None:
            for i, counts in enumerate(sends):
                worst = max(
                    seg.neurons * reach[i]
                    if counts is None
                    else int(counts[seg.start : seg.stop].sum())
                    for seg in by_layer[i]
                )
                out.append(ConstraintUsage("core_output_axons", worst, n, f"layer {i}"))
        in_limit, bits_limit = limit("core_input_axons"), limit("core_synapse_bits")
        for u, segs in zip(layers, by_layer):
            if u.spec.kind != "linear" or (in_limit is None and bits_limit is None):
                continue
            axons = [self._axons(u, seg) for seg in segs]
            where = f"layer {u.spec.index}"
            if in_limit is not None:
                out.append(ConstraintUsage("core_input_axons", max(axons), in_limit, where))
            if bits_limit is not None:
                bits = max(_synapse_bits(u, seg, a, min(u.bits, 8)) for seg, a in zip(segs, axons))
                out.append(ConstraintUsage("core_synapse_bits", bits, bits_limit, where))
        return out, {"cores_per_layer": needed}

    @staticmethod
    def _axons(u: LayerUsage, seg: CoreSegment) -> int:
        """Inputs with a synapse into the neurons of ``seg`` (all inputs for a config), a
        recurrent layer's own neurons included."""
        rows = _input_rows(u)
        if rows is None:
            return u.spec.n_inputs + (u.spec.out_channels if u.spec.recurrent else 0)
        return int(rows[seg.start : seg.stop].any(dim=0).sum())

    def describe(self) -> dict[str, object]:
        return {"model": self.name}
