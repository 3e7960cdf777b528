"""Per-core limits of the budget model: Loihi axons and synapse memory, DYNAP-SE2
destinations, XyloIMU projections."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from spikefit_search._resources import data_dir
from spikefit_search.exceptions import ProfileError
from spikefit_search.hardware import load_profile, measured_check, static_check
from spikefit_search.hardware.mapping.packing import core_layout, layer_capacity
from spikefit_search.hardware.mapping.synapse_memory import dense_core_bits, loihi_axon_bits
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def _usages(result: object, name: str) -> dict[str, int]:
    return {u.where: int(u.usage) for u in result.usages if u.name == name}  # type: ignore[attr-defined]


def test_loihi_synapse_memory_splits_a_dense_layer_over_cores() -> None:
    # nengo-loihi bits_per_axon: 64 synapses per block, 64 * 8 + 10 bits -> 9 words of 64
    assert loihi_axon_bits(64, 8) == 9 * 64
    assert loihi_axon_bits(1024, 8) == 16 * 9 * 64
    loihi = load_profile("loihi")
    net = NetworkConfig(input_shape=(1, 28, 28), hidden=(256,), n_classes=10, reset="zero")
    first = net.layer_specs()[0]
    # 784 dense 8-bit rows into 256 neurons: 784 * 2304 bits = 1.8 Mbit > 1 Mbit per core
    assert dense_core_bits(784, 256, 8) > 2**20 >= dense_core_bits(784, 128, 8)
    assert layer_capacity(loihi, first) == 128
    assert [(s.layer, s.start, s.stop) for s in core_layout(loihi, net.layer_specs())] == [
        (0, 0, 128),
        (0, 128, 256),
        (1, 0, 10),
    ]
    result = static_check(loihi, net, n_values=16, bits=8)
    assert result.fits, result.messages()
    assert result.worst("cores").usage == 3  # type: ignore[union-attr]
    assert _usages(result, "core_input_axons") == {"layer 0": 784, "layer 1": 256}
    assert _usages(result, "core_synapse_bits")["layer 0"] == 784 * 1152
    # every layer-0 neuron targets the readout's one core: 128 output axons per core
    assert _usages(result, "core_output_axons") == {"layer 0": 128}


def test_loihi_input_axons_are_per_core_not_per_neuron() -> None:
    wide = NetworkConfig(input_shape=(2, 48, 48), hidden=(16,), n_classes=10)  # 4608 inputs
    result = static_check("loihi", wide, n_values=16, bits=8)
    assert {u.name for u in result.violations} >= {"core_input_axons"}
    assert "core input axons on layer 0: 4,608 > 4,096" in result.messages()


def test_dynap_se2_destinations_count_cores(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type
) -> None:
    # 300 hidden neurons take two cores; every input neuron of the 300-wide layer 1 reaches
    # both (a config is dense); the measured check counts only cores with a real synapse
    config = NetworkConfig(input_shape=(1, 4, 4), hidden=(20, 300), n_classes=3, beta=1.0)
    static = static_check("dynap-se2", config, n_values=4, bits=4, fan_in_cap=64)
    assert _usages(static, "destinations") == {"layer 0": 2, "layer 1": 1}
    assert static.fits, static.messages()
    model = SpikingNetwork(config)
    codes = torch.ones(300, 20)
    codes[256:] = 0  # neurons on core 2 (256-299) hear nobody from layer 0
    model.synaptic_layers[1].weight_transform = fake_quantizer(codes, 0.125, 4)
    measured = measured_check("dynap-se2", model)
    assert _usages(measured, "destinations")["layer 0"] == 1
    # a five-layer network needs 5 cores on a 4-core chip
    deep = NetworkConfig(input_shape=(1, 4, 4), hidden=(8, 8, 8, 8), n_classes=3, beta=1.0)
    assert static_check("dynap-se2", deep, n_values=4, bits=4).worst("cores").usage == 5  # type: ignore[union-attr]


def test_xylo_imu_projections_reach_128_hidden_neurons(fake_quantizer: type) -> None:
    wide_first = NetworkConfig(input_shape=(1, 4, 4), hidden=(200, 100), n_classes=16)
    result = static_check("xylo-imu", wide_first, n_values=16, bits=8)
    assert _usages(result, "input_projection") == {"layer 0": 200}
    assert _usages(result, "output_projection") == {"layer 2": 100}
    assert "input projection on layer 0: 200 > 128 hidden neurons with input weights" in (
        result.messages()
    )
    # trained so that only 120 of the 200 first-layer neurons get input weights: fits
    model = SpikingNetwork(wide_first)
    codes = torch.ones(200, 16)
    codes[120:] = 0
    model.synaptic_layers[0].weight_transform = fake_quantizer(codes, 0.125, 8)
    assert _usages(measured_check("xylo-imu", model), "input_projection") == {"layer 0": 120}
    assert "input_projection" not in {
        u.name for u in static_check("xylo-audio2", wide_first, n_values=16, bits=8).usages
    }


def test_per_core_limits_need_neurons_per_core(tmp_path: Path) -> None:
    text = (data_dir("hardware_profiles") / "generic.yaml").read_text()
    text = text.replace(
        "  neurons_per_core: {value: 1024, source: datasheet, status: published}\n", ""
    )
    text = text.replace(
        "limits:\n", "limits:\n  destinations: {value: 4, source: datasheet, status: published}\n"
    )
    path = tmp_path / "chip.yaml"
    path.write_text(text)
    with pytest.raises(
        ProfileError, match=r"neurons_per_core is required with limits\.destinations"
    ):
        load_profile(path)
