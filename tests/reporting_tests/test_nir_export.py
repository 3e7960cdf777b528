from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from spikefit_search.cli import app
from spikefit_search.compression import PipelineConfig, load_checkpoint
from spikefit_search.compression.methods import attach_quantizers
from spikefit_search.exceptions import ConfigError
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.nir_export import (
    FORMAT_VERSION,
    nir_threshold,
    reader_support,
    require_reader,
    time_constant,
    to_nir,
    write_nir,
)
from spikefit_search.reporting.retrain import retrain
from spikefit_search.snn import NetworkConfig, SpikingNetwork


def distinct_nonzero_per_scope(w: np.ndarray, scope: str) -> int:
    rows = w.reshape(w.shape[0], -1) if scope == "neuron" else w.reshape(1, -1)
    return max(len(np.unique(r[r != 0])) for r in rows)


def test_exported_nir_loads_with_the_trained_weights(tiny_run: Path, tmp_path: Path) -> None:
    done = export_trial(tiny_run, out=tmp_path / "knee.yaml", nir=tmp_path / "knee.nir")
    assert done.nir_path == tmp_path / "knee.nir"
    model, cfg = load_checkpoint(tmp_path / "knee.pt")
    graph = nir.read(done.nir_path)
    names = ["l01b_fc", "l02b_fc"]
    assert [type(graph.nodes[n]).__name__ for n in names] == ["Affine", "Affine"]
    assert isinstance(graph.nodes["l01c_lif"], nir.LIF)
    assert isinstance(graph.nodes["l02c_li"], nir.LI)
    assert graph.edges[0] == ("input", "l01b_fc") and graph.edges[-1] == ("l02c_li", "output")
    for name, layer in zip(names, model.synaptic_layers):
        node = graph.nodes[name]
        trained = layer.effective_weight().detach().numpy()
        np.testing.assert_array_equal(node.weight, trained)
        np.testing.assert_array_equal(node.bias, 0.0)
        assert distinct_nonzero_per_scope(node.weight, cfg.scope) <= cfg.n_values
        meta = graph.metadata["synapses"][name]
        assert int(meta["bits"]) == cfg.bits and int(meta["n_values"]) == cfg.n_values
        codebook, codes, scale = meta["codebook"], meta["codes"], float(meta["scale"])
        assert codes.shape == node.weight.shape
        assert codebook.min() >= -(2 ** (cfg.bits - 1)) and codebook.max() < 2 ** (cfg.bits - 1)
        rows = np.arange(codebook.shape[0])[:, None] if codebook.shape[0] > 1 else 0
        rebuilt = np.where(
            codes < 0, 0.0, codebook[rows, np.clip(codes, 0, None)] * np.float32(scale)
        )
        np.testing.assert_allclose(rebuilt, node.weight, rtol=1e-6, atol=1e-9)
    lif = graph.nodes["l01c_lif"]
    beta = model.config.beta
    np.testing.assert_allclose(np.exp(-1.0 / lif.tau), beta, rtol=1e-6)  # exact decay, dt = 1
    np.testing.assert_allclose(lif.r, lif.tau)  # an input x moves the membrane by x
    assert lif.tau.shape == (model.config.hidden_sizes[0],)
    assert lif.metadata["reset"] == "zero"  # the tiny run's Loihi neuron resets to zero
    assert int(graph.metadata["timesteps"]) == model.config.timesteps
    assert graph.metadata["weights"] == "search checkpoint"
    assert str(graph.metadata["producer"]).startswith("spikefit-search ")


def test_the_file_has_only_fields_nir_1_0_4_reads(tmp_path: Path) -> None:
    """nir 1.0.4 (sinabs 3.1 pins it) passes every stored field to the node's constructor:
    an unknown one (v_reset, metadata on a Conv2d) makes the whole file unreadable there."""
    net = NetworkConfig(kind="conv", channels=(2,), hidden=(4,), pool=2, beta=1.0, timesteps=2)
    path = write_nir(tmp_path / "c.nir", SpikingNetwork(net))
    allowed_meta = {"IF", "LIF", "LI", "Affine", "Flatten", "SumPool2d", "NIRGraph"}
    with h5py.File(path, "r") as f:
        assert f["version"][()].decode() == FORMAT_VERSION
        nodes = f["node"]["nodes"]
        for name in nodes:
            kind = nodes[name]["type"][()].decode()
            assert "v_reset" not in nodes[name], name
            assert "metadata" not in nodes[name] or kind in allowed_meta, name
    graph = nir.read(path)  # and the current nir reads it, v_reset at its default
    assert isinstance(graph.nodes["l01b_if"], nir.IF)


