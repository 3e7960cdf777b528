"""NeuroBench's metrics of a trained network, computed as NeuroBench 2.3 computes them.

NeuroBench (Yik et al., Nature Communications 2025; :data:`SOURCE`,
``neurobench/metrics/static/*.py`` and ``neurobench/metrics/workload/*.py``) defines the
figures neuromorphic papers report. Each is defined in ``docs/reporting.md``; a test runs
NeuroBench itself on our exported network and requires the same figures. The workload counts
are recorded during evaluation (:mod:`spikefit_search.snn.workload`); this module adds the two
static metrics and turns the counts into NeuroBench's per-sample figures.

The network NeuroBench measures is the one snnTorch builds from our NIR file: every synapse
layer a float32 ``Linear`` or ``Conv2d`` with a bias (zero where the network has none), every
neuron layer an ``snn.Leaky`` holding four scalar buffers (``threshold``, ``beta`` and
``graded_spikes_factor`` in float32, ``reset_mechanism_val`` in int64).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from spikefit_search.exceptions import RunError

if TYPE_CHECKING:
    from spikefit_search.snn.network import Activity, SpikingNetwork

FLOAT_BYTES = 4
"""Bytes of a float32, the dtype of every parameter of the exported network."""
NEURON_LAYER_BYTES = 3 * 4 + 8
"""Bytes of the scalar buffers of one snnTorch ``Leaky`` layer before it runs: ``threshold``,
``beta``, ``graded_spikes_factor`` (float32) and ``reset_mechanism_val`` (int64)."""
SOURCE = (
    "NeuroBench/neurobench@e521c28f5798cb40bb9423758bf066dad53fe070 (tag 2.3.0, "
    "PyPI neurobench 2.3.0)"
)
"""The NeuroBench release whose definitions these are (``docs/reporting.md``)."""

COLUMNS = (
    "nb_footprint_bytes",
    "nb_footprint_bits_bytes",
    "nb_connection_sparsity",
    "nb_activation_sparsity",
    "nb_effective_macs",
    "nb_effective_acs",
    "nb_dense",
    "nb_membrane_updates",
)
"""Trial attributes, ``trials.csv`` / ``pareto.csv`` columns and ``metrics.json`` keys."""


@dataclass(frozen=True)
class NeuroBenchMetrics:
    """NeuroBench's metrics of one network on one data set (workload figures per sample).

    Attributes:
        footprint_bytes: ``Footprint``: parameters and buffers times the bytes of their dtype,
            in the exported float32 network.
        footprint_bits_bytes: the same count with every synaptic weight at the network's
            weight bit-width instead of 32 bits (biases and neuron buffers as in
            ``footprint_bytes``).
        connection_sparsity: ``ConnectionSparsity``: zero weights over all weights of the
            synapse layers (NeuroBench rounds it to 4 decimals; this is unrounded).
        activation_sparsity: ``ActivationSparsity``: zero neuron outputs over all neuron
            outputs, over every neuron layer, step and sample.
        effective_macs, effective_acs, dense: ``SynapticOperations``'s ``Effective_MACs``,
            ``Effective_ACs`` and ``Dense`` per sample.
        membrane_updates: ``MembraneUpdates`` per sample.
    """

    footprint_bytes: int
    footprint_bits_bytes: float
    connection_sparsity: float
    activation_sparsity: float
    effective_macs: float
    effective_acs: float
    dense: float
    membrane_updates: float

    def to_dict(self) -> dict[str, float]:
        """The metrics under their :data:`COLUMNS` names."""
        return {name: float(getattr(self, name.removeprefix("nb_"))) for name in COLUMNS}


def _weight_bits(layer: object) -> int:
    from spikefit_search.compression._base import BaseQuantizer

    quantizer = getattr(layer, "weight_transform", None)
    return int(quantizer.bits) if isinstance(quantizer, BaseQuantizer) else 32


def neurobench_metrics(model: SpikingNetwork, activity: Activity) -> NeuroBenchMetrics:
    """NeuroBench's metrics of ``model`` with the workload ``activity`` recorded on it.

    Raises:
        RunError: ``activity`` was recorded without NeuroBench's counts.
    """
    layers = model.synaptic_layers
    weights = zeros = biases = 0
    weight_bits = 0.0
    for layer in model.weight_layers:  # a recurrent weight is a matrix of its own
        w = layer.effective_weight().detach()
        weights += w.numel()
        zeros += int((w == 0).sum())
        weight_bits += w.numel() * _weight_bits(layer)
    for layer in layers:
        biases += int(layer.spec.out_channels)
    neuron_bytes = NEURON_LAYER_BYTES * len(layers)
    footprint = FLOAT_BYTES * (weights + biases) + neuron_bytes
    bits_footprint = weight_bits / 8 + FLOAT_BYTES * biases + neuron_bytes
    counts = activity.layers
    if any(math.isnan(c.nb_macs) for c in counts):
        raise RunError(
            "NeuroBench's metrics need an activity recorded by evaluate(), but got one "
            "without NeuroBench's counts."
        )
    slots = sum(c.nb_activation_slots for c in counts)
    fired = sum(c.nb_activations for c in counts)
    return NeuroBenchMetrics(
        footprint_bytes=footprint,
        footprint_bits_bytes=bits_footprint,
        connection_sparsity=zeros / weights if weights else 0.0,
        activation_sparsity=(slots - fired) / slots if slots else 0.0,
        effective_macs=sum(c.nb_macs for c in counts),
        effective_acs=sum(c.nb_acs for c in counts),
        dense=sum(c.nb_dense for c in counts),
        membrane_updates=sum(c.nb_membrane_updates for c in counts),
    )
