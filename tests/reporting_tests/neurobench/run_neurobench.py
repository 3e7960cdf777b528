"""Run NeuroBench 2.3 on our NIR files, as a researcher reporting NeuroBench's metrics would:
``python run_neurobench.py HOW FILE.nir SPIKES.npy OUT.json [HOW FILE.nir ...]``.
Runs inside the verifier venv (snnTorch 1.0, nir, nirtorch, neurobench 2.3.0), so it imports
nothing from spikefit-search.

``HOW`` says how the NIR file becomes an snnTorch network:

* ``import``: ``snntorch.import_nir.import_from_nir`` with the reader options
  ``docs/reporting.md`` gives (IF networks with a spiking readout);
* ``build``: built from the graph's nodes with snnTorch's own layers, for what
  ``import_from_nir`` cannot express: ``Affine`` -> ``nn.Linear``; ``LIF`` ->
  ``snn.Leaky`` with the threshold subtracted before the decay, as NIR's LIF integrates
  (``v = beta * (v - theta * s) + x``; snnTorch's ``Leaky`` subtracts after it); ``LI`` ->
  ``snn.Leaky`` without reset that never fires (the membrane readout).

``SPIKES.npy`` holds the encoded input ``(T, B, *input_shape)``. NeuroBench's ``Benchmark``
runs the network at batch size 1 with ``Footprint``, ``ConnectionSparsity``,
``ActivationSparsity``, ``SynapticOperations`` and ``MembraneUpdates``; ``OUT.json`` gets its
results, and under ``float64`` the ``MembraneUpdates`` of the same network run in float64
(where weights that cancel leave no rounding residue in the membrane).
"""

from __future__ import annotations

import json
import math
import sys

import nir
import numpy as np
import snntorch as snn
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint
from neurobench.metrics.workload import ActivationSparsity, MembraneUpdates, SynapticOperations
from neurobench.models import SNNTorchModel
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def imported(graph: nir.NIRGraph) -> nn.Module:
    from snntorch.import_nir import import_from_nir

    if_nodes = {name for name, node in graph.nodes.items() if isinstance(node, nir.IF)}
    model = import_from_nir(graph)
    for name, module in model.named_modules():
        if isinstance(module, snn.Leaky) and name in if_nodes:
            module.beta = torch.tensor(1.0)
            module.init_hidden = True
            module.reset_delay = True
    return model


class SubtractBeforeDecay(snn.Leaky):
    """``snn.Leaky`` whose subtract reset comes before the decay: ``v = beta*(v - theta*s) + x``."""

    def _base_sub(self, input_: torch.Tensor) -> torch.Tensor:
        return self.beta.clamp(0, 1) * (self.mem - self.reset * self.threshold) + input_


class Built(nn.Module):
    """The graph's chain of nodes as snnTorch layers; returns ``(output, None)`` per step."""

    def __init__(self, graph: nir.NIRGraph) -> None:
        super().__init__()
        order, node = [], "input"
        edges = dict(graph.edges)
        while edges.get(node, "output") != "output":
            node = edges[node]
            order.append(node)
        self.names = order
        for name in order:
            n = graph.nodes[name]
            if isinstance(n, nir.Affine):
                w = torch.from_numpy(np.asarray(n.weight, dtype=np.float32))
                layer = nn.Linear(w.shape[1], w.shape[0])
                layer.weight.data = w
                layer.bias.data = torch.from_numpy(np.asarray(n.bias, dtype=np.float32))
            elif isinstance(n, nir.LIF):
                beta = math.exp(-1.0 / float(np.asarray(n.tau).flat[0]))
                theta = float(np.asarray(n.v_threshold).flat[0])
                layer = SubtractBeforeDecay(beta=beta, threshold=theta, init_hidden=True)
            elif isinstance(n, nir.LI):
                tau = float(np.asarray(n.tau).flat[0])
                beta = 1.0 if math.isinf(tau) else math.exp(-1.0 / tau)
                layer = snn.Leaky(
                    beta=beta, threshold=math.inf, reset_mechanism="none", init_hidden=True
                )
            else:
                raise SystemExit(f"build: no snnTorch layer for {type(n).__name__} node {name}")
            self.add_module(name, layer)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        for name in self.names:
            x = getattr(self, name)(x)
        return x, None


def main() -> None:
    jobs = sys.argv[1:]
    for i in range(0, len(jobs), 4):
        how, path, spikes, dest = jobs[i : i + 4]
        x = torch.from_numpy(np.load(spikes)).float().transpose(0, 1)  # (B, T, ...)
        out = run(how, nir.read(path), x, [Footprint, ConnectionSparsity])
        out["float64"] = run(how, nir.read(path), x.double(), [], torch.float64)
        with open(dest, "w") as f:
            json.dump(out, f)


def run(
    how: str, graph: nir.NIRGraph, x: torch.Tensor, static: list, dtype: torch.dtype = torch.float32
) -> dict:
    net = (imported(graph) if how == "import" else Built(graph)).to(dtype)
    for module in net.modules():  # snnTorch emits float32 spikes whatever its membrane
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            module.register_forward_pre_hook(lambda _, args: tuple(a.to(dtype) for a in args))
    data = DataLoader(TensorDataset(x, torch.zeros(len(x), dtype=torch.long)), batch_size=1)
    workload = [ActivationSparsity, SynapticOperations, MembraneUpdates]
    bench = Benchmark(SNNTorchModel(net), data, [], [], [static, workload])
    with torch.no_grad():
        return dict(bench.run(quiet=True))


if __name__ == "__main__":
    main()
