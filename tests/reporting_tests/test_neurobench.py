"""NeuroBench 2.3 itself, run on our exported networks with the same input spikes, gives the
figures :func:`neurobench_metrics` reports under NeuroBench's names.

``SPIKEFIT_NEUROBENCH`` names the verifier venv (snnTorch 1.0, nir, nirtorch, neurobench 2.3.0;
``.ci/install-neurobench.sh`` makes it); without it the comparison skips (and fails under CI,
which must run it). The tests of our own counting run everywhere.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from verifier_venvs import verifier_venv

from spikefit_search.compression import PipelineConfig
from spikefit_search.compression.methods import attach_quantizers
from spikefit_search.exceptions import RunError
from spikefit_search.hardware.neurobench import COLUMNS, neurobench_metrics
from spikefit_search.reporting.nir_export import write_nir
from spikefit_search.reporting.report import build_report
from spikefit_search.snn import Activity, LayerActivity, NetworkConfig, SpikingNetwork
from spikefit_search.snn.encoding import encode
from spikefit_search.training.loop import evaluate

SCRIPT = Path(__file__).parent / "neurobench" / "run_neurobench.py"
SAMPLES = 12
SEED = 5

# (network, how the verifier makes it an snnTorch network)
KNEES = {
    "speck": (NetworkConfig(hidden=(24,), beta=1.0, readout="spikes", timesteps=6), "import"),
    "conv": (
        NetworkConfig(
            kind="conv",
            channels=(4,),
            hidden=(16,),
            pool=2,
            beta=1.0,
            readout="spikes",
            timesteps=6,
            bias=True,
        ),
        "import",
    ),
    "loihi": (NetworkConfig(hidden=(24,), beta=0.9, timesteps=6), "build"),
}


def _knee(cfg: NetworkConfig, seed: int) -> SpikingNetwork:
    """A SpikeFit-like network: 4-value codebook at 4 bits, 20% of the synapses pruned,
    weights scaled so that every layer spikes."""
    torch.manual_seed(seed)
    model = SpikingNetwork(cfg)
    for layer in model.synaptic_layers:
        layer.synapse.weight.data *= 3.0
        layer.mask = (torch.rand_like(layer.synapse.weight) > 0.2).float()
    attach_quantizers(model, "cat", n_values=4, bits=4, scope="layer", zero_is_free=True)
    return model


def _samples(cfg: NetworkConfig) -> torch.Tensor:
    return torch.rand(SAMPLES, *cfg.input_shape, generator=torch.Generator().manual_seed(SEED))


def _ours(model: SpikingNetwork) -> dict[str, float]:
    x = _samples(model.config)
    # one encoding draw: the batch of spikes the NeuroBench side is given below
    result = evaluate(model, x, torch.zeros(SAMPLES, dtype=torch.long), seed=SEED, draws=1)
    return neurobench_metrics(model, result.activity).to_dict()


def test_counts_on_a_hand_checked_network() -> None:
    """Two IF neurons with weights (1, 0) and (0, 0) on two inputs that spike on every one of
    3 steps."""
    cfg = NetworkConfig(
        input_shape=(1, 1, 2), hidden=(), n_classes=2, beta=1.0, readout="spikes", timesteps=3
    )
    model = SpikingNetwork(cfg)
    model.synaptic_layers[0].synapse.weight.data = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    out = model.run(torch.ones(1, 1, 1, 2), record=True)  # rate coding of 1: a spike each step
    assert out.workload is not None
    (w,) = out.workload
    # input 0 meets one non-zero weight on each step, input 1 only zero weights
    assert (w.acs, w.macs, w.dense) == (3.0, 0.0, 12.0)
    # v = 1 (0 + 1 after each subtract reset) and v = 0 on every step: the first step only
    assert w.membrane_updates == 2.0
    assert (w.activations, w.activation_slots) == (3.0, 6.0)


def test_graded_inputs_are_macs_and_footprint_counts_bits() -> None:
    cfg = KNEES["conv"][0]
    model = _knee(cfg, 3)
    got = _ours(model)
    assert got["nb_effective_macs"] > 0  # sum pooling feeds 2, 3, 4 into the linear layer
    assert got["nb_effective_acs"] > 0
    assert got["nb_effective_macs"] + got["nb_effective_acs"] < got["nb_dense"]
    weights = sum(layer.synapse.weight.numel() for layer in model.synaptic_layers)
    # 4-bit weights: 28 bits per weight fewer than float32
    assert got["nb_footprint_bytes"] - got["nb_footprint_bits_bytes"] == weights * 28 / 8
    assert 0.1 < got["nb_connection_sparsity"] < 0.5


def test_metrics_need_recorded_counts() -> None:
    model = SpikingNetwork(NetworkConfig(hidden=(4,)))
    bare = Activity(timesteps=2, samples=1, layers=[LayerActivity(4, 1.0, 2.0, 1.0)] * 2)
    with pytest.raises(RunError, match="recorded by evaluate"):
        neurobench_metrics(model, bare)


def test_front_tables_carry_the_metrics(tiny_run: Path, tmp_path: Path) -> None:
    """pareto.csv, trials.csv and the report give every trained point NeuroBench's figures."""
    trials = pd.read_csv(tiny_run / "trials.csv")
    pareto = pd.read_csv(tiny_run / "pareto.csv")
    trained = trials[trials["stage"] == "trained"]
    assert len(trained) >= 1 and len(pareto) >= 1
    for frame in (trained, pareto):
        assert not frame[list(COLUMNS)].isna().any().any()
        assert (frame["nb_effective_acs"] > 0).all()
        # a clocked LIF chip charges zero-weight-free SOPs: NeuroBench's effective operations
        assert np.allclose(frame["nb_effective_acs"] + frame["nb_effective_macs"], frame["sops"])
        assert (frame["nb_footprint_bits_bytes"] < frame["nb_footprint_bytes"]).all()
    report = build_report([tiny_run], out=tmp_path)
    page = report.html.read_text()
    assert "NeuroBench metrics of the front" in page and "MembraneUpdates" in page
    knee = pareto.iloc[0]
    assert f"{knee['nb_dense']:,.0f}" in page


