from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from spikefit_search._resources import data_dir
from spikefit_search.hardware import (
    constraint_names,
    layer_bits,
    list_profiles,
    load_profile,
    measured_check,
    static_check,
)
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def _set_codes(layer: object, codes: torch.Tensor, fake: type, bits: int = 4) -> None:
    layer.weight_transform = fake(codes, 0.125, bits)  # type: ignore[attr-defined]


def test_truenorth_four_weights_per_neuron_pass_five_fail(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type
) -> None:
    net = make_net(hidden=(6,), n_classes=3)  # 16 -> 6 -> 3
    first, second = net.synaptic_layers
    four = torch.tensor([3, -1, 1, -2] * 4).repeat(6, 1)
    _set_codes(first, four, fake_quantizer)
    _set_codes(second, torch.tensor([1, 2, 3, -1, 0, 0]).repeat(3, 1), fake_quantizer)
    ok = measured_check("truenorth", net)
    assert ok.worst("unique_weights").usage == 4  # type: ignore[union-attr]
    assert ok.fits, ok.messages()

    five = four.clone()
    five[4, 7] = 2  # neuron 4 of layer 0 now holds a fifth distinct weight
    _set_codes(first, five, fake_quantizer)
    bad = measured_check("truenorth", net)
    assert not bad.fits
    (violation,) = bad.violations
    assert violation.name == "unique_weights"
    assert (violation.usage, violation.limit) == (5, 4)
    assert violation.where == "layer 0 (neuron 4)"
    assert bad.margins()["unique_weights"] == pytest.approx(0.25)


def _layer0(result: object, name: str) -> float:
    (usage,) = [u for u in result.usages if u.name == name and u.where.startswith("layer 0")]  # type: ignore[attr-defined]
    return float(usage.usage)


def test_zero_is_free_or_counted(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type, tmp_path: Path
) -> None:
    net = make_net()
    codes = torch.tensor([1, 0] * 8).repeat(8, 1)
    _set_codes(net.synaptic_layers[0], codes, fake_quantizer)
    result = measured_check("akida", net)
    assert _layer0(result, "unique_weights") == 1
    assert _layer0(result, "fan_in") == 8
    # Loihi limits input axons per core, not fan-in: the 8 inputs with a synapse count
    loihi = measured_check("loihi", net)
    assert "fan_in" not in loihi.names
    assert _layer0(loihi, "core_input_axons") == 8
    # half of layer 0's synapses are zero: 8*8 live + 8*3 dense readout
    assert result.worst("synapses").usage == 64 + 24  # type: ignore[union-attr]
    text = (data_dir("hardware_profiles") / "generic.yaml").read_text()
    strict = tmp_path / "strict.yaml"
    strict.write_text(text.replace("zero_is_free: {value: true", "zero_is_free: {value: false"))
    counted = measured_check(strict, net)
    assert _layer0(counted, "unique_weights") == 2
    static = static_check(strict, net.config, n_values=1, bits=4, zero_code=True)
    assert _layer0(static, "unique_weights") == 2


def test_bit_width_is_verified(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type
) -> None:
    net = make_net()
    layer = net.synaptic_layers[0]
    weight = layer.effective_weight()
    assert layer_bits(layer, weight) == (32, "")  # float layer
    _set_codes(layer, torch.full((8, 16), 7), fake_quantizer, bits=4)
    assert layer_bits(layer, layer.effective_weight()) == (4, "")
    _set_codes(layer, torch.full((8, 16), 8), fake_quantizer, bits=4)  # 8 > 2^3 - 1
    bits, note = layer_bits(layer, layer.effective_weight())
    assert bits == 32 and "outside [-8, 7]" in note
    _set_codes(layer, torch.full((8, 16), 2.5), fake_quantizer, bits=4)  # not an integer code
    bits, note = layer_bits(layer, layer.effective_weight())
    assert bits == 32 and "not scale*k" in note
    result = measured_check("speck", net)
    assert any(u.name == "weight_bits" and u.usage == 32 for u in result.violations)


