"""Run Rockpool's Xylo mapper (its design-rule check and resource allocation) on networks.

Executed with the Python of the Rockpool verifier venv, never imported by the package:

    python run_xylo_mapper.py CHIP NETS.json OUT.json

NETS is a list of layer-width lists ``[n_in, hidden..., n_out]``; each becomes Rockpool's
``Sequential(LinearTorch, LIFTorch, ...)`` and goes through ``mapper(net.as_graph())``. OUT gets,
per network, ``null`` when the mapper accepts it silently, else the first line of its error
or of its design-rule warning (``DRCWarning``: e.g. more input channels than the chip has).
"""

import importlib
import importlib.util
import itertools
import json
import sys
import types
import warnings


def _xylo(chip: str, module: str):
    spec = importlib.util.find_spec("rockpool")
    root = spec.submodule_search_locations[0]
    stub = types.ModuleType("rockpool.devices.xylo")
    stub.__path__ = [f"{root}/devices/xylo"]
    sys.modules["rockpool.devices.xylo"] = stub
    return importlib.import_module(f"rockpool.devices.xylo.{chip}.{module}")


def main() -> None:
    chip, nets_path, out_path = sys.argv[1:4]
    mapper = _xylo(chip, "xylo_mapper").mapper
    from rockpool.nn.combinators import Sequential
    from rockpool.nn.modules import LIFTorch, LinearTorch

    verdicts = []
    with open(nets_path) as f:
        nets = json.load(f)
    for widths in nets:
        mods = []
        for a, b in itertools.pairwise(widths):
            mods += [LinearTorch((a, b)), LIFTorch(b)]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                mapper(Sequential(*mods).as_graph())
                drc = [w for w in caught if type(w.message).__name__ == "DRCWarning"]
                verdicts.append(f"DRCWarning: {drc[0].message}" if drc else None)
            except Exception as exc:  # the mapper's DRCError, or its allocator's
                first = str(exc).splitlines()[0] if str(exc) else ""
                verdicts.append(f"{type(exc).__name__}: {first}")
    with open(out_path, "w") as f:
        json.dump(verdicts, f)


if __name__ == "__main__":
    main()
