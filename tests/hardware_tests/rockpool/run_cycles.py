"""Run in Rockpool's own venv: Rockpool 3.1.0's Xylo cycles model on the networks and rasters
of an ``.npz`` (``<name>_w_in``, ``_w_rec``, ``_w_out``, ``_in``, ``_hid``, ``_chip``), printing
``{name: [cycles per step, est_clock_freq in Hz]}`` as JSON.

``rockpool.devices.xylo`` and its chip packages are replaced by package stubs (modules whose
``__path__`` is the real folder), so their ``__init__`` never runs (it imports samna through
the Xylo Audio 3 package); ``samna`` itself is a stub holding the two names the cycles model
reads at import time. The configuration is a plain object with the fields the model reads.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np


def _stub_packages() -> None:
    samna = types.ModuleType("samna")
    for chip in ("xyloCore2", "xyloImu", "xyloAudio3"):
        setattr(
            samna, chip, SimpleNamespace(configuration=SimpleNamespace(XyloConfiguration=object))
        )
    sys.modules["samna"] = samna
    devices = Path(importlib.util.find_spec("rockpool.devices").origin).parent  # type: ignore[arg-type]
    for name in ("xylo", "xylo.syns61201", "xylo.syns63300"):
        module = types.ModuleType(f"rockpool.devices.{name}")
        module.__path__ = [str(devices / name.replace(".", "/"))]
        sys.modules[f"rockpool.devices.{name}"] = module


def _config(w_in: np.ndarray, w_rec: np.ndarray, w_out: np.ndarray, chip: str) -> object:
    neurons = [SimpleNamespace(alias_target=None) for _ in range(w_rec.shape[0])]
    hidden = SimpleNamespace(neurons=neurons, weights=w_rec)
    config = SimpleNamespace(
        input=SimpleNamespace(weights=w_in),
        readout=SimpleNamespace(weights=w_out),
        synapse2_enable=False,
    )
    setattr(config, "reservoir" if chip == "syns61201" else "hidden", hidden)
    return config


def main(path: str, dt: float) -> None:
    _stub_packages()
    data = np.load(path)
    names = sorted({k.rsplit("_", 1)[0] for k in data.files if k.endswith("_chip")})
    out = {}
    for name in names:
        chip = str(data[f"{name}_chip"])
        model = importlib.import_module(f"rockpool.devices.xylo.{chip}.power_cycles_model")
        config = _config(data[f"{name}_w_in"], data[f"{name}_w_rec"], data[f"{name}_w_out"], chip)
        cycles = model.cycles_model(config, data[f"{name}_in"], data[f"{name}_hid"])
        if isinstance(cycles, tuple):  # Xylo Audio 2 also returns the Isyn2 operations
            cycles = cycles[0]
        out[name] = [float(cycles), float(model.est_clock_freq(config, dt))]
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]))
