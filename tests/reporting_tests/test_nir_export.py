from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest
import torch

from spikefit_search.compression import PipelineConfig, load_checkpoint
from spikefit_search.compression.methods import attach_quantizers
from spikefit_search.exceptions import ConfigError
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.nir_export import to_nir, write_nir
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def distinct_nonzero_per_scope(w: np.ndarray, scope: str) -> int:
    rows = w.reshape(w.shape[0], -1) if scope == "neuron" else w.reshape(1, -1)
    return max(len(np.unique(r[r != 0])) for r in rows)


def test_exported_nir_loads_with_the_trained_weights(tiny_run: Path, tmp_path: Path) -> None:
    done = export_trial(tiny_run, out=tmp_path / "knee.yaml", nir=tmp_path / "knee.nir")
    assert done.nir_path == tmp_path / "knee.nir"
    model, cfg = load_checkpoint(tmp_path / "knee.pt")
    graph = nir.read(done.nir_path)
    synapses = [graph.nodes["fc0"], graph.nodes["readout_synapse"]]
    assert [type(n).__name__ for n in synapses] == ["Linear", "Linear"]
    assert isinstance(graph.nodes["lif_fc0"], nir.LIF) and isinstance(
        graph.nodes["readout"], nir.LI
    )
    assert graph.edges[0] == ("input", "fc0") and graph.edges[-1] == ("readout", "output")
    for node, layer in zip(synapses, model.synaptic_layers):
        trained = layer.effective_weight().detach().numpy()
        np.testing.assert_array_equal(node.weight, trained)
        assert distinct_nonzero_per_scope(node.weight, cfg.scope) <= cfg.n_values
        meta = node.metadata
        assert int(meta["bits"]) == cfg.bits and int(meta["n_values"]) == cfg.n_values
        codebook, codes, scale = meta["codebook"], meta["codes"], float(meta["scale"])
        assert codes.shape == node.weight.shape
        assert codebook.min() >= -(2 ** (cfg.bits - 1)) and codebook.max() < 2 ** (cfg.bits - 1)
        rows = np.arange(codebook.shape[0])[:, None] if codebook.shape[0] > 1 else 0
        rebuilt = np.where(
            codes < 0, 0.0, codebook[rows, np.clip(codes, 0, None)] * np.float32(scale)
        )
        np.testing.assert_allclose(rebuilt, node.weight, rtol=1e-6, atol=1e-9)
    lif = graph.nodes["lif_fc0"]
    beta = model.config.beta
    np.testing.assert_allclose(lif.tau, 1 / (1 - beta), rtol=1e-6)
    assert lif.tau.shape == (model.config.hidden_sizes[0],)
    assert int(graph.metadata["timesteps"]) == model.config.timesteps


def test_conv_network_with_neuron_codebooks(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = NetworkConfig(
        kind="conv", channels=(4,), hidden=(6,), pool=2, timesteps=2, beta=1.0, bias=True
    )
    model = SpikingNetwork(net)
    attach_quantizers(model, "cat", n_values=3, bits=4, scope="neuron", zero_is_free=False)
    pipeline = PipelineConfig(network=net, n_values=3, bits=4, scope="neuron")
    path = write_nir(tmp_path / "conv.nir", model, pipeline)
    graph = nir.read(path)
    kinds = [type(graph.nodes[b]).__name__ for _, b in graph.edges]
    assert kinds == [
        "Conv2d",
        "IF",
        "SumPool2d",
        "Flatten",
        "Affine",
        "IF",
        "Affine",
        "LI",
        "Output",
    ]
    conv = graph.nodes["conv0"]
    np.testing.assert_array_equal(conv.weight, model.layers[0].effective_weight().detach().numpy())
    for name in ("conv0", "fc0", "readout_synapse"):
        w = graph.nodes[name].weight
        assert distinct_nonzero_per_scope(w, "neuron") <= 3
        assert graph.nodes[name].metadata["codebook"].shape[0] == w.shape[0]


def test_max_pooling_cannot_be_expressed() -> None:
    net = NetworkConfig(kind="conv", channels=(2,), hidden=(4,), pool=2, pool_mode="max")
    with pytest.raises(ConfigError, match="max pooling"):
        to_nir(SpikingNetwork(net))
