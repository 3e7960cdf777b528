"""The vendors' simulators are the judge: a trained chip-exact network, run in Rockpool 3.1.0's
``XyloSim`` (from our ``xylo_spec.npz``) and in sinabs 3.1's ``DynapcnnNetwork`` (built from our
integers, ``discretize=False``), gives the same spikes, layer by layer, and the same
predictions as our chip-exact model, on every one of 200 test samples.

``SPIKEFIT_ROCKPOOL`` names the Rockpool venv (``.ci/install-rockpool.sh``) and
``SPIKEFIT_NIR_READERS`` the reader venvs (``.ci/install-readers.sh``, its ``sinabs``); without
them these tests skip (and fail under CI, which must run them).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from verifier_venvs import verifier_venv

from spikefit_search.compression import PipelineConfig, run_pipeline
from spikefit_search.data import Dataset, load_dataset
from spikefit_search.hardware import load_profile, static_check
from spikefit_search.hardware.chips.xylo.spec import SPEC_KEYS, save_xylo_specification
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.snn.chip import layer_integers

SIMS = Path(__file__).parent / "vendor_sims"
SAMPLES = 200


def _venv_python(variable: str, sub: str = "") -> Path:
    venv = verifier_venv(
        variable,
        fail=f"CI must run the vendor simulators: set {variable}",
        skip=f"{variable} is not set (the verifier venv; see .ci/run)",
    )
    return venv / sub / "bin" / "python"


@pytest.fixture(scope="module")
def digits8() -> Dataset:
    return load_dataset("digits", classes=tuple(range(8)))  # Xylo Audio 2: 8 outputs


def _train(data: Dataset, device: str, **network: object) -> SpikingNetwork:
    profile = load_profile(device)
    chip = profile.chip_neuron
    assert chip is not None
    net = NetworkConfig(
        input_shape=data.input_shape, n_classes=data.n_classes, timesteps=8, chip=chip, **network
    )
    net = replace(net, beta=chip.beta_for(net.beta))
    cfg = PipelineConfig(
        network=net,
        n_values=8,
        bits=4,
        zero_is_free=bool(profile.unique_weights.zero_is_free.value),
        warmup_epochs=3,
        finetune_epochs=2,
        batch_size=64,
    )
    model = run_pipeline(cfg, data).model
    assert model.chip_exact
    return model.eval()


def _ours(
    model: SpikingNetwork, x: torch.Tensor
) -> tuple[torch.Tensor, list[np.ndarray], np.ndarray]:
    gen = torch.Generator().manual_seed(11)
    events = model.input_events(x, generator=torch.Generator().manual_seed(11), exact=True)
    with torch.no_grad():
        out = model.run(x, generator=gen)
    spikes = [s.transpose(0, 1).numpy() for s in out.spikes]
    return events, spikes, out.logits.argmax(dim=1).numpy()


@pytest.mark.parametrize(
    "device,network",
    [
        ("xylo-audio2", {"hidden": (32,), "input_pool": 2}),
        ("xylo-audio2", {"hidden": (24, 16), "input_pool": 2, "readout": "spikes"}),
        ("xylo-imu", {"hidden": (24,), "input_pool": 2}),
        ("xylo-audio2", {"hidden": (32,), "input_pool": 2, "recurrent": True}),
        ("xylo-audio2", {"hidden": (20, 12), "input_pool": 2, "recurrent": True}),
    ],
    ids=["audio2-1-hidden", "audio2-2-hidden", "imu", "audio2-recurrent", "audio2-2-recurrent"],
)
def test_xylosim_runs_our_spec_as_our_chip_exact_model(digits8, tmp_path, device, network):
    python = _venv_python("SPIKEFIT_ROCKPOOL")
    model = _train(digits8, device, **network)
    x = digits8.x_test[:SAMPLES]
    events, spikes, predictions = _ours(model, x)
    spec = save_xylo_specification(tmp_path / "xylo_spec.npz", model, dt_s=1e-3)
    assert set(np.load(spec).files) == {*SPEC_KEYS, "flush_steps"}
    np.savez(tmp_path / "x.npz", x=events.transpose(0, 1).numpy().astype(np.int64))
    chip = "syns61201" if device == "xylo-audio2" else "syns63300"
    subprocess.run(
        [
            str(python),
            str(SIMS / "run_xylosim.py"),
            chip,
            str(spec),
            str(tmp_path / "x.npz"),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        timeout=600,
    )
    theirs = np.load(tmp_path / "out.npz")
    hidden = np.concatenate(spikes[: len(model.config.hidden)], axis=2)
    assert hidden.sum() > 0
    if model.config.recurrent:  # the recurrent weights are in the spec and do something
        rec = np.load(spec)["weights_rec"]
        n0 = model.config.hidden[0]
        assert np.count_nonzero(rec[:n0, :n0]) > 0
    assert np.array_equal(theirs["hidden"], hidden)
    output = theirs["output"].astype(np.float64).sum(axis=1)  # spikes or Vmem over the steps
    assert np.array_equal(output.argmax(axis=1), predictions)
    assert (predictions == digits8.y_test[:SAMPLES].numpy()).mean() > 2 / 8  # learned


def _speck_blob(model: SpikingNetwork, events: torch.Tensor, *, mode: str = "integers") -> dict:
    """The network for ``run_dynapcnn.py``: our integers (``discretize=False``), or the same
    network in float units for sinabs' ``discretize=True`` to rescale, with our membrane floor
    (``"float_floor"``) or sinabs' default, none (``"float"``)."""
    discretize = mode != "integers"
    cfg = model.config
    blob: dict = {
        "input_shape": np.array(cfg.input_shape),
        "discretize": int(discretize),
        "x": events.transpose(0, 1).reshape(-1, cfg.timesteps, *cfg.input_shape).numpy(),
    }
    ints = layer_integers(model)
    blob["n_layers"] = len(ints)
    for i, (layer, it) in enumerate(zip(model.synaptic_layers, ints)):
        spec = layer.spec
        if discretize:
            weight = layer.effective_weight().detach().numpy()
            threshold = 1.0
            floor = cfg.chip.v_min * it.unit if mode == "float_floor" else np.nan
        else:
            weight, threshold, floor = it.stored_weights.numpy(), it.threshold, cfg.chip.v_min
        blob.update(
            {
                f"kind_{i}": spec.kind,
                f"weight_{i}": weight,
                f"threshold_{i}": threshold,
                f"min_v_mem_{i}": floor,
                f"stride_{i}": spec.stride,
                f"padding_{i}": spec.padding,
                f"pool_{i}": spec.pool,
            }
        )
    return blob


