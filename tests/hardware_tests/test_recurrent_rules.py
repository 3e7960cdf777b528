"""The chips' rules for recurrent layers: refused where there is no recurrence, counted in
fan-in, fan-out, Xylo's recurrent weight memory and Loihi's per-core axons elsewhere."""

from __future__ import annotations

import torch

from spikefit_search.compression import attach_quantizers
from spikefit_search.hardware import measured_check, static_check
from spikefit_search.hardware.usage import measured_layer_usage
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def _usage(result: object, name: str, where: str | None = None) -> float:
    found = [
        u
        for u in result.usages  # type: ignore[attr-defined]
        if u.name == name and (where is None or u.where == where)
    ]
    assert found, (name, where)
    return max(float(u.usage) for u in found)


def test_speck_refuses_a_recurrent_layer_in_one_line() -> None:
    net = NetworkConfig(input_shape=(2, 4, 4), hidden=(10,), recurrent=True, beta=1.0)
    result = static_check("speck", net, n_values=4, bits=8)
    (bad,) = [u for u in result.violations if u.name == "layer_type"]
    assert "layer 0 is recurrent; chip runs conv/linear only" in bad.message()
    ff = static_check("speck", NetworkConfig(input_shape=(2, 4, 4), hidden=(10,), beta=1.0))
    assert not [u for u in ff.violations if u.name == "layer_type"]


def test_xylo_counts_recurrent_fan_in_fan_out_and_weight_memory() -> None:
    net = NetworkConfig(input_shape=(16, 1, 1), hidden=(60,), n_classes=8, recurrent=True)
    result = static_check("xylo-audio2", net, n_values=8, bits=8)
    assert not [u for u in result.violations if u.name == "layer_type"]
    assert _usage(result, "fan_out", "layer 1") == 8 + 60  # readout and peers: over 64
    assert "fan_out" in {u.name for u in result.violations}
    assert _usage(result, "recurrent_synapses") == 60 * 60
    ff = static_check(
        "xylo-audio2", NetworkConfig(input_shape=(16, 1, 1), hidden=(60,), n_classes=8)
    )
    assert _usage(ff, "recurrent_synapses") == 0 and _usage(ff, "fan_out", "layer 1") == 8
    big = NetworkConfig(input_shape=(16, 1, 1), hidden=(200,), n_classes=8, recurrent=True)
    over = static_check("xylo-audio2", big, n_values=8, bits=8)
    assert "recurrent_synapses" in {u.name for u in over.violations}  # 40,000 > 32,000


def test_measured_check_reads_the_recurrent_weights() -> None:
    torch.manual_seed(0)
    cfg = NetworkConfig(input_shape=(16, 1, 1), hidden=(20,), n_classes=8, recurrent=True)
    model = SpikingNetwork(cfg)
    rec = model.synaptic_layers[0].recurrent
    assert rec is not None
    mask = torch.ones(20, 20)
    mask[:, 5:] = 0  # neurons 5.. drive no peer; neurons 0..4 drive all 20
    rec.mask = mask
    attach_quantizers(model, "cat", n_values=4, bits=8)
    result = measured_check("xylo-audio2", model)
    assert _usage(result, "recurrent_synapses") == 100
    (first, _) = measured_layer_usage(model)
    assert (first.fan_in, first.rec_synapses, first.synapses) == (16 + 5, 100, 16 * 20 + 100)
    assert _usage(result, "fan_out", "layer 1") == 8 + 20
    assert _usage(result, "weight_bits", "layer 0") == 8
    dense = static_check("xylo-audio2", cfg, n_values=4, bits=8)
    assert _usage(dense, "recurrent_synapses") == 400  # the static bound is above


def test_loihi_cores_hear_their_own_layer() -> None:
    net = NetworkConfig(input_shape=(1, 8, 8), hidden=(50,), recurrent=True)
    result = static_check("loihi", net, n_values=8, bits=8)
    assert not [u for u in result.violations if u.name == "layer_type"]
    assert _usage(result, "core_input_axons", "layer 0") == 64 + 50
    ff = static_check(
        "loihi", NetworkConfig(input_shape=(1, 8, 8), hidden=(50,)), n_values=8, bits=8
    )
    assert _usage(ff, "core_input_axons", "layer 0") == 64
    assert _usage(result, "core_synapse_bits", "layer 0") > _usage(
        ff, "core_synapse_bits", "layer 0"
    )


def test_dynap_fan_in_cap_counts_recurrent_synapses() -> None:
    from spikefit_search.hardware import fan_in_cap

    small = NetworkConfig(input_shape=(1, 6, 6), hidden=(20,))
    assert fan_in_cap("dynap-se2", small) is None  # 36 inputs <= 64
    rec = NetworkConfig(input_shape=(1, 6, 6), hidden=(40,), recurrent=True)
    assert fan_in_cap("dynap-se2", rec) == 64  # 36 + 40 recurrent > 64
