"""TrueNorth's axon types: a type is shared by every neuron of a core (worked examples)."""

from __future__ import annotations

import torch

from spikefit_search.hardware import load_profile, measured_check, static_check
from spikefit_search.snn import NetworkConfig, SpikingNetwork

CONFIG = NetworkConfig(input_shape=(1, 10, 20), hidden=(2,), n_classes=2, beta=1.0)
INPUTS = torch.arange(200)


def _layer0(result: object, name: str) -> int:
    (usage,) = [u for u in result.usages if u.name == name and u.where.startswith("layer 0")]  # type: ignore[attr-defined]
    return int(usage.usage)


def _network(rows: list[torch.Tensor], fake: type) -> SpikingNetwork:
    net = SpikingNetwork(CONFIG)
    first, readout = net.synaptic_layers
    first.weight_transform = fake(torch.stack(rows), 0.125, 4)
    readout.weight_transform = fake(torch.tensor([[1, 2], [2, 1]]), 0.125, 4)
    return net


def test_neurons_grouping_inputs_differently_duplicate_axons(fake_quantizer: type) -> None:
    """200 inputs, two neurons with two weights each (1 and 2, in units of the scale).

    Neuron 0 weighs inputs 0-99 with 1 and 100-199 with 2; neuron 1 weighs even inputs with
    1 and odd ones with 2. On one core an axon's type fixes the weight for both neurons, so the
    100 inputs the two neurons weigh differently (odd below 100, even from 100) need two axons
    each: 200 + 100 = 300 > 256 axons. The neurons go to two cores of 200 axons each.
    """
    low = (INPUTS < 100).long()
    neuron0 = 2 - low  # 1 for inputs 0-99, 2 for 100-199
    neuron1 = 1 + INPUTS % 2  # 1 for even inputs, 2 for odd
    conflict = measured_check("truenorth", _network([neuron0, neuron1], fake_quantizer))
    assert _layer0(conflict, "unique_weights") == 2  # each neuron is fine on its own
    assert conflict.details["cores_per_layer"] == [2, 1]  # type: ignore[index]
    assert _layer0(conflict, "core_axons") == 200
    # the same two weights grouped alike share every axon: one core of 200 axons
    alike = measured_check("truenorth", _network([neuron0, neuron0], fake_quantizer))
    assert alike.details["cores_per_layer"] == [1, 1]  # type: ignore[index]
    assert _layer0(alike, "core_axons") == 200
    # the static bound (M = 2 per neuron) assumes the worst grouping: two cores
    static = static_check("truenorth", CONFIG, n_values=2, bits=4)
    assert static.details["cores_per_layer"] == [2, 1]  # type: ignore[index]
    assert static.fits and conflict.fits and alike.fits


def test_each_neuron_keeps_its_own_weight_per_type(fake_quantizer: type) -> None:
    """Neuron 0 uses weights {1, 2}, neuron 1 weights {3, 4}, both grouping inputs 0-99 vs
    100-199. One type per value would need 4 types and two axons per input (400); giving type
    0 to each neuron's smaller weight and type 1 to its larger one needs one axon per input."""
    low = (INPUTS < 100).long()
    net = _network([2 - low, 4 - low], fake_quantizer)
    result = measured_check("truenorth", net)
    assert result.details["cores_per_layer"] == [1, 1]  # type: ignore[index]
    assert _layer0(result, "core_axons") == 200


def test_one_neuron_over_a_core_of_axons_is_refused() -> None:
    wide = NetworkConfig(input_shape=(1, 16, 20), hidden=(4,), n_classes=2, beta=1.0)
    result = static_check(load_profile("truenorth"), wide, n_values=2, bits=4)
    assert _layer0(result, "core_axons") == 320
    assert "axons per core on layer 0: 320 > 256" in " ".join(result.messages())
    capped = static_check("truenorth", wide, n_values=2, bits=4, fan_in_cap=256)
    assert _layer0(capped, "fan_in") == 256