@pytest.mark.parametrize(
    "network",
    [{"hidden": (32,)}, {"kind": "conv", "channels": (6,), "hidden": (16,), "pool": 2}],
    ids=["mlp", "conv"],
)
def test_dynapcnn_network_runs_our_integers_as_our_chip_exact_model(tmp_path, network):
    python = _venv_python("SPIKEFIT_NIR_READERS", "sinabs")
    data = load_dataset("digits")
    model = _train(data, "speck", beta=1.0, readout="spikes", **network)
    x = data.x_test[:SAMPLES]
    events, spikes, predictions = _ours(model, x)
    np.savez(tmp_path / "net.npz", **_speck_blob(model, events))
    subprocess.run(
        [
            str(python),
            str(SIMS / "run_dynapcnn.py"),
            str(tmp_path / "net.npz"),
            str(tmp_path / "out.npz"),
        ],
        check=True,
        timeout=600,
    )
    theirs = np.load(tmp_path / "out.npz")
    for i, ours in enumerate(spikes):
        assert np.array_equal(theirs[f"spikes_{i}"].reshape(ours.shape), ours), f"layer {i}"
    counts = theirs[f"spikes_{len(spikes) - 1}"].reshape(spikes[-1].shape).sum(axis=1)
    assert np.array_equal(counts.argmax(axis=1), predictions)
    assert (predictions == data.y_test[:SAMPLES].numpy()).mean() > 2 / 10  # learned


MAPPER_CASES = [
    # [inputs, hidden..., outputs]: fits, too many inputs / outputs / hidden neurons, one layer
    [16, 32, 8],
    [17, 32, 8],
    [16, 32, 9],
    [16, 8],
    [16, 1001, 8],
    [16, 500, 400, 8],
    [16, 600, 500, 8],
    [8, 64, 64, 64, 4],
]


def test_our_xylo_check_agrees_with_rockpools_mapper(tmp_path):
    python = _venv_python("SPIKEFIT_ROCKPOOL")
    nets = tmp_path / "nets.json"
    nets.write_text(json.dumps(MAPPER_CASES))
    subprocess.run(
        [
            str(python),
            str(SIMS / "run_xylo_mapper.py"),
            "syns61201",
            str(nets),
            str(tmp_path / "out.json"),
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    verdicts = json.loads((tmp_path / "out.json").read_text())
    mapper_rules = {"inputs", "outputs", "neurons", "neuron_layers"}
    for widths, theirs in zip(MAPPER_CASES, verdicts):
        net = NetworkConfig(
            input_shape=(widths[0], 1, 1), hidden=tuple(widths[1:-1]), n_classes=widths[-1]
        )
        result = static_check("xylo-audio2", net, n_values=16, bits=8)
        ours = [u.message() for u in result.violations if u.name in mapper_rules]
        assert (theirs is None) == (not ours), (widths, theirs, ours)
