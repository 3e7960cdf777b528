"""A Xylo search end to end: candidates trained and scored chip-exact, the exported point
retrained into a folder that holds Xylo's own specification and a NIR file with the integers."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import torch
from sklearn.datasets import load_digits

from spikefit_search.compression import load_checkpoint
from spikefit_search.hardware.chips.xylo.spec import SPEC_KEYS
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.retrain import retrain
from spikefit_search.search import SearchOptions, run_search

SPACE = """
name: tiny-xylo
network: {kind: mlp, beta: 0.9, timesteps: 6}
params:
  n_values: {choices: [4]}
  bits: {choices: [4]}
  rho: {choices: [0.0]}
  hidden_layers: {choices: [2]}
  width: {low: 32, high: 40}
training: {warmup_epochs: 6, finetune_epochs: 1, batch_size: 32}
"""


def _digits_on_16_inputs(path: Path) -> Path:
    """Digits 0-7, 2x2 pixels averaged: a 4x4 image on Xylo's 16 input channels."""
    d = load_digits()
    keep = d.target < 8
    x = d.images[keep].reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)) / 16.0
    y = d.target[keep]
    n = len(y) * 4 // 5
    np.savez(path, x_train=x[:n], y_train=y[:n], x_test=x[n:], y_test=y[n:])
    return path


def test_xylo_search_export_and_retrain_write_the_vendor_spec(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text(SPACE)
    result = run_search(
        SearchOptions(
            device="xylo-audio2",
            budget=1,
            space=str(space),
            dataset=str(_digits_on_16_inputs(tmp_path / "d.npz")),
            out=str(tmp_path / "runs"),
            accelerator="cpu",
            seed=0,
        )
    )
    assert result.counts["trained"] == 1, result.counts
    rows = (result.run_dir / "trials.csv").read_text().splitlines()
    header = rows[0].split(",")
    first = dict(zip(header, rows[1].split(",")))
    assert first["chip_exact"] == "True" and float(first["float_accuracy"]) > 0
    export_trial(result.run_dir, out=tmp_path / "knee.yaml")
    config = tmp_path / "knee.yaml"
    done = retrain(config, out=tmp_path / "knee-retrained", accelerator="cpu", epochs=3)
    metrics = json.loads((done.out_dir / "metrics.json").read_text())
    assert metrics["chip_exact"] and "float_val_accuracy" in metrics
    spec = np.load(done.out_dir / "xylo_spec.npz")
    assert set(spec.files) == {*SPEC_KEYS, "flush_steps"}
    assert int(spec["flush_steps"]) == 2  # two hidden layers
    assert spec["weights_in"].shape[0] == 16 and spec["weights_out"].shape[1] == 8
    assert np.abs(spec["weights_in"]).max() <= 128 and spec["threshold"].max() < 2**15
    assert np.all(spec["dash_mem"] == 3)  # beta 0.9 snapped to 1 - 2^-3
    model, _ = load_checkpoint(done.checkpoint)
    assert model.chip_exact
    graph = nir.read(done.out_dir / "model.nir")
    assert graph.metadata["chip_exact"] and graph.metadata["flush_steps"] == 2
    first_synapse = next(iter(graph.metadata["synapses"].values()))
    assert np.issubdtype(np.asarray(first_synapse["integer_weight"]).dtype, np.integer)
    x = torch.rand(3, 1, 4, 4)
    assert model.run(x).output.shape[0] == 6 + 2  # T plus the flush
