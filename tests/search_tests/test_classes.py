"""``--classes``: a subset of the classes, relabelled 0..k-1, so digits fit an 8-output chip."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState
from typer.testing import CliRunner

from spikefit_search.cli import app
from spikefit_search.data import load_dataset, parse_classes
from spikefit_search.exceptions import DataError
from spikefit_search.search.storage import open_storage

runner = CliRunner()


def _search(tmp_path: Path, space: Path, *extra: str) -> tuple[int, str, str]:
    args = ["search", "--device", "xylo-audio2", "--space", str(space), "--budget", "1"]
    args += ["--limit-train", "200", "--out", str(tmp_path / "runs"), "--accelerator", "cpu"]
    result = runner.invoke(app, [*args, "--study", "s", *extra], env={"COLUMNS": "300"})
    return result.exit_code, result.output, result.stderr


def test_digits_on_xylo_audio2_with_eight_classes(tmp_path: Path) -> None:
    tiny_space = tmp_path / "tiny.yaml"  # Xylo's 16 inputs: the 8x8 digits pooled 2x2
    tiny_space.write_text(
        "name: tiny\nnetwork: {kind: mlp, beta: 0.875, timesteps: 4, input_pool: 2}\n"
        "params:\n  n_values: {choices: [3]}\n  bits: {choices: [8]}\n"
        "  rho: {choices: [0.0]}\n  hidden_layers: {choices: [1]}\n  width: {choices: [24]}\n"
        "training: {warmup_epochs: 6, finetune_epochs: 1, batch_size: 32}\n"
    )
    code, _, err = _search(tmp_path, tiny_space)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and len(lines) == 1, err  # 10 classes > 8 outputs: one line, naming the way
    assert "outputs on network: 10 > 8" in lines[0] and "--classes 0-7" in lines[0]
    code, output, _ = _search(tmp_path, tiny_space, "--classes", "0-7")
    assert code == 0, output
    run = tmp_path / "runs" / "s"
    assert json.loads((run / "manifest.json").read_text())["options"]["classes"] == list(range(8))
    study = optuna.load_study(study_name="s", storage=open_storage(run, None))
    (trial,) = study.get_trials(states=(TrialState.COMPLETE,))
    assert trial.user_attrs["pipeline"]["network"]["n_classes"] == 8
    # the export keeps the subset, so retrain trains on the same classes
    result = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "best.yaml")])
    assert result.exit_code == 0, result.output
    exported = yaml.safe_load((tmp_path / "best.yaml").read_text())
    assert exported["dataset"]["classes"] == list(range(8))
    # continuing the study on other classes would mix trials of two tasks
    code, _, err = _search(tmp_path, tiny_space, "--classes", "0,1,2,3")
    assert code != 0 and "--classes" in err and "\n" not in err.strip()


def test_classes_are_parsed_and_relabelled() -> None:
    assert parse_classes("0-3,8") == (0, 1, 2, 3, 8) == parse_classes("8, 0-3")
    for bad in ("7", "0-2,2", "3-1", "a", ""):
        with pytest.raises(DataError, match="--classes must be"):
            parse_classes(bad)
    data = load_dataset("digits", classes=(2, 5, 7))
    assert data.n_classes == 3
    full = load_dataset("digits")
    assert len(data.y_test) == sum(int((full.y_test == c).sum()) for c in (2, 5, 7))
    assert set(data.y_train.tolist()) == {0, 1, 2} == set(data.y_test.tolist())
    with pytest.raises(DataError, match=r"--classes must name labels of digits .* but got 12"):
        load_dataset("digits", classes=(0, 12))


def test_train_takes_classes_too() -> None:
    args = ["train", "--classes", "0-2", "--epochs", "1", "--hidden", "8", "--timesteps", "2"]
    result = runner.invoke(app, [*args, "--accelerator", "cpu"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "digits: 64-8-3 T=2" in result.output  # three outputs
