"""Run a network of integers in sinabs' DynapcnnNetwork (the Speck toolchain's simulation).

Executed with the Python of the sinabs verifier venv, never imported by the package:

    python run_dynapcnn.py NET.npz OUT.npz

NET holds ``input_shape``, ``n_layers``, ``discretize`` (0/1), the input events ``x``
``(samples, T, C, H, W)`` and per layer ``i``: ``kind_i`` (``conv``/``linear``), ``weight_i``,
``threshold_i``, ``min_v_mem_i`` (NaN: none), ``stride_i``, ``padding_i``, ``pool_i``. OUT gets
``spikes_i`` ``(samples, T, ...)``: every layer's output spikes, before pooling.

sinabs' Speck backend imports samna and samnagui (a PyPI stub that downloads at import): inert
stand-ins are put in ``sys.modules`` first, so nothing of samna runs.
"""

import importlib.abc
import importlib.machinery
import sys
import types

import numpy as np


class _Inert(types.ModuleType):
    """A module whose every attribute is another inert module (and callable)."""

    def __getattr__(self, name: str) -> "_Inert":
        if name.startswith("__"):
            raise AttributeError(name)
        child = _Inert(f"{self.__name__}.{name}")
        child.__path__ = []
        setattr(self, name, child)
        sys.modules[child.__name__] = child
        return child

    def __call__(self, *args: object, **kwargs: object) -> "_Inert":
        return _Inert("call")


class _InertFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("samna", "samnagui"):
            return importlib.machinery.ModuleSpec(name, self)
        return None

    def create_module(self, spec):
        module = _Inert(spec.name)
        module.__path__ = []
        return module

    def exec_module(self, module):
        pass


def main() -> None:
    sys.meta_path.insert(0, _InertFinder())
    import sinabs.layers as sl
    import torch
    from sinabs.backend.dynapcnn import DynapcnnNetwork
    from torch import nn

    net_path, out_path = sys.argv[1:3]
    d = np.load(net_path)
    modules: list[nn.Module] = []
    spiking: list[nn.Module] = []
    for i in range(int(d["n_layers"])):
        w = torch.tensor(d[f"weight_{i}"], dtype=torch.float32)
        if str(d[f"kind_{i}"]) == "conv":
            layer = nn.Conv2d(
                w.shape[1],
                w.shape[0],
                tuple(w.shape[2:]),
                stride=int(d[f"stride_{i}"]),
                padding=int(d[f"padding_{i}"]),
                bias=False,
            )
        else:
            if not any(isinstance(m, nn.Flatten) for m in modules):
                modules.append(nn.Flatten())
            layer = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            layer.weight.copy_(w)
        floor = float(d[f"min_v_mem_{i}"])  # NaN: none (sinabs then sets -2^15 on discretizing)
        spk = sl.IAFSqueeze(
            batch_size=1,
            spike_threshold=float(d[f"threshold_{i}"]),
            min_v_mem=None if np.isnan(floor) else floor,
        )
        modules += [layer, spk]
        spiking.append(spk)
        if int(d[f"pool_{i}"]) > 1:
            modules.append(sl.SumPool2d(int(d[f"pool_{i}"])))
    net = nn.Sequential(*modules)
    shape = tuple(int(v) for v in d["input_shape"])
    dyn = DynapcnnNetwork(net, input_shape=shape, discretize=bool(d["discretize"]))
    records: dict[int, list[np.ndarray]] = {i: [] for i in range(len(spiking))}
    current: dict[int, torch.Tensor] = {}
    layers = [dyn.dynapcnn_layers[k] for k in sorted(dyn.dynapcnn_layers, key=int)]
    found = [layer.spk for layer in layers]
    for i, m in enumerate(found):
        m.register_forward_hook(lambda mod, inp, out, i=i: current.__setitem__(i, out.detach()))
    with torch.no_grad():
        for sample in d["x"]:
            for m in found:  # DynapcnnNetwork.reset_states reads a missing attribute
                m.reset_states()
            dyn(torch.tensor(sample, dtype=torch.float32))
            for i in records:
                records[i].append(current[i].numpy())
    np.savez(out_path, **{f"spikes_{i}": np.stack(v) for i, v in records.items()})


if __name__ == "__main__":
    main()
