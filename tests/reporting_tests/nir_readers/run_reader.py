"""Run NIR files in one reader, as a user of that reader would:
``python run_reader.py READER FILE.nir SPIKES.npy OUT.npy [FILE.nir SPIKES.npy OUT.npy ...]``.
Runs inside the reader's own venv (sinabs 3.1, snnTorch 1.0 or norse 1.1), so it imports nothing
from spikefit-search.

``SPIKES.npy`` holds the encoded input ``(T, B, *input_shape)``; ``OUT.npy`` gets the output
summed over the timesteps, ``(B, n_classes)`` (its arg-max is the prediction). Every reader
option applied here is one ``docs/reporting.md`` lists.
"""

from __future__ import annotations

import sys

import nir
import numpy as np
import torch


def _nodes(graph: nir.NIRGraph, kind: type) -> list[str]:
    return [name for name, node in graph.nodes.items() if isinstance(node, kind)]


def run_sinabs(graph: nir.NIRGraph, x: torch.Tensor) -> torch.Tensor:
    import sinabs.layers as sl
    from sinabs import from_nir
    from sinabs.activation import SingleSpike

    for name in _nodes(graph, nir.LI):  # sinabs reads LI input unscaled and requires r = 1
        graph.nodes[name].r = np.ones_like(graph.nodes[name].r)
    steps, batch = x.shape[:2]
    model = from_nir(graph, batch_size=batch)
    for module in model.modules():
        if isinstance(module, (sl.IAF, sl.LIF)) and not isinstance(module, sl.ExpLeak):
            module.spike_fn = SingleSpike
        if isinstance(module, sl.IAF):
            module.min_v_mem = None
    flat = x.transpose(0, 1).reshape(batch * steps, *x.shape[2:])  # (B*T, ...) batch-major
    out = model(flat)
    out = out[0] if isinstance(out, tuple) else out
    return out.reshape(batch, steps, -1).sum(dim=1)


def run_snntorch(graph: nir.NIRGraph, x: torch.Tensor) -> torch.Tensor:
    import snntorch as snn
    from snntorch import utils
    from snntorch.import_nir import import_from_nir

    if_nodes = set(_nodes(graph, nir.IF))
    model = import_from_nir(graph)
    for name, module in model.named_modules():
        if isinstance(module, snn.Leaky) and name in if_nodes:
            module.beta = torch.tensor(1.0)  # import_from_nir gives IF nodes beta=0.9
            module.init_hidden = True  # and init_hidden=False, which returns (spk, mem)
            module.reset_delay = True  # subtract the threshold at the next step, as NIR's IF
    # nirtorch maps Flatten to torch's Flatten(0, -1), which flattens the batch too
    batch = 1 if _nodes(graph, nir.Flatten) else x.shape[1]
    totals = []
    for b in range(0, x.shape[1], batch):
        utils.reset(model)
        total = 0
        for t in range(x.shape[0]):
            out = model(x[t, b : b + batch])
            total = total + (out[0] if isinstance(out, tuple) else out).reshape(batch, -1)
        totals.append(total)
    return torch.cat(totals)


def run_norse(graph: nir.NIRGraph, x: torch.Tensor) -> torch.Tensor:
    import norse.torch as norse

    model = norse.from_nir(graph, dt=1.0)
    totals = []
    for b in range(x.shape[1]):  # batch size 1: norse's Flatten also flattens the batch
        state = None
        total = 0
        for t in range(x.shape[0]):
            out, state = model(x[t, b : b + 1], state)
            total = total + out.reshape(1, -1)
        totals.append(total)
    return torch.cat(totals)


def main() -> None:
    reader, *jobs = sys.argv[1:]
    run = {"sinabs": run_sinabs, "snntorch": run_snntorch, "norse": run_norse}[reader]
    for i in range(0, len(jobs), 3):
        path, spikes, dest = jobs[i : i + 3]
        graph = nir.read(path)
        x = torch.from_numpy(np.load(spikes)).float()
        with torch.no_grad():
            out = run(graph, x)
        np.save(dest, out.detach().numpy().astype(np.float64))


if __name__ == "__main__":
    main()