AGREE_CASES = {
    "mlp": NetworkConfig(input_shape=(1, 4, 4), hidden=(8, 6), n_classes=3, beta=1.0),
    "conv": NetworkConfig(
        kind="conv",
        input_shape=(2, 8, 8),
        channels=(4, 4),
        stride=2,
        padding=1,
        hidden=(6,),
        n_classes=3,
        beta=1.0,
    ),
    "conv-pool": NetworkConfig(
        kind="conv", input_shape=(1, 8, 8), channels=(3,), pool=2, hidden=(), beta=0.9
    ),
}


@pytest.mark.parametrize("profile", list_profiles())
@pytest.mark.parametrize("case", sorted(AGREE_CASES))
def test_static_and_measured_agree(profile: str, case: str, quantize: Callable[..., None]) -> None:
    config = AGREE_CASES[case]
    model = SpikingNetwork(config)
    quantize(model, 3, 5, distinct_layers=True)
    n_layers = len(config.layer_specs())
    static = static_check(profile, config, n_values=3, bits=5)
    measured = measured_check(profile, model)
    assert static.names == measured.names
    chip_scope = load_profile(profile).unique_weights.scope.value in ("core", "chip")
    values = 3 * n_layers if chip_scope else 3
    assert max(u.usage for u in measured.usages if u.name == "unique_weights") <= values
    # TrueNorth's axon copies depend on how neurons group their inputs, which a config cannot
    # know: there the static check bounds the cores (every neuron here groups alike, so the
    # trained layout packs more neurons, and more axons, into each core)
    bounded = ("cores", "core_axons") if profile == "truenorth" else ()
    exact = [n for n in static.names if n not in bounded]
    s_margins, m_margins = static.margins(), measured.margins()
    assert {n: s_margins[n] for n in exact} == pytest.approx({n: m_margins[n] for n in exact})
    if bounded:  # fewer cores measured; a core's axons are within the limit either way
        assert s_margins["cores"] >= m_margins["cores"]
        assert s_margins["core_axons"] <= 0 and m_margins["core_axons"] <= 0
    same = [n for n in exact if n != "unique_weights"]
    assert [(u.name, u.where, u.usage) for u in static.usages if u.name in same] == [
        (u.name, u.where, u.usage) for u in measured.usages if u.name in same
    ]
    assert static.fits == measured.fits


@pytest.mark.parametrize("profile", list_profiles())
def test_margin_names_do_not_depend_on_the_network(profile: str) -> None:
    small = static_check(profile, NetworkConfig(hidden=(4,)), n_values=4, bits=4)
    big = static_check(
        profile,
        NetworkConfig(kind="conv", input_shape=(3, 32, 32), channels=(64, 64), hidden=(512, 256)),
    )
    assert set(small.margins()) == set(big.margins()) == set(constraint_names(profile))
    assert all(isinstance(m, float) for m in big.margins().values())
    for usage in big.usages:
        assert usage.name in big.names


def test_violation_iff_positive_margin() -> None:
    result = static_check("xylo-audio2", NetworkConfig(input_shape=(1, 8, 8), n_classes=10))
    assert not result.fits
    for usage in result.usages:
        assert usage.violated == (usage.margin > 0)
    names = {u.name for u in result.violations}
    assert {"inputs", "outputs", "weight_bits"} <= names
    assert "inputs on network: 64 > 16" in result.messages()


def _twos_complement_copy(name: str, tmp_path: Path) -> Path:
    """The shipped profile without its ``weights.symmetric`` line."""
    text = (data_dir("hardware_profiles") / f"{name}.yaml").read_text()
    kept = [line for line in text.splitlines() if not line.strip().startswith("symmetric:")]
    path = tmp_path / f"{name}-twos.yaml"
    path.write_text("\n".join(kept) + "\n")
    return path


