from __future__ import annotations

from pathlib import Path

import pytest

from spikefit_search._resources import data_dir
from spikefit_search.exceptions import ProfileError, UnknownNameError
from spikefit_search.hardware import HardwareProfile, list_profiles, load_profile
from spikefit_search.hardware.loader import PROFILE_DIR, parse_profile
from spikefit_search.hardware.profile import ENERGY_STATUSES

CHIPS = {
    "speck",
    "xylo-audio2",
    "xylo-imu",
    "dynap-se2",
    "loihi",
    "loihi2",
    "truenorth",
    "spinnaker2",
    "akida",
}


def test_every_chip_is_shipped() -> None:
    assert set(list_profiles()) >= CHIPS
    assert "generic" not in list_profiles()


@pytest.mark.parametrize("name", [*list_profiles(), "generic"])
def test_shipped_profile_loads_and_validates(name: str) -> None:
    path = data_dir(PROFILE_DIR) / f"{name}.yaml"
    profile = load_profile(path)
    assert isinstance(profile, HardwareProfile)
    assert profile.name == name
    assert profile.weight_bits.value > 0 and profile.unique_weights.max.value > 0
    for _, value in profile.energy.items():
        assert value.source and value.status in ENERGY_STATUSES
    for entry in profile.limits.values():
        assert entry.value > 0 and entry.source


def test_load_by_name_equals_load_by_path() -> None:
    assert load_profile("speck") == load_profile(data_dir(PROFILE_DIR) / "speck.yaml")


def test_source_keys_expand_to_citations() -> None:
    assert "sinabs" in load_profile("speck").weight_bits.source
    assert "discretize.py" in load_profile("speck").weight_bits.source


def test_secondary_status_and_symmetric_grid_load() -> None:
    spinnaker = load_profile("spinnaker2")
    assert spinnaker.weight_symmetric is not None and spinnaker.weight_symmetric.value
    assert spinnaker.weight_bits.status == "secondary" and spinnaker.weight_bits.secondary
    assert load_profile("speck").weight_symmetric is None
    assert load_profile("loihi").energy.e_sop_pj is not None
    assert load_profile("loihi").energy.e_sop_pj.status == "secondary"


def test_source_key_followed_by_a_colon_expands() -> None:
    scope = load_profile("xylo-audio2").unique_weights.scope.source
    assert scope.startswith("synsense/rockpool@42cee1c") and "one weight shift" in scope


def test_unknown_device_lists_known_names() -> None:
    with pytest.raises(UnknownNameError, match="speck") as info:
        load_profile("nonexistent-chip")
    assert "truenorth" in str(info.value)


def _variant(tmp_path: Path, old: str, new: str) -> Path:
    text = (data_dir(PROFILE_DIR) / "speck.yaml").read_text()
    assert old in text, old
    path = tmp_path / "mychip.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("old", "new", "field", "rule"),
    [
        (
            "weights:\n  bits: {value: 8, source: sinabs-discretize, status: published}\n",
            "weights:\n",
            "weights.bits",
            "is required, but it is missing",
        ),
        (
            "neurons: {value: 327680,",
            "neurons: {value: -5,",
            "limits.neurons",
            "must be positive, but got -5",
        ),
        (
            "model: speck_cores",
            "model: magic",
            "mapping.model",
            "must be one of budget, crossbar, speck_cores, but got 'magic'",
        ),
        (
            "status: published}\nlayer_types",
            "status: rumoured}\nlayer_types",
            "neuron_models.status",
            "must be one of measured, published, secondary, estimated",
        ),
        (
            "  window_ms: {value: 100.0,",
            "  unused_ms: {value: 100.0,",
            "energy.window_ms",
            "is required when energy.clocked is false",
        ),
        (
            "clocked: {value: false,",
            "clocked: {value: true,",
            "energy.dt_ms",
            "is required when energy.clocked is true, but it is missing",
        ),
        (
            "- {kernel_memory: 32768, neuron_memory: 32768,",
            "- {kernel_memory: -1, neuron_memory: 32768,",
            "mapping.cores[3].kernel_memory",
            "must be a positive integer, but got -1",
        ),
    ],
    ids=[
        "missing-field",
        "negative-limit",
        "unknown-mapping-model",
        "bad-status",
        "event-driven-without-window",
        "clocked-without-dt",
        "bad-core",
    ],
)
def test_malformed_profile_one_line_error(
    tmp_path: Path, old: str, new: str, field: str, rule: str
) -> None:
    path = _variant(tmp_path, old, new)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    assert f"field {field} " in message
    assert rule in message


def test_bad_yaml_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nweights: {bits: [1, 2\n")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "must be valid YAML" in message


def test_missing_file_is_profile_error(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="does not exist"):
        load_profile(tmp_path / "absent.yaml")


def _energy_yaml(entry: str) -> str:
    text = (data_dir(PROFILE_DIR) / "generic.yaml").read_text()
    start = text.index("  e_sop_pj:")
    end = text.index("\n", start)
    return text[:start] + f"  e_sop_pj: {entry}" + text[end:]


def test_energy_ranges_and_unknown_constants_load() -> None:
    p = parse_profile(
        _energy_yaml("{value: 3.0, low: 1.0, high: 9.0, source: x, status: secondary}"), "g.yaml"
    )
    assert p.energy.e_sop_pj is not None and p.energy.e_sop_pj.bounds == (1.0, 9.0)
    p = parse_profile(
        _energy_yaml("{value: null, source: none published, status: unknown}"), "g.yaml"
    )
    assert p.energy.e_sop_pj is not None and not p.energy.e_sop_pj.known
    assert p.energy.e_sop_pj.describe() == "not modelled"


@pytest.mark.parametrize(
    ("entry", "rule"),
    [
        ("{value: 3.0, low: 4.0, source: x, status: estimated}", "0 <= low <= value <= high"),
        ("{value: 3.0, high: 2.0, source: x, status: estimated}", "0 <= low <= value <= high"),
        ("{value: 0.0, source: x, status: unknown}", "value: null when its status is unknown"),
        ("{value: null, source: x, status: estimated}", "must be a number"),
        ("{value: 1.0, low: two, source: x, status: estimated}", "low must be a number"),
    ],
)
def test_bad_energy_ranges_are_refused_in_one_line(entry: str, rule: str) -> None:
    with pytest.raises(ProfileError, match=rule):
        parse_profile(_energy_yaml(entry), "g.yaml")


def test_xylo_cycles_profiles_carry_their_clock() -> None:
    e = load_profile("xylo-audio2").energy
    assert e.model == "xylo_cycles" and e.e_sop_pj is None and e.static_power_mw is None
    assert e.max_clock_mhz is not None and e.max_clock_mhz.value == 50.0
    assert e.projections is not None and e.projections.value == "all"
    imu = load_profile("xylo-imu").energy
    assert imu.projections is not None and imu.projections.value == "connected"
