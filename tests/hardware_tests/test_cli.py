from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from spikefit_search.cli import app
from spikefit_search.hardware import list_profiles
from spikefit_search.hardware.target import load_target
from spikefit_search.snn import NetworkConfig

runner = CliRunner()


def _config(tmp_path: Path, network: NetworkConfig, **compression: object) -> Path:
    path = tmp_path / "run.yaml"
    data = {
        "network": network.to_dict(),
        "compression": {"n_values": 16, "bits": 8, "rho": 0.2, "scope": "layer", **compression},
        "training": {"epochs": 1},
        "dataset": "digits",
        "seed": 0,
        "spikefit_version": "0.1.0",
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_devices_lists_every_profile() -> None:
    result = runner.invoke(app, ["devices"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in list_profiles():
        assert name in result.output
    assert "256/neuron" not in result.output and "4/neuron" in result.output


def test_devices_speck_shows_sources() -> None:
    result = runner.invoke(app, ["devices", "speck"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "sinabs" in result.output and "discretize.py" in result.output
    assert "Yao et al." in result.output and "estimated" in result.output
    assert "64Ki" in result.output  # the cores table


def test_devices_unknown_name_is_one_line() -> None:
    result = runner.invoke(app, ["devices", "nosuch"])
    assert result.exit_code == 1
    assert "must be one of" in result.output and "Traceback" not in result.output


def test_check_matrix_exit_zero_even_when_something_does_not_fit(tmp_path: Path) -> None:
    path = _config(tmp_path, NetworkConfig())
    result = runner.invoke(app, ["check", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in list_profiles():
        assert name in result.output
    assert "kernel_memory" in result.output and "64/16" in result.output  # xylo inputs


def test_check_one_device_exit_code(tmp_path: Path) -> None:
    fits = _config(tmp_path, NetworkConfig(beta=1.0, readout="spikes"))
    ok = runner.invoke(app, ["check", str(fits), "--device", "speck"], env={"COLUMNS": "200"})
    assert ok.exit_code == 0, ok.output
    lif = _config(tmp_path, NetworkConfig(beta=0.9))
    bad = runner.invoke(app, ["check", str(lif), "--device", "speck"], env={"COLUMNS": "200"})
    assert bad.exit_code == 1
    assert "neuron model on network" in bad.output


def test_check_accepts_a_profile_path(tmp_path: Path) -> None:
    from spikefit_search._resources import data_dir

    profile = data_dir("hardware_profiles") / "generic.yaml"
    path = _config(tmp_path, NetworkConfig())
    result = runner.invoke(app, ["check", str(path), "--device", str(profile)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("seed: 0\n", "'network' mapping"),
        ("network: {kind: mlp, hidden: [0]}\n", "hidden widths must be positive"),
        ("network: {}\ncompression: {bits: -1}\n", "compression.bits must be a positive"),
    ],
)
def test_check_bad_config_is_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_load_target_unpacks_four(tmp_path: Path) -> None:
    path = _config(tmp_path, NetworkConfig(hidden=(32,)), zero_is_free=True, scope="neuron")
    network, n_values, bits, model = load_target(path)
    assert network.hidden == (32,) and (n_values, bits, model) == (16, 8, None)
    target = load_target(path)
    assert target.zero_code and target.scope == "neuron"


def test_check_honours_a_fan_in_cap(tmp_path: Path) -> None:
    wide = NetworkConfig(input_shape=(1, 8, 8), hidden=(100,), beta=1.0)
    uncapped = _config(tmp_path, wide, n_values=8, bits=4)
    assert load_target(uncapped).fan_in_cap is None
    bad = runner.invoke(app, ["check", str(uncapped), "--device", "dynap-se2"])
    assert bad.exit_code == 1 and "fan in on layer 1: 100 > 64" in bad.output
    capped = _config(tmp_path, wide, n_values=8, bits=4, fan_in_cap=64)
    assert load_target(capped).fan_in_cap == 64
    ok = runner.invoke(app, ["check", str(capped), "--device", "dynap-se2"])
    assert ok.exit_code == 0, ok.output