def test_symmetric_grid_refuses_the_lowest_code(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type, tmp_path: Path
) -> None:
    """SpiNNaker 2's 5-bit weights are [-15, 15]: a layer carrying -16 is refused."""
    net = make_net(input_shape=(1, 4, 8), hidden=(6,), n_classes=3)  # 32 -> 6 -> 3
    first, second = net.synaptic_layers
    _set_codes(second, torch.tensor([1, -2, 3, -4, 5, -6]).repeat(3, 1), fake_quantizer, bits=5)
    with_lowest = torch.arange(-16, 16).repeat(6, 1)  # 31 non-zero codes, zero is free
    _set_codes(first, with_lowest, fake_quantizer, bits=5)
    bad = measured_check("spinnaker2", net)
    (violation,) = bad.violations
    assert violation.name == "weight_bits" and violation.where == "layer 0"
    assert (violation.usage, violation.limit) == (32, 5)
    assert violation.note == "(codes outside [-15, 15] for 5 bits on a symmetric grid)"
    assert "weight bits on layer 0: 32 > 5 (codes outside [-15, 15]" in bad.messages()[0]
    assert layer_bits(first, first.effective_weight(), symmetric=True)[0] == 32
    assert layer_bits(first, first.effective_weight()) == (5, "")
    # the same weights on a two's complement 5-bit chip are fine: other chips are unchanged
    twos = measured_check(_twos_complement_copy("spinnaker2", tmp_path), net)
    assert twos.fits, twos.messages()
    assert twos.worst("weight_bits").usage == 5  # type: ignore[union-attr]

    symmetric = with_lowest.clamp(min=-15)  # -16 -> -15: the chip's own range
    _set_codes(first, symmetric, fake_quantizer, bits=5)
    ok = measured_check("spinnaker2", net)
    assert ok.fits, ok.messages()
    assert ok.worst("weight_bits").usage == 5  # type: ignore[union-attr]


def test_truenorth_grid_leaves_out_minus_256(
    make_net: Callable[..., SpikingNetwork], fake_quantizer: type
) -> None:
    """TrueNorth's 9-bit weights are [-255, 255]: a layer carrying -256 is refused; a narrower
    grid keeps its lowest code, which is inside the chip's range."""
    profile = load_profile("truenorth")
    assert profile.symmetric_at(9) and not profile.symmetric_at(8)
    net = make_net(hidden=(6,), n_classes=3)  # 16 -> 6 -> 3
    first, second = net.synaptic_layers
    _set_codes(second, torch.tensor([1, 2, 3, -1, 0, 0]).repeat(3, 1), fake_quantizer, bits=9)
    codes = torch.tensor([-256, 1, 2, 0] * 4).repeat(6, 1)
    _set_codes(first, codes, fake_quantizer, bits=9)
    (violation,) = measured_check("truenorth", net).violations
    assert (violation.name, violation.where) == ("weight_bits", "layer 0")
    assert violation.note == "(codes outside [-255, 255] for 9 bits on a symmetric grid)"
    _set_codes(first, codes.clamp(min=-255), fake_quantizer, bits=9)
    ok = measured_check("truenorth", net)
    assert ok.fits, ok.messages()
    _set_codes(first, codes.clamp(min=-128), fake_quantizer, bits=8)  # -128 of 8 bits
    ok = measured_check("truenorth", net)
    assert ok.fits, ok.messages()


def test_static_unique_bound_counts_the_symmetric_grid(tmp_path: Path) -> None:
    """A symmetric 5-bit layer holds at most 30 non-zero values (31 levels less zero)."""
    config = NetworkConfig(input_shape=(1, 8, 8), hidden=(40,), n_classes=3)
    assert load_profile("spinnaker2").symmetric_grid
    assert not load_profile("loihi").symmetric_grid
    static = static_check("spinnaker2", config, n_values=31, bits=5)
    unique = [u.usage for u in static.usages if u.name == "unique_weights"]
    assert unique == [30, 30]
    # at 4 bits the lowest code, -8, is inside the chip's [-15, 15]: 15 non-zero values
    narrow = static_check("spinnaker2", config, n_values=15, bits=4)
    assert [u.usage for u in narrow.usages if u.name == "unique_weights"] == [15, 15]
    twos = static_check(_twos_complement_copy("spinnaker2", tmp_path), config, n_values=31, bits=5)
    assert [u.usage for u in twos.usages if u.name == "unique_weights"] == [31, 31]
