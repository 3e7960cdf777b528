"""Round trips through the real NIR readers: sinabs 3.1, snnTorch 1.0 and norse 1.1, each in its
own venv (as users install them; ``.ci/install-readers.sh`` makes them). The same encoded spike
trains go into our model and into the reader's import of our NIR file; the predictions must
agree for every (reader, network) pair the reader can express, and :func:`require_reader`
refuses every other pair.

``SPIKEFIT_NIR_READERS`` names the folder holding the venvs ``sinabs``, ``snntorch`` and
``norse``; without it these tests skip (and fail under CI, which must run them).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from verifier_venvs import verifier_venv

from spikefit_search.compression import PipelineConfig, load_checkpoint
from spikefit_search.compression.methods import attach_quantizers
from spikefit_search.exceptions import ConfigError
from spikefit_search.reporting.export import export_trial
from spikefit_search.reporting.nir_export import READERS, require_reader, write_nir
from spikefit_search.snn import NetworkConfig, SpikingNetwork
from spikefit_search.snn.encoding import encode

SCRIPT = Path(__file__).parent / "nir_readers" / "run_reader.py"
SAMPLES = 48


def _readers_dir() -> Path:
    return verifier_venv(
        "SPIKEFIT_NIR_READERS",
        fail="CI must run the NIR reader round trips: run .ci/install-readers.sh",
        skip="SPIKEFIT_NIR_READERS is not set (a folder with the sinabs, snntorch and norse "
        "venvs; .ci/install-readers.sh makes them)",
    )


@dataclass
class Knee:
    name: str
    model: SpikingNetwork
    nir: Path
    spikes: Path
    logits: np.ndarray
    """Ours: mean spike count or mean readout membrane per class, ``(samples, classes)``."""

    @property
    def predictions(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


def _random_knee(cfg: NetworkConfig, seed: int) -> SpikingNetwork:
    """Random but not trivial: weights scaled so that every layer spikes, quantized to a
    4-value codebook with 20% of the synapses pruned, as a SpikeFit model is."""
    torch.manual_seed(seed)
    model = SpikingNetwork(cfg)
    for layer in model.weight_layers:  # a recurrent weight as well
        layer.synapse.weight.data *= 3.0
        layer.mask = (torch.rand_like(layer.synapse.weight) > 0.2).float()
    attach_quantizers(model, "cat", n_values=4, bits=4, scope="layer", zero_is_free=True)
    return model


def _knee(name: str, model: SpikingNetwork, nir_path: Path, tmp: Path, seed: int) -> Knee:
    cfg = model.config
    x = torch.rand(SAMPLES, *cfg.input_shape, generator=torch.Generator().manual_seed(seed))
    spikes = encode(cfg.encoder, x, cfg.timesteps, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        logits = model.run(x, generator=torch.Generator().manual_seed(seed)).logits
    if cfg.kind == "mlp":  # the NIR input is the flattened sample
        spikes = spikes.reshape(spikes.shape[0], spikes.shape[1], -1)
    np.save(tmp / f"{name}.npy", spikes.numpy())
    knee = Knee(name, model, nir_path, tmp / f"{name}.npy", logits.numpy())
    assert len(np.unique(knee.predictions)) >= 3, f"{name}: too few classes predicted to compare"
    return knee


@pytest.fixture(scope="module")
def knees(tiny_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Knee]:
    tmp = tmp_path_factory.mktemp("nir-readers")
    out: dict[str, Knee] = {}
    # Loihi knee: the trained knee of a real search (LIF, membrane readout, Loihi's zero reset,
    # which sinabs cannot import; no reader has a leaky readout with a zero reset)
    done = export_trial(tiny_run, out=tmp / "loihi.yaml", nir=tmp / "loihi.nir")
    assert done.nir_path is not None
    model, _ = load_checkpoint(tmp / "loihi.pt")
    out["loihi"] = _knee("loihi", model, done.nir_path, tmp, seed=1)
    # (network, seed): seeds whose random network predicts several classes on its samples
    nets = {
        "speck": (NetworkConfig(hidden=(32,), beta=1.0, readout="spikes", timesteps=8), 2),
        "conv": (
            NetworkConfig(
                kind="conv",
                channels=(6,),
                hidden=(24,),
                pool=2,
                beta=1.0,
                readout="spikes",
                timesteps=8,
                bias=True,
            ),
            3,
        ),
        "zero-reset": (
            NetworkConfig(hidden=(32,), beta=1.0, readout="spikes", reset="zero"),
            4,
        ),
        "zero-reset-conv": (
            NetworkConfig(
                kind="conv",
                channels=(6,),
                hidden=(24,),
                pool=2,
                beta=1.0,
                readout="spikes",
                timesteps=8,
                reset="zero",
                bias=True,
            ),
            9,
        ),
        "lif-spikes": (NetworkConfig(hidden=(32,), beta=0.9, readout="spikes", timesteps=8), 7),
        "lif-membrane": (NetworkConfig(hidden=(32,), beta=0.9, timesteps=8), 7),
        "recurrent-zero-reset": (
            NetworkConfig(hidden=(32,), beta=1.0, readout="spikes", reset="zero", recurrent=True),
            4,
        ),
        "recurrent": (
            NetworkConfig(hidden=(32,), beta=1.0, readout="spikes", timesteps=8, recurrent=True),
            2,
        ),
    }
    for name, (cfg, seed) in nets.items():
        model = _random_knee(cfg, seed)
        path = write_nir(tmp / f"{name}.nir", model, PipelineConfig(network=cfg, n_values=4))
        out[name] = _knee(name, model, path, tmp, seed)
    return out


@pytest.fixture(scope="module")
def reader_predictions(knees: dict[str, Knee]) -> dict[tuple[str, str], np.ndarray]:
    """Every reader runs every knee it can express, in one process per reader."""
    where = _readers_dir()
    found: dict[tuple[str, str], np.ndarray] = {}
    for reader in READERS:
        python = where / reader / "bin" / "python"
        assert python.is_file(), f"no {reader} venv at {python}"
        jobs: list[str] = []
        runnable = []
        for knee in knees.values():
            try:
                require_reader(knee.model.config, reader)
            except ConfigError:
                continue
            dest = knee.spikes.with_name(f"{knee.name}-{reader}.out.npy")
            jobs += [str(knee.nir), str(knee.spikes), str(dest)]
            runnable.append((knee.name, dest))
        done = subprocess.run(
            [str(python), str(SCRIPT), reader, *jobs], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"{reader} failed:\n{done.stderr[-3000:]}"
        for name, dest in runnable:
            found[reader, name] = np.load(dest)
    return found


EXPRESSIBLE = {
    ("sinabs", "speck"),
    ("sinabs", "lif-membrane"),
    ("sinabs", "conv"),
    ("snntorch", "speck"),
    ("snntorch", "conv"),
    ("norse", "zero-reset"),
    ("norse", "zero-reset-conv"),
    ("sinabs", "lif-spikes"),
    ("norse", "recurrent-zero-reset"),
}


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize(
    "name",
    [
        "speck",
        "loihi",
        "conv",
        "zero-reset",
        "zero-reset-conv",
        "lif-spikes",
        "lif-membrane",
        "recurrent-zero-reset",
        "recurrent",
    ],
)
def test_readers_predict_as_we_do(
    reader: str,
    name: str,
    knees: dict[str, Knee],
    reader_predictions: dict[tuple[str, str], np.ndarray],
) -> None:
    knee = knees[name]
    if (reader, name) not in EXPRESSIBLE:
        with pytest.raises(ConfigError, match=f"--nir-reader {reader} must run the network"):
            require_reader(knee.model.config, reader)
        assert (reader, name) not in reader_predictions
        return
    summed = reader_predictions[reader, name]  # output summed over the steps
    agreement = float((summed.argmax(axis=1) == knee.predictions).mean())
    assert agreement >= 0.99, f"{reader} on the {name} knee: {agreement:.1%} agreement"
    # not only the same predictions: the same spike counts (or readout membrane)
    np.testing.assert_allclose(summed / knee.model.config.timesteps, knee.logits, atol=1e-4)
