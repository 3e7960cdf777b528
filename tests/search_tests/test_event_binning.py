"""``--bin-mode``, ``--downsample`` and ``--channel-group``: how event data are binned reaches the
network, is part of a study's identity, and survives export and retrain."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from event_files import make_nmnist
from typer.testing import CliRunner

from spikefit_search.cli import app
from spikefit_search.compression import load_checkpoint
from spikefit_search.data import Binning
from spikefit_search.exceptions import ConfigError, RunError
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.retrain import retrain
from spikefit_search.reporting.run import load_run
from spikefit_search.schema import DatasetRef, load_config
from spikefit_search.search import SearchOptions
from spikefit_search.search.consistency import check_same_settings
from spikefit_search.search.preparation import prepare
from spikefit_search.search.run_folder import MANIFEST

runner = CliRunner()

TINY_SPACE = """
name: tiny
network: {kind: mlp, beta: 0.9, timesteps: 2}
params:
  n_values: {choices: [2, 3]}
  bits: {choices: [4, 8]}
  rho: {choices: [0.0, 0.5]}
  hidden_layers: {choices: [1]}
  width: {low: 8, high: 24}
training: {warmup_epochs: 4, finetune_epochs: 1, batch_size: 8}
"""


@pytest.fixture(scope="module")
def nmnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 classes x 30 training + 2 test recordings on a 34x34 sensor."""
    return make_nmnist(tmp_path_factory.mktemp("data") / "NMNIST", n_train=30, classes=4)


def one_line(result: Any) -> str:
    """The error line on stderr (stdout may hold ``search``'s "preparing ..." line)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return str(lines[0])


@pytest.mark.parametrize(
    ("kw", "shape", "top"),
    [
        ({}, (2, 34, 34), None),
        ({"downsample": 2}, (2, 17, 17), None),
        ({"downsample": 3}, (2, 12, 12), None),  # partial edge blocks kept
        ({"channel_group": 2}, (1, 34, 34), None),
        ({"downsample": 8, "bin_mode": "binary", "device": "loihi"}, (2, 5, 5), 1),  # clocked
    ],
)
def test_the_options_reach_the_frames(
    nmnist: Path, tmp_path: Path, kw: dict[str, Any], shape: tuple[int, ...], top: int | None
) -> None:
    prep = prepare(
        SearchOptions(dataset=str(nmnist), space="dvs", timesteps=1, out=str(tmp_path), **kw)
    )
    assert prep.data.input_shape == shape
    most = int(prep.data.x_train.max())  # events in one cell
    assert most == top if top is not None else most > 1
    assert not tmp_path.joinpath("speck-dvs-NMNIST").exists()  # prepare writes nothing


def search(nmnist: Path, out: Path, *extra: str) -> Any:
    args = ["search", "--device", "loihi", "--space", str(out.parent / "tiny.yaml")]
    args += ["--dataset", str(nmnist), "--budget", "1", "--epochs", "6", "--timesteps", "3"]
    args += ["--sampler", "random", "--accelerator", "cpu", "--study", "s", "--out", str(out)]
    return runner.invoke(app, [*args, *extra])


@pytest.fixture(scope="module")
def downsampled_run(nmnist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-trial search of the tiny MLP space on the N-MNIST folder with ``--downsample 2``."""
    folder = tmp_path_factory.mktemp("search")
    (folder / "tiny.yaml").write_text(TINY_SPACE)
    result = search(nmnist, folder / "runs", "--downsample", "2", "--bin-mode", "binary")
    assert result.exit_code == 0, result.output
    return folder / "runs" / "s"


def test_a_downsampled_search_gives_the_network_half_the_input(downsampled_run: Path) -> None:
    manifest = json.loads((downsampled_run / MANIFEST).read_text())
    options = manifest["options"]
    assert (options["downsample"], options["bin_mode"], options["channel_group"]) == (
        2,
        "binary",
        1,
    )
    (trained,) = [t for t in load_run(downsampled_run).trials if "pipeline" in t.user_attrs]
    network = trained.user_attrs["pipeline"]["network"]
    assert tuple(network["input_shape"]) == (2, 17, 17)  # 34 x 34 sensor, 2 x 2 blocks


