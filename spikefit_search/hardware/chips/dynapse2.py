"""SynSense DYNAP-SE2 (profile ``dynap-se2``).

Limits: ``hardware_profiles/dynap-se2.yaml``; mapping: the per-core limits model (``budget``:
cores and destinations per neuron; its 16 magnitudes per core are ``unique_weights`` with scope
``core``); no chip neuron (the analog neurons are not simulated); energy: the ``events`` model.
"""

from __future__ import annotations

from spikefit_search.hardware.chips._family import ChipFamily, register

DYNAPSE2 = register(
    ChipFamily(
        name="dynapse2",
        title="SynSense DYNAP-SE2",
        mapping_models=("budget",),
        energy_models=("events",),
        neurons=(),
    )
)