def test_neurons_fire_at_the_threshold_as_ours_do() -> None:
    # NIR fires when v > v_threshold, we fire when v >= threshold
    assert np.float32(1.0) > nir_threshold(1.0)
    assert not nir_threshold(1.0) > nir_threshold(1.0)
    assert np.nextafter(nir_threshold(1.0), np.float32(2)) == np.float32(1.0)
    assert time_constant(1.0) == float("inf")
    assert np.exp(-1 / time_constant(0.9)) == pytest.approx(0.9)


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
    assert list(graph.nodes) == sorted(graph.nodes)  # names sort in graph order
    kinds = [type(graph.nodes[b]).__name__ for _, b in graph.edges]
    expected = "Conv2d IF SumPool2d Flatten Affine IF Affine LI Output"
    assert kinds == expected.split()
    conv = graph.nodes["l01a_conv"]
    np.testing.assert_array_equal(conv.weight, model.layers[0].effective_weight().detach().numpy())
    for name in ("l01a_conv", "l02b_fc", "l03b_fc"):
        w = graph.nodes[name].weight
        assert distinct_nonzero_per_scope(w, "neuron") <= 3
        assert graph.metadata["synapses"][name]["codebook"].shape[0] == w.shape[0]


def test_max_pooling_cannot_be_expressed() -> None:
    net = NetworkConfig(kind="conv", channels=(2,), hidden=(4,), pool=2, pool_mode="max")
    with pytest.raises(ConfigError, match="max pooling"):
        to_nir(SpikingNetwork(net))


def test_reader_support_and_refusals() -> None:
    speck = NetworkConfig(beta=1.0, readout="spikes")
    loihi = NetworkConfig(beta=0.9, readout="membrane")
    ok: dict[tuple[str, str], bool] = {}
    for name, cfg in (("speck", speck), ("loihi", loihi)):
        ok.update({(r.reader, name): r.ok for r in reader_support(cfg)})
    assert ok == {
        ("sinabs", "speck"): True,
        ("snntorch", "speck"): True,
        ("norse", "speck"): False,
        ("sinabs", "loihi"): True,
        ("snntorch", "loihi"): False,
        ("norse", "loihi"): False,
    }
    sinabs = require_reader(speck, "sinabs")
    assert any("SingleSpike" in o for o in sinabs.options)
    with pytest.raises(ConfigError, match="--nir-reader norse must run the network as trained"):
        require_reader(speck, "norse")
    with pytest.raises(ConfigError, match="must be one of sinabs, snntorch, norse"):
        require_reader(speck, "lava")


def test_export_refuses_before_writing_anything(tiny_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "knee.yaml"
    with pytest.raises(ConfigError, match="snntorch"):  # the tiny run is LIF + membrane
        export_trial(tiny_run, out=out, nir=tmp_path / "k.nir", nir_reader="snntorch")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a folder should be")
    with pytest.raises(ConfigError, match="--nir must be a writable place"):
        export_trial(tiny_run, out=out, nir=blocked / "k.nir")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]  # no .pt, no .yaml


def test_export_refusal_is_one_line_without_traceback(tiny_run: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("")
    cmd = [sys.executable, "-m", "spikefit_search.cli", "export", str(tiny_run)]
    cmd += ["-o", str(tmp_path / "k.yaml"), "--nir", str(blocked / "k.nir")]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    text = done.stdout + done.stderr
    assert "Traceback" not in text and "--nir must be a writable place" in " ".join(text.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked"]


def test_retrain_refuses_an_unrunnable_reader_before_training(
    tiny_run: Path, tmp_path: Path
) -> None:
    config = export_trial(tiny_run, out=tmp_path / "knee.yaml").config_path
    with pytest.raises(ConfigError, match="--nir-reader norse must run the network as trained"):
        retrain(config, out=tmp_path / "out", nir_reader="norse")
    assert not (tmp_path / "out").exists()


def test_export_says_which_readers_run_the_file(tiny_run: Path, tmp_path: Path) -> None:
    args = [
        "export",
        str(tiny_run),
        "-o",
        str(tmp_path / "k.yaml"),
        "--nir",
        str(tmp_path / "k.nir"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "sinabs: cannot run it as trained: sinabs' from_nir always subtracts" in text
    assert "snntorch: cannot run it as trained: snnTorch's import_from_nir has no leaky" in text
    assert "norse: cannot run it as trained" in text