def test_resuming_with_another_binning_is_refused(downsampled_run: Path, nmnist: Path) -> None:
    out = downsampled_run.parent
    manifest = (downsampled_run / MANIFEST).read_text()
    for extra, named in (
        (["--downsample", "4", "--bin-mode", "binary"], "--downsample 2"),
        (["--downsample", "2"], "--bin-mode 'binary'"),
        (["--downsample", "2", "--bin-mode", "binary", "--channel-group", "2"], "--channel-group"),
    ):
        line = one_line(search(nmnist, out, *extra))
        assert f"created with {named}" in line and "--study NEW_NAME" in line
    assert (downsampled_run / MANIFEST).read_text() == manifest  # nothing recorded


def export(run: Path, folder: Path) -> Path:
    """The run's one trained trial as a config (a 2-epoch trial may be stopped, off the front)."""
    (trial,) = [t.number for t in load_run(run).trials if "pipeline" in t.user_attrs]
    return export_trial(run, trial=trial, out=folder / "c.yaml").config_path


def test_export_and_retrain_bin_as_the_search_did(downsampled_run: Path, tmp_path: Path) -> None:
    path = export(downsampled_run, tmp_path)
    data = yaml.safe_load(path.read_text())["dataset"]
    assert (data["bin_mode"], data["downsample"], data["channel_group"]) == ("binary", 2, 1)
    done = retrain(path, out=tmp_path / "r", accelerator="cpu")  # 34x34 frames would not fit
    model, _ = load_checkpoint(done.checkpoint)
    assert tuple(model.config.input_shape) == (2, 17, 17)
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["dataset"] == data


def test_configs_exported_before_the_binning_keys_load_with_the_defaults(
    downsampled_run: Path, tmp_path: Path
) -> None:
    path = export(downsampled_run, tmp_path)
    data = yaml.safe_load(path.read_text())

    def reload(**dataset: Any) -> DatasetRef:
        keep = {k: v for k, v in data["dataset"].items() if k in ("name", "data_dir")}
        path.write_text(yaml.safe_dump({**data, "dataset": {**keep, **dataset}}))
        return load_config(path).dataset

    assert reload() == DatasetRef(name=data["dataset"]["name"])  # count, 1, 1
    assert reload().binning(3) == Binning(timesteps=3)
    with pytest.raises(ConfigError, match=r"dataset: binning downsample must be a positive"):
        reload(downsample=0)
    with pytest.raises(ConfigError, match=r"dataset: binning mode must be one of count, binary"):
        reload(bin_mode="sum")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--downsample", "0"], "--downsample must be a positive integer, but got 0."),
        (["--channel-group", "-2"], "--channel-group must be a positive integer, but got -2."),
        (["--bin-mode", "sum"], "--bin-mode must be one of count, binary, but got 'sum'."),
        (
            ["--downsample", "2"],
            "--downsample applies only to event data (recordings binned into frames), but got "
            "--downsample 2 with dataset digits, which holds images.",
        ),
        (["--bin-mode", "binary"], "but got --bin-mode binary with dataset digits"),
    ],
)
@pytest.mark.parametrize("command", ["search", "train"])
def test_bad_binning_is_one_line_and_writes_nothing(
    tmp_path: Path, command: str, args: list[str], message: str
) -> None:
    out = tmp_path / "runs"
    extra = ["--out", str(out)] if command == "search" else ["--epochs", "1"]
    result = runner.invoke(app, [command, *extra, *args], env={"COLUMNS": "400"})
    assert message in one_line(result)
    assert not out.exists()


def test_studies_from_before_the_options_count_as_the_defaults() -> None:
    old = {"study": "s", "options": {"seed": 0}}  # a manifest written before the options
    check_same_settings(old, {"study": "s", "options": {"seed": 0, "downsample": 1}})
    with pytest.raises(RunError, match=r"created with --downsample 1 .* asks for 2"):
        check_same_settings(old, {"study": "s", "options": {"seed": 0, "downsample": 2}})


def test_binary_bins_are_refused_on_an_event_driven_chip(nmnist: Path, tmp_path: Path) -> None:
    # Speck receives every event of the sensor: frames of one event per cell would be another
    # input, and count fewer events, than the chip's
    (tmp_path / "tiny.yaml").write_text(TINY_SPACE)
    out = tmp_path / "runs"
    args = ["--device", "speck", "--bin-mode", "binary"]
    result = runner.invoke(app, ["search", "--dataset", str(nmnist), "--out", str(out), *args])
    line = one_line(result)
    assert "--bin-mode binary needs a clocked chip" in line and "speck is event-driven" in line
    assert not out.exists()