def _venv() -> Path:
    return verifier_venv(
        "SPIKEFIT_NEUROBENCH",
        fail="CI must run NeuroBench on our networks: run .ci/install-neurobench.sh",
        skip="SPIKEFIT_NEUROBENCH is not set (a venv with neurobench 2.3.0, snnTorch, nir and "
        "nirtorch; .ci/install-neurobench.sh makes it)",
    )


@pytest.fixture(scope="module")
def neurobench_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict, dict]]:
    python = _venv() / "bin" / "python"
    assert python.is_file(), f"no neurobench venv at {python}"
    tmp = tmp_path_factory.mktemp("neurobench")
    jobs: list[str] = []
    ours: dict[str, dict[str, float]] = {}
    for seed, (name, (cfg, how)) in enumerate(KNEES.items(), start=1):
        model = _knee(cfg, seed)
        ours[name] = _ours(model)
        nir_path = write_nir(tmp / f"{name}.nir", model, PipelineConfig(network=cfg, n_values=4))
        # the spikes evaluate() drew: one batch from a generator seeded with SEED
        x = _samples(cfg)
        spikes = encode(
            cfg.encoder, x, cfg.timesteps, generator=torch.Generator().manual_seed(SEED)
        )
        if cfg.kind == "mlp":
            spikes = spikes.reshape(spikes.shape[0], spikes.shape[1], -1)
        np.save(tmp / f"{name}.npy", spikes.numpy())
        jobs += [how, str(nir_path), str(tmp / f"{name}.npy"), str(tmp / f"{name}.json")]
    done = subprocess.run(
        [str(python), str(SCRIPT), *jobs], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"neurobench failed:\n{done.stderr[-3000:]}"
    return {name: (ours[name], json.loads((tmp / f"{name}.json").read_text())) for name in KNEES}


@pytest.mark.parametrize("name", list(KNEES))
def test_neurobench_gives_our_figures(
    name: str, neurobench_results: dict[str, tuple[dict, dict]]
) -> None:
    ours, theirs = neurobench_results[name]
    ops = theirs["SynapticOperations"]
    assert ours["nb_footprint_bytes"] == theirs["Footprint"]
    assert round(ours["nb_connection_sparsity"], 4) == theirs["ConnectionSparsity"]
    assert ours["nb_activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"], rel=1e-9)
    assert ours["nb_effective_macs"] == pytest.approx(ops["Effective_MACs"], rel=1e-9)
    assert ours["nb_effective_acs"] == pytest.approx(ops["Effective_ACs"], rel=1e-9)
    assert ours["nb_dense"] == pytest.approx(ops["Dense"], rel=1e-9)
    # float32 membranes count rounding residues of weights that cancel as updates
    assert ours["nb_membrane_updates"] == pytest.approx(theirs["MembraneUpdates"], rel=2e-2)
    if KNEES[name][1] == "import":  # IF: the same membrane in float64, exactly
        float64 = theirs["float64"]["MembraneUpdates"]
        assert ours["nb_membrane_updates"] == pytest.approx(float64, rel=1e-9)
    # (LIF: snnTorch's beta is exp(-1/tau) of the file's float32 tau, a rounding away from
    # ours, which moves a few membranes that sit at rest in ours)
    assert ours["nb_effective_acs"] > 0 and ours["nb_activation_sparsity"] < 1
    assert set(ours) == set(COLUMNS)
