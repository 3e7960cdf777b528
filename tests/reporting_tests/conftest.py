from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial
from reporting_helpers import MakeRun

from spikefit_search.search import SearchOptions, run_search
from spikefit_search.search.storage import open_storage

TINY_SPACE = """
name: tiny
network: {kind: mlp, beta: 0.9, timesteps: 4}
params:
  n_values: {choices: [2, 3]}
  bits: {choices: [4, 8]}
  rho: {choices: [0.0, 0.5]}
  hidden_layers: {choices: [1]}
  width: {low: 16, high: 32}
training: {warmup_epochs: 3, finetune_epochs: 1, batch_size: 32}
"""


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real search: two trained candidates on loihi, digits limited to 300 samples."""
    base = tmp_path_factory.mktemp("search")
    space = base / "tiny.yaml"
    space.write_text(TINY_SPACE)
    result = run_search(
        SearchOptions(
            device="loihi",
            budget=2,
            space=str(space),
            out=str(base / "runs"),
            limit_train=300,
            accelerator="cpu",
            seed=0,
        )
    )
    assert result.counts["trained"] >= 1, result.counts
    return result.run_dir


@pytest.fixture
def make_run(tiny_run: Path, tmp_path: Path) -> MakeRun:
    """A run folder with the tiny run's manifest and a journal holding the given trials."""

    def make(name: str, trials: Sequence[FrozenTrial]) -> Path:
        run = tmp_path / name
        run.mkdir()
        manifest = json.loads((tiny_run / "manifest.json").read_text())
        manifest["study"] = name
        (run / "manifest.json").write_text(json.dumps(manifest))
        study = optuna.create_study(
            study_name=name, storage=open_storage(run, None), directions=["maximize", "minimize"]
        )
        for t in trials:
            study.add_trial(t)
        return run

    return make


@pytest.fixture
def run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A private copy of the real run (tests may write into it)."""
    dst = tmp_path / tiny_run.name
    shutil.copytree(tiny_run, dst, ignore=shutil.ignore_patterns(".lock"))
    return dst
