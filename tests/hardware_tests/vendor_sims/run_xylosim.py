"""Run a xylo_spec.npz in Rockpool's XyloSim (the vendor's bit-accurate simulator).

Executed with the Python of the Rockpool verifier venv (``.ci/install-rockpool.sh``), never
imported by the package or the tests (Rockpool is AGPL):

    python run_xylosim.py CHIP SPEC.npz RASTERS.npz OUT.npz

CHIP is ``syns61201`` (Xylo Audio 2) or ``syns63300`` (Xylo IMU). RASTERS holds ``x``, the
input events ``(samples, T, n_in)``; OUT gets ``output`` (spikes or Vmem of the readout,
``(samples, T, n_out)``) and ``hidden`` (hidden spikes, ``(samples, T, n_hidden)``).

``rockpool.devices.xylo/__init__`` imports the Audio 3 module, which imports samna (a PyPI
stub that tries to download at import): the package is stubbed so only the submodule loads.
"""

import importlib
import importlib.util
import sys
import types

import numpy as np


def _load(chip: str):
    spec = importlib.util.find_spec("rockpool")
    root = spec.submodule_search_locations[0]
    stub = types.ModuleType("rockpool.devices.xylo")
    stub.__path__ = [f"{root}/devices/xylo"]
    sys.modules["rockpool.devices.xylo"] = stub
    return importlib.import_module(f"rockpool.devices.xylo.{chip}.xylo_sim").XyloSim


def main() -> None:
    chip, spec_path, raster_path, out_path = sys.argv[1:5]
    xylo_sim = _load(chip)
    spec = dict(np.load(spec_path))
    spec.pop("flush_steps")
    spec["aliases"] = [[] for _ in spec["threshold"]]
    for key in ("weight_shift_in", "weight_shift_rec", "weight_shift_out"):
        spec[key] = int(spec[key])
    spec["dt"] = float(spec["dt"])
    spec["output_mode"] = str(spec["output_mode"])
    sim = xylo_sim.from_specification(**spec)
    x = np.load(raster_path)["x"]
    outputs, hidden = [], []
    for sample in x:
        sim.reset_state()
        out, _, rec = sim.evolve(sample.astype(int), record=True)
        outputs.append(np.asarray(out))
        hidden.append(np.asarray(rec["Spikes"]))
    np.savez(out_path, output=np.stack(outputs), hidden=np.stack(hidden))
    assert "samna" not in sys.modules or not hasattr(sys.modules["samna"], "__file__")


if __name__ == "__main__":
    main()
