"""The chip neuron of a profile: loaded with sources, narrowing the search, and its design
rules refused in one line each (Xylo: subtractive reset, integer events, at most 15 events per
input channel and step, a hidden and a readout layer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from spikefit_search.exceptions import ProfileError
from spikefit_search.hardware import load_profile, static_check
from spikefit_search.hardware.checks import constraint_names
from spikefit_search.hardware.loader import parse_profile
from spikefit_search.snn import NetworkConfig

GOOD = NetworkConfig(input_shape=(1, 8, 8), input_pool=2, n_classes=8, hidden=(16,))


@pytest.mark.parametrize("device", ["xylo-audio2", "xylo-imu"])
def test_xylo_profiles_carry_the_chip_neuron_with_sources(device: str) -> None:
    p = load_profile(device)
    chip = p.chip_neuron
    assert chip is not None and chip.family == "xylo"
    assert (chip.spikes_per_step, chip.readout_spikes_per_step, chip.input_events_per_step) == (
        31,
        1,
        15,
    )
    assert all(entry.source for entry in p.neuron.values())
    assert {"reset", "encoder", "neuron_layers", "input_events"} <= set(constraint_names(p))
    assert static_check(p, GOOD, n_values=4, bits=4).fits


@pytest.mark.parametrize(
    "change,name,words",
    [
        ({"reset": "zero"}, "reset", "resets by subtract only"),
        ({"encoder": "direct"}, "encoder", "takes rate, events input"),
        ({"hidden": ()}, "neuron_layers", "needs at least 2"),
        ({"input_pool": 4}, "input_events", "16 > 15"),
    ],
)
def test_xylo_refuses_what_the_chip_cannot_take(change, name, words) -> None:
    net = NetworkConfig(**{**GOOD.to_dict(), **change})
    result = static_check("xylo-audio2", net, n_values=4, bits=4)
    assert not result.fits
    bad = [u for u in result.violations if u.name == name]
    assert len(bad) == 1, result.messages()
    message = bad[0].message()
    assert words in message and "\n" not in message


def test_speck_neuron_is_sinabs_integrate_and_fire() -> None:
    chip = load_profile("speck").chip_neuron
    assert chip is not None and chip.family == "speck" and chip.dash_max is None
    assert chip.v_min == -(2**15) and not chip.delay
    assert load_profile("truenorth").chip_neuron is None  # float where no neuron is modelled


def test_a_neuron_section_with_an_unknown_key_is_refused_with_the_field() -> None:
    text = Path(load_profile("xylo-imu").path).read_text()
    bad = text.replace("  delay: {value: true", "  delays: {value: true", 1)
    with pytest.raises(ProfileError, match=r"neuron\.delays.*must be one of"):
        parse_profile(bad, "bad.yaml")


def test_xylo_beta_is_snapped_to_a_bit_shift_with_a_note() -> None:
    from spikefit_search.search.space import load_search_space as load_space

    space = load_space("mlp").narrow(load_profile("xylo-audio2"))
    assert space.network["beta"] == 0.875
    assert any("beta 0.9 snapped to 0.875" in note for note in space.notes)
    assert space.network["chip"]["family"] == "xylo"
    speck = load_space("mlp").narrow(load_profile("speck"))
    assert speck.network["beta"] == 1.0 and speck.network["chip"]["family"] == "speck"
