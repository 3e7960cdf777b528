"""Do sinabs 3.1, snnTorch 1.0 and norse 1.1 run our NIR files as we do?

Trains three knees on the digits data (real, offline): a Speck-like one (IF, spiking readout),
a Loihi-like one (LIF, membrane readout) and a Speck conv one (IF, sum pooling, spiking
readout), writes each in NIR, feeds the same encoded spike trains of N test samples to our
model and to every reader that can express the network (``run_reader.py``, inside the reader's
own venv), and prints the prediction agreement as a Markdown table.

    bash .ci/install-readers.sh                       # the reader venvs, once
    SPIKEFIT_NIR_READERS=.venv-readers python bench/nir_readers.py --samples 200
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from spikefit_search.compression import PipelineConfig, run_pipeline
from spikefit_search.data import load_dataset
from spikefit_search.reporting.nir_export import READERS, reader_support, write_nir
from spikefit_search.snn import NetworkConfig
from spikefit_search.snn.encoding import encode

SCRIPT = Path(__file__).parents[1] / "tests" / "reporting_tests" / "nir_readers" / "run_reader.py"

KNEES = {
    "Speck knee (IF, spiking readout)": NetworkConfig(
        hidden=(64,), beta=1.0, readout="spikes", timesteps=10
    ),
    "Loihi knee (LIF, membrane readout)": NetworkConfig(
        hidden=(64,), beta=0.9, readout="membrane", timesteps=10
    ),
    "conv knee (IF, sum pooling, spiking readout)": NetworkConfig(
        kind="conv", channels=(8,), hidden=(32,), pool=2, beta=1.0, readout="spikes", timesteps=10
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=6, help="warm-up epochs (fine-tune: half)")
    args = parser.parse_args()
    readers = Path(os.environ.get("SPIKEFIT_NIR_READERS", ".venv-readers"))
    data = load_dataset("digits", seed=0)
    x = data.x_test[: args.samples]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, net) in enumerate(KNEES.items()):
            cfg = PipelineConfig(
                network=net,
                n_values=4,
                bits=4,
                rho=0.25,
                warmup_epochs=args.epochs,
                finetune_epochs=max(1, args.epochs // 2),
                seed=i,
            )
            result = run_pipeline(cfg, data, device=torch.device("cpu"))
            model = result.model.eval()
            path = write_nir(Path(tmp) / f"knee{i}.nir", model, cfg)
            gen = torch.Generator().manual_seed(100 + i)
            spikes = encode(net.encoder, x, net.timesteps, generator=gen)
            with torch.no_grad():
                ours = model.run(x, generator=torch.Generator().manual_seed(100 + i)).logits
            if net.kind == "mlp":
                spikes = spikes.reshape(spikes.shape[0], spikes.shape[1], -1)
            np.save(Path(tmp) / f"x{i}.npy", spikes.numpy())
            ours_pred = ours.argmax(dim=1).numpy()
            acc = float((ours_pred == data.y_test[: args.samples].numpy()).mean())
            cells = []
            for support in reader_support(net):
                if not support.ok:
                    cells.append(f"cannot: {support.reason}")
                    continue
                out = Path(tmp) / f"out{i}-{support.reader}.npy"
                python = readers / support.reader / "bin" / "python"
                cmd = [str(python), str(SCRIPT), support.reader, str(path), f"{tmp}/x{i}.npy"]
                subprocess.run([*cmd, str(out)], check=True, capture_output=True)
                agree = float((np.load(out).argmax(axis=1) == ours_pred).mean())
                cells.append(f"{agree:.1%}")
            rows.append((name, f"{acc:.1%}", *cells))
    print(
        f"| knee ({args.samples} digits test samples) | our accuracy | "
        + " | ".join(READERS)
        + " |"
    )
    print("|---|---|" + "---|" * len(READERS))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
