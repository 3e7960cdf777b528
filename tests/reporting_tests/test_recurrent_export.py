"""A recurrent network through search, export and retrain on Xylo: the NIR cycle, the
recurrent block of ``weights_rec``, the measured check and the energy cover it."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest

from spikefit_search.compression import load_checkpoint
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.nir_export import require_reader, to_nir
from spikefit_search.reporting.retrain import retrain
from spikefit_search.search import SearchOptions, run_search

RNN_SPACE = """
name: tiny-rnn
network: {kind: mlp, beta: 0.9, readout: membrane}
params:
  recurrent: {choices: [true]}
  n_values: {choices: [8]}
  bits: {choices: [8]}
  rho: {choices: [0.0, 0.25]}
  hidden_layers: {choices: [1]}
  width: {low: 24, high: 32}
training: {warmup_epochs: 12, finetune_epochs: 2, batch_size: 64}
"""


def test_recurrent_search_export_and_retrain_on_xylo(tmp_path: Path) -> None:
    space = tmp_path / "rnn.yaml"
    space.write_text(RNN_SPACE)
    result = run_search(
        SearchOptions(
            device="xylo-audio2",
            budget=2,
            space=str(space),
            dataset="sequential-digits",
            classes=tuple(range(8)),
            out=str(tmp_path / "runs"),
            limit_train=600,
            accelerator="cpu",
            seed=0,
        )
    )
    assert result.counts["trained"] + result.counts["stopped"] == 2, result.counts
    done = export_trial(result.run_dir, out=tmp_path / "knee.yaml", nir=tmp_path / "knee.nir")
    assert done.nir_path is not None
    graph = nir.read(done.nir_path)
    assert ("l01c_lif", "l01d_rec") in graph.edges and ("l01d_rec", "l01c_lif") in graph.edges
    rec_meta = graph.metadata["synapses"]["l01d_rec"]
    assert "integer_weight" in rec_meta and rec_meta["bits"] == 8
    model, _ = load_checkpoint(tmp_path / "knee.pt")
    rec = model.synaptic_layers[0].recurrent
    assert model.config.recurrent and model.chip_exact and rec is not None
    np.testing.assert_array_equal(
        graph.nodes["l01d_rec"].weight, rec.effective_weight().detach().numpy()
    )
    with pytest.raises(Exception, match="--nir-reader sinabs must run the network"):
        require_reader(model.config, "sinabs")
    out = retrain(tmp_path / "knee.yaml", out=tmp_path / "re", accelerator="cpu")
    spec = np.load(tmp_path / "re" / "xylo_spec.npz")
    n = model.config.hidden[0]
    w_rec = spec["weights_rec"]
    assert w_rec.shape == (n, n) and np.count_nonzero(w_rec) > 0
    check = json.loads((tmp_path / "re" / "check.json").read_text())
    names = {c["name"] for c in check["usages"]}
    assert {"recurrent_synapses", "fan_out", "layer_type"} <= names
    usage = {c["name"]: c["usage"] for c in check["usages"] if c["where"] == "network"}
    retrained_rec = out.result.model.synaptic_layers[0].recurrent
    assert retrained_rec is not None
    assert usage["recurrent_synapses"] == int((retrained_rec.effective_weight() != 0).sum())
    assert out.energy.total_uj > 0
    assert to_nir(out.result.model).metadata["recurrent"]
